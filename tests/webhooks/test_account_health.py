"""Meta's account-health webhooks (docs/whatsapp.md §11.4), in Meta's documented shapes (pywa's
tests/data/updates/account_update.json and Meta's phone_number_quality_update reference),
through the signed receiver and the drain: the account's restriction, its event log, its
campaigns, its limits; in any order, idempotent under duplicates."""

import time

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from campaigns.services.sending import campaign_resume, campaign_send
from config.errors import Conflict
from webhooks.models import WebhookFieldCount
from webhooks.services import webhook_events_drain
from whatsapp.models import AccountEvent, WhatsAppAccount

from ..factories import CampaignFactory, RecipientFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

NOW = int(time.time())


def account_update(waba_id: str, value: dict, *, at: int = NOW) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": waba_id, "time": at, "changes": [{"value": value, "field": "account_update"}]}
        ],
    }


def restriction(waba_id: str, *, at: int = NOW, expires: int = NOW + 86_400) -> dict:
    return account_update(
        waba_id,
        {
            "event": "ACCOUNT_RESTRICTION",
            "restriction_info": [
                {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": expires},
                {"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": expires},
            ],
        },
        at=at,
    )


def ban(waba_id: str, state: str, *, at: int = NOW) -> dict:
    value = {
        "event": "DISABLED_UPDATE",
        "ban_info": {"waba_ban_state": state, "waba_ban_date": "December 3, 2026"},
    }
    return account_update(waba_id, value, at=at)


def number_update(waba_id: str, value: dict, *, at: int = NOW, field="phone_number_quality_update"):
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "time": at, "changes": [{"value": value, "field": field}]}],
    }


def test_a_restriction_pauses_running_campaigns_and_refuses_sends_until_it_ends(
    receive, account, campaign, owner
):
    scheduled_draft = CampaignFactory(template=campaign.template)
    RecipientFactory(campaign=scheduled_draft)

    receive(account, restriction(account.waba_id, expires=NOW + 3_600))

    account.refresh_from_db()
    campaign.refresh_from_db()
    assert account.restriction == WhatsAppAccount.Restriction.BUSINESS_INITIATED
    assert account.restricted_until.timestamp() == NOW + 3_600
    reason = account.blocked_reason()
    assert "restricted this account from starting conversations" in reason
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.status_reason == reason  # the reason names the restriction and its end
    with pytest.raises(Conflict, match="Meta does not let this account send"):
        campaign_send(user=owner, campaign=scheduled_draft)
    with pytest.raises(Conflict, match="cannot resume: Meta does not let this account send"):
        campaign_resume(user=owner, campaign=campaign)
    event = AccountEvent.objects.get(account=account)
    assert event.event == "ACCOUNT_RESTRICTION"
    assert "RESTRICTED_ADD_PHONE_NUMBER_ACTION" in event.summary

    # Its end lifts the block (nothing resumes by itself: the campaign stays paused).
    WhatsAppAccount.objects.filter(pk=account.pk).update(restricted_until=account.created_at)
    account.refresh_from_db()
    assert account.blocked_reason() == ""
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign_resume(user=owner, campaign=campaign).status == Campaign.Status.RUNNING


def test_a_restriction_already_over_when_it_arrives_blocks_nothing(receive, account, campaign):
    receive(account, restriction(account.waba_id, at=NOW - 7_200, expires=NOW - 3_600))
    account.refresh_from_db()
    campaign.refresh_from_db()
    assert account.blocked_reason() == ""
    assert campaign.status == Campaign.Status.RUNNING
    assert AccountEvent.objects.filter(account=account).count() == 1  # still logged


@pytest.mark.parametrize(
    ("block", "lift", "words"),
    [
        (ban("W", "DISABLE"), ban("W", "REINSTATE", at=NOW + 60), "disabled"),
        (
            account_update("W", {"event": "ACCOUNT_OFFBOARDED"}),
            account_update("W", {"event": "ACCOUNT_RECONNECTED"}, at=NOW + 60),
            "offboarded",
        ),
        (
            account_update("W", {"event": "ACCOUNT_DELETED"}),
            account_update("W", {"event": "ACCOUNT_RECONNECTED"}, at=NOW + 60),
            "deleted",
        ),
    ],
    ids=["ban, reinstate", "offboarded, reconnected", "deleted, reconnected"],
)
def test_bans_deletion_and_offboarding_block_until_lifted(receive, workspace_a, block, lift, words):
    account = WhatsAppAccountFactory(workspace=workspace_a, waba_id="W")
    running = CampaignFactory(template__account=account, status=Campaign.Status.RUNNING)

    receive(account, block)
    account.refresh_from_db()
    running.refresh_from_db()
    assert words in account.blocked_reason()
    assert running.status == Campaign.Status.PAUSED
    assert words in running.status_reason

    receive(account, lift)
    account.refresh_from_db()
    running.refresh_from_db()
    assert account.blocked_reason() == ""
    assert running.status == Campaign.Status.PAUSED  # resumes nothing by itself
    assert AccountEvent.objects.filter(account=account).count() == 2


def test_events_apply_in_the_order_meta_gives_not_the_order_they_arrive(receive, account):
    disable = ban(account.waba_id, "DISABLE", at=NOW)
    reinstate = ban(account.waba_id, "REINSTATE", at=NOW + 60)

    receive(account, reinstate, disable)  # the older one arrives last

    account.refresh_from_db()
    assert account.blocked_reason() == ""  # the reinstatement is the newer word
    assert AccountEvent.objects.filter(account=account).count() == 2


def test_duplicates_are_applied_and_logged_once(receive, account, campaign):
    payload = restriction(account.waba_id)
    receive(account, payload, payload, payload)
    assert AccountEvent.objects.filter(account=account).count() == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED


def test_violations_partner_events_and_others_are_logged_and_change_nothing(
    receive, account, campaign
):
    receive(
        account,
        account_update(
            account.waba_id,
            {"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "ADULT"}},
        ),
        account_update(
            account.waba_id,
            {
                "event": "PARTNER_REMOVED",
                "waba_info": {"waba_id": account.waba_id},
                "disconnection_info": {"reason": "PRIMARY_INACTIVITY", "initiated_by": "SYSTEM"},
            },
        ),
        account_update(
            account.waba_id,
            {
                "event": "VOLUME_BASED_PRICING_TIER_UPDATE",
                "volume_tier_info": {"tier": "25000001:50000000"},
            },
        ),
    )
    account.refresh_from_db()
    campaign.refresh_from_db()
    assert account.blocked_reason() == ""
    assert campaign.status == Campaign.Status.RUNNING
    summaries = set(AccountEvent.objects.filter(account=account).values_list("summary", flat=True))
    assert summaries == {
        "ACCOUNT_VIOLATION · ADULT",
        "PARTNER_REMOVED · PRIMARY_INACTIVITY",
        "VOLUME_BASED_PRICING_TIER_UPDATE",
    }


def test_an_event_for_a_waba_of_no_account_is_refused_and_touches_nothing(post, account, campaign):
    assert post(restriction("999999999"), account=account).status_code == 403
    webhook_events_drain()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert not AccountEvent.objects.exists()


# --- the number and the portfolio -------------------------------------------------------------


def test_a_throughput_upgrade_and_limit_changes_update_the_number(receive, workspace_a):
    account = WhatsAppAccountFactory(
        workspace=workspace_a, display_phone_number="+1 555-078-3881", throughput=80
    )
    # Another number of the same WABA, connected through the same Meta app (its secret).
    other = WhatsAppAccountFactory(
        workspace=workspace_a, waba_id=account.waba_id, app_secret=account.app_secret
    )
    upgrade = {
        "display_phone_number": "15550783881",
        "event": "THROUGHPUT_UPGRADE",
        "current_limit": "TIER_UNLIMITED",
    }
    receive(account, number_update(account.waba_id, upgrade))
    account.refresh_from_db()
    other.refresh_from_db()
    assert account.throughput == WhatsAppAccount.Throughput.HIGH
    assert other.throughput == WhatsAppAccount.Throughput.STANDARD  # another number
    # The limit is the portfolio's: every number of the WABA shares it.
    assert account.messaging_limit_tier == other.messaging_limit_tier == "unlimited"

    flagged = {"display_phone_number": "15550783881", "event": "FLAGGED"}
    downgrade = {
        "display_phone_number": "15550783881",
        "event": "DOWNGRADE",
        "old_limit": "TIER_10K",
        "max_daily_conversations_per_business": "TIER_2K",
    }
    receive(
        account,
        number_update(account.waba_id, flagged, at=NOW + 10),
        number_update(account.waba_id, downgrade, at=NOW + 20),
    )
    account.refresh_from_db()
    assert account.quality_flagged is True
    assert account.messaging_limit_tier == "2000"
    assert account.daily_unique_limit == 2000

    # The portfolio's capability update; an older one arriving late changes nothing.
    capability = {
        "max_daily_conversations_per_business": 10000,
        "max_phone_numbers_per_business": 2,
    }
    late = {"max_daily_conversation_per_phone": 250}
    receive(
        account,
        number_update(account.waba_id, capability, at=NOW + 30, field="business_capability_update"),
        number_update(account.waba_id, late, at=NOW + 5, field="business_capability_update"),
    )
    account.refresh_from_db()
    other.refresh_from_db()
    assert account.messaging_limit_tier == other.messaging_limit_tier == "10000"
    events = AccountEvent.objects.filter(account=account).values_list("event", flat=True)
    assert sorted(events) == [
        "CAPABILITY",
        "CAPABILITY",
        "DOWNGRADE",
        "FLAGGED",
        "THROUGHPUT_UPGRADE",
    ]


def test_the_fields_nobody_acts_on_are_acknowledged_and_counted(post, receive, account):
    for field in ("calls", "message_echoes", "calls", "flows", "account_alerts", "history"):
        payload = number_update(account.waba_id, {"anything": True}, field=field)
        assert post(payload, account=account).status_code == 200
    webhook_events_drain()
    counts = dict(WebhookFieldCount.objects.values_list("field", "count"))
    expected = {"account_alerts": 1, "calls": 2, "flows": 1, "history": 1, "message_echoes": 1}
    assert counts == expected


def test_the_admin_shows_the_field_counts(admin_client, receive, account):
    receive(account, number_update(account.waba_id, {"x": 1}, field="smb_message_echoes"))
    page = admin_client.get(reverse("admin:webhooks_webhookfieldcount_changelist"))
    assert page.status_code == 200
    assert "smb_message_echoes" in page.content.decode()


def test_the_numbers_pages_say_the_account_is_blocked_and_why(client, owner, receive, account):
    receive(account, restriction(account.waba_id, expires=NOW + 3_600))
    client.force_login(owner)
    detail = client.get(f"/numbers/{account.pk}/").content.decode()
    assert "Blocked by Meta:" in detail
    assert "restricted this account from starting conversations" in detail
    listing = client.get("/numbers/").content.decode()
    assert "Blocked by Meta" in listing
