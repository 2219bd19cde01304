"""Sync from the API, the dashboard button and the admin action."""

import pytest
import responses
from django.contrib.auth import get_user_model

from templates_app.models import MessageTemplate

from ..factories import WhatsAppAccountFactory
from . import meta_shapes
from .test_sync import listing_url, serve_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(workspace_a):
    return WhatsAppAccountFactory(workspace=workspace_a)


def sync_url(account):
    return f"/api/v1/whatsapp-accounts/{account.id}/sync-templates/"


@responses.activate
def test_member_syncs_through_the_api(member_api, account):
    serve_pages(responses, account, meta_shapes.ALL)
    response = member_api.post(sync_url(account))
    assert response.status_code == 200
    assert response.json()["created"] == 4
    assert response.json()["total"] == 4
    assert MessageTemplate.objects.filter(account=account).count() == 4


@responses.activate
def test_a_graph_error_is_a_502_that_says_what_happened(owner_api, account):
    responses.add(
        responses.GET,
        listing_url(account),
        status=401,
        json={
            "error": {
                "message": "Error validating access token",
                "type": "OAuthException",
                "code": 190,
                "fbtrace_id": "X",
            }
        },
    )
    response = owner_api.post(sync_url(account))
    assert response.status_code == 502
    assert "190" in response.json()["detail"]
    detail = owner_api.get(f"/api/v1/whatsapp-accounts/{account.id}/").json()
    assert detail["state"] == "needs_attention"


def test_outsider_cannot_sync_another_workspaces_account(outsider_api, account):
    assert outsider_api.post(sync_url(account)).status_code == 404


@responses.activate
def test_dashboard_sync_button_reports_the_result(client, owner, account):
    serve_pages(responses, account, meta_shapes.ALL)
    client.force_login(owner)
    response = client.post(f"/templates/sync/{account.id}/", follow=True)
    html = response.content.decode()
    assert "Synced 4 templates" in html
    assert "cart_reminder_v2" in html
    assert "winter_coupon" in html


@responses.activate
def test_dashboard_sync_shows_the_graph_error(client, owner, account):
    responses.add(
        responses.GET,
        listing_url(account),
        status=401,
        json={"error": {"message": "Session has expired", "type": "OAuthException", "code": 190}},
    )
    client.force_login(owner)
    html = client.post(f"/templates/sync/{account.id}/", follow=True).content.decode()
    assert "Template sync failed" in html
    assert "Needs attention" in html


def test_dashboard_sync_of_another_workspaces_account_is_404(client, outsider, account):
    client.force_login(outsider)
    assert client.post(f"/templates/sync/{account.id}/").status_code == 404


def test_templates_page_lists_only_the_users_accounts(client, owner, account, workspace_b):
    theirs = WhatsAppAccountFactory(workspace=workspace_b, name="Their number")
    client.force_login(owner)
    html = client.get("/templates/").content.decode()
    assert account.name in html
    assert theirs.name not in html


@responses.activate
def test_admin_action_syncs_selected_accounts(client, account):
    serve_pages(responses, account, meta_shapes.ALL)
    admin = get_user_model().objects.create_superuser("root", "r@example.com", "pw-123456")
    client.force_login(admin)
    response = client.post(
        "/admin/whatsapp/whatsappaccount/",
        {"action": "sync_templates", "_selected_action": [str(account.pk)]},
        follow=True,
    )
    assert "4 templates" in response.content.decode()
    assert MessageTemplate.objects.filter(account=account).count() == 4


@responses.activate
def test_admin_action_reports_a_graph_error_and_goes_on(client, account, workspace_a):
    other = WhatsAppAccountFactory(workspace=workspace_a, name="Second number")
    responses.add(
        responses.GET,
        listing_url(account),
        status=401,
        json={"error": {"message": "Session has expired", "type": "OAuthException", "code": 190}},
    )
    serve_pages(responses, other, meta_shapes.ALL)
    admin = get_user_model().objects.create_superuser("root", "r@example.com", "pw-123456")
    client.force_login(admin)
    response = client.post(
        "/admin/whatsapp/whatsappaccount/",
        {"action": "sync_templates", "_selected_action": [str(account.pk), str(other.pk)]},
        follow=True,
    )
    html = response.content.decode()
    assert f"{account.name}: Template sync failed" in html
    assert "Second number: 4 templates" in html
