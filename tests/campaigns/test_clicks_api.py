"""Clicks read back: the campaign API, the stats, the export and the live page."""

import csv
import io

import pytest

from campaigns.models import Campaign
from campaigns.tracking import campaign_recount
from campaigns.tracking.clicks import click_token

from ..factories import CampaignFactory, RecipientFactory

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example/offer"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def campaign(workspace_a):
    """Four delivered or read, one sent, one failed; two of the delivered clicked."""
    campaign = CampaignFactory(template__account__workspace=workspace_a, status="running")
    for i, state in enumerate(["read", "read", "delivered", "delivered", "sent", "failed"]):
        RecipientFactory(
            campaign=campaign,
            phone=f"+1415555{i:04d}",
            status=state,
            values={"button_0_destination_url": SHOP},
        )
    campaign_recount(campaign_id=campaign.pk)
    return campaign


def click(client, campaign, *indexes):
    rows = list(campaign.recipients.order_by("id"))
    for i in indexes:
        assert client.get(f"/r/{click_token(rows[i].pk, 0)}").status_code == 302


def test_the_campaign_api_gives_clicked_and_the_click_rate(client, owner_api, campaign):
    click(client, campaign, 0, 2, 2)

    body = owner_api.get(f"/api/v1/campaigns/{campaign.pk}/").json()

    assert body["clicked"] == 2
    assert body["click_rate"] == 0.5  # of the four delivered or read


def test_the_click_rate_is_null_before_any_delivery(owner_api, workspace_a):
    draft = CampaignFactory(template__account__workspace=workspace_a)
    body = owner_api.get(f"/api/v1/campaigns/{draft.pk}/").json()
    assert (body["clicked"], body["click_rate"]) == (0, None)
    stats = owner_api.get(f"/api/v1/campaigns/{draft.pk}/stats/").json()
    assert stats["funnel"]["counts"]["clicked"] == 0
    assert stats["funnel"]["rates"]["clicked"] is None


def test_the_stats_give_clicked_in_the_funnel(client, owner_api, campaign):
    click(client, campaign, 1)

    funnel = owner_api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()["funnel"]

    assert funnel["counts"]["clicked"] == 1
    assert funnel["rates"]["clicked"] == 0.25


def test_the_outsider_sees_no_clicks(outsider_api, campaign):
    assert outsider_api.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 404
    assert outsider_api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").status_code == 404


def test_the_export_has_clicked_at(client, owner_api, campaign):
    click(client, campaign, 3)

    response = owner_api.get(f"/api/v1/campaigns/{campaign.pk}/export/")
    text = b"".join(response.streaming_content).decode("utf-8")[1:]
    rows = list(csv.DictReader(io.StringIO(text)))

    clicked = [r for r in rows if r["clicked_at"]]
    assert [r["phone"] for r in clicked] == ["'+14155550003"]  # CSV: a "+" cell is quoted
    assert clicked[0]["clicked_at"].endswith("Z")


def test_the_live_page_shows_clicked_and_its_rate(client, owner, campaign):
    click(client, campaign, 0, 1, 2)
    client.force_login(owner)

    html = client.get(f"/campaigns/{campaign.pk}/live/", {"shown": "running"}, **HTMX)

    page = html.content.decode()
    assert 'data-field="clicked">3<' in page
    assert 'data-field="click_rate">75 %<' in page
    assert Campaign.objects.get(pk=campaign.pk).clicked_count == 3


def test_the_campaign_page_says_what_a_click_count_includes(client, owner, campaign_a):
    client.force_login(owner)
    html = client.get(f"/campaigns/{campaign_a.pk}/").content.decode()
    assert "a tracked link (<code>/r/…</code>) always" in html
    assert "only when its token names the recipient" in html
