"""Catalogue sync from the WABA: paging, upserts, vanished templates, errors."""

import json
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.conf import settings

from campaigns.models import Campaign
from templates_app.models import MessageTemplate
from templates_app.services import TemplateSyncError, template_status_change, templates_sync
from templates_app.tasks import templates_sync_all
from whatsapp.models import WhatsAppAccount

from ..factories import CampaignFactory, WhatsAppAccountFactory
from . import meta_shapes

pytestmark = pytest.mark.django_db


def listing_url(account):
    base = f"{settings.WHATSAPP_GRAPH_URL}/{settings.WHATSAPP_GRAPH_VERSION}"
    return f"{base}/{account.waba_id}/message_templates"


def serve_pages(rsps, account, templates, page_size=2):
    """Meta's cursor paging: `after` cursors and a `next` URL until the last page."""
    url = listing_url(account)

    def callback(request):
        after = parse_qs(urlparse(request.url).query).get("after", ["0"])[0]
        start = int(after)
        chunk = templates[start : start + page_size]
        body = {
            "data": chunk,
            "paging": {"cursors": {"before": str(start), "after": str(start + page_size)}},
        }
        if start + page_size < len(templates):
            body["paging"]["next"] = f"{url}?after={start + page_size}&limit={page_size}"
        return 200, {}, json.dumps(body)

    rsps.add_callback(responses.GET, url, callback=callback)


@pytest.fixture
def account():
    return WhatsAppAccountFactory()


@responses.activate
def test_sync_follows_paging_to_the_end_and_stores_every_field(account):
    serve_pages(responses, account, meta_shapes.ALL, page_size=1)
    result = templates_sync(account=account)
    assert result.created == 4
    assert len(responses.calls) == 4
    assert all(
        c.request.headers["Authorization"] == f"Bearer {account.access_token}"
        for c in responses.calls
    )
    coupon = MessageTemplate.objects.get(meta_id="1288410093377410")
    assert coupon.name == "winter_coupon"
    assert coupon.language == "es_MX"
    assert coupon.status == "PAUSED"
    assert coupon.category == "MARKETING"
    assert coupon.quality_score == "RED"
    assert coupon.components == meta_shapes.WINTER_COUPON["components"]
    assert coupon.workspace_id == account.workspace_id
    named = MessageTemplate.objects.get(name="appointment_confirmed")
    assert named.parameter_format == "NAMED"
    account.refresh_from_db()
    assert account.templates_synced_at is not None


@responses.activate
def test_sync_twice_updates_in_place(account):
    serve_pages(responses, account, meta_shapes.ALL)
    templates_sync(account=account)
    ids = set(MessageTemplate.objects.values_list("id", flat=True))
    result = templates_sync(account=account)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 4)
    assert set(MessageTemplate.objects.values_list("id", flat=True)) == ids


@responses.activate
def test_a_template_gone_from_meta_is_marked_not_deleted_and_its_campaigns_pause(account):
    serve_pages(responses, account, meta_shapes.ALL)
    templates_sync(account=account)
    gone = MessageTemplate.objects.get(name="delivery_window")
    running = CampaignFactory(template=gone, status=Campaign.Status.RUNNING)
    responses.reset()
    serve_pages(responses, account, meta_shapes.ALL[1:])
    result = templates_sync(account=account)
    assert result.removed == 1
    gone.refresh_from_db()
    assert gone.removed_upstream_at is not None
    assert not gone.is_sendable
    running.refresh_from_db()
    assert running.status == "paused"
    assert "deleted on WhatsApp" in running.status_reason
    # it comes back: unmarked
    responses.reset()
    serve_pages(responses, account, meta_shapes.ALL)
    templates_sync(account=account)
    gone.refresh_from_db()
    assert gone.removed_upstream_at is None


@responses.activate
def test_a_status_change_seen_by_sync_pauses_running_campaigns(account):
    serve_pages(responses, account, meta_shapes.ALL)
    templates_sync(account=account)
    template = MessageTemplate.objects.get(name="cart_reminder_v2")
    running = CampaignFactory(template=template, status=Campaign.Status.RUNNING)
    draft = CampaignFactory(template=template)
    responses.reset()
    paused_shape = {**meta_shapes.CART_REMINDER, "status": "PAUSED"}
    serve_pages(responses, account, [meta_shapes.DELIVERY_WINDOW, paused_shape])
    result = templates_sync(account=account)
    assert result.campaigns_paused == 1
    running.refresh_from_db()
    draft.refresh_from_db()
    assert running.status == "paused"
    assert "PAUSED" in running.status_reason
    assert draft.status == "draft"


@responses.activate
def test_an_expired_token_marks_the_account_and_changes_no_template(account):
    responses.add(
        responses.GET,
        listing_url(account),
        status=401,
        json={
            "error": {
                "message": "Error validating access token: Session has expired",
                "type": "OAuthException",
                "code": 190,
                "fbtrace_id": "Abc",
            }
        },
    )
    with pytest.raises(TemplateSyncError, match="190"):
        templates_sync(account=account)
    account.refresh_from_db()
    assert account.state == WhatsAppAccount.State.NEEDS_ATTENTION
    assert "190" in account.state_reason
    assert MessageTemplate.objects.count() == 0


@responses.activate
def test_a_failure_on_a_later_page_writes_nothing(account):
    url = listing_url(account)
    responses.add(
        responses.GET,
        url,
        json={
            "data": [meta_shapes.DELIVERY_WINDOW],
            "paging": {"cursors": {"after": "A"}, "next": f"{url}?after=A"},
        },
    )
    responses.add(responses.GET, url, status=500, body="<html>oops</html>")
    with pytest.raises(TemplateSyncError):
        templates_sync(account=account)
    assert MessageTemplate.objects.count() == 0


@responses.activate
def test_a_successful_sync_clears_needs_attention(account):
    account.state, account.state_reason = "needs_attention", "token expired"
    account.save()
    serve_pages(responses, account, meta_shapes.ALL)
    templates_sync(account=account)
    account.refresh_from_db()
    assert account.state == "active"


@responses.activate
def test_the_beat_task_syncs_every_active_account():
    first, second = WhatsAppAccountFactory(), WhatsAppAccountFactory()
    broken = WhatsAppAccountFactory(state="needs_attention")
    serve_pages(responses, first, meta_shapes.ALL[:2])
    serve_pages(responses, second, meta_shapes.ALL[2:])
    assert templates_sync_all() == {"synced": 2, "failed": 0}
    assert MessageTemplate.objects.filter(account=first).count() == 2
    assert MessageTemplate.objects.filter(account=second).count() == 2
    assert not MessageTemplate.objects.filter(account=broken).exists()


def test_status_change_paused_pauses_running_campaigns_with_the_reason():
    campaign = CampaignFactory(status=Campaign.Status.RUNNING)
    other = CampaignFactory(status=Campaign.Status.RUNNING)
    paused = template_status_change(
        template=campaign.template, status="PAUSED", reason="FIRST_PAUSE"
    )
    assert paused == 1
    campaign.refresh_from_db()
    other.refresh_from_db()
    assert campaign.status == "paused"
    assert "PAUSED" in campaign.status_reason
    assert "FIRST_PAUSE" in campaign.status_reason
    assert other.status == "running"


def test_reinstated_makes_the_template_approved_but_resumes_nothing():
    campaign = CampaignFactory(status=Campaign.Status.RUNNING)
    template_status_change(template=campaign.template, status="PAUSED")
    template_status_change(template=campaign.template, status="REINSTATED")
    campaign.refresh_from_db()
    campaign.template.refresh_from_db()
    assert campaign.template.status == "APPROVED"
    assert campaign.status == "paused"


def test_disabled_pauses_too():
    campaign = CampaignFactory(status=Campaign.Status.RUNNING)
    assert template_status_change(template=campaign.template, status="DISABLED") == 1
