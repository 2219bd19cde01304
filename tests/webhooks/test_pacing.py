"""Template pacing (docs/whatsapp.md §11.3): a send Meta accepts as held_for_quality_assessment
is counted as held by Meta's pacing (the live page, stats) until its first status webhook:
delivered as usual, or dropped with 132015."""

import pytest

from campaigns.models import Campaign, Recipient
from campaigns.selectors import campaign_held
from campaigns.tracking.statuses import HELD
from webhooks.services import webhook_events_drain

from . import payloads as p

pytestmark = pytest.mark.django_db


def test_held_recipients_are_counted_until_meta_delivers_or_drops_them(
    post, account, campaign, make_recipient, owner_api, client, owner
):
    # As the engine stores Meta's answer to the send (SendResult.message_status).
    held = [
        make_recipient(
            phone=f"+1415555010{i}", status="sent", wamid=f"wamid.H{i}", message_status=HELD
        )  # noqa: E501
        for i in range(3)
    ]
    make_recipient(phone="+14155550200", status="sent", wamid="wamid.A", message_status="accepted")
    assert campaign_held(campaign) == 3
    assert owner_api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()["held"] == 3
    client.force_login(owner)
    page = client.get(f"/campaigns/{campaign.pk}/live/").content.decode()
    assert (
        "3 recipients held by Meta's pacing." in page
        or "3 recipients held by Meta's pacing." in page
    )  # noqa: E501

    items = [
        p.status("wamid.H0", "sent", recipient=held[0]),
        p.status("wamid.H0", "delivered", recipient=held[0]),
        p.status("wamid.H1", "failed", recipient=held[1], error_code=132015),
    ]
    assert post(p.statuses(account, *items), account=account).status_code == 200
    webhook_events_drain()

    assert campaign_held(campaign) == 1
    delivered, dropped = (Recipient.objects.get(pk=r.pk) for r in held[:2])
    assert (delivered.status, delivered.message_status) == ("delivered", "released")
    assert (dropped.status, dropped.error_code) == ("failed", 132015)
    page = client.get(f"/campaigns/{campaign.pk}/live/").content.decode()
    assert "1 recipient held by Meta's pacing." in page


def test_a_completed_campaign_keeps_its_page_live_while_meta_holds_some(
    campaign, make_recipient, client, owner
):
    make_recipient(phone="+14155550101", status="sent", wamid="wamid.X", message_status=HELD)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.COMPLETED)
    client.force_login(owner)
    page = client.get(f"/campaigns/{campaign.pk}/live/").content.decode()
    assert 'hx-trigger="every 2s"' in page  # Meta will still deliver or drop them
    Recipient.objects.filter(campaign=campaign).update(
        status="delivered", message_status="released"
    )
    page = client.get(f"/campaigns/{campaign.pk}/live/").content.decode()
    assert "hx-trigger" not in page
