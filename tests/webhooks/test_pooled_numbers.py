"""Webhooks for a campaign that sends from several numbers: each recipient's statuses, replies
and clicks come to the number that sent it, and only that number's webhooks move it."""

import pytest

from campaigns.models import CampaignNumber, Click, PendingStatus, Recipient
from campaigns.tracking import campaign_recount
from webhooks.services import webhook_events_drain
from webhooks.tasks import pending_statuses_retry_task

from ..factories import RecipientFactory, WhatsAppAccountFactory
from . import payloads as p
from .conftest import assert_counters_match, at

pytestmark = pytest.mark.django_db

PHONE = "+447700900123"


@pytest.fixture
def second(account, campaign):
    """Another number of the same WABA (its own app secret), in the campaign's pool."""
    number = WhatsAppAccountFactory(workspace=account.workspace, waba_id=account.waba_id)
    CampaignNumber.objects.create(campaign=campaign, account=number)
    return number


def deliver(post, number, payload):
    assert post(payload, account=number).status_code == 200
    webhook_events_drain()


def sent_from(number, campaign, **fields):
    recipient = RecipientFactory(campaign=campaign, number=number, **{"status": "sent", **fields})
    campaign_recount(campaign_id=campaign.pk)
    return recipient


def test_statuses_move_a_recipient_only_from_the_number_that_sent_it(
    post, account, campaign, second
):
    r = sent_from(second, campaign, wamid="wamid.P1", sent_at=at(p.T0))

    # the campaign's own number cannot move a recipient another number sent
    deliver(post, account, p.statuses(account, p.status("wamid.P1", "read", ts=p.T0 + 60)))
    assert Recipient.objects.get(pk=r.pk).status == "sent"

    deliver(post, second, p.statuses(second, p.status("wamid.P1", "delivered", ts=p.T0 + 5)))
    r.refresh_from_db()
    assert (r.status, r.delivered_at) == ("delivered", at(p.T0 + 5))
    assert_counters_match(campaign.pk)


def test_a_recipient_found_by_its_callback_data_must_be_the_numbers_too(
    post, account, campaign, second
):
    r = sent_from(second, campaign, status="unknown", wamid=None)
    campaign_recount(campaign_id=campaign.pk)

    deliver(post, account, p.statuses(account, p.status("wamid.A9", "sent", recipient=r)))
    assert Recipient.objects.get(pk=r.pk).status == "unknown"

    deliver(post, second, p.statuses(second, p.status("wamid.B9", "sent", recipient=r)))
    r.refresh_from_db()
    assert (r.status, r.wamid) == ("sent", "wamid.B9")
    assert_counters_match(campaign.pk)


def test_a_status_kept_for_its_send_is_applied_once_the_numbers_wamid_is_recorded(
    post, account, campaign, second
):
    r = sent_from(second, campaign, status="sending", wamid=None)
    deliver(post, second, p.statuses(second, p.status("wamid.LATE", "read", ts=p.T0 + 60)))
    assert PendingStatus.objects.get().account_id == second.pk
    Recipient.objects.filter(pk=r.pk).update(status="sent", wamid="wamid.LATE")
    campaign_recount(campaign_id=campaign.pk)

    assert pending_statuses_retry_task() == {"applied": 1}

    assert Recipient.objects.get(pk=r.pk).status == "read"
    assert_counters_match(campaign.pk)


def test_a_reply_counts_for_the_number_it_was_sent_to(post, account, campaign, second):
    r = sent_from(second, campaign, phone=PHONE, status="read", sent_at=at(p.T0))

    deliver(post, account, p.text(account, PHONE, "to the other number", ts=p.T0 + 30))
    assert Recipient.objects.get(pk=r.pk).replied_at is None

    deliver(post, second, p.text(second, PHONE, "Thanks!", ts=p.T0 + 60, wamid="wamid.IN2"))
    assert Recipient.objects.get(pk=r.pk).replied_at == at(p.T0 + 60)
    assert_counters_match(campaign.pk)


def test_a_recipient_sent_before_numbers_were_recorded_belongs_to_its_campaigns_number(
    post, account, campaign, second
):
    r = sent_from(None, campaign, wamid="wamid.OLD", phone=PHONE, sent_at=at(p.T0))

    deliver(post, second, p.statuses(second, p.status("wamid.OLD", "read", ts=p.T0 + 60)))
    assert Recipient.objects.get(pk=r.pk).status == "sent"
    deliver(post, account, p.statuses(account, p.status("wamid.OLD", "read", ts=p.T0 + 60)))
    assert Recipient.objects.get(pk=r.pk).status == "read"


def test_a_click_is_recorded_for_the_number_that_sent_the_message(client, campaign, second):
    from campaigns.tracking.clicks import click_token

    values = {"button_0_destination_url": "https://shop.example/p/1"}
    r = sent_from(second, campaign, wamid="wamid.C1", values=values)
    response = client.get(f"/r/{click_token(r.pk, 0)}")
    assert response.status_code == 302
    assert Click.objects.get().account_id == second.pk
