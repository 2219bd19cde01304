"""A template's variables, its spreadsheet columns and its preview."""

import pytest

from whatsapp.preview import render_preview
from whatsapp.shapes import unsupported_features
from whatsapp.variables import (
    PHONE_COLUMNS,
    Variable,
    spreadsheet_columns,
    template_variables,
    variables_for,
)

from . import meta_shapes

# --- the four templates of docs/whatsapp.md §2.2, verbatim ------------------------------

# The four shapes of docs/whatsapp.md §2.2, as Meta's GET returns them.
DELIVERY_WINDOW = meta_shapes.DELIVERY_WINDOW["components"]
CART_REMINDER = meta_shapes.CART_REMINDER["components"]
APPOINTMENT_CONFIRMED = meta_shapes.APPOINTMENT["components"]
WINTER_COUPON = meta_shapes.WINTER_COUPON["components"]

NAMED_HEADER = [
    {
        "type": "HEADER",
        "format": "TEXT",
        "text": "Order {{order_id}}",
        "example": {"header_text_named_params": [{"param_name": "order_id", "example": "A-17"}]},
    },
    {
        "type": "BODY",
        "text": "Hello {{name}}, order {{order_id}} ships {{day}}. Bye {{name}}.",
        "example": {
            "body_text_named_params": [
                {"param_name": "day", "example": "Monday"},
                {"param_name": "name", "example": "Jo"},
                {"param_name": "order_id", "example": "A-17"},
            ]
        },
    },
]

DOCUMENT_HEADER = [
    {
        "type": "HEADER",
        "format": "DOCUMENT",
        "example": {"header_handle": ["https://files.example.com/inv/INV-5531.pdf"]},
    },
    {"type": "BODY", "text": "Your invoice {{1}} is ready.", "example": {"body_text": [["I-1"]]}},
]

VIDEO_HEADER = [
    {"type": "HEADER", "format": "VIDEO"},
    {"type": "BODY", "text": "Watch this."},
]

NO_VARIABLES = [
    {"type": "HEADER", "format": "TEXT", "text": "Hello"},
    {"type": "BODY", "text": "Our shop opens at 9."},
    {"type": "FOOTER", "text": "Shop Ltd"},
]

SEVERAL_BUTTONS = [
    {"type": "BODY", "text": "Hi"},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "URL", "text": "Home", "url": "https://example.com/"},
            {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550000000"},
            {
                "type": "URL",
                "text": "Track",
                "url": "https://example.com/t/{{1}}",
                "example": ["https://example.com/t/XYZ"],
            },
            {"type": "QUICK_REPLY", "text": "Stop"},
            {"type": "COPY_CODE", "example": ["SAVE10"]},
        ],
    },
]

REPEATED_PLACEHOLDER = [
    {
        "type": "BODY",
        "text": "{{1}}, hello {{1}}! Your code is {{2}}.",
        "example": {"body_text": [["Ana", "42"]]},
    }
]

OUT_OF_ORDER = [
    {
        "type": "BODY",
        "text": "Due {{2}} for {{1}}; ref {{3}}.",
        "example": {"body_text": [["Ana", "Friday", "R-9"]]},
    }
]


def text(column, component, *, position=None, name=None, example="", max_length=1024):
    return Variable(
        column=column,
        component=component,
        kind="text",
        position=position,
        name=name,
        example=example,
        max_length=max_length,
    )


def button(column, kind, index, *, example="", max_length, required=True):
    return Variable(
        column=column,
        component="button",
        kind=kind,
        button_index=index,
        example=example,
        max_length=max_length,
        required=required,
    )


CASES = {
    "positional body only": (
        DELIVERY_WINDOW,
        "POSITIONAL",
        [
            text("body_param_1", "body", position=1, example="Ana"),
            text("body_param_2", "body", position=2, example="PK-88213"),
            text("body_param_3", "body", position=3, example="tomorrow"),
            text("body_param_4", "body", position=4, example="9:00–12:00"),
        ],
    ),
    "header text, body, footer, url button, quick reply": (
        CART_REMINDER,
        "POSITIONAL",
        [
            text("header_param_1", "header", position=1, example="Sam", max_length=60),
            text("body_param_1", "body", position=1, example="3"),
            text("body_param_2", "body", position=2, example="Friday"),
            button("button_0_url_param", "url", 0, example="c-7f3a9", max_length=2000),
            button("button_1_payload", "payload", 1, max_length=128, required=False),
        ],
    ),
    "named body, quick reply and phone button": (
        APPOINTMENT_CONFIRMED,
        "NAMED",
        [
            text("body_first_name", "body", name="first_name", example="Leo"),
            text("body_service", "body", name="service", example="eye test"),
            text("body_date", "body", name="date", example="12 Dec"),
            text("body_time", "body", name="time", example="14:30"),
            button("button_0_payload", "payload", 0, max_length=128, required=False),
        ],
    ),
    "image header and copy code": (
        WINTER_COUPON,
        "POSITIONAL",
        [
            Variable(
                column="header_media_url",
                component="header",
                kind="image",
                example="https://scontent.whatsapp.net/v/t61/x.jpg",
            ),
            text("body_param_1", "body", position=1, example="INV25"),
            text("body_param_2", "body", position=2, example="25%"),
            button("button_0_copy_code", "copy_code", 0, example="INV25", max_length=15),
            button("button_1_payload", "payload", 1, max_length=128, required=False),
        ],
    ),
    "named header and body in order of appearance": (
        NAMED_HEADER,
        "NAMED",
        [
            text("header_order_id", "header", name="order_id", example="A-17", max_length=60),
            text("body_name", "body", name="name", example="Jo"),
            text("body_order_id", "body", name="order_id", example="A-17"),
            text("body_day", "body", name="day", example="Monday"),
        ],
    ),
    "document header": (
        DOCUMENT_HEADER,
        "POSITIONAL",
        [
            Variable(
                column="header_media_url",
                component="header",
                kind="document",
                example="https://files.example.com/inv/INV-5531.pdf",
            ),
            text("body_param_1", "body", position=1, example="I-1"),
        ],
    ),
    "video header without example": (
        VIDEO_HEADER,
        "POSITIONAL",
        [Variable(column="header_media_url", component="header", kind="video")],
    ),
    "no variables": (NO_VARIABLES, "POSITIONAL", []),
    "several buttons, only some dynamic": (
        SEVERAL_BUTTONS,
        "POSITIONAL",
        [
            button("button_2_url_param", "url", 2, example="XYZ", max_length=2000),
            button("button_3_payload", "payload", 3, max_length=128, required=False),
            button("button_4_copy_code", "copy_code", 4, example="SAVE10", max_length=15),
        ],
    ),
    "repeated placeholder counted once": (
        REPEATED_PLACEHOLDER,
        "POSITIONAL",
        [
            text("body_param_1", "body", position=1, example="Ana"),
            text("body_param_2", "body", position=2, example="42"),
        ],
    ),
    "placeholders out of order are numbered by n": (
        OUT_OF_ORDER,
        "POSITIONAL",
        [
            text("body_param_1", "body", position=1, example="Ana"),
            text("body_param_2", "body", position=2, example="Friday"),
            text("body_param_3", "body", position=3, example="R-9"),
        ],
    ),
}


@pytest.mark.parametrize(("components", "parameter_format", "expected"), CASES.values(), ids=CASES)
def test_template_variables(components, parameter_format, expected):
    assert template_variables(components=components, parameter_format=parameter_format) == expected


def test_spreadsheet_columns_start_with_the_phone_columns():
    variables = template_variables(components=CART_REMINDER, parameter_format="POSITIONAL")

    assert PHONE_COLUMNS == ("country_code", "phone_number")
    assert spreadsheet_columns(variables) == [
        "country_code",
        "phone_number",
        "header_param_1",
        "body_param_1",
        "body_param_2",
        "button_0_url_param",
        "button_1_payload",
    ]


def test_parameter_format_is_case_insensitive():
    named = template_variables(components=APPOINTMENT_CONFIRMED, parameter_format="named")
    assert named[0].column == "body_first_name"


def test_url_example_that_is_already_a_suffix_is_kept():
    components = [
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "URL", "url": "https://x.example/{{1}}", "example": ["abc"]},
            ],
        }
    ]
    (variable,) = template_variables(components=components, parameter_format="POSITIONAL")
    assert variable.example == "abc"


def test_otp_button_takes_the_code_as_a_url_parameter():
    components = [
        {"type": "BODY", "text": "{{1}} is your code."},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
    ]
    variables = template_variables(components=components, parameter_format="POSITIONAL")
    assert [(v.column, v.kind, v.max_length) for v in variables] == [
        ("body_param_1", "text", 1024),
        ("button_0_url_param", "url", 15),
    ]


def test_what_meta_adds_later_is_named_and_what_broadcast_knows_is_not():
    known = [
        {"type": "HEADER", "format": "LOCATION"},
        {"type": "BODY", "text": "Hi"},
        {"type": "LIMITED_TIME_OFFER", "limited_time_offer": {"has_expiration": False}},
        {"type": "CALL_PERMISSION_REQUEST"},
        {"type": "BUTTONS", "buttons": [{"type": "FLOW", "text": "Go"}, {"type": "MPM"}]},
    ]
    assert unsupported_features(known) == []
    unknown = [
        {"type": "HEADER", "format": "HOLOGRAM"},
        {"type": "ORDER_DETAILS"},
        {"type": "BUTTONS", "buttons": [{"type": "FLOW"}, {"type": "TELEPORT"}]},
        {
            "type": "CAROUSEL",
            "cards": [
                {"components": [{"type": "HEADER", "format": "DOCUMENT"}]},
                {"components": [{"type": "BUTTONS", "buttons": [{"type": "COPY_CODE"}]}]},
            ],
        },
        {"type": "CAROUSEL", "cards": [{"components": []}]},
    ]
    assert unsupported_features(unknown) == [
        "HOLOGRAM header",
        "ORDER_DETAILS component",
        "TELEPORT button",
        "carousel card DOCUMENT header",
        "carousel card COPY_CODE button",
        "carousel of 1 cards (Meta allows 2 to 10)",
    ]
    assert unsupported_features(CART_REMINDER) == []


def test_variables_for_reads_a_template_instance():
    class FakeTemplate:
        components = WINTER_COUPON
        parameter_format = "POSITIONAL"

    assert variables_for(FakeTemplate()) == template_variables(
        components=WINTER_COUPON, parameter_format="POSITIONAL"
    )


# --- preview -----------------------------------------------------------------------------------


def test_preview_fills_header_body_and_lists_buttons():
    preview = render_preview(
        components=CART_REMINDER,
        parameter_format="POSITIONAL",
        values={"header_param_1": "Priya", "body_param_1": "2", "body_param_2": "Sunday"},
    )
    assert preview == {
        "header": "Still thinking, Priya?",
        "media": None,
        "location": None,
        "product": None,
        "body": "Your basket with 2 items is saved. Finish checkout before Sunday.",
        "footer": "Reply STOP to opt out",
        "buttons": ["Open basket", "Stop promotions"],
        "offer": None,
        "cards": [],
        "call_permission": False,
    }


def test_preview_of_named_template_fills_every_occurrence():
    preview = render_preview(
        components=NAMED_HEADER,
        parameter_format="NAMED",
        values={"header_order_id": "B-2", "body_name": "Kim", "body_order_id": "B-2"},
    )
    assert preview["header"] == "Order B-2"
    assert preview["body"] == "Hello Kim, order B-2 ships {{day}}. Bye Kim."
    assert preview["footer"] is None


def test_preview_shows_media_as_a_label_and_missing_values_as_placeholders():
    preview = render_preview(
        components=WINTER_COUPON, parameter_format="POSITIONAL", values={"body_param_2": "10%"}
    )
    assert preview["header"] == "[image]"
    assert preview["body"] == "Usa el código {{1}} y obtén 10% de descuento."
    assert preview["buttons"] == ["Copy offer code", "No me interesa"]


def test_preview_of_repeated_placeholder():
    preview = render_preview(
        components=REPEATED_PLACEHOLDER,
        parameter_format="POSITIONAL",
        values={"body_param_1": "Bo"},
    )
    assert preview["body"] == "Bo, hello Bo! Your code is {{2}}."
    assert preview["header"] is None
