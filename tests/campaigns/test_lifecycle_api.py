"""Campaign controls through the API: every transition allowed and refused, schedules,
rerun, retry-failed, send-bulk and pre-flight."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.engine.runner import start_due_schedules
from campaigns.models import Campaign, Recipient
from campaigns.services.lifecycle import ALLOWED_TRANSITIONS
from campaigns.tracking.counters import counts_from_recipients, stored_counts
from whatsapp.models import WhatsAppAccount

from ..factories import (
    CampaignFactory,
    OptOutFactory,
    RecipientFactory,
    WhatsAppAccountFactory,
)
from ..templates_app import meta_shapes
from .conftest import make_template

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"
VALUES = {
    "body_param_1": "Ana",
    "body_param_2": "PK",
    "body_param_3": "now",
    "body_param_4": "9-12",
}


def with_recipients(template, n=3, status="draft", **fields):
    campaign = CampaignFactory(template=template, status=status, **fields)
    for i in range(n):
        RecipientFactory(campaign=campaign, phone=f"+1415555{i:04d}", values=VALUES)
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=n, pending_count=n)
    campaign.refresh_from_db()
    return campaign


def post(api, campaign, action, body=None):
    return api.post(f"{URL}{campaign.id}/{action}/", body or {}, format="json")


def test_send_starts_the_campaign_and_its_senders_after_commit(
    owner_api, template_a, django_capture_on_commit_callbacks
):
    campaign = with_recipients(template_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(owner_api, campaign, "send", {"worker_count": 50, "rate_limit": 200})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["worker_count"], body["rate_limit"]) == ("running", 50, 200)
    assert body["started_at"]
    assert any(getattr(cb, "__name__", "") == "<lambda>" for cb in callbacks)


def test_send_at_in_the_future_schedules(owner_api, template_a):
    campaign = with_recipients(template_a)
    when = (timezone.now() + timedelta(hours=2)).isoformat()
    response = post(owner_api, campaign, "send", {"send_at": when})
    assert response.json()["status"] == "scheduled"
    assert response.json()["send_at"]


def test_send_at_without_a_time_zone_is_refused(owner_api, template_a):
    campaign = with_recipients(template_a)
    response = post(owner_api, campaign, "send", {"send_at": "2030-01-01T09:00:00"})
    assert response.status_code == 400
    assert "time zone" in str(response.json()["send_at"])


def test_a_scheduled_campaign_can_be_rescheduled(owner_api, template_a):
    campaign = with_recipients(template_a)
    post(
        owner_api, campaign, "send", {"send_at": (timezone.now() + timedelta(hours=2)).isoformat()}
    )
    later = timezone.now() + timedelta(days=1)
    response = post(owner_api, campaign, "send", {"send_at": later.isoformat(), "rate_limit": 20})
    assert response.status_code == 200, response.json()
    campaign.refresh_from_db()
    assert (campaign.status, campaign.send_at, campaign.rate_limit) == ("scheduled", later, 20)


def test_a_scheduled_campaign_can_be_sent_now(
    owner_api, template_a, django_capture_on_commit_callbacks
):
    campaign = with_recipients(template_a)
    post(
        owner_api, campaign, "send", {"send_at": (timezone.now() + timedelta(hours=2)).isoformat()}
    )
    with django_capture_on_commit_callbacks(execute=False) as started:
        response = post(owner_api, campaign, "send")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "running"
    assert started  # the senders are enqueued once the transaction commits


def test_send_at_in_the_past_is_refused_beyond_the_grace_and_starts_within_it(
    owner_api, template_a, settings, django_capture_on_commit_callbacks
):
    settings.SCHEDULE_GRACE_MINUTES = 15
    stale = with_recipients(template_a)
    response = post(
        owner_api, stale, "send", {"send_at": (timezone.now() - timedelta(days=3)).isoformat()}
    )
    assert response.status_code == 400
    assert "in the past" in str(response.json())
    stale.refresh_from_db()
    assert stale.status == "draft"
    recent = with_recipients(template_a)
    just_now = (timezone.now() - timedelta(minutes=2)).isoformat()
    with django_capture_on_commit_callbacks(execute=False):
        response = post(owner_api, recent, "send", {"send_at": just_now})
    assert response.json()["status"] == "running"


def test_send_bulk_refuses_a_send_at_without_a_time_zone(owner_api, template_a):
    body = {
        "name": "Bulk",
        "template_id": str(template_a.id),
        "send_at": "2030-01-01T09:00:00",
        "recipients": [{"country_code": "+1", "phone_number": "4155550100", **VALUES}],
    }
    response = owner_api.post("/api/v1/send-bulk/", body, format="json")
    assert response.status_code == 400
    assert "time zone" in str(response.json()["send_at"])
    assert not Campaign.objects.filter(name="Bulk").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("worker_count", 0), ("worker_count", 101), ("rate_limit", 0), ("rate_limit", 1001)],
)
def test_send_validates_its_ranges(owner_api, template_a, field, value):
    campaign = with_recipients(template_a)
    assert post(owner_api, campaign, "send", {field: value}).status_code == 400


def test_a_campaign_without_recipients_cannot_be_sent(owner_api, template_a):
    campaign = CampaignFactory(template=template_a)
    response = post(owner_api, campaign, "send")
    assert response.status_code == 409
    assert "no recipients" in response.json()["detail"]


def test_a_template_paused_since_creation_blocks_the_send(owner_api, template_a):
    campaign = with_recipients(template_a)
    template_a.status = "PAUSED"
    template_a.save()
    response = post(owner_api, campaign, "send")
    assert response.status_code == 400
    assert "PAUSED" in response.json()["template_id"][0]


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("running", "pause", "paused"),
        ("scheduled", "pause", "paused"),
        ("running", "stop", "stopped"),
        ("paused", "stop", "stopped"),
        ("scheduled", "stop", "stopped"),
        ("paused", "resume", "running"),
    ],
)
def test_allowed_transitions(owner_api, template_a, status, action, expected):
    extra = {"send_at": timezone.now()} if status == "scheduled" else {}
    campaign = with_recipients(template_a, status=status, **extra)
    response = post(owner_api, campaign, action)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == expected


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("completed", "pause"),
        ("draft", "pause"),
        ("stopped", "resume"),
        ("running", "resume"),
        ("completed", "stop"),
        ("stopped", "stop"),
        ("failed", "pause"),
        ("running", "send"),
        ("completed", "send"),
    ],
)
def test_refused_transitions_are_409_with_a_message(owner_api, template_a, status, action):
    campaign = with_recipients(template_a, status=status)
    response = post(owner_api, campaign, action)
    assert response.status_code == 409
    verb = {"pause": "pause", "resume": "resume", "stop": "stop", "send": "send"}[action]
    assert response.json()["detail"] == f"cannot {verb} a {status} campaign"
    campaign.refresh_from_db()
    assert campaign.status == status


def test_the_transition_table_has_no_way_out_of_stopped_or_failed():
    assert ALLOWED_TRANSITIONS["stopped"] == set()
    assert ALLOWED_TRANSITIONS["failed"] == set()


@pytest.mark.parametrize(
    ("start", "value", "expected"),
    [
        ("running", "paused", "paused"),
        ("paused", "active", "running"),
        ("running", "stopped", "stopped"),
    ],
)
def test_the_seed_status_endpoint(owner_api, template_a, start, value, expected):
    campaign = with_recipients(template_a, status=start)
    response = post(owner_api, campaign, "status", {"status": value})
    assert response.status_code == 200
    assert response.json()["status"] == expected


def test_the_seed_status_endpoint_refuses_unknown_values(owner_api, template_a):
    campaign = with_recipients(template_a, status="running")
    assert post(owner_api, campaign, "status", {"status": "exploded"}).status_code == 400


def test_resume_is_refused_while_the_account_needs_attention(owner_api, template_a):
    campaign = with_recipients(template_a, status="paused")
    template_a.account.state, template_a.account.state_reason = "needs_attention", "token expired"
    template_a.account.save()
    response = post(owner_api, campaign, "resume")
    assert response.status_code == 409
    assert "token expired" in response.json()["detail"]


def test_schedule_fires_on_time(template_a):
    campaign = with_recipients(
        template_a, status="scheduled", send_at=timezone.now() - timedelta(seconds=5)
    )
    later = with_recipients(
        template_a, status="scheduled", send_at=timezone.now() + timedelta(minutes=5)
    )
    assert start_due_schedules() == {"started": 1, "missed": 0}
    campaign.refresh_from_db()
    later.refresh_from_db()
    assert campaign.status == "running"
    assert later.status == "scheduled"


def test_a_missed_schedule_pauses_with_the_reason_instead_of_firing_late(template_a, settings):
    settings.SCHEDULE_GRACE_MINUTES = 15
    campaign = with_recipients(
        template_a, status="scheduled", send_at=timezone.now() - timedelta(hours=3)
    )
    assert start_due_schedules() == {"started": 0, "missed": 1}
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert "missed" in campaign.status_reason


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("all", {"+14155550000", "+14155550001", "+14155550002", "+14155550003", "+14155550004"}),
        ("failed", {"+14155550001", "+14155550002"}),
        ("failed_retryable", {"+14155550001"}),
        ("unknown", {"+14155550003"}),
        ("delivered_not_read", {"+14155550004"}),
    ],
)
def test_rerun_segments_keep_each_rows_values(owner_api, template_a, segment, expected):
    campaign = CampaignFactory(template=template_a, status="completed")
    rows = [
        ("read", None),
        ("failed", True),
        ("failed", False),
        ("unknown", None),
        ("delivered", None),
    ]
    for i, (state, retryable) in enumerate(rows):
        RecipientFactory(
            campaign=campaign,
            phone=f"+1415555{i:04d}",
            status=state,
            error_retryable=retryable,
            values={**VALUES, "body_param_1": f"N{i}"},
        )
    response = post(owner_api, campaign, "rerun", {"segment": segment})
    assert response.status_code == 201, response.json()
    rerun = Campaign.objects.get(id=response.json()["id"])
    assert rerun.status == "draft"
    assert rerun.rerun_of == campaign
    copied = {r.phone: r for r in Recipient.objects.filter(campaign=rerun)}
    assert set(copied) == expected
    for phone, r in copied.items():
        assert r.status == "pending"
        assert r.values["body_param_1"] == f"N{int(phone[-1])}"
    assert stored_counts(campaign_id=rerun.pk) == counts_from_recipients(campaign_id=rerun.pk)


def test_rerun_leaves_out_numbers_that_opted_out(owner_api, template_a):
    campaign = with_recipients(template_a, n=3, status="completed")
    OptOutFactory(workspace=campaign.workspace, phone="+14155550001")
    response = post(owner_api, campaign, "rerun")
    assert response.json()["total_recipients"] == 2


def test_rerun_refuses_an_unknown_segment(owner_api, template_a):
    campaign = with_recipients(template_a, status="completed")
    assert post(owner_api, campaign, "rerun", {"segment": "vips"}).status_code == 400


def test_retry_failed_requeues_only_retryable_failures(
    owner_api, template_a, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(template=template_a, status="completed")
    RecipientFactory(campaign=campaign, status="failed", error_code=131026, error_retryable=True)
    RecipientFactory(campaign=campaign, status="failed", error_code=131050, error_retryable=False)
    RecipientFactory(campaign=campaign, status="read")
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=3, failed_count=2, read_count=1)
    with django_capture_on_commit_callbacks(execute=False):
        response = post(owner_api, campaign, "retry-failed")
    assert response.status_code == 200
    assert response.json()["requeued"] == 1
    assert response.json()["campaign"]["status"] == "running"
    assert Recipient.objects.get(error_code=131026).status == "pending"
    assert Recipient.objects.get(error_code=131050).status == "failed"
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)


def test_retry_failed_on_a_draft_is_refused(owner_api, template_a):
    campaign = with_recipients(template_a)
    assert post(owner_api, campaign, "retry-failed").status_code == 409


def test_send_bulk_creates_and_starts_in_one_call(
    owner_api, template_a, django_capture_on_commit_callbacks
):
    body = {
        "name": "Bulk",
        "template_id": str(template_a.id),
        "rate_limit": 100,
        "recipients": [
            {"country_code": "+1", "phone_number": f"41555501{i:02d}", **VALUES} for i in range(5)
        ],
    }
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_api.post("/api/v1/send-bulk/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "running"
    assert response.json()["total_recipients"] == 5
    assert response.json()["import"]["imported"] == 5


def test_send_bulk_with_nothing_valid_creates_nothing(owner_api, template_a):
    body = {
        "name": "Bulk",
        "template_id": str(template_a.id),
        "recipients": [{"country_code": "+1", "phone_number": "1", **VALUES}],
    }
    response = owner_api.post("/api/v1/send-bulk/", body, format="json")
    assert response.status_code == 409
    assert not Campaign.objects.exists()


def test_preflight_puts_the_numbers_on_one_screen(owner_api, workspace_a):
    template = make_template(workspace_a, meta_shapes.CART_REMINDER)
    campaign = CampaignFactory(template=template, rate_limit=10)
    for phone in ("+14155550100", "+14155550101", "+442079460000", "+5511987654321"):
        RecipientFactory(campaign=campaign, phone=phone)
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=4, pending_count=4)
    body = owner_api.get(f"{URL}{campaign.id}/preflight/").json()
    assert body["to_send"] == 4
    assert body["estimated_seconds"] == 0.4
    by_country = {line["country_code"]: line["recipients"] for line in body["cost"]["by_country"]}
    assert by_country == {"1": 2, "44": 1, "55": 1}
    assert body["cost"]["total"] > 0
    assert body["template"]["status"] == "APPROVED"
    assert body["messaging_limit"] == 2000
    assert body["tier_headroom"] == 2000


def test_preflight_prices_by_the_table_and_leaves_out_numbers_that_opted_out(
    owner_api, workspace_a, settings
):
    settings.PRICE_TABLE = {"MARKETING": {"1": 0.025, "44": 0.0529, "default": 0.06}}
    template = make_template(workspace_a, meta_shapes.CART_REMINDER)
    campaign = CampaignFactory(template=template, rate_limit=10)
    for phone in ("+14155550100", "+14155550101", "+442079460000", "+5511987654321"):
        RecipientFactory(campaign=campaign, phone=phone)
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=4, pending_count=4)
    OptOutFactory(workspace=workspace_a, phone="+14155550101")
    body = owner_api.get(f"{URL}{campaign.id}/preflight/").json()
    assert (body["to_send"], body["skipped"], body["opted_out_since_import"]) == (3, 1, 1)
    lines = {line["country_code"]: line for line in body["cost"]["by_country"]}
    assert lines["1"]["recipients"] == 1
    assert lines["55"]["unit_price"] == 0.06  # the table's default
    assert body["cost"]["total"] == 0.025 + 0.0529 + 0.06
    assert any("opted out" in w for w in body["warnings"])


def test_preflight_headroom_is_shared_by_the_numbers_of_one_waba(owner_api, workspace_a):
    template = make_template(workspace_a, meta_shapes.CART_REMINDER)
    account = template.account
    WhatsAppAccount.objects.filter(pk=account.pk).update(messaging_limit_tier="250")
    sibling = WhatsAppAccountFactory(
        workspace=workspace_a, waba_id=account.waba_id, messaging_limit_tier="250"
    )
    other = CampaignFactory(template__account=sibling, template__workspace=workspace_a)
    for _ in range(240):
        RecipientFactory(campaign=other, status="sent", sent_at=timezone.now())
    campaign = CampaignFactory(template=template)
    for _ in range(20):
        RecipientFactory(campaign=campaign)
    body = owner_api.get(f"{URL}{campaign.id}/preflight/").json()
    assert (body["unique_sent_last_24h"], body["tier_headroom"]) == (240, 10)
    assert any("10 recipients exceed" in w for w in body["warnings"])


@pytest.mark.parametrize("action", ["send", "pause", "resume", "stop", "rerun", "retry-failed"])
def test_outsider_gets_404_on_every_control(outsider_api, template_a, action):
    campaign = with_recipients(template_a, status="running")
    assert post(outsider_api, campaign, action).status_code == 404
    assert outsider_api.get(f"{URL}{campaign.id}/preflight/").status_code == 404
    campaign.refresh_from_db()
    assert campaign.status == "running"
