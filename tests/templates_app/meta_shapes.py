"""Templates in the shape Meta's GET /{waba}/message_templates returns (docs/whatsapp.md §2.2)."""

DELIVERY_WINDOW = {
    "id": "1402938475610021",
    "name": "delivery_window",
    "language": "en_US",
    "status": "APPROVED",
    "category": "UTILITY",
    "parameter_format": "POSITIONAL",
    "components": [
        {
            "type": "BODY",
            "text": "Hi {{1}}, your parcel {{2}} arrives {{3}} between {{4}}.",
            "example": {"body_text": [["Ana", "PK-88213", "tomorrow", "9:00–12:00"]]},
        },
    ],
}

CART_REMINDER = {
    "id": "1593027718840066",
    "name": "cart_reminder_v2",
    "language": "en",
    "status": "APPROVED",
    "category": "MARKETING",
    "sub_category": "CUSTOM",
    "parameter_format": "POSITIONAL",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Still thinking, {{1}}?",
            "example": {"header_text": ["Sam"]},
        },
        {
            "type": "BODY",
            "text": "Your basket with {{1}} items is saved. Finish checkout before {{2}}.",
            "example": {"body_text": [["3", "Friday"]]},
        },
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Open basket",
                    "url": "https://shop.example.com/cart/{{1}}",
                    "example": ["https://shop.example.com/cart/c-7f3a9"],
                },
                {"type": "QUICK_REPLY", "text": "Stop promotions"},
            ],
        },
    ],
}

APPOINTMENT = {
    "id": "1711050032998812",
    "name": "appointment_confirmed",
    "language": "en_GB",
    "status": "APPROVED",
    "category": "UTILITY",
    "parameter_format": "NAMED",
    "components": [
        {
            "type": "BODY",
            "text": "Thanks {{first_name}}, your {{service}} is booked for {{date}} at {{time}}.",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Leo"},
                    {"param_name": "service", "example": "eye test"},
                    {"param_name": "date", "example": "12 Dec"},
                    {"param_name": "time", "example": "14:30"},
                ]
            },
        },
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Reschedule"},
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+442079460000"},
            ],
        },
    ],
}

WINTER_COUPON = {
    "id": "1288410093377410",
    "name": "winter_coupon",
    "language": "es_MX",
    "status": "PAUSED",
    "category": "MARKETING",
    "parameter_format": "POSITIONAL",
    "quality_score": {"score": "RED"},
    "components": [
        {
            "type": "HEADER",
            "format": "IMAGE",
            "example": {"header_handle": ["https://scontent.whatsapp.net/v/t61/x.jpg"]},
        },
        {
            "type": "BODY",
            "text": "Usa el código {{1}} y obtén {{2}} de descuento.",
            "example": {"body_text": [["INV25", "25%"]]},
        },
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "COPY_CODE", "example": "INV25"},
                {"type": "QUICK_REPLY", "text": "No me interesa"},
            ],
        },
    ],
}

ALL = [DELIVERY_WINDOW, CART_REMINDER, APPOINTMENT, WINTER_COUPON]
