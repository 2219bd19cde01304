"""Every template shape Broadcast sends (docs/templates.md), end to end: the sample has the
columns, a filled sample imports, a bad value is rejected with its line and column, the
payload equals the documented shape (docs/whatsapp.md §11.1), and the sandbox accepts it —
and refuses a malformed one with Meta's code."""

import copy
import csv
import io

import pytest
from django.test import override_settings

from campaigns.models import Recipient
from campaigns.tracking.clicks import click_token
from whatsapp.payload import PayloadBuilder
from whatsapp.sandbox.builtin_shapes import SHAPES
from whatsapp.sandbox.catalogue import Catalogue
from whatsapp.sandbox.graph_errors import GraphError
from whatsapp.sandbox.validation import validate_send

from .conftest import make_template

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("public_url")]

BY_NAME = {t["name"]: t for t in SHAPES}
OFFER_ENDS = "2030-06-30T18:00:00Z"
OFFER_MS = 1_909_072_800_000
IMG = "https://cdn.example.com/{}.jpg"
CATALOG = "194836987003835"


def _card(index, image, price, *components):
    return {
        "card_index": index,
        "components": [
            {
                "type": "header",
                "parameters": [{"type": "image", "image": {"link": IMG.format(image)}}],
            },
            {"type": "body", "parameters": [{"type": "text", "text": price}]},
            *components,
        ],
    }


def _button(index, sub_type, parameter):
    return {"type": "button", "sub_type": sub_type, "index": str(index), "parameters": [parameter]}


def _product(sku):
    return {
        "type": "header",
        "parameters": [
            {"type": "product", "product": {"product_retailer_id": sku, "catalog_id": CATALOG}}
        ],
    }


def _body(*texts):
    return {"type": "body", "parameters": [{"type": "text", "text": t} for t in texts]}


# name: (the row's values, the components sent, a bad (column, value, reason),
#        a malformed send (mutation of the body) and Meta's code for it)
CASES = {
    "summer_carousel": (
        {
            "body_param_1": "Ana",
            "card_1_header_media_url": IMG.format("lemon"),
            "card_1_body_param_1": "$10",
            "card_1_button_0_payload": "more-lemons",
            "card_1_button_1_url_param": "lemon",
            "card_2_header_media_url": IMG.format("mango"),
            "card_2_body_param_1": "$12",
            "card_2_button_0_payload": "more-mangoes",
            "card_2_button_1_url_param": "mango",
        },
        [
            _body("Ana"),
            {
                "type": "carousel",
                "cards": [
                    _card(
                        0,
                        "lemon",
                        "$10",
                        _button(0, "quick_reply", {"type": "payload", "payload": "more-lemons"}),
                        _button(1, "url", {"type": "text", "text": "lemon"}),
                    ),
                    _card(
                        1,
                        "mango",
                        "$12",
                        _button(0, "quick_reply", {"type": "payload", "payload": "more-mangoes"}),
                        _button(1, "url", {"type": "text", "text": "mango"}),
                    ),
                ],
            },
        ],
        ("card_2_header_media_url", "mango.jpg", "must be an http:// or https:// URL"),
        (lambda c: c[1]["cards"].pop(), 132012),
    ),
    "bestsellers_carousel": (
        {
            "card_1_header_product_retailer_id": "SKU-1",
            "card_1_header_catalog_id": CATALOG,
            "card_2_header_product_retailer_id": "SKU-2",
            "card_2_header_catalog_id": CATALOG,
        },
        [
            {
                "type": "carousel",
                "cards": [
                    {"card_index": 0, "components": [_product("SKU-1")]},
                    {"card_index": 1, "components": [_product("SKU-2")]},
                ],
            }
        ],
        ("card_1_header_catalog_id", "cat-1", "must be the catalog's id: digits only"),
        (
            lambda c: c[0]["cards"][0]["components"][0]["parameters"][0]["product"].pop(
                "catalog_id"
            ),
            131008,
        ),
    ),
    "flash_sale_offer": (
        {
            "header_media_url": IMG.format("sale"),
            "offer_expiration_time": OFFER_ENDS,
            "body_param_1": "Pablo",
            "body_param_2": "FLASH25",
            "button_0_copy_code": "FLASH25",
            "button_1_url_param": "FLASH25",
        },
        [
            {
                "type": "header",
                "parameters": [{"type": "image", "image": {"link": IMG.format("sale")}}],
            },
            _body("Pablo", "FLASH25"),
            {
                "type": "limited_time_offer",
                "parameters": [
                    {
                        "type": "limited_time_offer",
                        "limited_time_offer": {"expiration_time_ms": OFFER_MS},
                    }
                ],
            },
            _button(0, "copy_code", {"type": "coupon_code", "coupon_code": "FLASH25"}),
            _button(1, "url", {"type": "text", "text": "FLASH25"}),
        ],
        ("offer_expiration_time", "next friday", "must be a date and time"),
        (lambda c: c.pop(2), 131008),
    ),
    "pickup_point": (
        {
            "header_latitude": "37.483307",
            "header_longitude": "-122.148981",
            "header_location_name": "Pickup",
            "header_location_address": "1 Main St",
            "body_param_1": "PK-1",
        },
        [
            {
                "type": "header",
                "parameters": [
                    {
                        "type": "location",
                        "location": {
                            "latitude": "37.483307",
                            "longitude": "-122.148981",
                            "name": "Pickup",
                            "address": "1 Main St",
                        },
                    }
                ],
            },
            _body("PK-1"),
        ],
        ("header_latitude", "95", "must be a number between -90 and 90"),
        (lambda c: c[0]["parameters"][0]["location"].pop("latitude"), 131008),
    ),
    "product_spotlight": (
        {"header_product_retailer_id": "SKU-9", "header_catalog_id": CATALOG},
        [_product("SKU-9")],
        ("header_product_retailer_id", " ", "header_product_retailer_id is empty"),
        (lambda c: c[0]["parameters"][0].update(type="image"), 132012),
    ),
    "catalog_browse": (
        {"body_param_1": "Sam", "button_0_thumbnail_product_id": "SKU-3"},
        [
            _body("Sam"),
            _button(
                0,
                "CATALOG",
                {"type": "action", "action": {"thumbnail_product_retailer_id": "SKU-3"}},
            ),
        ],
        ("button_0_thumbnail_product_id", "SKU\t3", "contains a line break, a tab"),
        (lambda c: c[1]["parameters"][0].update(type="text"), 100),
    ),
    "picked_for_you": (
        {
            "body_param_1": "Jo",
            "button_0_thumbnail_product_id": "SKU-1",
            "button_0_sections": "Best sellers: SKU-1, SKU-2; New: SKU-3",
        },
        [
            _body("Jo"),
            _button(
                0,
                "mpm",
                {
                    "type": "action",
                    "action": {
                        "thumbnail_product_retailer_id": "SKU-1",
                        "sections": [
                            {
                                "title": "Best sellers",
                                "product_items": [
                                    {"product_retailer_id": "SKU-1"},
                                    {"product_retailer_id": "SKU-2"},
                                ],
                            },
                            {"title": "New", "product_items": [{"product_retailer_id": "SKU-3"}]},
                        ],
                    },
                },
            ),
        ],
        ("button_0_sections", "A: SKU-1; B:", "section 2 has no products"),
        (lambda c: c[1]["parameters"][0]["action"].pop("sections"), 131008),
    ),
    "book_a_fitting": (
        {"button_0_flow_token": "tok-1", "button_0_flow_action_data": '{"name": "Ana"}'},
        [
            _button(
                0,
                "flow",
                {
                    "type": "action",
                    "action": {"flow_token": "tok-1", "flow_action_data": {"name": "Ana"}},
                },
            )
        ],
        ("button_0_flow_action_data", "[1, 2]", "must be a JSON object"),
        (lambda c: c[0]["parameters"][0]["action"].update(flow_action_data="x"), 100),
    ),
    "may_we_call": (
        {"body_param_1": "Lee"},
        [_body("Lee")],
        ("body_param_1", "", "body_param_1 is empty"),
        (lambda c: c[0]["parameters"].append({"type": "text", "text": "extra"}), 132000),
    ),
    "tracked_offer": (
        {"body_param_1": "Kai", "button_0_destination_url": "https://shop.example.com/kai"},
        [_body("Kai"), "tracked"],
        ("button_0_destination_url", "javascript:alert(1)", "must be an http:// or https:// URL"),
        (lambda c: c.pop(1), 131008),
    ),
}


@pytest.fixture
def public_url():
    with override_settings(PUBLIC_URL="http://127.0.0.1:8000"):
        yield


def _template(workspace, name):
    return make_template(workspace, BY_NAME[name])


def _builder(template, **kw):
    return PayloadBuilder(
        template_name=template.name,
        language=template.language,
        components=template.components,
        parameter_format=template.parameter_format,
        click_token=click_token,
        **kw,
    )


def _expected(name, recipient_id):
    components = copy.deepcopy(CASES[name][1])
    if name == "tracked_offer":
        components[1] = _button(0, "url", {"type": "text", "text": click_token(recipient_id, 0)})
    return components


def _csv(header, *rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header])
    return out.getvalue().encode()


def _campaign(owner_api, template):
    response = owner_api.post(
        "/api/v1/campaigns/",
        {"name": template.name, "template_id": str(template.id)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _upload(owner_api, campaign_id, content, name="rows.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return owner_api.post(
        f"/api/v1/campaigns/{campaign_id}/recipients/",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


def _sample_header(owner_api, template) -> list[str]:
    response = owner_api.get(f"/api/v1/templates/{template.pk}/sample/?format=csv")
    assert response.status_code == 200
    return next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("name", list(CASES))
def test_the_sample_has_the_shapes_columns(owner_api, workspace_a, name):
    template = _template(workspace_a, name)
    assert _sample_header(owner_api, template) == ["country_code", "phone_number", *CASES[name][0]]


@pytest.mark.parametrize("name", list(CASES))
def test_a_filled_sample_imports_and_builds_the_documented_payload(owner_api, workspace_a, name):
    template = _template(workspace_a, name)
    campaign_id = _campaign(owner_api, template)
    values = CASES[name][0]
    sample = owner_api.get(f"/api/v1/templates/{template.pk}/sample/?format=csv").content
    content = (
        sample.decode("utf-8-sig")
        + _csv(
            ["country_code", "phone_number", *values],
            {"country_code": "+44", "phone_number": "7911123456", **values},
        )
        .decode()
        .split("\r\n", 1)[1]
    )

    response = _upload(owner_api, campaign_id, content.encode())

    assert response.status_code in (200, 201), response.json()
    report = response.json()
    assert (report["imported"], report["rejected"]) == (1, 0), report["rejected_rows"]
    recipient = Recipient.objects.get(campaign_id=campaign_id)
    assert recipient.phone == "+447911123456"
    assert recipient.values == {k: v for k, v in values.items() if v}
    body = _builder(template).build(
        recipient.phone, recipient.values, "cb", recipient_id=recipient.pk
    )
    assert body["template"]["components"] == _expected(name, recipient.pk)
    # The sandbox, which checks a send as Meta does, takes it.
    validate_send(body, Catalogue())


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_value_is_rejected_with_its_line_and_column(owner_api, workspace_a, name):
    template = _template(workspace_a, name)
    campaign_id = _campaign(owner_api, template)
    values = CASES[name][0]
    column, bad, reason = CASES[name][2]
    header = ["country_code", "phone_number", *values]
    good = {"country_code": "+44", "phone_number": "7911123456", **values}
    content = _csv(header, good, {**good, "phone_number": "7911123457", column: bad})

    report = _upload(owner_api, campaign_id, content).json()

    assert (report["imported"], report["rejected"]) == (1, 1), report
    [row] = report["rejected_rows"]
    assert (row["line"], row["column"]) == (3, column)
    assert reason in row["reason"]


@pytest.mark.parametrize("name", list(CASES))
def test_the_sandbox_refuses_a_malformed_send_with_metas_code(workspace_a, name):
    template = _template(workspace_a, name)
    body = _builder(template).build("+447911123456", CASES[name][0], "cb", recipient_id=7)
    validate_send(copy.deepcopy(body), Catalogue())
    mutate, code = CASES[name][3]
    mutate(body["template"]["components"])
    with pytest.raises(GraphError) as refused:
        validate_send(body, Catalogue())
    assert refused.value.code == code


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(CASES))
def test_the_engine_sends_each_shape_and_the_sandbox_accepts_it(sandbox, workspace_a, name):
    from campaigns.engine.sender import run_sender
    from campaigns.models import Campaign

    from ..factories import CampaignFactory

    template = _template(workspace_a, name)
    campaign = CampaignFactory(template=template, status="running", rate_limit=1000)
    Recipient.objects.create(campaign=campaign, phone="+447911123456", values=CASES[name][0])
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=1, pending_count=1)

    result = run_sender(campaign_id=campaign.pk, worker="test", budget_seconds=20)

    recipient = Recipient.objects.get(campaign=campaign)
    assert result.reason == "drained"
    assert (recipient.status, recipient.error_code, recipient.error_details) == ("sent", None, "")
    assert sandbox.stats()["accepted_total"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_tracked_link_sent_by_the_engine_counts_its_click_and_redirects(
    sandbox, workspace_a, client
):
    from campaigns.engine.sender import run_sender
    from campaigns.models import Campaign

    from ..factories import CampaignFactory

    campaign = CampaignFactory(
        template=_template(workspace_a, "tracked_offer"), status="running", rate_limit=1000
    )
    recipient = Recipient.objects.create(
        campaign=campaign, phone="+447911123456", values=CASES["tracked_offer"][0]
    )
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=1, pending_count=1)
    run_sender(campaign_id=campaign.pk, worker="test", budget_seconds=20)

    # The URL button's parameter was this recipient's token: the link it opens is /r/<token>.
    token = click_token(recipient.pk, 0)
    for _ in range(2):
        response = client.get(f"/r/{token}")
        assert response.status_code == 302
        assert response["Location"] == "https://shop.example.com/kai"
    campaign.refresh_from_db()
    recipient.refresh_from_db()
    assert campaign.clicked_count == 1
    assert recipient.clicked_at is not None
    assert recipient.status == "sent"


def test_an_xlsx_with_typed_cells_fills_a_location_and_an_offer(owner_api, workspace_a):
    """Excel stores a latitude as a number and an offer's end as a date: both import."""
    from datetime import datetime

    from .import_helpers import xlsx_bytes

    location = _template(workspace_a, "pickup_point")
    campaign_id = _campaign(owner_api, location)
    header = ["country_code", "phone_number", "header_latitude", "header_longitude"]
    content = xlsx_bytes(
        [[*header, "body_param_1"], ["+44", "7911123456", 37.483307, -122.148981, "PK-1"]]
    )
    report = _upload(owner_api, campaign_id, content, "rows.xlsx").json()
    assert (report["imported"], report["rejected"]) == (1, 0), report["rejected_rows"]
    values = Recipient.objects.get(campaign_id=campaign_id).values
    assert (values["header_latitude"], values["header_longitude"]) == ("37.483307", "-122.148981")

    offer = _template(workspace_a, "flash_sale_offer")
    campaign_id = _campaign(owner_api, offer)
    columns = list(CASES["flash_sale_offer"][0])
    row = dict(CASES["flash_sale_offer"][0], offer_expiration_time=datetime(2030, 6, 30, 18, 0))  # noqa: DTZ001
    content = xlsx_bytes(
        [["country_code", "phone_number", *columns], ["+44", "7911123456", *row.values()]]
    )
    report = _upload(owner_api, campaign_id, content, "rows.xlsx").json()
    assert (report["imported"], report["rejected"]) == (1, 0), report["rejected_rows"]
    stored = Recipient.objects.get(campaign_id=campaign_id).values["offer_expiration_time"]
    assert stored == "2030-06-30 18:00:00"
    body = _builder(offer).build("+447911123456", {**row, "offer_expiration_time": stored})
    [sent] = [c for c in body["template"]["components"] if c["type"] == "limited_time_offer"]
    assert sent["parameters"][0]["limited_time_offer"]["expiration_time_ms"] == OFFER_MS
