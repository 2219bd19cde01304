"""A contact's timeline across campaigns (API and dashboard fragment), and the times kept on
the contact: last_messaged_at (the engine's record) and last_replied_at (inbound replies)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.engine import store
from campaigns.models import Campaign, Contact, Recipient
from campaigns.tracking.inbound import inbound_messages_apply
from whatsapp.webhook_payload import InboundMessage

from ..campaigns.conftest import make_template
from ..factories import CampaignFactory

pytestmark = pytest.mark.django_db


def reply(phone, text, when, wamid) -> InboundMessage:
    return InboundMessage(
        wamid=wamid, phone=phone, type="text", text=text, context_wamid="", timestamp=when
    )


def at(minutes: int):
    return timezone.now() - timedelta(minutes=minutes)


@pytest.fixture
def contact(workspace_a):
    return Contact.objects.create(workspace=workspace_a, phone="+14155550001", name="Ana")


@pytest.fixture
def two_campaigns(workspace_a, contact):
    """An audience campaign (linked rows) and a file campaign (same phone, no link)."""
    first = CampaignFactory(template=make_template(workspace_a), name="Spring", audience={"x": 1})
    second = CampaignFactory(template=make_template(workspace_a), name="Summer")
    sent = Recipient.objects.create(
        campaign=first,
        phone=contact.phone,
        contact=contact,
        status="read",
        sent_at=at(60),
        delivered_at=at(59),
        read_at=at(58),
        replied_at=at(50),
        clicked_at=at(55),
    )
    failed = Recipient.objects.create(
        campaign=second,
        phone=contact.phone,
        status="failed",
        failed_at=at(10),
        error_code=131026,
        error_title="Message undeliverable",
        error_details="Not on WhatsApp",
    )
    return sent, failed


def test_the_timeline_lists_both_campaigns_newest_first(owner_api, contact, two_campaigns):
    sent, failed = two_campaigns
    response = owner_api.get(f"/api/v1/contacts/{contact.pk}/timeline/")
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [r["recipient_id"] for r in results] == [failed.pk, sent.pk]
    assert results[0]["campaign"]["name"] == "Summer"
    assert results[0]["events"] == [
        {
            "type": "failed",
            "at": results[0]["events"][0]["at"],
            "error": {
                "code": 131026,
                "title": "Message undeliverable",
                "details": "Not on WhatsApp",
            },
        }
    ]
    assert [e["type"] for e in results[1]["events"]] == [
        "replied",
        "clicked",
        "read",
        "delivered",
        "sent",
    ]


def test_the_timeline_pages_by_cursor(owner_api, workspace_a, contact):
    template = make_template(workspace_a)
    for n in range(5):
        campaign = CampaignFactory(template=template, name=f"C{n}")
        Recipient.objects.create(campaign=campaign, phone=contact.phone, contact=contact)
    first = owner_api.get(f"/api/v1/contacts/{contact.pk}/timeline/?page_size=3").json()
    assert [r["campaign"]["name"] for r in first["results"]] == ["C4", "C3", "C2"]
    second = owner_api.get(first["next"])
    assert [r["campaign"]["name"] for r in second.json()["results"]] == ["C1", "C0"]


def test_another_workspaces_rows_with_the_same_phone_stay_out(
    owner_api, workspace_b, contact, two_campaigns
):
    theirs = CampaignFactory(template=make_template(workspace_b))
    Recipient.objects.create(campaign=theirs, phone=contact.phone, status="sent", sent_at=at(1))
    results = owner_api.get(f"/api/v1/contacts/{contact.pk}/timeline/").json()["results"]
    assert theirs.pk not in {r["campaign"]["id"] for r in results}
    assert len(results) == 2


def test_an_outsider_gets_404_on_the_timeline(outsider_api, outsider, contact, client):
    assert outsider_api.get(f"/api/v1/contacts/{contact.pk}/timeline/").status_code == 404
    client.force_login(outsider)
    assert client.get(f"/contacts/{contact.pk}/timeline/").status_code == 404


def test_the_timeline_fragment_shows_each_message(client, owner, contact, two_campaigns):
    client.force_login(owner)
    response = client.get(f"/contacts/{contact.pk}/timeline/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Summer") < html.index("Spring")
    assert "131026 Message undeliverable — Not on WhatsApp" in html
    assert "replied" in html


def test_recorded_sends_set_the_contacts_last_messaged_at(workspace_a, contact):
    campaign = CampaignFactory(template=make_template(workspace_a), status="running")
    row = Recipient.objects.create(
        campaign=campaign, phone=contact.phone, contact=contact, status="sending"
    )
    other = Recipient.objects.create(campaign=campaign, phone="+14155550002", status="sending")
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=2, sending_count=2)
    store.record_outcomes(
        campaign_id=campaign.pk,
        outcomes=[
            store.Outcome(row.id, "sent", wamid="wamid.t1"),
            store.Outcome(other.id, "sent", wamid="wamid.t2"),
        ],
        contacts=True,
    )
    contact.refresh_from_db()
    assert contact.last_messaged_at is not None


def test_a_file_campaign_leaves_contacts_alone(workspace_a, contact):
    campaign = CampaignFactory(template=make_template(workspace_a), status="running")
    row = Recipient.objects.create(
        campaign=campaign, phone=contact.phone, contact=contact, status="sending"
    )
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=1, sending_count=1)
    store.record_outcomes(
        campaign_id=campaign.pk, outcomes=[store.Outcome(row.id, "sent", wamid="wamid.t3")]
    )
    contact.refresh_from_db()
    assert contact.last_messaged_at is None


def test_a_reply_sets_the_contacts_last_replied_at(workspace_a, contact):
    account = make_template(workspace_a).account
    when = at(3)
    message = reply(contact.phone, "Thanks!", when, "wamid.in1")
    inbound_messages_apply(account=account, messages=[message])
    contact.refresh_from_db()
    assert contact.last_replied_at == when
    older = reply(contact.phone, "Hi", at(30), "wamid.in2")
    inbound_messages_apply(account=account, messages=[older])
    contact.refresh_from_db()
    assert contact.last_replied_at == when  # never moved back
