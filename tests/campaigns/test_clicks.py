"""Tracked links: click tokens, `GET /r/<token>` and what a click changes (docs/clicks.md)."""

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Click, Recipient
from campaigns.tracking import campaign_recount, counts_from_recipients, stored_counts
from campaigns.tracking.clicks import click_target, click_token, redirect_click

from ..factories import CampaignFactory, RecipientFactory

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example/offer?utm_source=whatsapp&x=1"
OTHER = "http://other.example/b"


@pytest.fixture
def campaign(workspace_a):
    return CampaignFactory(template__account__workspace=workspace_a, status="running")


@pytest.fixture
def recipient(campaign):
    return make(campaign)


def make(campaign, **fields):
    values = fields.pop(
        "values", {"button_0_destination_url": SHOP, "button_1_destination_url": OTHER}
    )
    r = RecipientFactory(campaign=campaign, values=values, **fields)
    campaign_recount(campaign_id=campaign.pk)
    return r


def link(recipient, button=0) -> str:
    return f"/r/{click_token(recipient.pk, button)}"


def assert_counts_match(campaign) -> dict:
    stored = stored_counts(campaign_id=campaign.pk)
    assert stored == counts_from_recipients(campaign_id=campaign.pk)
    return stored


# --- tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize(("rid", "button"), [(0, 0), (1, 1), (987654321, 2), (2**63 - 1, 255)])
def test_token_round_trips_and_is_short_and_url_safe(rid, button):
    token = click_token(rid, button)
    assert len(token) < 40
    assert token.replace("-", "").replace("_", "").isalnum()
    assert click_target(token) == (rid, button)
    assert str(rid) not in token or rid < 10  # the id is not readable in it


def test_tokens_differ_per_recipient_and_button_and_are_stable():
    assert click_token(5, 0) == click_token(5, 0)
    assert len({click_token(5, 0), click_token(5, 1), click_token(6, 0)}) == 3


def test_a_token_made_with_another_secret_is_refused(settings):
    token = click_token(42, 0)
    settings.SECRET_KEY = "another-secret-key-entirely-0123456789-abcdefghijkl"
    assert click_target(token) is None
    settings.SECRET_KEY_FALLBACKS = ["test-only-secret-key-not-for-production-use-0123456789"]
    assert click_target(token) == (42, 0)  # a rotated key still resolves links already sent


def test_forged_and_garbled_tokens_resolve_to_nothing():
    token = click_token(42, 0)
    flipped = [token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :] for i in range(27)]
    bad = [
        *flipped,
        token[:-1],
        token + "A",
        "",
        "x" * 27,
        "=" * 27,
        "\x00" * 27,
        "é" * 27,
        "A" * 100_000,
        None,
        42,
        b"bytes",
    ]
    assert [t for t in bad if click_target(t) is not None] == []


# --- the redirect -------------------------------------------------------------------------


def test_a_click_redirects_to_the_rows_destination_and_counts_once(client, recipient, campaign):
    first = client.get(link(recipient))
    second = client.get(link(recipient))

    for response in (first, second):
        assert response.status_code == 302
        assert response["Location"] == SHOP
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "no-referrer"
    recipient.refresh_from_db()
    assert recipient.clicked_at is not None
    assert recipient.status == "pending"  # a click is not a status
    click = Click.objects.get()
    assert (click.source, click.recipient_id, click.button_index) == ("redirect", recipient.pk, 0)
    assert (click.campaign_id, click.account_id) == (campaign.pk, campaign.account_id)
    assert assert_counts_match(campaign)["clicked_count"] == 1


def test_a_second_button_is_recorded_but_the_recipient_counts_once(client, recipient, campaign):
    assert client.get(link(recipient, 0)).status_code == 302
    first_click = Recipient.objects.get(pk=recipient.pk).clicked_at
    response = client.get(link(recipient, 1))

    assert response["Location"] == OTHER
    assert Click.objects.count() == 2
    assert Recipient.objects.get(pk=recipient.pk).clicked_at == first_click  # set once
    assert assert_counts_match(campaign)["clicked_count"] == 1


def test_two_recipients_count_two(client, campaign):
    a, b = make(campaign), make(campaign)
    client.get(link(a))
    client.get(link(b))
    assert Campaign.objects.get(pk=campaign.pk).clicked_count == 2
    assert_counts_match(campaign)


@pytest.mark.parametrize(
    "path",
    [
        "/r/" + "A" * 27,
        "/r/not-a-token",
        "/r/" + "A" * 5000,
        "/r/%00%01%02",
        "/r/%FF%FE",
        "/r/%E2%80%AE" * 9,
        "/r/..%2F..%2Fetc",
    ],
)
def test_unknown_tokens_are_404_never_500(client, recipient, path):
    assert client.get(path).status_code == 404
    assert not Click.objects.exists()


def test_a_forged_token_is_404(client, recipient):
    token = click_token(recipient.pk, 0)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.get(f"/r/{forged}").status_code == 404
    assert Recipient.objects.get(pk=recipient.pk).clicked_at is None


@pytest.mark.parametrize(
    "destination",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/",
        "/relative/path",
        "https:\\\\evil.example",
        "https://",
        "ftp://files.example/x",
        "https://shop.example/\r\nSet-Cookie: a=b",
        "",
        None,
        42,
    ],
)
def test_a_destination_that_is_not_http_is_404_and_counts_nothing(client, campaign, destination):
    r = make(campaign, values={"button_0_destination_url": destination})
    assert client.get(link(r)).status_code == 404
    assert Recipient.objects.get(pk=r.pk).clicked_at is None
    assert not Click.objects.exists()


def test_a_button_without_a_destination_is_404(client, campaign):
    r = make(campaign, values={"body_param_1": "Ana"})
    assert client.get(link(r, 0)).status_code == 404


def test_a_deleted_campaign_or_recipient_is_404(client, campaign):
    kept, gone = make(campaign), make(campaign)
    token = link(gone)
    Recipient.objects.filter(pk=gone.pk).delete()
    assert client.get(token).status_code == 404
    token = link(kept)
    Campaign.objects.filter(pk=campaign.pk).delete()
    assert client.get(token).status_code == 404
    assert not Click.objects.exists()


def test_head_resolves_the_link_without_counting(client, recipient):
    response = client.head(link(recipient))
    assert response.status_code == 302
    assert response["Location"] == SHOP
    assert not Click.objects.exists()
    assert client.post(link(recipient)).status_code == 405


def test_a_click_needs_no_login_and_no_csrf(recipient):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).get(link(recipient))
    assert response.status_code == 302


def test_a_click_before_any_status_counts_and_the_status_still_moves(client, campaign):
    """Clicked is independent of the status rank: it never changes `status`, and a later
    status does not undo it."""
    r = make(campaign, status="sending")
    client.get(link(r))
    Recipient.objects.filter(pk=r.pk).update(status="read")  # as the fold would
    campaign_recount(campaign_id=campaign.pk)
    r.refresh_from_db()
    assert (r.status, r.clicked_at is not None) == ("read", True)
    assert assert_counts_match(campaign)["clicked_count"] == 1


def test_the_service_takes_the_time_of_the_click(recipient):
    at = timezone.now().replace(microsecond=0)
    assert redirect_click(click_token(recipient.pk, 0), now=at) == SHOP
    assert Recipient.objects.get(pk=recipient.pk).clicked_at == at
    assert Click.objects.get().occurred_at == at


# --- recount and reruns -------------------------------------------------------------------


def test_recount_rebuilds_clicked_from_the_recipients(client, campaign):
    a, _ = make(campaign), make(campaign)
    client.get(link(a))
    assert campaign_recount(campaign_id=campaign.pk) == {}  # already right
    Campaign.objects.filter(pk=campaign.pk).update(clicked_count=7)
    assert campaign_recount(campaign_id=campaign.pk)["clicked_count"] == (7, 1)
    assert Campaign.objects.get(pk=campaign.pk).clicked_count == 1


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("clicked", {"+14155550000", "+14155550003"}),
        ("not_clicked", {"+14155550001", "+14155550002"}),
    ],
)
def test_rerun_segments_clicked_and_not_clicked(owner_api, client, campaign, segment, expected):
    Campaign.objects.filter(pk=campaign.pk).update(status="completed")
    rows = [  # (status, clicked)
        ("read", True),
        ("read", False),
        ("delivered", False),
        ("sent", True),  # its click came before its delivery status
        ("sent", False),  # not delivered: in neither segment's "not clicked"
        ("failed", False),
    ]
    for i, (state, clicked) in enumerate(rows):
        r = make(campaign, phone=f"+1415555{i:04d}", status=state)
        if clicked:
            client.get(link(r))
    response = owner_api.post(
        f"/api/v1/campaigns/{campaign.pk}/rerun/", {"segment": segment}, format="json"
    )
    assert response.status_code == 201, response.json()
    rerun = Campaign.objects.get(id=response.json()["id"])
    copied = Recipient.objects.filter(campaign=rerun)
    assert set(copied.values_list("phone", flat=True)) == expected
    assert {r.clicked_at for r in copied} == {None}  # a new send starts unclicked
    assert stored_counts(campaign_id=rerun.pk) == counts_from_recipients(campaign_id=rerun.pk)


def test_the_dashboard_offers_the_click_segments(client, owner, campaign):
    client.force_login(owner)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'value="clicked"' in page
    assert 'value="not_clicked"' in page
