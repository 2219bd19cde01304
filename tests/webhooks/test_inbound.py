"""Inbound replies and opt-outs: STOP / START keywords, user_preferences, replies."""

from datetime import timedelta

import pytest
from django.test import override_settings

from campaigns.models import OptOut, Recipient
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_drain

from ..factories import CampaignFactory, OptOutFactory, RecipientFactory, WhatsAppAccountFactory
from . import payloads as p
from .conftest import assert_counters_match, at

pytestmark = pytest.mark.django_db

PHONE = "+447700900123"


def receive(post, account, payload):
    assert post(payload, account=account).status_code == 200
    webhook_events_drain()


def opted_out(account, phone=PHONE):
    return OptOut.objects.filter(workspace=account.workspace, phone=phone).first()


@pytest.mark.parametrize("word", ["STOP", "stop", "  Stop \n", "UNSUBSCRIBE", "unsubscribe"])
def test_opt_out_keyword_adds_the_number_to_the_workspace_list(post, account, word):
    receive(post, account, p.text(account, PHONE, word))
    optout = opted_out(account)
    assert optout is not None
    assert optout.source == OptOut.Source.KEYWORD
    assert WebhookEvent.objects.get().messages_count == 1


@pytest.mark.parametrize("word", ["STOP please", "don't stop", "STOPP", ""])
def test_other_texts_do_not_opt_out(post, account, word):
    receive(post, account, p.text(account, PHONE, word))
    assert opted_out(account) is None


@override_settings(OPT_OUT_KEYWORDS=["STOP", "UNSUBSCRIBE", "ARRET", "Parar"])
def test_configured_keywords_opt_out_too(post, account):
    receive(post, account, p.text(account, PHONE, "parar"))
    assert opted_out(account).source == OptOut.Source.KEYWORD


def test_start_lifts_a_keyword_opt_out(post, account):
    receive(post, account, p.text(account, PHONE, "STOP"))
    receive(post, account, p.text(account, PHONE, "start", wamid="wamid.IN2"))
    assert opted_out(account) is None


def test_start_does_not_lift_an_operators_opt_out(post, account):
    OptOutFactory(workspace=account.workspace, phone=PHONE, source=OptOut.Source.MANUAL)
    receive(post, account, p.text(account, PHONE, "START"))
    assert opted_out(account).source == OptOut.Source.MANUAL


def test_stop_twice_keeps_one_entry(post, account):
    receive(post, account, p.text(account, PHONE, "STOP"))
    receive(post, account, p.text(account, PHONE, "STOP", wamid="wamid.IN2"))
    assert OptOut.objects.filter(phone=PHONE).count() == 1


def test_opt_out_is_per_workspace(post, account, workspace_b):
    receive(post, account, p.text(account, PHONE, "STOP"))
    assert not OptOut.objects.filter(workspace=workspace_b).exists()


def test_user_preferences_stop_and_resume(post, account):
    receive(post, account, p.user_preferences(account, PHONE, "stop"))
    optout = opted_out(account)
    assert optout.source == OptOut.Source.USER_PREFERENCES
    assert "stop marketing" in optout.detail

    receive(post, account, p.user_preferences(account, PHONE, "resume", ts=p.T0 + 900))
    assert opted_out(account) is None


def test_resume_lifts_a_131050_opt_out_but_start_does_not(post, account):
    OptOutFactory(
        workspace=account.workspace,
        phone=PHONE,
        source=OptOut.Source.ERROR,
        opted_out_at=at(p.T0),  # before the messages below
    )
    receive(post, account, p.text(account, PHONE, "START"))
    assert opted_out(account) is not None
    receive(post, account, p.user_preferences(account, PHONE, "resume"))
    assert opted_out(account) is None


def test_a_stop_sent_before_a_start_but_arriving_after_it_changes_nothing(post, account):
    receive(post, account, p.text(account, PHONE, "START", ts=p.T0 + 100, wamid="wamid.IN2"))
    receive(post, account, p.text(account, PHONE, "STOP", ts=p.T0 + 10, wamid="wamid.IN1"))
    assert opted_out(account) is None  # they opted back in after that STOP


def test_a_start_sent_before_a_stop_but_arriving_after_it_lifts_nothing(post, account):
    receive(post, account, p.text(account, PHONE, "STOP", ts=p.T0 + 100, wamid="wamid.IN2"))
    receive(post, account, p.text(account, PHONE, "START", ts=p.T0 + 10, wamid="wamid.IN1"))
    stays = opted_out(account)
    assert stays is not None
    assert stays.opted_out_at == at(p.T0 + 100)


def test_user_preferences_in_any_order_end_with_the_latest(post, account):
    receive(post, account, p.user_preferences(account, PHONE, "resume", ts=p.T0 + 900))
    receive(post, account, p.user_preferences(account, PHONE, "stop", ts=p.T0 + 800))
    assert opted_out(account) is None
    receive(post, account, p.user_preferences(account, PHONE, "stop", ts=p.T0 + 1000))
    assert opted_out(account) is not None


def test_user_preferences_for_another_category_are_ignored(post, account):
    payload = p.user_preferences(account, PHONE, "stop")
    payload["entry"][0]["changes"][0]["value"]["user_preferences"][0]["category"] = "other"
    receive(post, account, payload)
    assert opted_out(account) is None


# --- Replies --------------------------------------------------------------------------------


def test_quick_reply_tap_marks_the_recipient_replied_once(post, account, make_recipient):
    r = make_recipient(phone=PHONE, status="read", wamid="wamid.TPL", sent_at=at(p.T0))
    tap = p.button(account, PHONE, "wamid.TPL", ts=p.T0 + 600)

    receive(post, account, tap)
    receive(post, account, tap)  # Meta retried it

    r.refresh_from_db()
    assert r.replied_at == at(p.T0 + 600)
    assert assert_counters_match(r.campaign_id)["replied_count"] == 1


def test_quick_reply_tap_long_after_the_window_still_counts(post, account, make_recipient):
    r = make_recipient(phone=PHONE, status="read", wamid="wamid.TPL", sent_at=at(p.T0))
    receive(post, account, p.button(account, PHONE, "wamid.TPL", ts=p.T0 + 30 * 86400))
    assert Recipient.objects.get(pk=r.pk).replied_at is not None


def test_text_within_the_reply_window_marks_the_latest_recipient(post, account, campaign):
    earlier = RecipientFactory(campaign=campaign, phone=PHONE, status="read", sent_at=at(p.T0))
    later_campaign = CampaignFactory(template=campaign.template, status="running")
    latest = RecipientFactory(
        campaign=later_campaign, phone=PHONE, status="delivered", sent_at=at(p.T0 + 3600)
    )

    receive(post, account, p.text(account, PHONE, "Thanks!", ts=p.T0 + 7200))

    assert Recipient.objects.get(pk=earlier.pk).replied_at is None
    assert Recipient.objects.get(pk=latest.pk).replied_at == at(p.T0 + 7200)


@override_settings(REPLY_WINDOW_HOURS=72)
def test_text_outside_the_reply_window_is_not_a_reply(post, account, make_recipient):
    r = make_recipient(phone=PHONE, status="read", sent_at=at(p.T0))
    late = p.T0 + int(timedelta(hours=73).total_seconds())
    receive(post, account, p.text(account, PHONE, "hello?", ts=late))
    assert Recipient.objects.get(pk=r.pk).replied_at is None


def test_reply_to_another_accounts_campaign_is_not_counted(post, account, make_recipient):
    r = make_recipient(phone=PHONE, status="read", sent_at=at(p.T0))
    other = WhatsAppAccountFactory(workspace=account.workspace)
    receive(post, other, p.text(other, PHONE, "hi", ts=p.T0 + 60))
    assert Recipient.objects.get(pk=r.pk).replied_at is None


def test_stop_reply_opts_out_and_counts_as_a_reply(post, account, make_recipient):
    r = make_recipient(phone=PHONE, status="read", sent_at=at(p.T0))
    receive(post, account, p.text(account, PHONE, "STOP", ts=p.T0 + 60))
    assert opted_out(account) is not None
    assert Recipient.objects.get(pk=r.pk).replied_at == at(p.T0 + 60)
    assert_counters_match(r.campaign_id)


def test_message_without_a_phone_is_skipped(post, account):
    payload = p.text(account, PHONE, "STOP")
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    receive(post, account, payload)
    assert opted_out(account) is None
    assert WebhookEvent.objects.get().status == "processed"
