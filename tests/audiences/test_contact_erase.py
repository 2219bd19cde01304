"""DELETE /api/v1/contacts/{id}/: the person is erased everywhere in the workspace, the
campaigns' counters still equal a recount, the opt-out stays."""

import json

import pytest
from django.utils import timezone

from campaigns.audiences.contact_erase import erased_phone
from campaigns.models import (
    Campaign,
    Contact,
    ContactList,
    ContactListMember,
    OptIn,
    OptOut,
    PendingStatus,
    Recipient,
)
from campaigns.tracking.counters import counts_from_recipients, stored_counts
from webhooks.models import WebhookEvent

from ..factories import CampaignFactory, OptOutFactory, RecipientFactory, WhatsAppAccountFactory
from .contact_helpers import contact

pytestmark = pytest.mark.django_db
PHONE = "+14155550100"


def _campaign(workspace, account):
    campaign = CampaignFactory(
        template__account=account, template__workspace=workspace, workspace=workspace
    )
    return campaign


def _recount(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(
        **counts_from_recipients(campaign_id=campaign.pk)
    )


def _event(account, body: dict, status="processed") -> WebhookEvent:
    raw = json.dumps(body).encode()
    return WebhookEvent.objects.create(
        account=account, body=raw, body_sha256="x" * 64, status=status
    )


def _inbound(digits: str, text: str) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "contacts": [{"wa_id": digits, "profile": {"name": "Ana"}}],
                            "messages": [{"from": digits, "type": "text", "text": {"body": text}}],
                            "statuses": [{"id": "wamid.X", "recipient_id": "447400123456"}],
                        },
                    }
                ]
            }
        ],
    }


def test_erase_removes_the_person_and_keeps_the_counters(member_api, workspace_a):
    # given: the person in two campaigns (one sent and replied, one still pending), a list,
    # an opt-out and an opt-in, a pending status and stored webhook events naming them
    account = WhatsAppAccountFactory(workspace=workspace_a)
    person = contact(workspace_a, PHONE, name="Ana", attributes={"city": "Pune"})
    members = ContactList.objects.create(workspace=workspace_a, name="L")
    ContactListMember.objects.create(contact_list=members, contact=person)
    sent_at = timezone.now()
    first, second = _campaign(workspace_a, account), _campaign(workspace_a, account)
    replied = RecipientFactory(
        campaign=first,
        phone=PHONE,
        status="failed",
        sent_at=sent_at,
        failed_at=sent_at,
        replied_at=sent_at,
        wamid="wamid.A",
        error_code=131026,
        error_title="Undeliverable",
        error_details=f"to {PHONE}",
        values={"body_param_1": "Ana"},
    )
    RecipientFactory(campaign=first, phone="+14155550199")
    pending = RecipientFactory(campaign=second, phone=PHONE)
    for campaign in (first, second):
        _recount(campaign)
    OptOutFactory(workspace=workspace_a, phone=PHONE, source="keyword")
    OptIn.objects.create(workspace=workspace_a, phone=PHONE, by="keyword", opted_in_at=sent_at)
    PendingStatus.objects.create(
        account=account,
        wamid="wamid.B",
        status="delivered",
        timestamp=sent_at,
        payload={"id": "wamid.B", "recipient_id": PHONE[1:]},
    )
    done = _event(account, _inbound(PHONE[1:], "my address is 12 Main St"))
    waiting = _event(account, _inbound(PHONE[1:], "STOP"), status="pending")
    unreadable = WebhookEvent.objects.create(
        account=account,
        body=f'not json "{PHONE[1:]}"'.encode(),
        body_sha256="y" * 64,
        status="rejected",
    )

    # when
    response = member_api.delete(f"/api/v1/contacts/{person.pk}/")

    # then
    assert response.status_code == 204
    assert not Contact.objects.filter(pk=person.pk).exists()
    assert not ContactListMember.objects.exists()
    replied.refresh_from_db()
    assert replied.phone == erased_phone(replied.pk)
    assert len(replied.phone) <= 20
    assert (replied.values, replied.error_details) == ({}, "")
    assert (replied.status, replied.error_code, replied.replied_at) == ("failed", 131026, sent_at)
    pending.refresh_from_db()
    assert (pending.status, pending.skip_reason, pending.values) == ("skipped", "erased", {})
    assert not Recipient.objects.filter(phone=PHONE).exists()
    for campaign in (first, second):
        assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(
            campaign_id=campaign.pk
        )
    # the STOP is still honoured; the opt-in (the number) is gone
    assert OptOut.objects.filter(workspace=workspace_a, phone=PHONE).exists()
    assert not OptIn.objects.exists()
    assert PendingStatus.objects.get().payload["recipient_id"] == ""
    body = bytes(WebhookEvent.objects.get(pk=done.pk).body)
    assert PHONE[1:].encode() not in body
    assert b"12 Main St" not in body
    assert b"447400123456" in body  # someone else's status stays
    assert not WebhookEvent.objects.filter(pk=unreadable.pk).exists()
    # not processed yet: left for the drain (it may carry a STOP)
    assert PHONE[1:].encode() in bytes(WebhookEvent.objects.get(pk=waiting.pk).body)


def test_erase_touches_only_its_workspace(owner_api, workspace_a, workspace_b):
    mine = contact(workspace_a, PHONE)
    theirs = contact(workspace_b, PHONE)
    account_b = WhatsAppAccountFactory(workspace=workspace_b)
    other = RecipientFactory(campaign=_campaign(workspace_b, account_b), phone=PHONE)
    assert owner_api.delete(f"/api/v1/contacts/{mine.pk}/").status_code == 204
    assert Contact.objects.filter(pk=theirs.pk).exists()
    other.refresh_from_db()
    assert other.phone == PHONE


def test_a_recipient_placeholder_is_unique_and_short():
    assert erased_phone(1) == "erased-1"
    assert len(erased_phone(2**63 - 1)) == 20
    assert erased_phone(36) != erased_phone(1)


def test_the_outsider_cannot_erase(outsider_api, workspace_a):
    person = contact(workspace_a, PHONE)
    assert outsider_api.delete(f"/api/v1/contacts/{person.pk}/").status_code == 404
    assert Contact.objects.filter(pk=person.pk).exists()
