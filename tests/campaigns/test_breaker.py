"""Bad rows fail alone; a fault that is not the rows' trips the breaker (issue: failure
handling). Against the sandbox, through the real engine."""

import re

import pytest
import requests

from campaigns.engine.breaker import Breaker, BreakerSettings
from campaigns.engine.runner import sender_finished
from campaigns.models import Campaign, Recipient
from whatsapp.errors import classify

from .test_engine import assert_counters_match, run
from .test_engine import make_campaign as make_campaign  # the fixture

pytestmark = pytest.mark.django_db(transaction=True)  # the sender has its own connection


def fail_template(sandbox, campaign, code):
    """Every send of the campaign's template fails with `code` (a broken mapping)."""
    url = f"{sandbox.url}/__sandbox/templates/{campaign.template.name}/fail"
    requests.post(url, json={"code": code}, timeout=5).raise_for_status()


def burst(sandbox, code, count):
    url = f"{sandbox.url}/__sandbox/burst"
    requests.post(url, json={"code": code, "count": count}, timeout=5).raise_for_status()


def finish(campaign, result):
    sender_finished(campaign_id=campaign.pk, sender_no=0, result=result)
    campaign.refresh_from_db()
    return campaign


def test_one_bad_row_among_300_fails_alone_and_the_campaign_completes(sandbox, make_campaign):
    phones = [f"+1415555{i:04d}" for i in range(299)] + ["+14155559910"]  # 131009, its value
    campaign = make_campaign(phones=phones)
    result = run(campaign)
    assert result.reason == "drained"
    campaign = finish(campaign, result)
    assert campaign.status == "completed"
    assert Recipient.objects.filter(campaign=campaign, status="sent").count() == 299
    bad = Recipient.objects.get(campaign=campaign, phone="+14155559910")
    assert (bad.status, bad.error_code, bad.error_retryable) == ("failed", 131009, True)
    assert "not valid" in bad.error_details
    assert sandbox.stats()["accepted_total"] == 299
    assert_counters_match(campaign)


def test_a_broken_mapping_pauses_within_the_window_naming_the_code(sandbox, make_campaign):
    campaign = make_campaign(400)
    fail_template(sandbox, campaign, 132012)
    result = run(campaign)
    assert result.reason == "paused"
    campaign = finish(campaign, result)
    assert campaign.status == "paused"
    assert "132012" in campaign.status_reason
    assert "10 sends in a row" in campaign.status_reason
    assert "+1415555" in campaign.status_reason  # sample recipients
    attempts = sandbox.stats()["rejected_by_code"]["132012"]
    assert 10 <= attempts <= 40  # a few dozen, not 400
    failed = Recipient.objects.filter(campaign=campaign, status="failed")
    assert failed.count() == attempts
    assert set(failed.values_list("error_retryable", flat=True)) == {True}  # retry after a fix
    assert Recipient.objects.filter(campaign=campaign, status="pending").count() == 400 - attempts
    assert_counters_match(campaign)


def test_an_expired_token_pauses_after_one_attempt(sandbox, make_campaign):
    campaign = make_campaign(50)
    fail_template(sandbox, campaign, 190)
    campaign = finish(campaign, run(campaign))
    assert campaign.status == "paused"
    assert sandbox.stats()["rejected_by_code"] == {"190": 1}
    assert Recipient.objects.filter(campaign=campaign, status="pending").count() == 50


def test_a_burst_of_the_per_user_marketing_limit_trips_the_share_rule(sandbox, make_campaign):
    campaign = make_campaign(200)
    campaign.breaker = {"consecutive": 1000}  # only the share rule can trip
    campaign.save(update_fields=["breaker"])
    burst(sandbox, 131049, 1000)
    campaign = finish(campaign, run(campaign))
    assert campaign.status == "paused"
    assert "131049" in campaign.status_reason
    assert "of the last 20 sends" in campaign.status_reason  # min_attempts: 20
    deferred = Recipient.objects.filter(campaign=campaign, error_code=131049)
    assert deferred.count() == sandbox.stats()["rejected_by_code"]["131049"] <= 25
    assert all(r.next_attempt_at for r in deferred)


def test_workspace_defaults_and_campaign_overrides_set_the_thresholds(sandbox, make_campaign):
    campaign = make_campaign(100)
    campaign.workspace.breaker_defaults = {"consecutive": 3}
    campaign.workspace.save(update_fields=["breaker_defaults"])
    fail_template(sandbox, campaign, 131009)
    campaign = finish(campaign, run(campaign))
    assert "3 sends in a row" in campaign.status_reason
    assert sandbox.stats()["rejected_by_code"]["131009"] <= 6

    other = make_campaign(100)
    other.breaker = {"consecutive": 5}
    other.save(update_fields=["breaker"])
    Campaign.objects.filter(pk=other.pk).update(status="running")
    other = finish(other, run(other))
    assert "5 sends in a row" in other.status_reason


# --- the thresholds' boundaries (the breaker alone, with real rules) --------------------


ROW = classify(131009)  # a row-level payload error
CAP = classify(131049)  # per-user marketing limit (recipient)
OPTED_OUT = classify(131050)
THROTTLE = classify(130429)  # our pacing, not evidence


def breaker(**overrides):
    return Breaker(BreakerSettings.resolve(overrides))


def test_consecutive_trips_on_the_nth_same_code_and_not_before():
    b = breaker(consecutive=4, min_attempts=1000)
    assert [b.failure(ROW, 131009, "+1") for _ in range(3)] == [None, None, None]
    trip = b.failure(ROW, 131009, "+1")
    assert trip is not None
    assert (trip.code, trip.count) == (131009, 4)


def test_a_success_or_another_code_restarts_the_run():
    b = breaker(consecutive=3, min_attempts=1000)
    b.failure(ROW, 131009, "+1")
    b.failure(ROW, 131009, "+1")
    b.success()
    assert b.failure(ROW, 131009, "+1") is None
    assert b.failure(ROW, 131009, "+1") is None
    assert b.failure(CAP, 131049, "+1") is None
    assert b.failure(ROW, 131009, "+1") is None


def test_share_trips_only_above_the_share_and_after_min_attempts():
    b = breaker(consecutive=1000, window=10, share=0.5, min_attempts=10)
    for _ in range(5):
        b.success()
        assert b.failure(ROW, 131009, "+1") is None  # 5 of 10: not above half
    b2 = breaker(consecutive=1000, window=10, share=0.5, min_attempts=10)
    outcomes = []
    for i in range(10):
        if i in (0, 2, 4, 6):
            b2.success()
        else:
            outcomes.append(b2.failure(ROW, 131009, "+1"))
    assert outcomes[-1] is not None  # 6 of the last 10, the 10th attempt
    assert all(o is None for o in outcomes[:-1])


def test_the_window_forgets_old_attempts():
    b = breaker(consecutive=1000, window=10, share=0.5, min_attempts=10)
    for _ in range(5):
        b.failure(ROW, 131009, "+1")
    for _ in range(10):
        b.success()
    for _ in range(5):
        assert b.failure(ROW, 131009, "+1") is None  # the first five left the window


def test_throughput_limits_are_not_evidence():
    b = breaker(consecutive=2, min_attempts=1)
    assert all(b.failure(THROTTLE, 130429, "+1") is None for _ in range(50))


def test_opt_outs_trip_only_when_the_campaign_sets_a_limit():
    off = breaker(min_attempts=10)
    assert all(off.failure(OPTED_OUT, 131050, "+1") is None for _ in range(100))
    on = breaker(min_attempts=10, optout_share=0.2)
    for _ in range(8):
        on.success()
    assert on.failure(OPTED_OUT, 131050, "+1") is None  # 1 of 9 attempts, and under 10
    assert on.failure(OPTED_OUT, 131050, "+1") is None  # 2 of 10 = 20 %: not above
    trip = on.failure(OPTED_OUT, 131050, "+1")  # 3 of 11
    assert trip is not None
    assert "3 of 11 recipients reached have opted out (error 131050)" in trip.reason


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"consecutive": 1}, "breaker.consecutive must be a number from 2"),
        ({"share": 0}, "breaker.share"),
        ({"share": "half"}, "breaker.share"),
        ({"window": True}, "breaker.window"),
        ({"nonsense": 3}, "unknown breaker setting"),
        ([], "must be an object"),
    ],
)
def test_bad_breaker_settings_are_refused_with_a_sentence(data, message):
    with pytest.raises(ValueError, match=message):
        BreakerSettings.clean(data)


def test_good_breaker_settings_are_kept():
    assert BreakerSettings.clean({"consecutive": 5, "share": 0.3, "optout_share": None}) == {
        "consecutive": 5,
        "share": 0.3,
        "optout_share": None,
    }


def test_a_deferral_past_the_horizon_fails_retryably_and_the_campaign_completes(
    sandbox, make_campaign, settings
):
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    settings.ENGINE_DEFER_HORIZON_HOURS = 1  # the messaging limit frees up in ~24 h
    campaign = make_campaign(260, messaging_limit_tier="250", waba_id=uuid.uuid4().hex)
    campaign = finish(campaign, run(campaign))
    assert campaign.status == "completed"
    late = Recipient.objects.filter(campaign=campaign, status="failed")
    assert late.count() == 10
    assert {(r.error_title, r.error_retryable) for r in late} == {("Messaging limit reached", True)}
    assert all(r.next_attempt_at > timezone.now() + timedelta(hours=23) for r in late)
    assert Recipient.objects.filter(campaign=campaign, status="pending").count() == 0
    assert sandbox.stats()["accepted_total"] == 250
    assert_counters_match(campaign)


def test_a_per_user_marketing_limit_ends_the_recipient_failed_until_its_next_attempt(
    sandbox, make_campaign
):
    campaign = make_campaign(30)
    burst(sandbox, 131049, 3)
    campaign = finish(campaign, run(campaign))
    assert campaign.status == "completed"  # three 131049s trip nothing
    capped = Recipient.objects.filter(campaign=campaign, error_code=131049)
    assert capped.count() == 3
    assert {(r.status, r.error_retryable) for r in capped} == {("failed", True)}
    assert all(r.next_attempt_at is not None for r in capped)


def test_stop_replies_over_the_campaigns_limit_pause_it(sandbox, make_campaign, monkeypatch):
    from django.utils import timezone

    from campaigns.engine import sender
    from campaigns.models import OptOut

    monkeypatch.setattr(sender, "EVIDENCE_EVERY", 0.0)  # count at every control tick
    campaign = make_campaign(200, rate=10)
    now = timezone.now()
    reached = list(Recipient.objects.filter(campaign=campaign).order_by("id")[:40])
    Recipient.objects.filter(id__in=[r.id for r in reached]).update(
        status="sent", sent_at=now, wamid=None
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        sent_count=40, pending_count=160, started_at=now, breaker={"optout_share": 0.1}
    )
    for r in reached[:5]:  # 5 of 40: under 10 %... then 5 more
        OptOut.objects.create(workspace=campaign.workspace, phone=r.phone, source="keyword")
    for r in reached[5:10]:
        OptOut.objects.create(workspace=campaign.workspace, phone=r.phone, source="keyword")
    # an opt-out from before the campaign started is not this campaign's doing
    Recipient.objects.filter(id=reached[10].id).update(sent_at=now)
    OptOut.objects.filter(phone=reached[0].phone).update(opted_out_at=now.replace(year=2020))

    result = run(campaign)
    assert result.reason == "paused"
    campaign = finish(campaign, result)
    assert campaign.status == "paused"
    assert re.search(r"9 of 4\d recipients reached have opted out", campaign.status_reason)
    assert sandbox.stats()["accepted_total"] < 20  # stopped within a second at 10 msg/s


def test_stop_replies_are_not_counted_unless_the_campaign_sets_a_limit(sandbox, make_campaign):
    from django.utils import timezone

    from campaigns.engine import store
    from campaigns.models import OptOut

    campaign = make_campaign(20)
    Campaign.objects.filter(pk=campaign.pk).update(started_at=timezone.now())
    result = run(campaign)
    for r in Recipient.objects.filter(campaign=campaign)[:10]:
        OptOut.objects.create(workspace=campaign.workspace, phone=r.phone, source="keyword")
    assert store.optouts_since_start(campaign_id=campaign.pk) == (10, 20)
    assert finish(campaign, result).status == "completed"


# --- the API: `breaker` and `deferred_until` on the campaign ------------------------------


def test_the_api_shows_the_effective_breaker_and_takes_overrides(owner_api, make_campaign):
    campaign = make_campaign(5, status="draft")
    campaign.workspace.breaker_defaults = {"window": 200}
    campaign.workspace.save(update_fields=["breaker_defaults"])
    url = f"/api/v1/campaigns/{campaign.pk}/"
    body = owner_api.get(url).json()["breaker"]
    assert body == {
        "consecutive": 10,
        "window": 200,
        "share": 0.5,
        "min_attempts": 20,
        "optout_share": None,
        "overrides": {},
    }
    response = owner_api.patch(url, {"breaker": {"consecutive": 25}}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["breaker"]["consecutive"] == 25
    response = owner_api.patch(url, {"breaker": {"optout_share": 0.02}}, format="json")
    assert response.json()["breaker"]["overrides"] == {"consecutive": 25, "optout_share": 0.02}
    response = owner_api.patch(url, {"breaker": {"consecutive": None}}, format="json")
    assert response.json()["breaker"]["consecutive"] == 10  # back to the default


@pytest.mark.parametrize(
    ("breaker", "message"),
    [({"consecutive": 0}, "breaker.consecutive"), ({"speed": 3}, "unknown breaker setting")],
)
def test_bad_breaker_overrides_are_a_400_naming_the_field(
    owner_api, make_campaign, breaker, message
):
    campaign = make_campaign(5, status="draft")
    response = owner_api.patch(
        f"/api/v1/campaigns/{campaign.pk}/", {"breaker": breaker}, format="json"
    )
    assert response.status_code == 400
    assert message in str(response.json()["breaker"])


def test_the_breaker_is_editable_while_paused_but_nothing_else_is(owner_api, make_campaign):
    campaign = make_campaign(5, status="paused")
    url = f"/api/v1/campaigns/{campaign.pk}/"
    assert owner_api.patch(url, {"breaker": {"share": 0.3}}, format="json").status_code == 200
    assert owner_api.patch(url, {"name": "renamed"}, format="json").status_code == 409
    Campaign.objects.filter(pk=campaign.pk).update(status="running")
    response = owner_api.patch(url, {"breaker": {"share": 0.4}}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_a_campaign_waiting_only_on_deferred_recipients_says_until_when(owner_api, make_campaign):
    from datetime import timedelta

    from django.utils import timezone

    campaign = make_campaign(3)
    later = timezone.now() + timedelta(hours=5)
    Recipient.objects.filter(campaign=campaign).update(next_attempt_at=later)
    body = owner_api.get(f"/api/v1/campaigns/{campaign.pk}/").json()
    assert body["status"] == "running"
    assert body["deferred_until"] is not None
    assert (
        abs((timezone.datetime.fromisoformat(body["deferred_until"]) - later).total_seconds()) < 1
    )
    Recipient.objects.filter(pk=Recipient.objects.filter(campaign=campaign).first().pk).update(
        next_attempt_at=None
    )
    assert owner_api.get(f"/api/v1/campaigns/{campaign.pk}/").json()["deferred_until"] is None


def test_the_campaign_page_shows_the_breaker_and_saves_its_thresholds(client, owner, make_campaign):
    campaign = make_campaign(5, status="paused")
    client.force_login(owner)
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-breaker="consecutive">10<' in html
    assert 'data-breaker="share">50 %<' in html
    assert "opt-outs do not pause it" in html
    response = client.post(
        f"/campaigns/{campaign.pk}/breaker/",
        {"consecutive": "25", "share_percent": "30", "window": "", "optout_percent": "2"},
        follow=True,
    )
    assert "Breaker thresholds saved." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.breaker == {"consecutive": 25, "share": 0.3, "optout_share": 0.02}
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-breaker="share">30 %<' in html
    assert "more than 2 % of the people reached opt out" in html
    response = client.post(f"/campaigns/{campaign.pk}/breaker/", {"consecutive": "1"}, follow=True)
    assert "Ensure this value is greater than or equal to 2" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.breaker["consecutive"] == 25


def test_a_waiting_campaign_page_says_when_it_resumes(client, owner, make_campaign):
    from datetime import timedelta

    from django.utils import timezone

    campaign = make_campaign(3)
    Recipient.objects.filter(campaign=campaign).update(
        next_attempt_at=timezone.now() + timedelta(hours=5)
    )
    client.force_login(owner)
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Sending resumes at" in html


def test_quality_signals_from_status_webhooks_pause_the_campaign(
    sandbox, make_campaign, monkeypatch
):
    from django.utils import timezone

    from campaigns.engine import sender
    from campaigns.engine.breaker import quality_key, quality_record
    from config.redis import get_redis

    monkeypatch.setattr(sender, "EVIDENCE_EVERY", 0.0)
    campaign = make_campaign(200, rate=10)
    Campaign.objects.filter(pk=campaign.pk).update(
        started_at=timezone.now(), sent_count=10, pending_count=190
    )
    Recipient.objects.filter(
        pk__in=Recipient.objects.filter(campaign=campaign).values("pk")[:10]
    ).update(status="sent")
    get_redis().delete(quality_key(campaign.pk))
    quality_record({(str(campaign.pk), 131049): 20})  # 20 of about 20 reached
    try:
        campaign = finish(campaign, run(campaign))
    finally:
        get_redis().delete(quality_key(campaign.pk))
    assert campaign.status == "paused"
    assert "error 131049 for 20 of the" in campaign.status_reason
    assert sandbox.stats()["accepted_total"] < 20


def test_quality_boundaries_spam_limit_at_once_marketing_limit_above_the_share():
    b = breaker(min_attempts=20, share=0.5)
    assert b.quality({131049: 10}, 20) is None  # half: not above
    assert b.quality({131049: 11}, 20) is not None
    assert b.quality({131049: 15}, 19) is None  # under min_attempts
    assert b.quality({131048: 1}, 1000) is not None  # the spam rate limit: at once
