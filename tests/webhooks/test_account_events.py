"""Template status webhooks and value-level errors."""

import pytest

from campaigns.models import Campaign
from templates_app.models import MessageTemplate
from webhooks.services import webhook_events_drain
from whatsapp.models import WhatsAppAccount

from ..factories import CampaignFactory, MessageTemplateFactory, WhatsAppAccountFactory
from . import payloads as p

pytestmark = pytest.mark.django_db


def receive(post, account, payload):
    assert post(payload, account=account).status_code == 200
    webhook_events_drain()


def test_paused_template_pauses_its_running_campaigns(post, account, campaign):
    template = campaign.template
    draft = CampaignFactory(template=template)
    payload = p.template_update(
        account.waba_id,
        meta_id=template.meta_id,  # an integer in the payload, a string in the catalogue
        name=template.name,
        language=template.language,
        event="PAUSED",
        title="FIRST_PAUSE",
    )

    receive(post, account, payload)

    template.refresh_from_db()
    campaign.refresh_from_db()
    assert template.status == MessageTemplate.Status.PAUSED
    assert campaign.status == Campaign.Status.PAUSED
    assert "PAUSED" in campaign.status_reason
    assert "FIRST_PAUSE" in campaign.status_reason
    assert Campaign.objects.get(pk=draft.pk).status == Campaign.Status.DRAFT


def test_a_deleted_template_fails_its_campaigns_for_good(post, account, campaign):
    template = campaign.template
    paused = CampaignFactory(template=template, status=Campaign.Status.PAUSED)
    draft = CampaignFactory(template=template)
    payload = p.template_update(
        account.waba_id,
        meta_id=template.meta_id,
        name=template.name,
        language=template.language,
        event="DELETED",
    )

    receive(post, account, payload)

    for running_or_paused in (campaign, paused):
        running_or_paused.refresh_from_db()
        assert running_or_paused.status == Campaign.Status.FAILED
        assert "DELETED" in running_or_paused.status_reason
        assert running_or_paused.completed_at is not None
    assert Campaign.objects.get(pk=draft.pk).status == Campaign.Status.DRAFT


def test_template_is_found_by_name_and_language_without_a_known_id(post, account, campaign):
    template = campaign.template
    payload = p.template_update(
        account.waba_id,
        meta_id="999",
        name=template.name,
        language=template.language,
        event="DISABLED",
    )
    receive(post, account, payload)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.PAUSED


def test_template_update_reaches_every_number_of_the_waba(post, account):
    sibling = WhatsAppAccountFactory(
        workspace=account.workspace, waba_id=account.waba_id, app_secret=account.app_secret
    )
    mine = MessageTemplateFactory(account=account, meta_id="777", name="promo")
    theirs = MessageTemplateFactory(account=sibling, meta_id="777", name="promo")
    stranger = MessageTemplateFactory(meta_id="777", name="promo")  # another WABA

    payload = p.template_update(
        account.waba_id, meta_id=777, name="promo", language="en_US", event="REJECTED"
    )
    receive(post, account, payload)

    statuses = MessageTemplate.objects.in_bulk([mine.pk, theirs.pk, stranger.pk])
    assert statuses[mine.pk].status == "REJECTED"
    assert statuses[theirs.pk].status == "REJECTED"
    assert statuses[stranger.pk].status == "APPROVED"


def test_unknown_template_update_is_processed_quietly(post, account):
    payload = p.template_update(
        account.waba_id, meta_id=1, name="nope", language="en", event="APPROVED"
    )
    receive(post, account, payload)
    from webhooks.models import WebhookEvent

    assert WebhookEvent.objects.get().status == "processed"


def test_value_level_error_is_recorded_on_the_account(post, account):
    receive(post, account, p.value_error(account, 130429))

    account = WhatsAppAccount.objects.get(pk=account.pk)
    assert account.last_error_code == 130429
    assert "Too many messages" in account.last_error_details
    assert account.last_error_at is not None
