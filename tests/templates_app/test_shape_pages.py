"""Each rich shape renders as the recipient will see it, on the template page (with the
template's examples) and on the import preview (with the row's values): carousel cards side
by side, the offer with its countdown, the product and location headers, the call request."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from whatsapp.sandbox.builtin_shapes import SHAPES

from ..campaigns.conftest import make_template
from ..factories import CampaignFactory

pytestmark = pytest.mark.django_db

BY_NAME = {t["name"]: t for t in SHAPES}


def template_page(client, owner, workspace, name) -> str:
    template = make_template(workspace, BY_NAME[name])
    client.force_login(owner)
    return client.get(f"/templates/{template.pk}/").content.decode()


def cards(html: str) -> list[str]:
    return re.findall(r'<div class="wa-card" data-card="(\d+)">', html)


def test_the_template_page_shows_carousel_cards_side_by_side(client, owner, workspace_a):
    html = template_page(client, owner, workspace_a, "summer_carousel")
    assert 'data-part="carousel"' in html
    assert cards(html) == ["1", "2"]
    assert "Rare lemons for $10" in html
    assert "Fresh mangoes for $12" in html
    assert html.count('<span class="wa-card-button">Buy now</span>') == 2
    assert "<code>card_2_button_1_url_param</code>" in html  # the variables table
    assert "Card 2 button 2" in html


def test_the_template_page_shows_product_placeholders(client, owner, workspace_a):
    html = template_page(client, owner, workspace_a, "bestsellers_carousel")
    assert cards(html) == ["1", "2"]
    assert "Product SKU-1001" in html
    html = template_page(client, owner, workspace_a, "product_spotlight")
    assert 'data-part="product"' in html
    assert "WhatsApp shows its image, name and price" in html


def test_the_template_page_shows_the_offer_and_its_countdown(client, owner, workspace_a):
    html = template_page(client, owner, workspace_a, "flash_sale_offer")
    offer = re.search(r'<div class="wa-offer" data-part="offer">(.*?)</div></div>', html).group(1)
    assert "Expiring offer!" in offer
    assert re.search(r'<small class="wa-countdown">Offer ends in \d+ days</small>', offer)
    assert "Ends 31 Dec 2030, 23:59 UTC" in offer
    assert "<code>FLASH25</code>" in offer


def test_the_template_page_shows_location_and_call_request(client, owner, workspace_a):
    html = template_page(client, owner, workspace_a, "pickup_point")
    assert 'data-part="location"' in html
    assert "1 Hacker Way" in html
    html = template_page(client, owner, workspace_a, "may_we_call")
    assert 'data-part="call-permission"' in html
    assert "Allow calls?" in html
    assert "Cannot be sent" not in html


def test_the_import_preview_renders_each_rows_carousel(client, owner, workspace_a):
    template = make_template(workspace_a, BY_NAME["summer_carousel"])
    draft = CampaignFactory(template=template, status="draft")
    header = [
        "country_code",
        "phone_number",
        "body_param_1",
        "card_1_header_media_url",
        "card_1_body_param_1",
        "card_1_button_0_payload",
        "card_1_button_1_url_param",
        "card_2_header_media_url",
        "card_2_body_param_1",
        "card_2_button_0_payload",
        "card_2_button_1_url_param",
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerow(
        ["+1", "4155550101", "Ana", "https://cdn.example.com/a.jpg", "€3", "more", "a"]
        + ["https://cdn.example.com/b.jpg", "€4", "more", "b"]
    )
    client.force_login(owner)

    html = client.post(
        f"/campaigns/{draft.pk}/upload/",
        {"file": SimpleUploadedFile("cards.csv", out.getvalue().encode())},
        follow=True,
    ).content.decode()

    assert "Summer is here, Ana! Pick your favourite." in html
    assert cards(html) == ["1", "2"]
    assert "Rare lemons for €3" in html
    assert "Fresh mangoes for €4" in html
    assert "https://cdn.example.com/b.jpg" in html


def test_the_templates_time_to_live_is_synced_and_shown(client, owner, workspace_a):
    from templates_app.services import _fields_from_meta

    assert _fields_from_meta({"message_send_ttl_seconds": 600})["message_send_ttl_seconds"] == 600
    assert _fields_from_meta({"message_send_ttl_seconds": -1})["message_send_ttl_seconds"] == (
        30 * 86_400
    )
    assert _fields_from_meta({"message_send_ttl_seconds": "x"})["message_send_ttl_seconds"] is None
    code = make_template(
        workspace_a,
        {**BY_NAME["may_we_call"], "category": "AUTHENTICATION"},
        message_send_ttl_seconds=600,
    )
    client.force_login(owner)
    html = client.get(f"/templates/{code.pk}/").content.decode()
    assert '<dd data-field="ttl"' in html
    assert ">10 minutes</dd>" in html
    html = template_page(client, owner, workspace_a, "flash_sale_offer")
    assert ">Meta&#x27;s default (30 days)</dd>" in html
