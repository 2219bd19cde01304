"""An account's Marketing Messages API switch (`marketing_messages_api`): off by default, read
and written by the owner through the API, the dashboard's form and the admin."""

import pytest

from whatsapp.models import WhatsAppAccount

from ..factories import WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/whatsapp-accounts/"


@pytest.fixture
def account_a(workspace_a):
    return WhatsAppAccountFactory(workspace=workspace_a)


def test_it_is_off_by_default_and_the_owner_turns_it_on_and_off(owner_api, account_a):
    assert owner_api.get(f"{URL}{account_a.id}/").json()["marketing_messages_api"] is False
    response = owner_api.patch(
        f"{URL}{account_a.id}/", {"marketing_messages_api": True}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["marketing_messages_api"] is True
    account_a.refresh_from_db()
    assert account_a.marketing_messages_api is True
    owner_api.patch(f"{URL}{account_a.id}/", {"marketing_messages_api": False}, format="json")
    account_a.refresh_from_db()
    assert account_a.marketing_messages_api is False


def test_a_bad_value_is_a_400_naming_the_field(owner_api, account_a):
    response = owner_api.patch(
        f"{URL}{account_a.id}/", {"marketing_messages_api": "sometimes"}, format="json"
    )
    assert response.status_code == 400
    assert "marketing_messages_api" in response.json()


def test_the_member_reads_it_but_cannot_change_it(member_api, account_a):
    assert member_api.get(f"{URL}{account_a.id}/").json()["marketing_messages_api"] is False
    response = member_api.patch(
        f"{URL}{account_a.id}/", {"marketing_messages_api": True}, format="json"
    )
    assert response.status_code == 403
    account_a.refresh_from_db()
    assert account_a.marketing_messages_api is False


def test_the_outsider_gets_404(outsider_api, account_a):
    response = outsider_api.patch(
        f"{URL}{account_a.id}/", {"marketing_messages_api": True}, format="json"
    )
    assert response.status_code == 404
    account_a.refresh_from_db()
    assert account_a.marketing_messages_api is False


def test_the_dashboard_form_and_page_show_it(client, owner, account_a):
    client.force_login(owner)
    form = client.get("/numbers/new/").content.decode()
    assert 'name="marketing_messages_api"' in form
    assert "utility and authentication templates keep using /messages" in form
    detail = client.get(f"/numbers/{account_a.pk}/").content.decode()
    assert "off: every template goes to /messages" in detail
    WhatsAppAccount.objects.filter(pk=account_a.pk).update(marketing_messages_api=True)
    detail = client.get(f"/numbers/{account_a.pk}/").content.decode()
    assert "on: MARKETING templates go to /marketing_messages" in detail


def test_the_admin_shows_it_with_its_explanation(admin_client, account_a):
    page = admin_client.get(f"/admin/whatsapp/whatsappaccount/{account_a.pk}/change/")
    assert page.status_code == 200
    assert b"marketing_messages_api" in page.content
    assert b"keep using /messages" in page.content
    assert WhatsAppAccount.objects.get(pk=account_a.pk).marketing_messages_api is False
