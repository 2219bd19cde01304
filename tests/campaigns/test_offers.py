"""Limited-time offers: the expiry comes from the row or, for rows without one, from the
campaign; a row whose offer has ended by its send time is skipped (`offer_expired`), never
sent; an offer already over is refused at import; the preview shows the countdown."""

import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from campaigns.engine.sender import run_sender
from campaigns.models import Campaign, Recipient
from campaigns.tracking.counters import counts_from_recipients, stored_counts
from whatsapp.preview import render_preview
from whatsapp.sandbox.builtin_shapes import SHAPES

from ..factories import CampaignFactory
from .conftest import make_template

OFFER = next(t for t in SHAPES if t["name"] == "flash_sale_offer")
VALUES = {
    "header_media_url": "https://cdn.example.com/sale.jpg",
    "body_param_1": "Pablo",
    "body_param_2": "FLASH25",
    "button_0_copy_code": "FLASH25",
    "button_1_url_param": "FLASH25",
}
HEADER = "country_code,phone_number," + ",".join(VALUES)


def ms(delta: timedelta) -> str:
    return str(int((timezone.now() + delta).timestamp() * 1000))


def campaign_with(workspace, rows, *, offer_expires_at=None):
    template = make_template(workspace, OFFER)
    campaign = CampaignFactory(
        template=template, status="running", rate_limit=1000, offer_expires_at=offer_expires_at
    )
    Recipient.objects.bulk_create(
        [Recipient(campaign=campaign, phone=phone, values=values) for phone, values in rows]
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        total_recipients=len(rows), pending_count=len(rows)
    )
    return campaign


@pytest.mark.django_db(transaction=True)
def test_a_row_whose_offer_has_ended_is_skipped_and_never_sent(sandbox, workspace_a):
    campaign = campaign_with(
        workspace_a,
        [
            ("+14155550001", {**VALUES, "offer_expiration_time": ms(-timedelta(minutes=1))}),
            ("+14155550002", {**VALUES, "offer_expiration_time": ms(timedelta(days=2))}),
            ("+14155550003", VALUES),  # the campaign's expiry
        ],
        offer_expires_at=timezone.now() + timedelta(days=1),
    )

    result = run_sender(campaign_id=campaign.pk, worker="test", budget_seconds=30)

    assert result.reason == "drained"
    by_phone = {r.phone: r for r in Recipient.objects.filter(campaign=campaign)}
    assert (by_phone["+14155550001"].status, by_phone["+14155550001"].skip_reason) == (
        "skipped",
        "offer_expired",
    )
    assert by_phone["+14155550001"].attempts == 0
    assert {by_phone[p].status for p in ("+14155550002", "+14155550003")} == {"sent"}
    assert sandbox.stats()["accepted_total"] == 2  # the sandbox checked both offers' bodies
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)


@pytest.mark.django_db(transaction=True)
def test_the_campaigns_expiry_over_skips_the_rows_that_rely_on_it(sandbox, workspace_a):
    campaign = campaign_with(
        workspace_a,
        [
            ("+14155550001", VALUES),
            ("+14155550002", {**VALUES, "offer_expiration_time": ms(timedelta(hours=3))}),
        ],
        offer_expires_at=timezone.now() + timedelta(days=1),
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        offer_expires_at=timezone.now() - timedelta(seconds=1)
    )

    run_sender(campaign_id=campaign.pk, worker="test", budget_seconds=30)

    statuses = dict(Recipient.objects.filter(campaign=campaign).values_list("phone", "skip_reason"))
    assert statuses == {"+14155550001": "offer_expired", "+14155550002": ""}
    assert sandbox.stats()["accepted_total"] == 1


def upload(api, campaign_id, text: str):
    return api.post(
        f"/api/v1/campaigns/{campaign_id}/recipients/",
        {"file": SimpleUploadedFile("offer.csv", text.encode())},
        format="multipart",
    )


def create(api, template, **extra):
    response = api.post(
        "/api/v1/campaigns/",
        {"name": "Flash", "template_id": str(template.id), **extra},
        format="json",
    )
    return response


@pytest.mark.django_db
def test_an_offer_already_over_is_refused_at_import_with_its_line(owner_api, workspace_a):
    template = make_template(workspace_a, OFFER)
    campaign_id = create(owner_api, template).json()["id"]
    row = ",".join(VALUES.values())
    text = (
        f"{HEADER},offer_expiration_time\n"
        f"+1,4155550001,{row},2030-01-01T00:00:00Z\n"
        f"+1,4155550002,{row},2020-01-01 09:00\n"
        f"+1,4155550003,{row},soon\n"
    )

    report = upload(owner_api, campaign_id, text).json()

    assert (report["imported"], report["rejected"]) == (1, 2)
    reasons = {r["line"]: (r["column"], r["reason"]) for r in report["rejected_rows"]}
    assert reasons[3] == (
        "offer_expiration_time",
        "offer_expiration_time: the offer expired on 01 Jan 2020, 09:00 UTC",
    )
    assert reasons[4][0] == "offer_expiration_time"
    assert "must be a date and time" in reasons[4][1]


@pytest.mark.django_db
def test_rows_without_an_expiry_need_the_campaigns(owner_api, workspace_a):
    template = make_template(workspace_a, OFFER)
    campaign_id = create(owner_api, template).json()["id"]
    text = f"{HEADER}\n+1,4155550001,{','.join(VALUES.values())}\n"

    refused = upload(owner_api, campaign_id, text)
    assert refused.status_code == 400
    assert "offer_expiration_time" in str(refused.json())

    ends = (timezone.now() + timedelta(days=3)).isoformat()
    patched = owner_api.patch(
        f"/api/v1/campaigns/{campaign_id}/", {"offer_expires_at": ends}, format="json"
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["offer_expires_at"] is not None
    report = upload(owner_api, campaign_id, text).json()
    assert report["imported"] == 1

    cleared = owner_api.patch(
        f"/api/v1/campaigns/{campaign_id}/", {"offer_expires_at": None}, format="json"
    )
    assert cleared.status_code == 400
    assert "offer_expires_at" in cleared.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value", ["2020-01-01T00:00:00Z", "2030-01-01T00:00:00", "tomorrow"], ids=str
)
def test_a_bad_campaign_expiry_is_a_400_naming_it(owner_api, workspace_a, value):
    template = make_template(workspace_a, OFFER)
    response = create(owner_api, template, offer_expires_at=value)
    if value == "2030-01-01T00:00:00":
        # A time without an offset is read in the installation's time zone (like the API's
        # other times): accepted.
        assert response.status_code == 201
        return
    assert response.status_code == 400
    assert "offer_expires_at" in response.json()
    assert not Campaign.objects.exists()


def test_the_preview_shows_the_offer_and_its_countdown():
    now = int(time.time() * 1000)
    ends = now + 2 * 86_400_000 + 3_600_000
    preview = render_preview(
        components=OFFER["components"],
        parameter_format="POSITIONAL",
        values={**VALUES, "offer_expiration_time": str(ends)},
        now_ms=now,
    )
    assert preview["offer"]["text"] == "Expiring offer!"
    assert preview["offer"]["countdown"] == "Offer ends in 2 days"
    assert preview["offer"]["code"] == "FLASH25"
    assert preview["media"] == {"kind": "image", "url": "https://cdn.example.com/sale.jpg"}
    later = render_preview(
        components=OFFER["components"],
        parameter_format="POSITIONAL",
        values={**VALUES, "offer_expiration_time": str(now + 90 * 60_000)},
        now_ms=now,
    )
    assert later["offer"]["countdown"] == "Offer ends in 1 hour"
    over = render_preview(
        components=OFFER["components"],
        parameter_format="POSITIONAL",
        values={**VALUES, "offer_expiration_time": str(now - 1)},
        now_ms=now,
    )
    assert over["offer"]["countdown"] == "Offer expired"


@pytest.mark.django_db
def test_the_new_campaign_page_sets_the_offers_end(client, owner, workspace_a):
    template = make_template(workspace_a, OFFER)
    client.force_login(owner)
    page = client.get("/campaigns/new/").content.decode()
    assert f'data-template="{template.pk}" data-offer="1"' in page
    assert 'id="id_offer_expires_at"' in page

    past = client.post(
        "/campaigns/new/",
        {"name": "Flash", "template": str(template.pk), "offer_expires_at": "2020-01-01T09:00"},
    )
    assert past.status_code == 200
    assert "That time has passed" in past.content.decode()
    assert not Campaign.objects.exists()

    created = client.post(
        "/campaigns/new/",
        {
            "name": "Flash",
            "template": str(template.pk),
            "marketing_policy": "CLOUD_API_FALLBACK",
            "offer_expires_at": "2030-06-30T18:00",
        },
    )
    assert created.status_code == 302
    campaign = Campaign.objects.get(name="Flash")
    assert campaign.offer_expires_at is not None
    assert campaign.offer_expires_at.year == 2030
