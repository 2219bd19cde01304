"""/api/v1/segments/: saved rules (CRUD), their preview, and the preview of unsaved rules;
malformed rules are a 400 naming the bad part, another workspace's list or campaign ids a 400,
an outsider a 404 on every endpoint."""

import pytest

from campaigns.models import Contact, ContactList, ContactListMember, Segment
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

SEGMENTS = "/api/v1/segments/"
PREVIEW = "/api/v1/segments/preview/"
VIP = {"all": [{"field": "tag", "op": "has", "value": "vip"}]}


@pytest.fixture
def people(workspace_a, workspace_b):
    for n in range(3):
        Contact.objects.create(workspace=workspace_a, phone=f"+9190000{n}", tags=["vip"])
    Contact.objects.create(workspace=workspace_a, phone="+91999", tags=[])
    Contact.objects.create(workspace=workspace_b, phone="+91900000", tags=["vip"])
    return workspace_a


@pytest.fixture
def segment(people):
    return Segment.objects.create(workspace=people, name="VIPs", rules=VIP)


def test_member_saves_previews_renames_and_deletes_a_segment(member_api, people):
    created = member_api.post(SEGMENTS, {"name": "VIPs", "rules": VIP}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["rules"] == VIP
    assert body["workspace"] == str(people.pk)
    url = f"{SEGMENTS}{body['id']}/"
    preview = member_api.get(f"{url}preview/?limit=2").json()
    assert preview["count"] == 3
    assert len(preview["contacts"]) == 2
    assert set(preview["contacts"][0]) == {
        "id",
        "phone",
        "name",
        "tags",
        "attributes",
        "created_at",
    }
    changed = member_api.patch(
        url, {"name": "Not VIP", "rules": {"not": VIP["all"][0]}}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert member_api.get(f"{url}preview/").json()["count"] == 1
    assert [s["name"] for s in member_api.get(SEGMENTS).json()["results"]] == ["Not VIP"]
    assert member_api.delete(url).status_code == 204
    assert not Segment.objects.exists()


def test_rules_are_stored_normalised(owner_api, people):
    rule = {"engagement": "messaged", "not": True, "within_days": 30}
    body = owner_api.post(SEGMENTS, {"name": "Quiet", "rules": rule}, format="json").json()
    assert body["rules"] == {"not": {"engagement": "sent", "within_days": 30}}


def test_preview_of_unsaved_rules_is_the_live_count(owner_api, people):
    response = owner_api.post(PREVIEW, {"rules": VIP}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["count"] == 3
    assert {c["phone"] for c in response.json()["contacts"]} == {
        "+91900000",
        "+91900001",
        "+91900002",
    }
    assert owner_api.post(PREVIEW, {"rules": {}}, format="json").json()["count"] == 4


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            {"all": [{}, {}, {}, {"field": "attribute.orders", "op": "gt", "value": "three"}]},
            "all[0]: expected one of",
        ),
        (
            {"all": [{"field": "attribute.orders", "op": "gt", "value": "three"}]},
            "all[0].value: 'gt' needs a number, got 'three'",
        ),
        ({"any": [{"list": "x"}]}, "any[0].list: needs a list id"),
        ("vip", "rules must be a JSON object"),
        (
            {"all": [{"field": "tag", "op": "has", "value": "x" * 1001}]},
            "all[0].value: longer than 1000",
        ),
    ],
)
def test_malformed_rules_are_a_400_naming_the_bad_part(owner_api, segment, rules, message):
    for call in (
        lambda: owner_api.post(SEGMENTS, {"name": "Bad", "rules": rules}, format="json"),
        lambda: owner_api.patch(f"{SEGMENTS}{segment.pk}/", {"rules": rules}, format="json"),
        lambda: owner_api.post(PREVIEW, {"rules": rules}, format="json"),
    ):
        response = call()
        assert response.status_code == 400, response.content
        assert list(response.json()) == ["rules"]
        assert response.json()["rules"][0].startswith(message), response.json()
    segment.refresh_from_db()
    assert segment.rules == VIP


def test_hostile_depth_is_a_400_not_a_crash(owner_api, people):
    node: dict = {"field": "tag", "op": "has", "value": "x"}
    for _ in range(60):
        node = {"not": node}
    response = owner_api.post(PREVIEW, {"rules": node}, format="json")
    assert response.status_code == 400
    assert "nested more than 10" in response.json()["rules"][0]


def test_another_workspaces_list_or_campaign_is_a_400(owner_api, people, workspace_b):
    theirs = ContactList.objects.create(workspace=workspace_b, name="Theirs")
    their_campaign = CampaignFactory(template__account__workspace=workspace_b)
    for rules, path in [
        ({"all": [{"list": str(theirs.pk)}]}, "all[0].list"),
        ({"not": {"engagement": "read", "campaign": str(their_campaign.pk)}}, "not.campaign"),
    ]:
        for url, body in ((SEGMENTS, {"name": "X", "rules": rules}), (PREVIEW, {"rules": rules})):
            response = owner_api.post(url, body, format="json")
            assert response.status_code == 400, response.content
            assert response.json()["rules"][0].startswith(f"{path}: no "), response.json()
    assert not Segment.objects.exists()


def test_own_list_in_rules_is_accepted_and_counted(owner_api, people):
    mine = ContactList.objects.create(workspace=people, name="Mine")
    ContactListMember.objects.create(contact_list=mine, contact=Contact.objects.get(phone="+91999"))
    response = owner_api.post(PREVIEW, {"rules": {"list": str(mine.pk)}}, format="json")
    assert response.json()["count"] == 1


def test_a_saved_segment_whose_list_was_deleted_previews_as_empty(owner_api, people):
    gone = ContactList.objects.create(workspace=people, name="Gone")
    segment = Segment.objects.create(workspace=people, name="S", rules={"list": str(gone.pk)})
    gone.delete()
    response = owner_api.get(f"{SEGMENTS}{segment.pk}/preview/")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_names_are_unique_per_workspace_and_required(owner_api, segment):
    assert (
        owner_api.post(SEGMENTS, {"name": "VIPs", "rules": VIP}, format="json").status_code == 400
    )
    assert owner_api.post(SEGMENTS, {"rules": VIP}, format="json").status_code == 400
    assert owner_api.post(SEGMENTS, {"name": "X"}, format="json").status_code == 400


@pytest.mark.parametrize("limit", ["0", "101", "x", "-1"])
def test_a_bad_preview_limit_is_a_400(owner_api, segment, limit):
    assert owner_api.get(f"{SEGMENTS}{segment.pk}/preview/?limit={limit}").status_code == 400


def test_outsider_gets_404_on_every_segment_endpoint(outsider_api, segment):
    url = f"{SEGMENTS}{segment.pk}/"
    assert outsider_api.get(url).status_code == 404
    assert outsider_api.patch(url, {"name": "Mine"}, format="json").status_code == 404
    assert outsider_api.delete(url).status_code == 404
    assert outsider_api.get(f"{url}preview/").status_code == 404
    assert outsider_api.get(SEGMENTS).json()["results"] == []
    # their own preview never counts workspace A's contacts
    assert outsider_api.post(PREVIEW, {"rules": VIP}, format="json").json()["count"] == 1
    segment.refresh_from_db()
    assert segment.name == "VIPs"


def test_outsider_cannot_preview_in_workspace_a(outsider_api, segment):
    body = {"rules": VIP, "workspace": str(segment.workspace_id)}
    assert outsider_api.post(PREVIEW, body, format="json").status_code == 400


@pytest.mark.parametrize("pk", ["nope", "------------------------------------", "1" * 36])
def test_malformed_segment_ids_are_a_404(owner_api, pk):
    for url in (f"{SEGMENTS}{pk}/", f"{SEGMENTS}{pk}/preview/"):
        assert owner_api.get(url).status_code == 404, url
