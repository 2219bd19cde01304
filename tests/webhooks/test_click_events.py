"""Meta's click events (`user_actions` on the `messages` field, docs/whatsapp.md §11.2)
through the real receiver and drain: stored once, attributed only to our own recipients."""

from datetime import UTC, datetime

import pytest

from campaigns.models import Campaign, Click, Recipient
from campaigns.tracking.clicks import click_token
from webhooks.models import WebhookEvent
from whatsapp import callback
from whatsapp.webhook_payload import read_messages_value

from ..factories import CampaignFactory, RecipientFactory, WhatsAppAccountFactory
from . import payloads as p
from .conftest import assert_counters_match, at

pytestmark = pytest.mark.django_db

LINK = "marketing_messages_link_click"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def user_action(action_type=LINK, *, click_id="ck1", token="", ts=p.T0 + 900, key=None, **data):
    """One `user_actions[]` item, its details under `<action_type>_data` (or `key`)."""
    details = {"click_id": click_id, "tracking_token": token, **data}
    if action_type == LINK:
        details = {"click_component": "cta", "product_id": "sku-1", **details}
    return {"action_type": action_type, "timestamp": str(ts), key or f"{action_type}_data": details}


def clicks(account, *items) -> dict:
    return p.envelope(account, {"user_actions": list(items)})


def test_a_link_click_with_our_callback_data_counts_the_recipient(
    receive, account, campaign, make_recipient
):
    r = make_recipient(status="delivered", wamid="wamid.A")
    item = user_action(token=callback.encode(r.pk))

    receive(account, clicks(account, item))

    click = Click.objects.get()
    assert (click.source, click.action_type, click.click_id) == ("meta", LINK, "ck1")
    assert (click.campaign_id, click.recipient_id, click.account_id) == (
        campaign.pk,
        r.pk,
        account.pk,
    )
    assert (click.click_component, click.product_id) == ("cta", "sku-1")
    assert click.tracking_token == callback.encode(r.pk)
    assert click.occurred_at == at(p.T0 + 900)
    assert click.payload == item
    r.refresh_from_db()
    assert (r.status, r.clicked_at) == ("delivered", at(p.T0 + 900))
    assert assert_counters_match(campaign.pk)["clicked_count"] == 1
    assert WebhookEvent.objects.get().status == "processed"


def test_a_redelivered_click_is_stored_and_counted_once(receive, account, campaign, make_recipient):
    r = make_recipient(status="read", wamid="wamid.A")
    item = user_action(token=callback.encode(r.pk))
    payload = clicks(account, item, item)  # twice in one payload, too

    receive(account, payload, payload)
    receive(account, payload)

    assert Click.objects.count() == 1
    assert WebhookEvent.objects.filter(status="processed").count() == 3
    assert assert_counters_match(campaign.pk)["clicked_count"] == 1


def test_a_click_with_our_click_token_is_attributed(receive, account, campaign, make_recipient):
    r = make_recipient(status="delivered", wamid="wamid.A")

    receive(account, clicks(account, user_action(token=click_token(r.pk, 0))))

    assert Click.objects.get().recipient_id == r.pk
    assert assert_counters_match(campaign.pk)["clicked_count"] == 1


@pytest.mark.parametrize("token", ["", "Meta-opaque-token-123", "bc1:", "bc1:x", "bc1:999999999"])
def test_a_click_whose_token_is_not_ours_is_stored_unattributed(
    receive, account, campaign, make_recipient, token
):
    make_recipient(status="delivered", wamid="wamid.A")

    receive(account, clicks(account, user_action(token=token)))

    click = Click.objects.get()
    assert (click.campaign_id, click.recipient_id, click.tracking_token) == (None, None, token)
    assert click.account_id == account.pk
    assert not Recipient.objects.filter(clicked_at__isnull=False).exists()
    assert assert_counters_match(campaign.pk)["clicked_count"] == 0


def test_another_accounts_recipient_is_never_attributed(receive, account, campaign, workspace_b):
    """The outsider's webhook naming our recipient, and ours naming theirs: neither counts."""
    ours = RecipientFactory(campaign=campaign, status="delivered")
    outsider_account = WhatsAppAccountFactory(workspace=workspace_b)
    theirs_campaign = CampaignFactory(template__account=outsider_account, status="running")
    theirs = RecipientFactory(campaign=theirs_campaign, status="delivered")

    receive(
        outsider_account,
        clicks(outsider_account, user_action(click_id="o1", token=callback.encode(ours.pk))),
        clicks(outsider_account, user_action(click_id="o2", token=click_token(ours.pk, 0))),
    )
    receive(account, clicks(account, user_action(click_id="a1", token=callback.encode(theirs.pk))))

    assert set(Click.objects.values_list("click_id", "account_id", "campaign_id")) == {
        ("o1", outsider_account.pk, None),
        ("o2", outsider_account.pk, None),
        ("a1", account.pk, None),
    }
    assert not Recipient.objects.filter(clicked_at__isnull=False).exists()
    assert Campaign.objects.filter(clicked_count__gt=0).count() == 0


def test_a_click_before_the_sent_status_and_before_the_wamid_is_recorded(
    receive, account, campaign, make_recipient
):
    # given: claimed, its request in flight: no wamid, no status yet
    r = make_recipient(status="sending", wamid=None)

    receive(account, clicks(account, user_action(token=callback.encode(r.pk), ts=p.T0 + 5)))
    r.refresh_from_db()
    assert (r.status, r.clicked_at) == ("sending", at(p.T0 + 5))  # status untouched

    # when: the statuses follow
    receive(
        account,
        p.statuses(account, p.status("wamid.L", "sent", recipient=r)),
        p.statuses(account, p.status("wamid.L", "read", ts=p.T0 + 60, recipient=r)),
    )

    r.refresh_from_db()
    assert (r.status, r.wamid, r.clicked_at) == ("read", "wamid.L", at(p.T0 + 5))
    assert assert_counters_match(campaign.pk)["clicked_count"] == 1


def test_a_click_after_read_counts(receive, account, campaign, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.R")
    receive(account, p.statuses(account, p.status("wamid.R", "read", ts=p.T0 + 30)))

    receive(account, clicks(account, user_action(token=callback.encode(r.pk))))

    r.refresh_from_db()
    assert r.status == "read"
    assert r.clicked_at is not None
    assert assert_counters_match(campaign.pk)["clicked_count"] == 1


def test_clicks_and_statuses_in_one_event_in_any_order(receive, account, campaign, make_recipient):
    r = make_recipient(status="sending", wamid=None)
    value = {
        "user_actions": [user_action(token=callback.encode(r.pk))],
        "statuses": [p.status("wamid.S", "delivered", recipient=r)],
    }

    receive(account, p.envelope(account, value))

    r.refresh_from_db()
    assert (r.status, r.clicked_at is not None) == ("delivered", True)
    assert assert_counters_match(campaign.pk)["clicked_count"] == 1


@pytest.mark.parametrize("redirect_first", [True, False])
def test_a_redirect_and_a_meta_click_count_the_recipient_once(
    client, receive, account, campaign, make_recipient, redirect_first
):
    r = make_recipient(
        status="delivered",
        wamid="wamid.A",
        values={"button_0_destination_url": "https://x.example"},
    )

    def redirect():
        assert client.get(f"/r/{click_token(r.pk, 0)}").status_code == 302

    def meta():
        receive(account, clicks(account, user_action(token=click_token(r.pk, 0))))

    for step in (redirect, meta) if redirect_first else (meta, redirect):
        step()

    assert set(Click.objects.values_list("source", flat=True)) == {"redirect", "meta"}
    assert assert_counters_match(campaign.pk)["clicked_count"] == 1


def test_a_landing_page_view_is_stored_attributed_but_is_not_a_click(
    receive, account, campaign, make_recipient
):
    r = make_recipient(status="delivered", wamid="wamid.A")
    view = user_action("landing_page_view", click_id="lp1", token=callback.encode(r.pk))

    receive(account, clicks(account, view))

    stored = Click.objects.get()
    assert (stored.action_type, stored.recipient_id, stored.campaign_id) == (
        "landing_page_view",
        r.pk,
        campaign.pk,
    )
    assert Recipient.objects.get(pk=r.pk).clicked_at is None
    assert assert_counters_match(campaign.pk)["clicked_count"] == 0


def test_unknown_action_types_and_odd_items_are_stored_or_skipped_never_failed(
    receive, account, campaign, make_recipient
):
    r = make_recipient(status="delivered", wamid="wamid.A")
    token = callback.encode(r.pk)
    items = [
        user_action("catalog_product_view", click_id="u1", token=token, key="details_data"),
        # the details on the item itself
        {"action_type": LINK, "timestamp": "oops", "click_id": "u2", "tracking_token": token},
        {"timestamp": str(p.T0)},  # no action type: skipped
        "not an object",
        None,
        {"action_type": LINK, LINK + "_data": "not an object", "click_id": "u3"},
        {"action_type": LINK, LINK + "_data": {"click_id": "x" * 500, "tracking_token": token}},
    ]

    receive(account, clicks(account, *items))

    assert WebhookEvent.objects.get().status == "processed"
    stored = dict(Click.objects.values_list("click_id", "action_type"))
    assert stored == {"u1": "catalog_product_view", "u2": LINK, "u3": LINK, "x" * 128: LINK}
    assert assert_counters_match(campaign.pk)["clicked_count"] == 1


def test_one_batch_with_several_clicks_of_one_recipient_counts_it_once(
    receive, account, campaign, make_recipient
):
    r = make_recipient(status="delivered", wamid="wamid.A")
    token = callback.encode(r.pk)
    later = clicks(account, user_action(click_id="c2", token=token, ts=p.T0 + 50))
    earlier = clicks(account, user_action(click_id="c1", token=token, ts=p.T0 + 10))

    receive(account, later, earlier)

    assert Click.objects.count() == 2
    # The earliest click, whatever the order they came in.
    assert Recipient.objects.get(pk=r.pk).clicked_at == at(p.T0 + 10)
    assert assert_counters_match(campaign.pk)["clicked_count"] == 1


def test_reading_user_actions_in_both_key_shapes():
    value = {
        "user_actions": [
            user_action(click_id="a", token="t1"),
            user_action("landing_page_view", click_id="b", token="t2", key="landing_page_data"),
        ]
    }

    read = read_messages_value(value, default_time=NOW)

    assert [(a.action_type, a.click_id, a.tracking_token) for a in read.user_actions] == [
        (LINK, "a", "t1"),
        ("landing_page_view", "b", "t2"),
    ]
    assert read.user_actions[0].click_component == "cta"
    assert read.skipped == 0
