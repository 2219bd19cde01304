"""The sandbox's webhook payloads (whatsapp/sandbox/events.py) are processed like Meta's."""

import pytest

from campaigns.models import Campaign, OptOut, Recipient
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_drain
from whatsapp import callback
from whatsapp.sandbox import events

from . import payloads as p
from .conftest import assert_counters_match

pytestmark = pytest.mark.django_db


def envelope(account, value):
    return events.messages_envelope(
        waba_id=account.waba_id,
        phone_number_id=account.phone_number_id,
        display_phone_number=account.display_phone_number,
        value=value,
    )


def test_sandbox_statuses_batched_and_failed(post, account, make_recipient):
    delivered = make_recipient(status="sending", wamid=None)
    failed = make_recipient(status="sent", wamid="wamid.F")
    items = [
        ("wamid.D", "sent", p.T0, "447700900123", callback.encode(delivered.pk), "utility", None),
        ("wamid.D", "read", p.T0 + 9, "447700900123", callback.encode(delivered.pk), "", None),
        ("wamid.F", "failed", p.T0 + 3, "447700900124", None, "", 131026),
    ]
    payload = envelope(account, events.statuses_value(items))

    assert post(payload, account=account).status_code == 200
    webhook_events_drain()

    delivered.refresh_from_db()
    failed.refresh_from_db()
    assert (delivered.status, delivered.wamid, delivered.pricing_category) == (
        "read",
        "wamid.D",
        "utility",
    )
    assert (failed.status, failed.error_code, failed.error_retryable) == ("failed", 131026, True)
    assert_counters_match(delivered.campaign_id)
    assert WebhookEvent.objects.get().statuses_count == 3


def test_sandbox_inbound_stop_and_quick_reply(post, account, make_recipient):
    r = make_recipient(phone="+447700900123", status="read", wamid="wamid.T", sent_at=None)
    stop = events.inbound_value(
        wa_id="447700900123", wamid="wamid.IN", timestamp=p.T0, name="Ana", text="stop"
    )
    tap = events.inbound_value(
        wa_id="447700900123",
        wamid="wamid.IN2",
        timestamp=p.T0 + 5,
        name="Ana",
        button_payload="YES",
        context_wamid="wamid.T",
        context_from=account.display_phone_number,
    )
    for value in (stop, tap):
        assert post(envelope(account, value), account=account).status_code == 200
    webhook_events_drain()

    assert OptOut.objects.filter(workspace=account.workspace, phone=r.phone).exists()
    assert Recipient.objects.get(pk=r.pk).replied_at is not None


def test_sandbox_user_preferences_and_template_pause(post, account, campaign):
    prefs = events.user_preferences_envelope(
        waba_id=account.waba_id,
        phone_number_id=account.phone_number_id,
        display_phone_number=account.display_phone_number,
        wa_id="447700900123",
        value="stop",
        timestamp=p.T0,
    )
    template = campaign.template
    paused = events.template_status_envelope(
        waba_id=account.waba_id,
        timestamp=p.T0,
        template_id=template.meta_id,
        name=template.name,
        language=template.language,
        category="MARKETING",
        event="PAUSED",
    )
    for payload in (prefs, paused):
        assert post(payload, account=account).status_code == 200
    webhook_events_drain()

    optout = OptOut.objects.get(workspace=account.workspace, phone="+447700900123")
    assert optout.source == OptOut.Source.USER_PREFERENCES
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.PAUSED
