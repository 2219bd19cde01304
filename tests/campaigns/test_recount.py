"""The counters' repair tool: `manage.py campaign_recount` and the Campaign admin's action
rebuild a campaign's counters from its recipients."""

import io
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.tracking import campaign_recount, counts_from_recipients, stored_counts

from ..factories import CampaignFactory, RecipientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    """A running campaign with recipients in several states, its counters right."""
    campaign = CampaignFactory(status=Campaign.Status.RUNNING)
    for status in ("pending", "pending", "sent", "delivered", "read", "failed"):
        RecipientFactory(campaign=campaign, status=status)
    RecipientFactory(campaign=campaign, status="read", replied_at=timezone.now())
    campaign_recount(campaign_id=campaign.pk)
    return campaign


def corrupt(campaign) -> dict:
    """Counters that no longer match the recipients (as a lost update would leave them)."""
    Campaign.objects.filter(pk=campaign.pk).update(
        sent_count=40, pending_count=0, total_recipients=3, replied_count=0
    )
    return stored_counts(campaign_id=campaign.pk)


def recount(*args) -> str:
    out = io.StringIO()
    call_command("campaign_recount", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_command_rebuilds_corrupted_counters_from_the_recipients(campaign):
    right = counts_from_recipients(campaign_id=campaign.pk)
    corrupt(campaign)

    out = recount(str(campaign.pk))

    assert stored_counts(campaign_id=campaign.pk) == right
    assert f"{campaign.name} ({campaign.pk}):" in out
    for line in (
        f"sent_count 40 -> {right['sent_count']}",
        f"pending_count 0 -> {right['pending_count']}",
        f"total_recipients 3 -> {right['total_recipients']}",
        f"replied_count 0 -> {right['replied_count']}",
    ):
        assert line in out
    assert "delivered_count" not in out  # only the counters that differed
    assert "1 had wrong counters, now fixed." in out


def test_a_dry_run_prints_the_differences_and_changes_nothing(campaign):
    wrong = corrupt(campaign)

    out = recount(str(campaign.pk), "--dry-run")

    assert stored_counts(campaign_id=campaign.pk) == wrong
    assert "sent_count 40 -> 1" in out
    assert "dry run: nothing changed" in out


def test_all_fixes_every_wrong_campaign_and_leaves_right_ones_alone(campaign):
    other = CampaignFactory()
    RecipientFactory(campaign=other, status="sent")  # factory rows bypass the counters
    right = CampaignFactory()
    corrupt(campaign)

    out = recount("--all")

    for c in (campaign, other, right):
        assert stored_counts(campaign_id=c.pk) == counts_from_recipients(campaign_id=c.pk)
    assert str(right.pk) not in out
    assert "Recounted 3 campaign(s): 2 had wrong counters, now fixed." in out


def test_counters_that_are_right_are_reported_as_such(campaign):
    assert campaign_recount(campaign_id=campaign.pk) == {}
    assert "0 had wrong counters." in recount(str(campaign.pk))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-a-uuid"], "'not-a-uuid' is not a campaign id"),
        ([str(uuid.UUID(int=7))], f"No campaign with id {uuid.UUID(int=7)}"),
        ([], "Name the campaigns to recount"),
        (["--all", "CAMPAIGN"], "not both"),
    ],
)
def test_a_bad_or_unknown_id_is_a_clear_error(campaign, args, message):
    with pytest.raises(CommandError, match=message):
        recount(*args)


def test_an_unknown_id_among_good_ones_changes_nothing(campaign):
    wrong = corrupt(campaign)
    with pytest.raises(CommandError, match="No campaign with id"):
        recount(str(campaign.pk), str(uuid.uuid4()))
    assert stored_counts(campaign_id=campaign.pk) == wrong


def test_the_admin_action_recounts_the_selected_campaigns(client, campaign):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    untouched = CampaignFactory()
    RecipientFactory(campaign=untouched, status="sent")
    corrupt(campaign)

    response = client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "recount_campaigns", "_selected_action": [str(campaign.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
    assert stored_counts(campaign_id=untouched.pk)["sent_count"] == 0  # not selected
    messages = [str(m) for m in response.context["messages"]]
    assert "Recounted 1 campaign(s): 1 had wrong counters, now fixed." in messages
