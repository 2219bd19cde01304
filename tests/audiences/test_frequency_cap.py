"""The workspace's frequency cap: set by its owner through the API, applied by the engine's
claim across campaigns (against the sandbox), with its window's edge."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Workspace
from campaigns.audiences.cap import cap_for
from campaigns.engine import claims
from campaigns.engine.sender import run_sender
from campaigns.models import Campaign, Recipient
from campaigns.tracking.counters import counts_from_recipients, stored_counts

from ..campaigns.conftest import make_template
from ..factories import CampaignFactory

VALUES = {
    "body_param_1": "Ana",
    "body_param_2": "PK-1",
    "body_param_3": "today",
    "body_param_4": "9-12",
}
CAP = {"marketing": {"messages": 1, "per_hours": 24}}


def url(workspace) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/"


# --- the setting ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_reads_and_sets_the_cap(owner_api, workspace_a):
    assert owner_api.get(url(workspace_a)).json()["frequency_cap"] is None
    response = owner_api.patch(url(workspace_a), {"frequency_cap": CAP}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["frequency_cap"] == CAP
    workspace_a.refresh_from_db()
    assert workspace_a.frequency_cap == CAP
    both = {**CAP, "utility": {"messages": 5, "per_hours": 720}}
    assert (
        owner_api.patch(url(workspace_a), {"frequency_cap": both}, format="json").json()[
            "frequency_cap"
        ]
        == both
    )
    cleared = owner_api.patch(url(workspace_a), {"frequency_cap": None}, format="json")
    assert cleared.json()["frequency_cap"] is None


@pytest.mark.django_db
def test_the_workspace_list_is_the_callers_own(owner_api, workspace_a, outsider):
    body = owner_api.get("/api/v1/workspaces/").json()
    assert [(w["id"], w["role"]) for w in body] == [(str(workspace_a.pk), "owner")]


@pytest.mark.django_db
def test_a_member_reads_the_cap_but_cannot_set_it(member_api, workspace_a):
    assert member_api.get(url(workspace_a)).status_code == 200
    response = member_api.patch(url(workspace_a), {"frequency_cap": CAP}, format="json")
    assert response.status_code == 403
    workspace_a.refresh_from_db()
    assert workspace_a.frequency_cap is None


@pytest.mark.django_db
def test_an_outsider_gets_404(outsider_api, workspace_a):
    assert outsider_api.get(url(workspace_a)).status_code == 404
    response = outsider_api.patch(url(workspace_a), {"frequency_cap": CAP}, format="json")
    assert response.status_code == 404
    assert Workspace.objects.get(pk=workspace_a.pk).frequency_cap is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cap", "field"),
    [
        ({"marketing": {"messages": 0, "per_hours": 24}}, "frequency_cap.marketing.messages"),
        ({"marketing": {"messages": 1001, "per_hours": 24}}, "frequency_cap.marketing.messages"),
        ({"marketing": {"messages": "1", "per_hours": 24}}, "frequency_cap.marketing.messages"),
        ({"marketing": {"messages": True, "per_hours": 24}}, "frequency_cap.marketing.messages"),
        ({"marketing": {"messages": 1, "per_hours": 0}}, "frequency_cap.marketing.per_hours"),
        ({"marketing": {"messages": 1, "per_hours": 721}}, "frequency_cap.marketing.per_hours"),
        ({"marketing": {"messages": 1}}, "frequency_cap.marketing"),
        ({"marketing": {"messages": 1, "per_hours": 2, "x": 1}}, "frequency_cap.marketing"),
        ({"service": {"messages": 1, "per_hours": 24}}, "frequency_cap.service"),
        ([1], "frequency_cap"),
    ],
)
def test_bad_caps_are_a_400_naming_the_field(owner_api, workspace_a, cap, field):
    response = owner_api.patch(url(workspace_a), {"frequency_cap": cap}, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()


# --- the claim --------------------------------------------------------------------------


def campaign_of(workspace, phones, *, category="MARKETING", sent_at=None) -> Campaign:
    """A running campaign of `phones`; with `sent_at`, its recipients are already sent."""
    template = make_template(workspace, category=category)
    campaign = CampaignFactory(template=template, status="running", rate_limit=1000)
    status = "sent" if sent_at else "pending"
    Recipient.objects.bulk_create(
        [
            Recipient(campaign=campaign, phone=p, values=VALUES, status=status, sent_at=sent_at)
            for p in phones
        ]
    )
    counts = {"sent_count" if sent_at else "pending_count": len(phones)}
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=len(phones), **counts)
    campaign.refresh_from_db()
    return campaign


def run(campaign):
    return run_sender(campaign_id=campaign.pk, worker="test", budget_seconds=30)


def statuses(campaign) -> dict:
    return {
        r.phone: (r.status, r.skip_reason, r.attempts)
        for r in Recipient.objects.filter(campaign=campaign)
    }


def assert_counters_match(campaign):
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)


@pytest.mark.django_db(transaction=True)
def test_the_cap_holds_across_two_campaigns(sandbox, workspace_a):
    Workspace.objects.filter(pk=workspace_a.pk).update(
        frequency_cap={"marketing": {"messages": 1, "per_hours": 24}}
    )
    first = campaign_of(workspace_a, ["+14155550001", "+14155550002"])
    assert run(first).reason == "drained"
    second = campaign_of(workspace_a, ["+14155550001", "+14155550002", "+14155550003"])

    assert run(second).reason == "drained"

    assert statuses(second) == {
        "+14155550001": ("skipped", "frequency_capped", 0),
        "+14155550002": ("skipped", "frequency_capped", 0),
        "+14155550003": ("sent", "", 1),
    }
    assert sandbox.stats(recipient="+14155550001")["recipient"]["accepted"] == 1
    assert sandbox.stats()["accepted_total"] == 3
    assert_counters_match(second)
    second.refresh_from_db()
    assert (second.skipped_count, second.sent_count) == (2, 1)


@pytest.mark.django_db(transaction=True)
def test_a_send_just_outside_the_window_does_not_count_and_just_inside_does(sandbox, workspace_a):
    Workspace.objects.filter(pk=workspace_a.pk).update(
        frequency_cap={"marketing": {"messages": 1, "per_hours": 24}}
    )
    window = timedelta(hours=24)
    campaign_of(
        workspace_a, ["+14155550001"], sent_at=timezone.now() - window + timedelta(minutes=1)
    )
    campaign_of(
        workspace_a, ["+14155550002"], sent_at=timezone.now() - window - timedelta(minutes=1)
    )
    campaign = campaign_of(workspace_a, ["+14155550001", "+14155550002"])

    assert run(campaign).reason == "drained"

    assert statuses(campaign) == {
        "+14155550001": ("skipped", "frequency_capped", 0),
        "+14155550002": ("sent", "", 1),
    }
    assert_counters_match(campaign)


@pytest.mark.django_db(transaction=True)
def test_the_cap_counts_only_its_category_and_its_workspace(sandbox, workspace_a, workspace_b):
    Workspace.objects.filter(pk=workspace_a.pk).update(
        frequency_cap={"marketing": {"messages": 2, "per_hours": 24}}
    )
    recently = timezone.now() - timedelta(hours=1)
    campaign_of(workspace_a, ["+14155550001", "+14155550002"], sent_at=recently)
    campaign_of(workspace_a, ["+14155550001"], sent_at=recently, category="UTILITY")
    campaign_of(workspace_b, ["+14155550002"], sent_at=recently)
    campaign = campaign_of(workspace_a, ["+14155550001", "+14155550002"])
    utility = campaign_of(workspace_a, ["+14155550001"], category="UTILITY")

    assert run(campaign).reason == "drained"
    assert run(utility).reason == "drained"

    # one marketing message each within the window: under the cap of 2
    assert {s for s, _, _ in statuses(campaign).values()} == {"sent"}
    assert statuses(utility)["+14155550001"][0] == "sent"  # utility is not capped


@pytest.mark.django_db(transaction=True)
def test_the_cap_costs_one_statement_per_batch(workspace_a):
    Workspace.objects.filter(pk=workspace_a.pk).update(frequency_cap=CAP)

    def statements(n: int, first: int) -> int:
        campaign = campaign_of(workspace_a, [f"+1415666{i:04d}" for i in range(first, first + n)])
        campaign = Campaign.objects.select_related("template", "workspace").get(pk=campaign.pk)
        cap = cap_for(campaign)
        assert cap is not None
        with CaptureQueriesContext(connection) as claim:
            claims.claim_batch(campaign_id=campaign.pk, worker="w", size=n, cap=cap)
        return len(claim.captured_queries)

    uncapped = campaign_of(workspace_a, ["+14155557777"], category="UTILITY")
    uncapped = Campaign.objects.select_related("template", "workspace").get(pk=uncapped.pk)
    assert cap_for(uncapped) is None  # decided once per sender: no statement at all
    assert statements(3, first=0) == statements(300, first=1000)


@pytest.mark.django_db(transaction=True)
def test_a_number_claimed_by_another_campaign_counts_before_it_is_sent(workspace_a):
    Workspace.objects.filter(pk=workspace_a.pk).update(frequency_cap=CAP)
    first = campaign_of(workspace_a, ["+14155550001"])
    second = campaign_of(workspace_a, ["+14155550001", "+14155550002"])
    cap = cap_for(Campaign.objects.select_related("template", "workspace").get(pk=first.pk))

    held = claims.claim_batch(campaign_id=first.pk, worker="a", size=10, cap=cap)
    assert [c.phone for c in held] == ["+14155550001"]  # in flight: claimed, not yet sent
    sent = claims.claim_batch(campaign_id=second.pk, worker="b", size=10, cap=cap)

    assert [c.phone for c in sent] == ["+14155550002"]
    assert statuses(second)["+14155550001"] == ("skipped", "frequency_capped", 0)
    assert statuses(first)["+14155550001"] == ("sending", "", 1)
    assert_counters_match(first)
    assert_counters_match(second)


@pytest.mark.django_db(transaction=True)
def test_two_campaigns_claiming_the_same_numbers_at_once_take_each_number_once(workspace_a):
    """The race the in-flight count alone cannot close: two senders' claims at the same
    instant, each unable to see the other's uncommitted rows. Serialised by the cap's lock."""
    import threading

    if connection.vendor != "postgresql":
        pytest.skip("SQLite's single writer serialises claims already")
    Workspace.objects.filter(pk=workspace_a.pk).update(frequency_cap=CAP)
    phones = [f"+1415777{i:04d}" for i in range(400)]
    campaigns = [campaign_of(workspace_a, phones) for _ in range(3)]
    cap = cap_for(Campaign.objects.select_related("template", "workspace").get(pk=campaigns[0].pk))
    start = threading.Barrier(len(campaigns))
    errors = []

    def claim_all(campaign):
        from django.db import connections

        try:
            start.wait(timeout=10)
            pending = Recipient.objects.filter(campaign=campaign, status="pending")
            while pending.exists():  # a batch wholly capped claims nothing: go on
                claims.claim_batch(campaign_id=campaign.pk, worker="w", size=10, cap=cap)
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim_all, args=(c,)) for c in campaigns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors

    taken = Recipient.objects.filter(campaign__in=campaigns, status="sending")
    per_phone = {}
    for phone in taken.values_list("phone", flat=True):
        per_phone[phone] = per_phone.get(phone, 0) + 1
    assert sorted(per_phone) == sorted(phones)  # every number once, by one of the campaigns
    assert set(per_phone.values()) == {1}
    capped = Recipient.objects.filter(campaign__in=campaigns, skip_reason="frequency_capped")
    assert capped.count() == len(phones) * (len(campaigns) - 1)
    for campaign in campaigns:
        assert_counters_match(campaign)
