"""The send body for every template shape, and every value the builder refuses."""

import pytest

from whatsapp.payload import (
    PayloadBuilder,
    PayloadError,
    validate_values,
)
from whatsapp.variables import template_variables

from ..templates_app.test_variables import (
    APPOINTMENT_CONFIRMED,
    CART_REMINDER,
    DELIVERY_WINDOW,
    DOCUMENT_HEADER,
    NAMED_HEADER,
    NO_VARIABLES,
    OUT_OF_ORDER,
    SEVERAL_BUTTONS,
    VIDEO_HEADER,
    WINTER_COUPON,
)

TO = "+447700900123"


def body(*texts):
    return {"type": "body", "parameters": [{"type": "text", "text": t} for t in texts]}


def named_body(**texts):
    return {
        "type": "body",
        "parameters": [
            {"type": "text", "parameter_name": name, "text": t} for name, t in texts.items()
        ],
    }


def header_media(kind, **media):
    return {"type": "header", "parameters": [{"type": kind, kind: media}]}


def url_button(index, suffix):
    return {
        "type": "button",
        "sub_type": "url",
        "index": str(index),
        "parameters": [{"type": "text", "text": suffix}],
    }


def copy_code_button(index, code):
    return {
        "type": "button",
        "sub_type": "copy_code",
        "index": str(index),
        "parameters": [{"type": "coupon_code", "coupon_code": code}],
    }


def quick_reply_button(index, payload):
    return {
        "type": "button",
        "sub_type": "quick_reply",
        "index": str(index),
        "parameters": [{"type": "payload", "payload": payload}],
    }


SHAPES = {
    "positional body only": (
        DELIVERY_WINDOW,
        "POSITIONAL",
        {
            "body_param_1": "Ana",
            "body_param_2": "PK-1",
            "body_param_3": "today",
            "body_param_4": "9-12",
        },
        [body("Ana", "PK-1", "today", "9-12")],
    ),
    "header text, url button, quick reply without a payload": (
        CART_REMINDER,
        "POSITIONAL",
        {
            "header_param_1": "Sam",
            "body_param_1": "3",
            "body_param_2": "Friday",
            "button_0_url_param": "c-7f3a9?u=1",
            "button_1_payload": "",
        },
        [
            {"type": "header", "parameters": [{"type": "text", "text": "Sam"}]},
            body("3", "Friday"),
            url_button(0, "c-7f3a9?u=1"),
        ],
    ),
    "named body with a quick-reply payload": (
        APPOINTMENT_CONFIRMED,
        "NAMED",
        {
            "body_first_name": "Leo",
            "body_service": "eye test",
            "body_date": "12 Dec",
            "body_time": "14:30",
            "button_0_payload": "RESCHEDULE:88213",
        },
        [
            named_body(first_name="Leo", service="eye test", date="12 Dec", time="14:30"),
            quick_reply_button(0, "RESCHEDULE:88213"),
        ],
    ),
    "image header and copy code": (
        WINTER_COUPON,
        "POSITIONAL",
        {
            "header_media_url": "https://cdn.example.com/winter.jpg",
            "body_param_1": "INV25",
            "body_param_2": "25%",
            "button_0_copy_code": "INV25",
        },
        [
            header_media("image", link="https://cdn.example.com/winter.jpg"),
            body("INV25", "25%"),
            copy_code_button(0, "INV25"),
        ],
    ),
    "named header": (
        NAMED_HEADER,
        "NAMED",
        {"header_order_id": "A-17", "body_name": "Jo", "body_order_id": "A-17", "body_day": "Mon"},
        [
            {
                "type": "header",
                "parameters": [{"type": "text", "parameter_name": "order_id", "text": "A-17"}],
            },
            named_body(name="Jo", order_id="A-17", day="Mon"),
        ],
    ),
    "document header gets a filename from the URL path": (
        DOCUMENT_HEADER,
        "POSITIONAL",
        {
            "header_media_url": "https://files.example.com/inv/INV%205531.pdf?sig=abc",
            "body_param_1": "I-1",
        },
        [
            header_media(
                "document",
                link="https://files.example.com/inv/INV%205531.pdf?sig=abc",
                filename="INV 5531.pdf",
            ),
            body("I-1"),
        ],
    ),
    "document without a path sends no filename": (
        DOCUMENT_HEADER,
        "POSITIONAL",
        {"header_media_url": "https://files.example.com", "body_param_1": "I-1"},
        [header_media("document", link="https://files.example.com"), body("I-1")],
    ),
    "video header": (
        VIDEO_HEADER,
        "POSITIONAL",
        {"header_media_url": "http://cdn.example.com/v.mp4"},
        [header_media("video", link="http://cdn.example.com/v.mp4")],
    ),
    "several buttons, only some dynamic": (
        SEVERAL_BUTTONS,
        "POSITIONAL",
        {"button_2_url_param": "XYZ", "button_3_payload": "STOP", "button_4_copy_code": "SAVE10"},
        [url_button(2, "XYZ"), quick_reply_button(3, "STOP"), copy_code_button(4, "SAVE10")],
    ),
    "positional values go in {{n}} order": (
        OUT_OF_ORDER,
        "POSITIONAL",
        {"body_param_2": "Friday", "body_param_3": "R-9", "body_param_1": "Ana"},
        [body("Ana", "Friday", "R-9")],
    ),
}


@pytest.mark.parametrize(
    ("components", "parameter_format", "values", "expected_components"),
    SHAPES.values(),
    ids=SHAPES,
)
def test_builder_builds_every_template_shape(
    components, parameter_format, values, expected_components
):
    builder = PayloadBuilder(
        template_name="tpl",
        language="en_GB",
        components=components,
        parameter_format=parameter_format,
    )
    message = builder.build(TO, values, "rcpt=88213")
    assert message == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "template",
        "template": {
            "name": "tpl",
            "language": {"code": "en_GB"},
            "components": expected_components,
        },
        "biz_opaque_callback_data": "rcpt=88213",
    }


def test_template_without_variables_has_no_components_and_no_callback_when_not_given():
    builder = PayloadBuilder(
        template_name="hello", language="en", components=NO_VARIABLES, parameter_format="POSITIONAL"
    )
    message = builder.build(TO, {"unrelated": "x"})
    assert message == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "template",
        "template": {"name": "hello", "language": {"code": "en"}},
    }


def test_builder_is_reusable_and_messages_do_not_share_state():
    builder = PayloadBuilder(
        template_name="t", language="en", components=DELIVERY_WINDOW, parameter_format="POSITIONAL"
    )
    values = {f"body_param_{i}": str(i) for i in range(1, 5)}
    first = builder.build("+1", values)
    first["template"]["name"] = "mutated"
    second = builder.build("+2", {**values, "body_param_1": "x"})
    assert second["template"]["name"] == "t"
    assert second["template"]["components"][0]["parameters"][0]["text"] == "x"
    assert first["to"] == "+1"


# --- refusals ----------------------------------------------------------------------------------

CART_VALUES = {
    "header_param_1": "Sam",
    "body_param_1": "3",
    "body_param_2": "Friday",
    "button_0_url_param": "c-1",
}
COUPON_VALUES = {
    "header_media_url": "https://cdn.example.com/a.jpg",
    "body_param_1": "A",
    "body_param_2": "B",
    "button_0_copy_code": "CODE",
}

REFUSALS = {
    "missing body value": (
        CART_REMINDER,
        {**CART_VALUES, "body_param_2": None},
        "body_param_2",
        "body_param_2 is missing",
    ),
    "empty body value": (
        CART_REMINDER,
        {**CART_VALUES, "body_param_1": "   "},
        "body_param_1",
        "body_param_1 is empty",
    ),
    "body value over 1024 characters": (
        CART_REMINDER,
        {**CART_VALUES, "body_param_1": "x" * 1025},
        "body_param_1",
        "body_param_1 is 1025 characters long; Meta allows at most 1024",
    ),
    "body value with a line break": (
        CART_REMINDER,
        {**CART_VALUES, "body_param_2": "Fri\nday"},
        "body_param_2",
        "body_param_2 contains a line break, a tab or more than 4 spaces in a row",
    ),
    "body value with five spaces in a row": (
        CART_REMINDER,
        {**CART_VALUES, "body_param_2": "Fri     day"},
        "body_param_2",
        "body_param_2 contains a line break, a tab or more than 4 spaces in a row",
    ),
    "header text over 60 characters": (
        CART_REMINDER,
        {**CART_VALUES, "header_param_1": "y" * 61},
        "header_param_1",
        "header_param_1 is 61 characters long; Meta allows at most 60",
    ),
    "url suffix with whitespace": (
        CART_REMINDER,
        {**CART_VALUES, "button_0_url_param": "c 1"},
        "button_0_url_param",
        "button_0_url_param contains whitespace, which a URL cannot carry",
    ),
    "url suffix over 2000 characters": (
        CART_REMINDER,
        {**CART_VALUES, "button_0_url_param": "u" * 2001},
        "button_0_url_param",
        "button_0_url_param is 2001 characters long; Meta allows at most 2000",
    ),
    "missing url suffix": (
        CART_REMINDER,
        {k: v for k, v in CART_VALUES.items() if k != "button_0_url_param"},
        "button_0_url_param",
        "button_0_url_param is missing",
    ),
    "media url that is not http(s)": (
        WINTER_COUPON,
        {**COUPON_VALUES, "header_media_url": "ftp://cdn.example.com/a.jpg"},
        "header_media_url",
        "header_media_url must be an http:// or https:// URL",
    ),
    "media url without a host": (
        WINTER_COUPON,
        {**COUPON_VALUES, "header_media_url": "https://"},
        "header_media_url",
        "header_media_url must be an http:// or https:// URL",
    ),
    "copy code over 15 characters": (
        WINTER_COUPON,
        {**COUPON_VALUES, "button_0_copy_code": "C" * 16},
        "button_0_copy_code",
        "button_0_copy_code is 16 characters long; Meta allows at most 15",
    ),
    "quick-reply payload over 128 characters": (
        WINTER_COUPON,
        {**COUPON_VALUES, "button_1_payload": "p" * 129},
        "button_1_payload",
        "button_1_payload is 129 characters long; Meta allows at most 128",
    ),
    "missing named value": (
        APPOINTMENT_CONFIRMED,
        {"body_first_name": "Leo", "body_service": "x", "body_date": "d"},
        "body_time",
        "body_time is missing",
    ),
}


@pytest.mark.parametrize(
    ("components", "values", "column", "message"), REFUSALS.values(), ids=REFUSALS
)
def test_builder_refuses_values_that_do_not_fit(components, values, column, message):
    parameter_format = "NAMED" if components is APPOINTMENT_CONFIRMED else "POSITIONAL"
    builder = PayloadBuilder(
        template_name="t", language="en", components=components, parameter_format=parameter_format
    )
    values = {k: v for k, v in values.items() if v is not None}

    with pytest.raises(PayloadError) as caught:
        builder.build(TO, values)

    assert caught.value.column == column
    assert str(caught.value) == message
    assert builder.validate(values) == [(column, message)]


def test_callback_data_over_512_characters_is_refused():
    builder = PayloadBuilder(
        template_name="t", language="en", components=NO_VARIABLES, parameter_format="POSITIONAL"
    )
    assert builder.build(TO, {}, "c" * 512)["biz_opaque_callback_data"] == "c" * 512
    with pytest.raises(PayloadError, match="at most 512") as caught:
        builder.build(TO, {}, "c" * 513)
    assert caught.value.column == "biz_opaque_callback_data"


def test_empty_recipient_is_refused():
    builder = PayloadBuilder(
        template_name="t", language="en", components=NO_VARIABLES, parameter_format="POSITIONAL"
    )
    with pytest.raises(PayloadError, match="phone_number is missing"):
        builder.build("", {})


def test_validate_values_reports_every_problem_of_a_row():
    variables = template_variables(components=CART_REMINDER, parameter_format="POSITIONAL")

    problems = validate_values(
        variables, {"header_param_1": "z" * 61, "body_param_1": "", "button_0_url_param": "a b"}
    )

    assert [column for column, _ in problems] == [
        "header_param_1",
        "body_param_1",
        "body_param_2",
        "button_0_url_param",
    ]
    assert validate_values(variables, CART_VALUES) == []


def test_blank_optional_payload_is_accepted_and_not_sent():
    builder = PayloadBuilder(
        template_name="t", language="en", components=WINTER_COUPON, parameter_format="POSITIONAL"
    )
    message = builder.build(TO, {**COUPON_VALUES, "button_1_payload": "  "})
    assert [c["type"] for c in message["template"]["components"]] == ["header", "body", "button"]
