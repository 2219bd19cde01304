"""/api/v1/lists/: CRUD with member counts, members added by id or by a file import, removed,
listed; every endpoint inside the caller's workspaces (outsider → 404), ids of another
workspace in a body → 400 naming them, malformed ids → 404 or 400, never 500."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import Contact, ContactList, ContactListMember

pytestmark = pytest.mark.django_db

LISTS = "/api/v1/lists/"


def add(workspace, phone, **fields) -> Contact:
    return Contact.objects.create(workspace=workspace, phone=phone, **fields)


@pytest.fixture
def vip(workspace_a):
    return ContactList.objects.create(workspace=workspace_a, name="VIP", description="Best")


@pytest.fixture
def contacts(workspace_a):
    return [add(workspace_a, f"+9198000000{n:02d}", name=f"P{n}") for n in range(3)]


def members_url(contact_list) -> str:
    return f"{LISTS}{contact_list.pk}/members/"


# --- CRUD ------------------------------------------------------------------------------------


def test_member_creates_reads_renames_and_deletes_a_list(member_api, workspace_a, contacts):
    created = member_api.post(LISTS, {"name": " Pune ", "description": "City"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["name"] == "Pune"
    assert body["workspace"] == str(workspace_a.pk)
    assert body["member_count"] == 0
    url = f"{LISTS}{body['id']}/"
    ContactListMember.objects.create(contact_list_id=body["id"], contact=contacts[0])
    assert member_api.get(url).json()["member_count"] == 1
    renamed = member_api.patch(url, {"name": "Pune 2"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Pune 2"
    assert renamed.json()["member_count"] == 1
    listing = member_api.get(LISTS).json()
    assert [(row["name"], row["member_count"]) for row in listing["results"]] == [("Pune 2", 1)]
    assert member_api.delete(url).status_code == 204
    assert not ContactList.objects.exists()
    assert Contact.objects.count() == 3  # the contacts stay


def test_a_name_is_unique_in_the_workspace(owner_api, vip, outsider_api):
    again = owner_api.post(LISTS, {"name": "VIP"}, format="json")
    assert again.status_code == 400
    assert "name" in again.json()
    assert owner_api.post(LISTS, {"name": "  "}, format="json").status_code == 400
    assert outsider_api.post(LISTS, {"name": "VIP"}, format="json").status_code == 201


def test_create_in_a_workspace_not_theirs_is_refused(outsider_api, workspace_a):
    response = outsider_api.post(
        LISTS, {"name": "X", "workspace": str(workspace_a.pk)}, format="json"
    )
    assert response.status_code == 400
    assert not ContactList.objects.filter(workspace=workspace_a).exists()


# --- members ---------------------------------------------------------------------------------


def test_add_members_by_id_then_list_and_remove_them(member_api, vip, contacts):
    ids = [c.pk for c in contacts]
    added = member_api.post(members_url(vip), {"contacts": ids[:2]}, format="json")
    assert added.status_code == 200, added.json()
    assert added.json() == {"added": 2, "member_count": 2}
    again = member_api.post(members_url(vip), {"contacts": [str(ids[1]), ids[2]]}, format="json")
    assert again.json() == {"added": 1, "member_count": 3}
    page = member_api.get(members_url(vip)).json()
    assert [row["id"] for row in page["results"]] == sorted(ids, reverse=True)
    assert page["results"][0]["subscription"]["state"] == "opted_in"
    removed = member_api.delete(members_url(vip), {"contacts": ids[:2]}, format="json")
    assert removed.json() == {"removed": 2, "member_count": 1}


def test_members_are_paged(owner_api, vip, workspace_a):
    for n in range(5):
        ContactListMember.objects.create(contact_list=vip, contact=add(workspace_a, f"+4470{n}"))
    first = owner_api.get(f"{members_url(vip)}?page_size=2").json()
    assert len(first["results"]) == 2
    second = owner_api.get(first["next"]).json()
    assert len(second["results"]) == 2
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_another_workspaces_contact_ids_are_a_400_naming_them(
    owner_api, vip, contacts, workspace_b
):
    theirs = add(workspace_b, "+15550001")
    for method in ("post", "delete"):
        response = getattr(owner_api, method)(
            members_url(vip), {"contacts": [contacts[0].pk, theirs.pk, 99999999]}, format="json"
        )
        assert response.status_code == 400, response.json()
        message = response.json()["contacts"][0]
        assert str(theirs.pk) in message
        assert "99999999" in message
        assert str(contacts[0].pk) not in message
    assert not ContactListMember.objects.exists()  # all or nothing


@pytest.mark.parametrize(
    "body",
    [
        {"contacts": []},
        {"contacts": "1"},
        {"contacts": ["abc"]},
        {"contacts": [True]},
        {"contacts": [-1]},
        {"contacts": [2**70]},
        {"contacts": [1.5]},
        {},
    ],
)
def test_malformed_member_ids_are_a_400(owner_api, vip, body):
    response = owner_api.post(members_url(vip), body, format="json")
    assert response.status_code == 400, response.content


def test_a_file_imported_into_the_list_makes_its_contacts_members(owner_api, vip, contacts):
    csv = b"phone_number,name\n+919800000000,Known\n+14155550123,New\n"
    upload = SimpleUploadedFile("people.csv", csv, content_type="text/csv")
    response = owner_api.post(members_url(vip), {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["contact_list"] == str(vip.pk)
    phones = set(vip.members.values_list("contact__phone", flat=True))
    assert phones == {"+919800000000", "+14155550123"}
    assert owner_api.get(f"{LISTS}{vip.pk}/").json()["member_count"] == 2


def test_contact_objects_in_json_are_imported_into_the_list(owner_api, vip):
    body = {"contacts": [{"phone_number": "+14155550124", "name": "Ana"}]}
    response = owner_api.post(members_url(vip), body, format="json")
    assert response.status_code == 201, response.json()
    assert vip.members.get().contact.name == "Ana"


# --- access ----------------------------------------------------------------------------------


def test_outsider_gets_404_on_every_list_endpoint(outsider_api, vip, contacts):
    detail = f"{LISTS}{vip.pk}/"
    ids = {"contacts": [contacts[0].pk]}
    assert outsider_api.get(detail).status_code == 404
    assert outsider_api.patch(detail, {"name": "Mine"}, format="json").status_code == 404
    assert outsider_api.delete(detail).status_code == 404
    assert outsider_api.get(members_url(vip)).status_code == 404
    assert outsider_api.post(members_url(vip), ids, format="json").status_code == 404
    assert outsider_api.delete(members_url(vip), ids, format="json").status_code == 404
    assert outsider_api.get(LISTS).json()["results"] == []
    vip.refresh_from_db()
    assert vip.name == "VIP"
    assert not vip.members.exists()


@pytest.mark.parametrize(
    "pk", ["nope", "0", "------------------------------------", "1" * 36, "%20", "a" * 40]
)
def test_malformed_list_ids_are_a_404(owner_api, pk):
    for url in (f"{LISTS}{pk}/", f"{LISTS}{pk}/members/"):
        response = owner_api.get(url)
        assert response.status_code == 404, (url, response.content[:200])


def test_anonymous_gets_401(anon_api, vip):
    assert anon_api.get(LISTS).status_code == 401
    assert anon_api.get(members_url(vip)).status_code == 401
