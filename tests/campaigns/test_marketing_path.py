"""The Marketing Messages API as a second send path: which campaigns take it, what their
requests carry, what each recipient records, and what its errors do. The engine runs real
senders against the sandbox process, on the real database and Redis."""

import pytest
import requests

from campaigns.engine import paths
from campaigns.engine.runner import sender_finished
from campaigns.engine.sender import run_sender
from campaigns.models import Campaign, Recipient
from campaigns.tracking.counters import counts_from_recipients, stored_counts
from whatsapp.models import WhatsAppAccount

from ..factories import CampaignFactory
from ..templates_app import meta_shapes
from .conftest import make_template

pytestmark = pytest.mark.django_db(transaction=True)

# cart_reminder_v2 (MARKETING in the sandbox's catalogue too) and delivery_window (UTILITY).
CART_VALUES = {
    "header_param_1": "Sam",
    "body_param_1": "3",
    "body_param_2": "Friday",
    "button_0_url_param": "c-7f3a9",
}
DELIVERY_VALUES = {
    "body_param_1": "Ana",
    "body_param_2": "PK-1",
    "body_param_3": "today",
    "body_param_4": "9-12",
}


@pytest.fixture
def make_campaign(workspace_a):
    def make(shape=meta_shapes.CART_REMINDER, *, n=5, mm_api=True, category=None, **fields):
        overrides = {"category": category} if category else {}
        template = make_template(workspace_a, shape, **overrides)
        WhatsAppAccount.objects.filter(pk=template.account_id).update(marketing_messages_api=mm_api)
        campaign = CampaignFactory(
            template=template, status="running", rate_limit=1000, worker_count=10, **fields
        )
        values = CART_VALUES if shape is meta_shapes.CART_REMINDER else DELIVERY_VALUES
        phones = [f"+1415555{i:04d}" for i in range(n)]
        Recipient.objects.bulk_create(
            [Recipient(campaign=campaign, phone=p, values=values) for p in phones]
        )
        Campaign.objects.filter(pk=campaign.pk).update(total_recipients=n, pending_count=n)
        return Campaign.objects.select_related("template", "account", "workspace").get(
            pk=campaign.pk
        )

    return make


def run(campaign):
    return run_sender(campaign_id=campaign.pk, worker="test", budget_seconds=30)


def marketing_seen(sandbox, phone: str) -> dict | None:
    return sandbox.stats(recipient=phone)["recipient"].get("marketing_messages")


# --- the choice: once per campaign --------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "enabled", "path"),
    [
        ("MARKETING", True, "marketing_messages"),
        ("MARKETING", False, "messages"),
        ("UTILITY", True, "messages"),
        ("AUTHENTICATION", True, "messages"),
        ("UTILITY", False, "messages"),
        ("AUTHENTICATION", False, "messages"),
    ],
)
def test_the_mm_api_is_chosen_only_for_marketing_templates_on_enabled_accounts(
    make_campaign, category, enabled, path
):
    campaign = make_campaign(category=category, mm_api=enabled, n=0)
    assert paths.send_path(campaign) == path
    extras = paths.path_extras(campaign)
    if path == "marketing_messages":
        assert extras == {"product_policy": "CLOUD_API_FALLBACK", "message_activity_sharing": True}
    else:
        assert extras == {}


# --- the engine against the sandbox -------------------------------------------------------


def test_a_marketing_template_on_an_enabled_account_goes_to_marketing_messages(
    sandbox, make_campaign
):
    campaign = make_campaign(n=5)
    result = run(campaign)
    assert result.reason == "drained"
    rows = Recipient.objects.filter(campaign=campaign)
    assert {(r.status, r.send_path) for r in rows} == {("sent", "marketing_messages")}
    stats = sandbox.stats()
    assert stats["accepted_by_path"] == {"messages": 0, "marketing_messages": 5}
    assert stats["duplicate_sends"] == 0
    assert marketing_seen(sandbox, "+14155550000") == {
        "accepted": 1,
        "product_policy": "CLOUD_API_FALLBACK",
        "message_activity_sharing": True,
    }
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)


@pytest.mark.parametrize(
    ("policy", "sharing"), [("STRICT", False), ("CLOUD_API_FALLBACK", False), ("STRICT", True)]
)
def test_the_campaigns_policy_and_activity_sharing_are_sent_as_chosen(
    sandbox, make_campaign, policy, sharing
):
    campaign = make_campaign(n=2, marketing_policy=policy, message_activity_sharing=sharing)
    assert run(campaign).reason == "drained"
    for phone in ("+14155550000", "+14155550001"):
        assert marketing_seen(sandbox, phone) == {
            "accepted": 1,
            "product_policy": policy,
            "message_activity_sharing": sharing,
        }


def test_a_utility_template_on_an_enabled_account_keeps_using_messages(sandbox, make_campaign):
    campaign = make_campaign(meta_shapes.DELIVERY_WINDOW, n=4, mm_api=True)
    assert run(campaign).reason == "drained"
    rows = Recipient.objects.filter(campaign=campaign)
    assert {(r.status, r.send_path) for r in rows} == {("sent", "messages")}
    assert sandbox.stats()["accepted_by_path"] == {"messages": 4, "marketing_messages": 0}
    assert marketing_seen(sandbox, "+14155550000") is None


def test_a_marketing_template_on_a_disabled_account_uses_messages(sandbox, make_campaign):
    campaign = make_campaign(n=3, mm_api=False)
    assert run(campaign).reason == "drained"
    rows = Recipient.objects.filter(campaign=campaign)
    assert {(r.status, r.send_path) for r in rows} == {("sent", "messages")}
    assert sandbox.stats()["accepted_by_path"] == {"messages": 3, "marketing_messages": 0}


def test_a_failed_send_records_the_path_it_went_through(sandbox, make_campaign):
    # +1…9904 has stopped marketing messages: a 131050 from the MM endpoint
    campaign = make_campaign(n=0)
    Recipient.objects.create(campaign=campaign, phone="+14155559904", values=CART_VALUES)
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=1, pending_count=1)
    run(campaign)
    row = Recipient.objects.get(campaign=campaign)
    assert (row.status, row.error_code, row.send_path) == ("failed", 131050, "marketing_messages")


def test_a_number_not_onboarded_pauses_the_campaign_with_the_reason(sandbox, make_campaign):
    requests.post(
        f"{sandbox.url}/__sandbox/number", json={"marketing_messages_onboarded": False}, timeout=5
    ).raise_for_status()
    campaign = make_campaign(n=20)
    result = run(campaign)
    assert result.reason == "paused"
    assert result.extra["code"] == 134100
    sender_finished(campaign_id=campaign.pk, sender_no=0, result=result)
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert "Marketing Messages API" in campaign.status_reason
    assert "134100" in campaign.status_reason
    # slow start: one refused request, nobody failed, everybody waits for the resume
    assert sandbox.stats()["rejected_by_code"] == {"134100": 1}
    assert set(Recipient.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "pending"
    }
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
    # the account is not flagged: its /messages sends still work
    campaign.account.refresh_from_db()
    assert campaign.account.state == WhatsAppAccount.State.ACTIVE


def test_a_template_meta_does_not_take_as_marketing_pauses_the_campaign(sandbox, make_campaign):
    # Broadcast's catalogue says MARKETING, Meta's (the sandbox's) says UTILITY: 131055
    campaign = make_campaign(meta_shapes.DELIVERY_WINDOW, n=5, category="MARKETING")
    assert paths.send_path(campaign) == "marketing_messages"
    result = run(campaign)
    assert (result.reason, result.extra["code"]) == ("paused", 131055)
    assert "catalogue is read again" in result.extra["reason"]
    assert sandbox.stats()["accepted_total"] == 0
