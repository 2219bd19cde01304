"""A campaign's actual cost: Meta's `pricing` on each status webhook, stored per recipient and
priced by the price table (category × calling code), beside the estimate: on the campaign
page, in stats and in the export."""

import csv
import io

import pytest

from campaigns.models import Recipient
from campaigns.preflight import ACTUAL_COST_CACHE_SECONDS, campaign_actual_cost
from config.redis import get_redis
from webhooks.services import webhook_events_drain

from . import payloads as p

pytestmark = pytest.mark.django_db

PRICES = {
    "MARKETING": {"91": 0.0107, "1": 0.025, "default": 0.05},
    "UTILITY": {"default": 0.004},
}


def priced(wamid, recipient, category, *, billable=True, kind="regular", state="delivered"):
    item = p.status(wamid, state, recipient=recipient, category=None)
    item["pricing"] = {
        "billable": billable,
        "pricing_model": "PMP",
        "category": category,
        "type": kind,
    }  # noqa: E501
    return item


def test_actual_cost_is_the_sum_of_the_priced_statuses(
    post, account, campaign, make_recipient, settings, owner_api, client, owner
):
    settings.PRICE_TABLE = PRICES
    india = [
        make_recipient(phone=f"+9198123456{i:02d}", status="sent", wamid=f"wamid.I{i}")
        for i in range(3)
    ]  # noqa: E501
    us = make_recipient(phone="+14155550100", status="sent", wamid="wamid.U")
    free = make_recipient(phone="+14155550101", status="sent", wamid="wamid.F")
    unbilled = make_recipient(phone="+14155550102", status="sent", wamid="wamid.N")
    other = make_recipient(phone="+447700900123", status="sent", wamid="wamid.G")
    items = [priced(f"wamid.I{i}", r, "marketing") for i, r in enumerate(india)]
    items += [
        priced("wamid.U", us, "marketing"),
        priced("wamid.F", free, "utility", kind="free_customer_service"),
        priced("wamid.N", unbilled, "utility", billable=False),
        priced("wamid.G", other, "marketing"),
        priced("wamid.U", us, "marketing", state="read"),  # a later status: counted once
    ]
    assert post(p.statuses(account, *items), account=account).status_code == 200
    webhook_events_drain()

    stored = Recipient.objects.get(pk=free.pk)
    assert (stored.pricing_category, stored.pricing_billable, stored.pricing_type) == (
        "utility", True, "free_customer_service",
    )  # fmt: skip
    get_redis().delete(f"campaign-actual-cost:{campaign.pk}")
    cost = campaign_actual_cost(campaign)
    expected = 3 * 0.0107 + 0.025 + 0.05  # India, the US, the UK at the default
    assert cost["total"] == pytest.approx(expected)
    assert (cost["billed_messages"], cost["free_messages"], cost["unpriced_messages"]) == (5, 2, 0)
    assert {line["category"]: line["messages"] for line in cost["by_category"]} == {
        "marketing": 5,
        "utility": 2,
    }

    stats = owner_api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()
    assert stats["actual_cost"]["total"] == pytest.approx(expected)

    export = owner_api.get(f"/api/v1/campaigns/{campaign.pk}/export/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    by_phone = {row["phone"].lstrip("'"): row for row in rows}  # "+…" is quoted: no formula
    assert float(by_phone["+14155550100"]["cost"]) == pytest.approx(0.025)
    assert float(by_phone["+14155550101"]["cost"]) == 0.0
    assert by_phone["+14155550101"]["pricing_type"] == "free_customer_service"
    assert sum(float(row["cost"] or 0) for row in rows) == pytest.approx(expected)

    client.force_login(owner)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Cost so far" in page
    assert f"{expected:.2f}" in page


def test_the_cost_is_recounted_after_its_cache_expires(account, campaign, make_recipient, settings):
    settings.PRICE_TABLE = PRICES
    get_redis().delete(f"campaign-actual-cost:{campaign.pk}")
    assert campaign_actual_cost(campaign)["billed_messages"] == 0
    make_recipient(
        phone="+14155550100",
        status="delivered",
        pricing_category="marketing",
        pricing_billable=True,
    )  # noqa: E501
    assert campaign_actual_cost(campaign)["billed_messages"] == 0  # cached
    assert 0 < get_redis().ttl(f"campaign-actual-cost:{campaign.pk}") <= ACTUAL_COST_CACHE_SECONDS
    get_redis().delete(f"campaign-actual-cost:{campaign.pk}")
    assert campaign_actual_cost(campaign)["billed_messages"] == 1


def test_marketing_messages_api_sends_are_priced_as_marketing_unless_the_table_says(settings):
    from campaigns.preflight import unit_price

    settings.PRICE_TABLE = {"MARKETING": {"default": 0.05, "44": 0.0529}}
    assert unit_price("marketing_lite", "44") == 0.0529
    assert unit_price("marketing_lite", None) == 0.05
    settings.PRICE_TABLE = {**settings.PRICE_TABLE, "MARKETING_LITE": {"default": 0.04}}
    assert unit_price("marketing_lite", "44") == 0.04
