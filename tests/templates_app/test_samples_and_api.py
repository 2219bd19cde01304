"""Sample spreadsheets and /api/v1/templates/ with the owner / member / outsider cast."""

import csv
import io

import pytest
from openpyxl import load_workbook

from ..factories import MessageTemplateFactory, WhatsAppAccountFactory
from . import meta_shapes

pytestmark = pytest.mark.django_db

URL = "/api/v1/templates/"


def template_from(shape, workspace, **overrides):
    account = WhatsAppAccountFactory(workspace=workspace)
    fields = {
        "meta_id": shape["id"],
        "name": shape["name"],
        "language": shape["language"],
        "status": shape["status"],
        "category": shape["category"],
        "parameter_format": shape["parameter_format"],
        "components": shape["components"],
    }
    fields.update(overrides)
    return MessageTemplateFactory(account=account, **fields)


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.mark.parametrize(
    ("shape", "columns", "example"),
    [
        (
            meta_shapes.DELIVERY_WINDOW,
            [
                "country_code",
                "phone_number",
                "body_param_1",
                "body_param_2",
                "body_param_3",
                "body_param_4",
            ],
            ["+1", "4155550100", "Ana", "PK-88213", "tomorrow", "9:00–12:00"],
        ),
        (
            meta_shapes.CART_REMINDER,
            [
                "country_code",
                "phone_number",
                "header_param_1",
                "body_param_1",
                "body_param_2",
                "button_0_url_param",
                "button_1_payload",
            ],
            ["+1", "4155550100", "Sam", "3", "Friday", "c-7f3a9", ""],
        ),
        (
            meta_shapes.APPOINTMENT,
            [
                "country_code",
                "phone_number",
                "body_first_name",
                "body_service",
                "body_date",
                "body_time",
                "button_0_payload",
            ],
            ["+1", "4155550100", "Leo", "eye test", "12 Dec", "14:30", ""],
        ),
        (
            meta_shapes.WINTER_COUPON,
            [
                "country_code",
                "phone_number",
                "header_media_url",
                "body_param_1",
                "body_param_2",
                "button_0_copy_code",
                "button_1_payload",
            ],
            [
                "+1",
                "4155550100",
                "https://scontent.whatsapp.net/v/t61/x.jpg",
                "INV25",
                "25%",
                "INV25",
                "",
            ],
        ),
    ],
)
def test_csv_sample_has_exactly_the_templates_columns(
    owner_api, workspace_a, shape, columns, example
):
    template = template_from(shape, workspace_a, status="APPROVED")
    response = owner_api.get(f"{URL}{template.id}/sample/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="{shape["name"]}_sample.csv"'
    rows = read_csv(response.content)
    assert rows == [columns, example]


def test_xlsx_sample_has_text_phone_columns_bold_header_and_a_help_sheet(owner_api, workspace_a):
    template = template_from(meta_shapes.CART_REMINDER, workspace_a)
    response = owner_api.get(f"{URL}{template.id}/sample/?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="cart_reminder_v2_sample.xlsx"'
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb["Recipients"]
    header = [c.value for c in ws[1]]
    assert header == [
        "country_code",
        "phone_number",
        "header_param_1",
        "body_param_1",
        "body_param_2",
        "button_0_url_param",
        "button_1_payload",
    ]
    assert all(c.font.bold for c in ws[1])
    phone = ws.cell(row=2, column=2)
    assert phone.value == "4155550100"
    assert phone.data_type == "s"
    assert phone.number_format == "@"
    assert ws.cell(row=500, column=2).number_format == "@"  # rows the user will fill
    help_sheet = wb["Columns"]
    described = {row[0].value: row for row in help_sheet.iter_rows(min_row=2) if row[0].value}
    assert {"country_code", "phone_number", "header_param_1", "button_0_url_param"} <= set(
        described
    )
    texts = " ".join(str(c.value) for row in help_sheet.iter_rows() for c in row if c.value)
    assert "Your basket with {{1}} items is saved" in texts


def test_a_template_without_variables_still_gets_the_phone_columns(owner_api, workspace_a):
    template = template_from(
        {**meta_shapes.DELIVERY_WINDOW, "components": [{"type": "BODY", "text": "Hello!"}]},
        workspace_a,
    )
    rows = read_csv(owner_api.get(f"{URL}{template.id}/sample/?format=csv").content)
    assert rows[0] == ["country_code", "phone_number"]


def test_unknown_sample_format_is_a_400(owner_api, workspace_a):
    template = template_from(meta_shapes.DELIVERY_WINDOW, workspace_a)
    response = owner_api.get(f"{URL}{template.id}/sample/?format=pdf")
    assert response.status_code == 400
    assert "csv or xlsx" in str(response.json())


def test_detail_has_components_variables_columns_and_preview(member_api, workspace_a):
    template = template_from(meta_shapes.APPOINTMENT, workspace_a)
    body = member_api.get(f"{URL}{template.id}/").json()
    assert body["components"] == meta_shapes.APPOINTMENT["components"]
    assert body["columns"][:3] == ["country_code", "phone_number", "body_first_name"]
    assert body["variables"][0]["name"] == "first_name"
    assert body["preview"]["body"] == "Thanks Leo, your eye test is booked for 12 Dec at 14:30."
    assert body["sendable"] is True


def test_list_filters_by_status_category_account_and_name(owner_api, workspace_a):
    approved = template_from(meta_shapes.DELIVERY_WINDOW, workspace_a)
    paused = template_from(meta_shapes.WINTER_COUPON, workspace_a)
    marketing = template_from(meta_shapes.CART_REMINDER, workspace_a)

    def names(query):
        return sorted(t["name"] for t in owner_api.get(f"{URL}?{query}").json()["results"])

    assert names("status=PAUSED") == ["winter_coupon"]
    assert names("status=approved") == ["cart_reminder_v2", "delivery_window"]
    assert names("category=MARKETING") == ["cart_reminder_v2", "winter_coupon"]
    assert names(f"account={approved.account_id}") == ["delivery_window"]
    assert names("search=COUPON") == ["winter_coupon"]
    assert paused.id
    assert marketing.id


def test_outsider_gets_404_and_an_empty_list(outsider_api, workspace_a):
    template = template_from(meta_shapes.DELIVERY_WINDOW, workspace_a)
    assert outsider_api.get(f"{URL}{template.id}/").status_code == 404
    assert outsider_api.get(f"{URL}{template.id}/sample/?format=csv").status_code == 404
    assert outsider_api.get(URL).json()["results"] == []


def test_anonymous_gets_401(anon_api, workspace_a):
    template = template_from(meta_shapes.DELIVERY_WINDOW, workspace_a)
    assert anon_api.get(URL).status_code == 401
    assert anon_api.get(f"{URL}{template.id}/sample/?format=csv").status_code == 401
