"""Concurrent clicks on one tracked link count once (PostgreSQL: real row and index locks)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from campaigns.models import Campaign, Click, Recipient
from campaigns.tracking import campaign_recount, counts_from_recipients, stored_counts
from campaigns.tracking.clicks import click_token

from ..factories import CampaignFactory, RecipientFactory

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "https://shop.example/offer"


def hammer(paths: list[str]) -> list[int]:
    """GET every path at once, one thread and connection each; their status codes."""
    start = threading.Barrier(len(paths))
    codes: list[int] = []
    errors: list[BaseException] = []

    def get(path):
        try:
            client = Client()
            start.wait()
            codes.append(client.get(path).status_code)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=get, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return codes


def test_concurrent_clicks_on_one_link_count_once(workspace_a):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are a PostgreSQL matter; CI runs it there")
    campaign = CampaignFactory(template__account__workspace=workspace_a, status="running")
    values = {"button_0_destination_url": SHOP, "button_1_destination_url": SHOP + "/2"}
    r = RecipientFactory(campaign=campaign, values=values)
    other = RecipientFactory(campaign=campaign, values=values)
    campaign_recount(campaign_id=campaign.pk)
    same = f"/r/{click_token(r.pk, 0)}"
    # Eight GETs of one link, four of the recipient's other button, four of another recipient.
    paths = [same] * 8 + [f"/r/{click_token(r.pk, 1)}"] * 4 + [f"/r/{click_token(other.pk, 0)}"] * 4

    codes = hammer(paths)

    assert codes == [302] * len(paths)
    assert Click.objects.filter(recipient_id=r.pk).count() == 2  # one per button
    assert Click.objects.filter(recipient_id=other.pk).count() == 1
    assert Recipient.objects.filter(campaign=campaign, clicked_at__isnull=False).count() == 2
    assert Campaign.objects.get(pk=campaign.pk).clicked_count == 2
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
