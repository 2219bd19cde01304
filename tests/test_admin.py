"""Every model has an admin, and its pages load for a superuser."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from campaigns.models import Campaign, Click, ImportRejection, ImportReport
from webhooks.models import WebhookEvent
from whatsapp.models import WhatsAppAccount

from .factories import (
    CampaignFactory,
    MembershipFactory,
    OptOutFactory,
    RecipientFactory,
)

pytestmark = pytest.mark.django_db

DOMAIN_MODELS = {
    "accounts.workspace",
    "accounts.membership",
    "whatsapp.whatsappaccount",
    "templates_app.messagetemplate",
    "campaigns.campaign",
    "campaigns.recipient",
    "campaigns.optout",
    "campaigns.importreport",
    "campaigns.importrejection",
    "campaigns.click",
    "webhooks.webhookevent",
}


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    return client


@pytest.fixture
def one_of_each():
    recipient = RecipientFactory(wamid="wamid.X")
    MembershipFactory(workspace=recipient.campaign.workspace)
    OptOutFactory(workspace=recipient.campaign.workspace)
    report = ImportReport.objects.create(campaign=recipient.campaign, source="csv")
    ImportRejection.objects.create(report=report, line=3, column="phone_number", reason="bad")
    WebhookEvent.objects.create(
        account=recipient.campaign.account, body=b'{"object": "x"}', body_sha256="0" * 64
    )
    Click.objects.create(
        account=recipient.campaign.account,
        campaign=recipient.campaign,
        recipient_id=recipient.pk,
        source=Click.Source.REDIRECT,
        action_type="redirect",
        button_index=0,
        occurred_at=recipient.campaign.created_at,
    )
    return recipient


def test_every_domain_model_is_registered():
    registered = {m._meta.label_lower for m in admin.site._registry}
    assert registered >= DOMAIN_MODELS


@pytest.mark.parametrize("label", sorted(DOMAIN_MODELS))
def test_admin_pages_load(admin_client, one_of_each, label):
    app_label, model_name = label.split(".")
    changelist = admin_client.get(reverse(f"admin:{app_label}_{model_name}_changelist"))
    assert changelist.status_code == 200
    add = admin_client.get(reverse(f"admin:{app_label}_{model_name}_add"))
    assert add.status_code in (200, 403)
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    obj = model.objects.first()
    change = admin_client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk]))
    assert change.status_code == 200


def test_admin_never_shows_whatsapp_secrets(admin_client):
    campaign = CampaignFactory()
    account = campaign.account
    pages = [
        admin_client.get(reverse("admin:whatsapp_whatsappaccount_changelist")),
        admin_client.get(reverse("admin:whatsapp_whatsappaccount_change", args=[account.pk])),
    ]
    for page in pages:
        html = page.content.decode()
        assert account.access_token not in html
        assert account.app_secret not in html
        assert account.verify_token not in html
    assert "••••" + account.access_token[-4:] in pages[0].content.decode()


def test_admin_edit_with_blank_secret_keeps_the_stored_one(admin_client):
    campaign = CampaignFactory()
    account = campaign.account
    token = account.access_token
    url = reverse("admin:whatsapp_whatsappaccount_change", args=[account.pk])
    response = admin_client.post(
        url,
        {
            "workspace": account.workspace_id,
            "name": account.name,
            "waba_id": account.waba_id,
            "phone_number_id": account.phone_number_id,
            "display_phone_number": "15550001111",
            "access_token": "",
            "app_secret": "",
            "verify_token": "",
            "throughput": 1000,
            "messaging_limit_tier": "unlimited",
            "state": "active",
            "state_reason": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.access_token == token
    assert account.throughput == 1000


@pytest.mark.parametrize(
    ("start", "action", "expected"),
    [
        ("running", "pause_campaigns", "paused"),
        ("running", "stop_campaigns", "stopped"),
        ("completed", "pause_campaigns", "completed"),  # refused, with a warning
    ],
)
def test_admin_controls_a_runaway_campaign(admin_client, start, action, expected):
    campaign = CampaignFactory(status=start)
    response = admin_client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": action, "_selected_action": [str(campaign.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.status == expected
    if expected == start:
        assert "cannot pause a completed campaign" in response.content.decode()


def test_admin_resume_applies_the_same_checks_as_the_api(admin_client):
    campaign = CampaignFactory(status="paused")
    WhatsAppAccount.objects.filter(pk=campaign.account_id).update(
        state="needs_attention", state_reason="token expired"
    )
    response = admin_client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "resume_campaigns", "_selected_action": [str(campaign.pk)]},
        follow=True,
    )
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert "needs attention" in response.content.decode()


def test_admin_cannot_edit_the_state_or_delete_a_running_campaign(admin_client):
    campaign = CampaignFactory(status="running")
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    html = page.content.decode()
    assert 'name="status"' not in html  # read-only: changes go through the actions
    assert 'name="rate_limit"' not in html  # fixed once the campaign left draft
    delete_url = reverse("admin:campaigns_campaign_delete", args=[campaign.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    draft = CampaignFactory(status="draft")
    bulk = {"action": "delete_selected", "_selected_action": [str(campaign.pk), str(draft.pk)]}
    changelist = reverse("admin:campaigns_campaign_changelist")
    assert admin_client.post(changelist, {**bulk, "post": "yes"}).status_code == 403
    assert Campaign.objects.filter(pk__in=[campaign.pk, draft.pk]).count() == 2
    only_draft = {**bulk, "_selected_action": [str(draft.pk)], "post": "yes"}
    admin_client.post(changelist, only_draft)
    assert not Campaign.objects.filter(pk=draft.pk).exists()


def run_action(admin_client, action, *campaigns):
    return admin_client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": action, "_selected_action": [str(c.pk) for c in campaigns]},
        follow=True,
    )


def test_admin_actions_go_through_the_services_and_report_each_refusal(admin_client):
    running = CampaignFactory(status="running", name="Runs")
    done = CampaignFactory(status="completed", name="Done")
    stopped = CampaignFactory(status="stopped", name="Over")

    paused = run_action(admin_client, "pause_campaigns", running, done).content.decode()
    stop = run_action(admin_client, "stop_campaigns", stopped).content.decode()

    running.refresh_from_db()
    assert (running.status, running.status_reason) == ("paused", "Paused by root in the admin.")
    assert "Paused 1 campaign(s)." in paused
    assert "Done: cannot pause a completed campaign" in paused
    assert "Over: cannot stop a stopped campaign" in stop
    assert "Stopped 1 campaign" not in stop


def account_form(account, **changes):
    data = {
        "workspace": account.workspace_id,
        "name": account.name,
        "waba_id": account.waba_id,
        "phone_number_id": account.phone_number_id,
        "display_phone_number": account.display_phone_number,
        "access_token": "",
        "app_secret": "",
        "verify_token": "",
        "throughput": account.throughput,
        "messaging_limit_tier": account.messaging_limit_tier,
        "state": account.state,
        "state_reason": account.state_reason,
    }
    return {**data, **changes}


def test_admin_new_credentials_save_through_the_service(admin_client):
    # given a connection whose token expired
    account = CampaignFactory().account
    WhatsAppAccount.objects.filter(pk=account.pk).update(
        state="needs_attention", state_reason="token expired"
    )
    account.refresh_from_db()
    secret = account.app_secret
    url = reverse("admin:whatsapp_whatsappaccount_change", args=[account.pk])

    # when staff paste a new token (and leave the app secret blank)
    response = admin_client.post(url, account_form(account, access_token="EAAG-new-token-9"))

    # then the token is replaced, the secret kept, and the connection gets a fresh chance
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert (account.access_token, account.app_secret) == ("EAAG-new-token-9", secret)
    assert (account.state, account.state_reason) == ("active", "")


def test_admin_new_connection_needs_its_secrets(admin_client):
    workspace = CampaignFactory().workspace
    blank = WhatsAppAccount(workspace=workspace, name="New", waba_id="1", phone_number_id="77")
    url = reverse("admin:whatsapp_whatsappaccount_add")

    refused = admin_client.post(url, account_form(blank))
    assert refused.status_code == 200
    assert refused.content.decode().count("Required for a new connection.") == 2
    assert not WhatsAppAccount.objects.filter(phone_number_id="77").exists()

    created = admin_client.post(
        url, account_form(blank, access_token="EAAG-first", app_secret="s3cret")
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    account = WhatsAppAccount.objects.get(phone_number_id="77")
    assert (account.access_token, account.app_secret, account.verify_token) == (
        "EAAG-first",
        "s3cret",
        "",
    )


def test_a_workspaces_breaker_defaults_are_validated_in_the_admin(admin_client):
    from accounts.models import Workspace

    workspace = Workspace.objects.create(name="Breaker Co")
    url = reverse("admin:accounts_workspace_change", args=[workspace.pk])
    form = {
        "name": "Breaker Co",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    refused = admin_client.post(url, {**form, "breaker_defaults": '{"consecutive": 1}'})
    assert refused.status_code == 200
    assert "breaker.consecutive must be a number from 2" in refused.content.decode()
    saved = admin_client.post(url, {**form, "breaker_defaults": '{"share": 0.3}'})
    assert saved.status_code == 302
    workspace.refresh_from_db()
    assert workspace.breaker_defaults == {"share": 0.3}
