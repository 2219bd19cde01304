"""Roles (docs/api.md, Roles): a member runs campaigns and templates like an owner, but only an
owner connects, edits or deletes a WhatsApp account; anyone else sees nothing."""

import pytest

from accounts.models import Membership
from whatsapp.models import WhatsAppAccount

from ..conftest import jwt_client
from ..factories import (
    CampaignFactory,
    MembershipFactory,
    MessageTemplateFactory,
    RecipientFactory,
    UserFactory,
    WhatsAppAccountFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/whatsapp-accounts/"
REFUSAL = {
    "detail": "Only a workspace owner can manage WhatsApp connections.",
    "code": "permission_denied",
}
NEW = {
    "name": "Second number",
    "waba_id": "102290129340398",
    "phone_number_id": "106540352242999",
    "display_phone_number": "15550783899",
    "access_token": "EAAG-secret-token-1a2b",
    "app_secret": "app-secret-9f8e",
}


@pytest.fixture
def account_a(workspace_a):
    return WhatsAppAccountFactory(workspace=workspace_a, name="Support line")


def test_member_reads_connections(member_api, account_a):
    listing = member_api.get(URL)
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["results"]] == [str(account_a.id)]
    assert member_api.get(f"{URL}{account_a.id}/").json()["name"] == "Support line"


@pytest.mark.parametrize(
    ("method", "body"),
    [("patch", {"name": "Renamed"}), ("put", {**NEW, "name": "Renamed"}), ("delete", None)],
)
def test_member_cannot_change_or_delete_a_connection(member_api, account_a, method, body):
    # when
    response = getattr(member_api, method)(f"{URL}{account_a.id}/", body, format="json")

    # then: 403 with the refusal's code, not 404 (the member can see it), nothing changed
    assert response.status_code == 403
    assert response.json() == REFUSAL
    account_a.refresh_from_db()
    assert account_a.name == "Support line"


def test_member_cannot_connect_an_account_even_with_an_invalid_body(member_api, workspace_a):
    # The role is checked before the body: a member learns nothing from validation errors.
    for body in ({}, {"name": ""}, NEW, {**NEW, "workspace": str(workspace_a.id)}):
        response = member_api.post(URL, body, format="json")
        assert response.status_code == 403, body
        assert response.json() == REFUSAL
    assert not WhatsAppAccount.objects.filter(workspace=workspace_a).exists()


def test_owner_connects_edits_and_deletes(owner_api, workspace_a):
    created = owner_api.post(URL, NEW, format="json")
    assert created.status_code == 201, created.json()
    detail = f"{URL}{created.json()['id']}/"
    assert owner_api.patch(detail, {"name": "Renamed"}, format="json").json()["name"] == "Renamed"
    assert owner_api.delete(detail).status_code == 204
    assert not WhatsAppAccount.objects.filter(workspace=workspace_a).exists()


def test_outsider_gets_404_never_403(outsider_api, account_a, workspace_a):
    assert outsider_api.get(f"{URL}{account_a.id}/").status_code == 404
    assert outsider_api.patch(
        f"{URL}{account_a.id}/", {"name": "x"}, format="json"
    ).status_code == (404)
    assert outsider_api.delete(f"{URL}{account_a.id}/").status_code == 404
    naming_a = outsider_api.post(URL, {**NEW, "workspace": str(workspace_a.id)}, format="json")
    assert naming_a.status_code == 404
    assert WhatsAppAccount.objects.filter(id=account_a.id).exists()


def test_the_role_is_the_one_in_the_accounts_workspace(workspace_a, workspace_b):
    # given: dana owns workspace B and is only a member of workspace A
    dana = UserFactory(username="dana")
    MembershipFactory(user=dana, workspace=workspace_a, role=Membership.Role.MEMBER)
    MembershipFactory(user=dana, workspace=workspace_b, role=Membership.Role.OWNER)
    api = jwt_client(dana)
    in_a = WhatsAppAccountFactory(workspace=workspace_a)
    in_b = WhatsAppAccountFactory(workspace=workspace_b)

    # then
    assert api.patch(f"{URL}{in_a.id}/", {"name": "x"}, format="json").status_code == 403
    assert api.patch(f"{URL}{in_b.id}/", {"name": "Mine"}, format="json").status_code == 200
    assert api.post(URL, {**NEW, "workspace": str(workspace_a.id)}, format="json").json() == (
        REFUSAL
    )
    created = api.post(URL, {**NEW, "workspace": str(workspace_b.id)}, format="json")
    assert created.status_code == 201
    assert created.json()["workspace"] == str(workspace_b.id)
    # naming no workspace when there are several: the view asks which (400), whatever the role
    unnamed = api.post(URL, {**NEW, "phone_number_id": "106540352242000"}, format="json")
    assert unnamed.status_code == 400
    assert "workspace" in unnamed.json()


def test_member_runs_campaigns_like_an_owner(member_api, account_a):
    template = MessageTemplateFactory(account=account_a)
    campaign = CampaignFactory(template=template)
    RecipientFactory(campaign=campaign, phone="+14155550100")
    base = f"/api/v1/campaigns/{campaign.id}/"

    created = member_api.post(
        "/api/v1/campaigns/", {"name": "Mine", "template_id": str(template.id)}, format="json"
    )
    assert created.status_code == 201
    assert member_api.patch(base, {"name": "Renamed"}, format="json").status_code == 200
    assert member_api.get(f"{base}preflight/").status_code == 200
    assert member_api.post(f"{base}send/", {}, format="json").json()["status"] == "running"
    assert member_api.post(f"{base}pause/").json()["status"] == "paused"
    assert member_api.get(f"/api/v1/templates/{template.id}/").status_code == 200


def test_me_shows_the_role_in_each_workspace(owner_api, member_api, workspace_a):
    assert owner_api.get("/api/v1/me/").json()["workspaces"] == [
        {"id": str(workspace_a.id), "name": "Workspace A", "role": "owner"}
    ]
    assert member_api.get("/api/v1/me/").json()["workspaces"][0]["role"] == "member"
