"""The campaign page's controls: a Django form checks the send settings, and what a service
refuses is shown as a message (config/web.py)."""

import re

import pytest

from campaigns.models import Campaign

from ..factories import CampaignFactory, RecipientFactory

pytestmark = pytest.mark.django_db

VALUES = {
    "body_param_1": "Ana",
    "body_param_2": "PK",
    "body_param_3": "now",
    "body_param_4": "9-12",
}


@pytest.fixture
def draft(template_a):
    campaign = CampaignFactory(template=template_a, status="draft", rate_limit=80)
    RecipientFactory(campaign=campaign, phone="+14155550100", values=VALUES)
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=1, pending_count=1)
    return campaign


def control(client, campaign, action, data=None):
    return client.post(f"/campaigns/{campaign.pk}/{action}/", data or {}, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rate_limit", "20000", "The rate must be between 1 and 10000 messages a second."),
        (
            "rate_limit",
            "5000",
            "A rate of 5,000 msg/s is more than its number can send (1,000 msg/s each): "
            "at most 1,000. Add numbers to the campaign to send faster.",
        ),
        ("rate_limit", "0", "The rate must be between 1 and 10000 messages a second."),
        ("rate_limit", "fast", "The rate must be between 1 and 10000 messages a second."),
        ("worker_count", "101", "Concurrency must be between 1 and 100."),
    ],
)
def test_send_refuses_settings_out_of_range_with_a_clear_message(
    client, owner, draft, field, value, message
):
    client.force_login(owner)
    response = control(client, draft, "send", {field: value})
    assert messages_of(response) == [message]
    draft.refresh_from_db()
    assert (draft.status, draft.rate_limit) == ("draft", 80)


def test_send_with_valid_settings_starts_the_campaign(
    client, owner, draft, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=False):
        control(client, draft, "send", {"rate_limit": "10", "worker_count": ""})
    draft.refresh_from_db()
    assert (draft.status, draft.rate_limit, draft.worker_count) == ("running", 10, 10)


def test_a_refused_control_is_shown_as_a_message(client, owner, template_a):
    campaign = CampaignFactory(template=template_a, status="completed")
    client.force_login(owner)
    response = control(client, campaign, "pause")
    assert messages_of(response) == ["cannot pause a completed campaign"]


def test_the_page_offers_the_ranges_the_model_declares(client, owner, draft):
    client.force_login(owner)
    html = client.get(f"/campaigns/{draft.pk}/").content.decode()
    rate = re.search(r'<input[^>]*name="rate_limit"[^>]*>', html).group(0)
    workers = re.search(r'<input[^>]*name="worker_count"[^>]*>', html).group(0)
    low, high = Campaign.RATE_LIMIT_RANGE
    assert f'min="{low}"' in rate
    assert f'max="{high}"' in rate
    assert 'value="80"' in rate
    assert f'max="{Campaign.WORKER_COUNT_RANGE[1]}"' in workers
