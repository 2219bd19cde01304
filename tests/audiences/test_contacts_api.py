"""/api/v1/contacts/: create, read, search and filters, patch, subscription, the cast."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Contact, OptIn, OptOut

from ..factories import MembershipFactory, OptOutFactory
from .contact_helpers import contact

pytestmark = pytest.mark.django_db
URL = "/api/v1/contacts/"


def test_create_normalises_the_phone_and_cleans_the_fields(owner_api, workspace_a):
    response = owner_api.post(
        URL,
        {
            "phone": "415-555-0100",
            "country_code": "1",
            "name": "  Ana ",
            "tags": ["VIP", " pune", "vip"],
            "attributes": {"City": "Pune", "Orders": 3},
            "time_zone": "Asia/Kolkata",
            "locale": "en-IN",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone"] == "+14155550100"
    assert body["workspace"] == str(workspace_a.pk)
    assert (body["name"], body["tags"]) == ("Ana", ["vip", "pune"])
    assert body["attributes"] == {"city": "Pune", "orders": 3}
    assert (body["time_zone"], body["locale"]) == ("Asia/Kolkata", "en_IN")
    assert body["subscription"] == {"state": "opted_in", "source": "", "at": None}


def test_a_duplicate_phone_in_the_workspace_is_a_409(owner_api, workspace_a, workspace_b):
    contact(workspace_a, "+14155550100")
    contact(workspace_b, "+14155550101")
    response = owner_api.post(URL, {"phone": "+1 415 555 0100"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "contact_exists"
    assert "+14155550100 is already a contact" in response.json()["detail"]
    # the same number in another workspace is another contact
    assert owner_api.post(URL, {"phone": "+14155550101"}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "12"), ("time_zone", "Mars/Olympus"), ("name", "x" * 201), ("locale", "1234")],
)
def test_invalid_fields_are_a_400_naming_the_field(owner_api, workspace_a, field, value):
    body = {"phone": "+14155550100", field: value}
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in str(response.json())
    assert Contact.objects.count() == 0


def test_retrieve_patch_and_attributes_merge(member_api, workspace_a):
    c = contact(workspace_a, name="Ana", tags=["vip"], attributes={"city": "Pune", "plan": "a"})
    response = member_api.patch(
        f"{URL}{c.pk}/",
        {"name": "Ana B", "tags": ["new"], "attributes": {"plan": "b", "city": None}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    c.refresh_from_db()
    assert (c.name, c.tags, c.attributes) == ("Ana B", ["new"], {"plan": "b"})
    assert member_api.get(f"{URL}{c.pk}/").json()["name"] == "Ana B"
    assert member_api.patch(f"{URL}{c.pk}/", {"phone": "+1"}, format="json").status_code == 400


def test_search_by_name_or_phone(owner_api, workspace_a):
    contact(workspace_a, "+14155550100", name="Ana Lima")
    contact(workspace_a, "+447400123456", name="Bob")
    phones = lambda q: [c["phone"] for c in owner_api.get(URL, {"q": q}).json()["results"]]  # noqa: E731
    assert phones("lima") == ["+14155550100"]
    assert phones("7400 123") == ["+447400123456"]
    assert phones("+1 415") == ["+14155550100"]


def test_filters_tag_attribute_opted_out_and_last_messaged(owner_api, workspace_a):
    now = timezone.now()
    a = contact(workspace_a, "+14155550100", tags=["vip"], attributes={"city": "Pune"})
    b = contact(workspace_a, "+14155550101", tags=["pune"], last_messaged_at=now)
    c = contact(workspace_a, "+14155550102", last_messaged_at=now - timedelta(days=10))
    OptOutFactory(workspace=workspace_a, phone=b.phone)

    def ids(**params):
        response = owner_api.get(URL, params)
        assert response.status_code == 200, response.json()
        return {r["id"] for r in response.json()["results"]}

    assert ids(tag="VIP") == {a.pk}
    assert ids(attribute="city:Pune") == {a.pk}
    assert ids(opted_out="true") == {b.pk}
    assert ids(opted_out="false") == {a.pk, c.pk}
    cutoff = (now - timedelta(days=1)).isoformat()
    assert ids(last_messaged_before=cutoff) == {c.pk}
    assert ids(last_messaged_after=cutoff) == {b.pk}
    assert owner_api.get(URL, {"attribute": "nocolon"}).status_code == 400
    assert owner_api.get(URL, {"last_messaged_before": "yesterday"}).status_code == 400


def test_subscription_reads_the_opt_out_list(owner_api, workspace_a):
    c = contact(workspace_a)
    at = timezone.now() - timedelta(days=2)
    OptOutFactory(workspace=workspace_a, phone=c.phone, source="keyword", opted_out_at=at)
    sub = owner_api.get(f"{URL}{c.pk}/").json()["subscription"]
    assert sub["state"] == "opted_out"
    assert sub["source"] == "keyword"


def test_subscription_writes_through_the_opt_out_services(member_api, workspace_a):
    c = contact(workspace_a)
    response = member_api.patch(f"{URL}{c.pk}/", {"subscription": "opted_out"}, format="json")
    assert response.status_code == 200
    assert response.json()["subscription"]["state"] == "opted_out"
    entry = OptOut.objects.get(workspace=workspace_a, phone=c.phone)
    assert entry.source == OptOut.Source.MANUAL
    response = member_api.patch(f"{URL}{c.pk}/", {"subscription": "opted_in"}, format="json")
    assert response.json()["subscription"]["state"] == "opted_in"
    assert not OptOut.objects.filter(phone=c.phone).exists()


def test_opting_back_in_after_a_stop_records_the_opt_in(owner_api, workspace_a):
    c = contact(workspace_a)
    OptOutFactory(workspace=workspace_a, phone=c.phone, source="keyword")
    owner_api.patch(f"{URL}{c.pk}/", {"subscription": "opted_in"}, format="json")
    assert OptIn.objects.filter(workspace=workspace_a, phone=c.phone, by="keyword").exists()
    assert owner_api.get(f"{URL}{c.pk}/").json()["subscription"]["source"] == "keyword"


def test_list_pages_by_cursor(owner_api, workspace_a):
    for i in range(5):
        contact(workspace_a, f"+1415555010{i}")
    first = owner_api.get(URL, {"page_size": 2}).json()
    assert len(first["results"]) == 2
    second = owner_api.get(first["next"]).json()
    assert {r["id"] for r in first["results"]}.isdisjoint(r["id"] for r in second["results"])


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("patch", ""), ("delete", "")],
)
def test_the_outsider_gets_404_on_a_contact(outsider_api, workspace_a, method, suffix):
    c = contact(workspace_a)
    response = getattr(outsider_api, method)(f"{URL}{c.pk}/{suffix}", {}, format="json")
    assert response.status_code == 404
    assert Contact.objects.filter(pk=c.pk).exists()


def test_the_outsider_sees_no_contacts_and_cannot_create_in_a_workspace(outsider_api, workspace_a):
    contact(workspace_a)
    assert outsider_api.get(URL).json()["results"] == []
    response = outsider_api.post(
        URL, {"phone": "+14155550199", "workspace": str(workspace_a.pk)}, format="json"
    )
    assert response.status_code == 400
    assert not Contact.objects.filter(phone="+14155550199").exists()


@pytest.mark.parametrize(
    "path",
    [
        "abc/",
        "99999999999999999999999/",
        "9223372036854775808/",
        "0/",
        "imports/not-a-uuid/",
        "imports/------------------------------------/",
        "imports/00000000-0000-0000-0000-000000000000/",
        "imports/00000000-0000-0000-0000-000000000000/rejections/",
    ],
)
def test_malformed_or_unknown_ids_are_404(owner_api, path):
    assert owner_api.get(f"{URL}{path}").status_code == 404


def test_a_member_manages_contacts_as_an_owner_does(member_api, workspace_a):
    response = member_api.post(URL, {"phone": "+14155550100"}, format="json")
    assert response.status_code == 201
    assert member_api.delete(f"{URL}{response.json()['id']}/").status_code == 204


def test_several_workspaces_must_name_one(owner, owner_api, workspace_a, workspace_b):
    MembershipFactory(user=owner, workspace=workspace_b)
    response = owner_api.post(URL, {"phone": "+14155550100"}, format="json")
    assert response.status_code == 400
    assert "workspace" in response.json()
    response = owner_api.post(
        URL, {"phone": "+14155550100", "workspace": str(workspace_b.pk)}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["workspace"] == str(workspace_b.pk)


def test_anonymous_is_401(anon_api):
    assert anon_api.get(URL).status_code == 401
    assert anon_api.post("/api/v1/contacts/import/").status_code == 401
