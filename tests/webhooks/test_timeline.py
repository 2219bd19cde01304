"""The stats' timeline follows the webhooks: each recipient time that a status or a reply
sets, moves or clears lands in (or leaves) its UTC minute, equal to a recount."""

from datetime import timedelta

import pytest

from campaigns.models import TimelineMinute
from campaigns.services.reruns import campaign_retry_failed
from campaigns.tracking import campaign_recount
from campaigns.tracking.timeline import stored_timeline, timeline_from_recipients
from webhooks.services import webhook_events_drain

from . import payloads as p
from .conftest import assert_counters_match, at

pytestmark = pytest.mark.django_db


def deliver(post, account, payload):
    assert post(payload, account=account).status_code == 200
    webhook_events_drain()


def minute(seconds: int):
    return at(seconds).replace(second=0)


def test_statuses_land_in_the_minutes_meta_reports(post, account, make_recipient):
    # given two recipients sent in the minute of T0
    a = make_recipient(status="sent", wamid="wamid.A", sent_at=at(p.T0 + 1))
    b = make_recipient(status="sent", wamid="wamid.B", sent_at=at(p.T0 + 2))

    # when one is delivered two minutes later and read five minutes later, and one fails
    deliver(post, account, p.statuses(account, p.status("wamid.A", "delivered", ts=p.T0 + 125)))
    deliver(post, account, p.statuses(account, p.status("wamid.A", "read", ts=p.T0 + 300)))
    deliver(
        post,
        account,
        p.statuses(account, p.status("wamid.B", "failed", ts=p.T0 + 61, error_code=131026)),
    )

    # then
    timeline = stored_timeline(campaign_id=a.campaign_id)
    assert timeline[minute(p.T0)]["sent"] == 2
    assert timeline[minute(p.T0 + 125)]["delivered"] == 1
    assert timeline[minute(p.T0 + 300)]["read"] == 1
    assert timeline[minute(p.T0 + 61)]["failed"] == 1
    assert sum(sum(c.values()) for c in timeline.values()) == 5
    assert_counters_match(b.campaign_id)


def test_an_earlier_sent_time_moves_the_send_to_its_minute(post, account, make_recipient):
    # given a send the engine recorded two minutes after Meta's own sent time
    r = make_recipient(status="sent", wamid="wamid.A", sent_at=at(p.T0 + 130))
    assert stored_timeline(campaign_id=r.campaign_id)[minute(p.T0 + 130)]["sent"] == 1

    deliver(post, account, p.statuses(account, p.status("wamid.A", "sent", ts=p.T0 + 5)))

    timeline = stored_timeline(campaign_id=r.campaign_id)
    assert timeline[minute(p.T0)]["sent"] == 1
    assert minute(p.T0 + 130) not in timeline  # emptied minutes are not shown
    assert_counters_match(r.campaign_id)


def test_a_delivery_after_a_failure_takes_the_failure_out(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.A", sent_at=at(p.T0))
    deliver(post, account, p.statuses(account, p.status("wamid.A", "failed", ts=p.T0 + 10)))
    assert stored_timeline(campaign_id=r.campaign_id)[minute(p.T0)]["failed"] == 1

    deliver(post, account, p.statuses(account, p.status("wamid.A", "delivered", ts=p.T0 + 70)))

    timeline = stored_timeline(campaign_id=r.campaign_id)
    assert timeline[minute(p.T0)] == {
        "sent": 1,
        "delivered": 0,
        "read": 0,
        "failed": 0,
        "replied": 0,
    }
    assert timeline[minute(p.T0 + 70)]["delivered"] == 1
    assert_counters_match(r.campaign_id)


def test_a_reply_counts_once_in_its_minute(post, account, make_recipient):
    r = make_recipient(status="delivered", wamid="wamid.A", sent_at=at(p.T0))
    reply = p.button(account, r.phone, "wamid.A", ts=p.T0 + 600)

    deliver(post, account, reply)
    deliver(post, account, reply)  # Meta redelivers

    assert stored_timeline(campaign_id=r.campaign_id)[minute(p.T0 + 600)]["replied"] == 1
    assert_counters_match(r.campaign_id)


def test_retry_failed_takes_the_failures_out_of_their_minutes(post, account, make_recipient, owner):
    r = make_recipient(status="sent", wamid="wamid.A", sent_at=at(p.T0))
    deliver(
        post,
        account,
        p.statuses(account, p.status("wamid.A", "failed", ts=p.T0 + 10, error_code=131026)),
    )
    r.refresh_from_db()
    assert r.error_retryable, "131026 is retryable"

    assert campaign_retry_failed(user=owner, campaign=r.campaign) == 1

    assert stored_timeline(campaign_id=r.campaign_id)[minute(p.T0)]["failed"] == 0
    assert_counters_match(r.campaign_id)


def test_recount_repairs_a_wrong_timeline(make_recipient):
    r = make_recipient(status="read", sent_at=at(p.T0), delivered_at=at(p.T0 + 60))
    TimelineMinute.objects.filter(campaign_id=r.campaign_id).update(sent=7)
    TimelineMinute.objects.create(campaign_id=r.campaign_id, minute=at(p.T0) + timedelta(hours=1))

    wrong = campaign_recount(campaign_id=r.campaign_id)

    assert "timeline" in wrong
    assert stored_timeline(campaign_id=r.campaign_id) == timeline_from_recipients(
        campaign_id=r.campaign_id
    )
    assert campaign_recount(campaign_id=r.campaign_id) == {}
