"""The campaign and recipient admin for operators: the dashboard's figures, recipients by
campaign, a read-only state machine, and changelists that never count a million rows."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import Campaign, Recipient
from campaigns.serializers import CampaignSerializer

from ..factories import CampaignFactory, RecipientFactory

pytestmark = pytest.mark.django_db

COUNTERS = {
    "total_recipients": 60,
    "pending_count": 2,
    "sending_count": 1,
    "sent_count": 5,
    "delivered_count": 7,
    "read_count": 13,
    "failed_count": 4,
    "skipped_count": 3,
    "unknown_count": 1,
    "replied_count": 6,
}
FIGURES = ["total", "pending", "sending", "sent", "delivered", "read", "failed", "skipped"]
FIGURES += ["unknown", "replied"]


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    return client


def figure(html: str, key: str) -> int:
    """The number in an admin cell or read-only row of `figure_<key>`."""
    match = re.search(
        rf'field-figure_{key}">(?:.*?<div class="readonly">)?(\d+)<', html, flags=re.DOTALL
    )
    assert match, key
    return int(match.group(1))


def test_campaign_figures_are_the_dashboards(admin_client):
    campaign = CampaignFactory(status="running")
    Campaign.objects.filter(pk=campaign.pk).update(**COUNTERS)
    campaign.refresh_from_db()
    api = CampaignSerializer(campaign).data
    api["total"] = api["total_recipients"]

    change = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    listing = admin_client.get(reverse("admin:campaigns_campaign_changelist"))

    html = change.content.decode()
    for key in FIGURES:
        assert figure(html, key) == api[key], key
    assert (figure(html, "sent"), figure(html, "delivered")) == (25, 20)  # funnel figures
    html = listing.content.decode()
    for key in ("total", "sent", "delivered", "read", "failed"):
        assert figure(html, key) == api[key], key


def test_campaign_page_links_to_its_recipients(admin_client):
    ours = CampaignFactory(name="Spring launch")
    theirs = CampaignFactory()
    RecipientFactory(campaign=ours, phone="+14155550001")
    RecipientFactory(campaign=theirs, phone="+14155550002")

    change = admin_client.get(reverse("admin:campaigns_campaign_change", args=[ours.pk]))
    link = f"/admin/campaigns/recipient/?campaign={ours.pk}"
    assert f'href="{link}"' in change.content.decode()

    html = admin_client.get(link).content.decode()
    assert "+14155550001" in html
    assert "+14155550002" not in html
    assert "Spring launch" in html  # the applied filter, named in the sidebar
    # the filter lists no campaigns while none is chosen
    unfiltered = admin_client.get("/admin/campaigns/recipient/").content.decode()
    assert "By campaign" not in unfiltered
    # Django's own lookup works too
    html = admin_client.get(f"/admin/campaigns/recipient/?campaign__id__exact={ours.pk}")
    assert "+14155550002" not in html.content.decode()


def test_a_malformed_campaign_filter_is_not_a_server_error(admin_client):
    response = admin_client.get("/admin/campaigns/recipient/?campaign=nope")
    assert response.status_code in (200, 302)


def test_a_recipients_state_cannot_be_changed_by_a_post(admin_client):
    recipient = RecipientFactory(
        campaign=CampaignFactory(status="running"), status="sent", wamid="wamid.KEEP", attempts=1
    )
    url = reverse("admin:campaigns_recipient_change", args=[recipient.pk])
    assert 'name="status"' not in admin_client.get(url).content.decode()

    response = admin_client.post(
        url,
        {
            "status": "read",
            "wamid": "wamid.OTHER",
            "attempts": "9",
            "claimed_by": "me",
            "error_code": "131026",
            "values": '{"body_param_1": "Changed"}',
        },
    )

    assert response.status_code == 403  # a view-only page
    recipient.refresh_from_db()
    assert (recipient.status, recipient.wamid, recipient.attempts) == ("sent", "wamid.KEEP", 1)
    assert (recipient.claimed_by, recipient.error_code) == ("", None)
    assert recipient.values == {"body_param_1": "Ana"}  # sent: what it said is history


def test_a_draft_recipients_values_stay_editable_and_nothing_else(admin_client):
    recipient = RecipientFactory(campaign=CampaignFactory(status="draft"))
    url = reverse("admin:campaigns_recipient_change", args=[recipient.pk])
    html = admin_client.get(url).content.decode()
    assert 'name="values"' in html
    assert "deletelink" not in html

    response = admin_client.post(url, {"values": '{"body_param_1": "Bea"}', "status": "read"})

    assert response.status_code == 302
    recipient.refresh_from_db()
    assert (recipient.values, recipient.status) == ({"body_param_1": "Bea"}, "pending")


def test_recipients_cannot_be_added_or_deleted_one_by_one(admin_client):
    recipient = RecipientFactory()
    assert admin_client.get(reverse("admin:campaigns_recipient_add")).status_code == 403
    delete = reverse("admin:campaigns_recipient_delete", args=[recipient.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Recipient.objects.filter(pk=recipient.pk).exists()
    # deleting the campaign still takes its recipients with it
    campaign_delete = reverse("admin:campaigns_campaign_delete", args=[recipient.campaign_id])
    assert admin_client.post(campaign_delete, {"post": "yes"}).status_code == 302
    assert not Recipient.objects.filter(pk=recipient.pk).exists()


def add_recipients(campaign, count: int) -> None:
    """`count` recipients in one statement (factories would take minutes), then ANALYZE so the
    planner knows the table's size, as autovacuum would have told it."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO campaigns_recipient (campaign_id, phone, values, status, skip_reason,
                attempts, claimed_by, message_status, error_title, error_details,
                pricing_category)
            SELECT %s, '+1' || (2000000000 + n)::text, '{}', 'pending', '', 0, '', '', '', '',
                ''
            FROM generate_series(1, %s) AS n
            """,
            [campaign.pk, count],
        )
        cursor.execute("ANALYZE campaigns_recipient")


def counts(queries) -> list[str]:
    return [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


def test_the_recipients_changelist_never_counts_a_big_table(admin_client):
    if connection.vendor != "postgresql":
        pytest.skip("pages on PostgreSQL's planner estimate (SQLite has none)")
    big = CampaignFactory()
    add_recipients(big, 12_000)
    small = CampaignFactory()
    RecipientFactory.create_batch(3, campaign=small)
    url = reverse("admin:campaigns_recipient_changelist")

    with CaptureQueriesContext(connection) as unfiltered:
        page = admin_client.get(url)
    with CaptureQueriesContext(connection) as by_big:
        admin_client.get(url, {"campaign": str(big.pk)})
    with CaptureQueriesContext(connection) as by_small:
        filtered = admin_client.get(url, {"campaign": str(small.pk)})

    assert page.status_code == 200
    assert counts(unfiltered) == []  # the planner's estimate instead
    assert counts(by_big) == []
    assert len(counts(by_small)) == 1  # small: counted exactly, with its WHERE
    assert "WHERE" in counts(by_small)[0].upper()
    assert "3 recipients" in filtered.content.decode()
    assert re.search(r"1[12],?\d{3} recipients", page.content.decode())  # about 12,003


def test_recipients_are_found_by_exact_phone_or_wamid(admin_client):
    RecipientFactory(phone="+14155550001", wamid="wamid.HBgL")
    RecipientFactory(phone="+14155550002")
    url = reverse("admin:campaigns_recipient_changelist")
    by_phone = admin_client.get(url, {"q": "+14155550002"}).content.decode()
    assert "+14155550002" in by_phone
    assert "+14155550001" not in by_phone
    by_wamid = admin_client.get(url, {"q": " wamid.HBgL "}).content.decode()
    assert "+14155550001" in by_wamid
    assert "+14155550002" not in by_wamid
