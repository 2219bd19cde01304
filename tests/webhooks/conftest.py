"""Fixtures for the webhook tests: a connected number, a running campaign, a signed POST."""

import uuid
from datetime import UTC, datetime

import pytest

from campaigns.models import Campaign
from campaigns.tracking import campaign_recount, counts_from_recipients, stored_counts
from campaigns.tracking.timeline import stored_timeline, timeline_from_recipients
from webhooks.services import directory, webhook_events_drain
from webhooks.tasks import webhook_events_drain_task

from ..factories import CampaignFactory, RecipientFactory, WhatsAppAccountFactory
from .payloads import dumps, sign

URL = "/webhooks/whatsapp/"


@pytest.fixture(autouse=True)
def _fresh_account_cache():
    directory.clear_directory()
    yield
    directory.clear_directory()


@pytest.fixture(autouse=True)
def queued_drains(monkeypatch):
    """Drains the receiver queued; no test publishes to a real broker, and each test has its
    own debounce key (tests run in parallel against one Redis)."""
    calls = []
    monkeypatch.setattr(webhook_events_drain_task, "apply_async", lambda *a, **kw: calls.append(kw))
    monkeypatch.setattr("webhooks.services.drain.DRAIN_FLAG", f"test:webhooks:drain:{uuid.uuid4()}")
    monkeypatch.setattr("webhooks.services.drain._last_asked", 0.0)
    return calls


@pytest.fixture
def account(workspace_a):
    return WhatsAppAccountFactory(workspace=workspace_a)


@pytest.fixture
def campaign(account):
    return CampaignFactory(template__account=account, status=Campaign.Status.RUNNING)


@pytest.fixture
def make_recipient(campaign):
    """A recipient of the running campaign, with the counters kept equal to a recount."""

    def make(**fields):
        recipient = RecipientFactory(campaign=fields.pop("campaign", campaign), **fields)
        campaign_recount(campaign_id=recipient.campaign_id)
        return recipient

    return make


@pytest.fixture
def post(client):
    """POST a payload signed with the account's app secret (or `secret`)."""

    def do(payload, *, account=None, secret=None, signature=None, body=None):
        body = body if body is not None else dumps(payload)
        headers = {}
        if signature is None and (account is not None or secret is not None):
            signature = sign(body, secret if secret is not None else account.app_secret)
        if signature:
            headers["HTTP_X_HUB_SIGNATURE_256"] = signature
        return client.post(URL, data=body, content_type="application/json", **headers)

    return do


@pytest.fixture
def receive(post):
    """POST each payload (signed by `account`), then drain: what Meta's webhook does."""

    def do(account, *payloads):
        for payload in payloads:
            assert post(payload, account=account).status_code == 200
        webhook_events_drain()

    return do


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def assert_counters_match(campaign_id) -> dict:
    """The counters and the timeline equal a recount from the recipients."""
    stored = stored_counts(campaign_id=campaign_id)
    assert stored == counts_from_recipients(campaign_id=campaign_id)
    assert stored_timeline(campaign_id=campaign_id) == timeline_from_recipients(
        campaign_id=campaign_id
    )
    return stored
