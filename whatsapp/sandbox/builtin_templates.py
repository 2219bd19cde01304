"""The sandbox's built-in templates, as Meta's `GET message_templates` returns them.

Data only (docs/whatsapp.md §2.2 shapes): six-plus APPROVED templates of different shapes, an
authentication template, and PENDING, PAUSED and REJECTED ones. Ids are stable 16-digit
strings. catalogue.py compiles them into send-validation specs.
"""

from .builtin_shapes import SHAPES


def _body(text: str, examples: list[str] | dict[str, str]) -> dict:
    if isinstance(examples, dict):
        example = {
            "body_text_named_params": [{"param_name": k, "example": v} for k, v in examples.items()]
        }
    else:
        example = {"body_text": [examples]}
    return {"type": "BODY", "text": text, **({"example": example} if examples else {})}


# Meta-shaped template objects (docs/whatsapp.md §2.2). Ids are stable, 16-digit strings.
TEMPLATES: list[dict] = [
    {  # positional, body only
        "id": "1402938475610021",
        "name": "delivery_window",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            _body(
                "Hi {{1}}, your parcel {{2}} arrives {{3}} between {{4}}.",
                ["Ana", "PK-88213", "tomorrow", "9:00-12:00"],
            )
        ],
    },
    {  # the same name in another language: templates are keyed on (name, language)
        "id": "1402938475610022",
        "name": "delivery_window",
        "language": "pt_BR",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            _body(
                "Olá {{1}}, sua encomenda {{2}} chega {{3}} entre {{4}}.",
                ["Ana", "PK-88213", "amanhã", "9:00-12:00"],
            )
        ],
    },
    {  # text header + URL button with a dynamic suffix
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
            _body(
                "Your basket with {{1}} items is saved. Finish checkout before {{2}}.",
                ["3", "Friday"],
            ),
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
    },
    {  # named parameters
        "id": "1711050032998812",
        "name": "appointment_confirmed",
        "language": "en_GB",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [
            _body(
                "Thanks {{first_name}}, your {{service}} is booked for {{date}} at {{time}}.",
                {"first_name": "Leo", "service": "eye test", "date": "12 Dec", "time": "14:30"},
            ),
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Reschedule"},
                    {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+442079460000"},
                ],
            },
        ],
    },
    {  # image header + copy-code button
        "id": "1288410093377411",
        "name": "spring_coupon",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "HEADER",
                "format": "IMAGE",
                "example": {"header_handle": ["https://scontent.whatsapp.net/v/t61.spring"]},
            },
            _body("Use code {{1}} to get {{2}} off your next order.", ["SPRING25", "25%"]),
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "COPY_CODE", "text": "Copy offer code", "example": "SPRING25"},
                    {"type": "QUICK_REPLY", "text": "Not interested"},
                ],
            },
        ],
    },
    {  # document header
        "id": "1820374650192837",
        "name": "invoice_ready",
        "language": "pt_BR",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "HEADER",
                "format": "DOCUMENT",
                "example": {"header_handle": ["https://scontent.whatsapp.net/v/t61.invoice"]},
            },
            _body(
                "Olá {{1}}, a fatura {{2}} no valor de {{3}} está disponível.",
                ["Marcos", "INV-5531", "R$ 412,90"],
            ),
        ],
    },
    {  # no variables at all
        "id": "1937465019283746",
        "name": "store_opening_hours",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Our stores are open 9:00-20:00, Monday to Saturday.",
            },
            {"type": "FOOTER", "text": "Broadcast Demo Shop"},
            {
                "type": "BUTTONS",
                "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}],
            },
        ],
    },
    {  # named, image header, every button kind (docs/whatsapp.md §1.2)
        "id": "2046583920174650",
        "name": "autumn_sale_2026",
        "language": "en_GB",
        "status": "APPROVED",
        "category": "MARKETING",
        "sub_category": "CUSTOM",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "HEADER",
                "format": "IMAGE",
                "example": {"header_handle": ["https://scontent.whatsapp.net/v/t61.autumn"]},
            },
            _body(
                "Hi {{first_name}}, take {{discount}} off everything until {{end_date}}.",
                {"first_name": "Priya", "discount": "20%", "end_date": "30 November"},
            ),
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Shop now",
                        "url": "https://shop.example.com/{{1}}",
                        "example": ["https://shop.example.com/p/AUT20?u=88213"],
                    },
                    {"type": "QUICK_REPLY", "text": "Interested"},
                    {"type": "QUICK_REPLY", "text": "Stop promotions"},
                    {"type": "COPY_CODE", "text": "Copy offer code", "example": "AUT20"},
                ],
            },
        ],
    },
    {  # named text header + URL button
        "id": "2158392017465930",
        "name": "order_shipped",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Order {{order_id}} is on its way",
                "example": {
                    "header_text_named_params": [{"param_name": "order_id", "example": "A-1042"}]
                },
            },
            _body(
                "Hi {{first_name}}, {{carrier}} will deliver your parcel.",
                {"first_name": "Noah", "carrier": "DHL"},
            ),
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Track parcel",
                        "url": "https://track.example.com/t/{{1}}",
                        "example": ["https://track.example.com/t/ZX81"],
                    },
                    {"type": "URL", "text": "Help centre", "url": "https://shop.example.com/help"},
                ],
            },
        ],
    },
    {  # video header
        "id": "2269301847561029",
        "name": "product_launch_video",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "HEADER",
                "format": "VIDEO",
                "example": {"header_handle": ["https://scontent.whatsapp.net/v/t61.launch"]},
            },
            _body("{{1}}, meet the new Broadcast One. Watch the launch!", ["Jo"]),
        ],
    },
    {  # authentication: the code goes in the body and in the OTP button's URL parameter
        "id": "2591038475610293",
        "name": "login_code",
        "language": "en_US",
        "status": "APPROVED",
        "category": "AUTHENTICATION",
        "message_send_ttl_seconds": 600,
        "parameter_format": "POSITIONAL",
        "components": [
            _body(
                "*{{1}}* is your verification code. For your security, do not share this code.",
                ["123456"],
            ),
            {"type": "FOOTER", "text": "This code expires in 10 minutes."},
            {
                "type": "BUTTONS",
                "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}],
            },
        ],
    },
    {  # PENDING: listed, not sendable
        "id": "2370192837465011",
        "name": "black_friday_teaser",
        "language": "en_US",
        "status": "PENDING",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [_body("{{1}}, something big is coming on Friday.", ["Kim"])],
    },
    {  # PAUSED: sending it gives 132015
        "id": "1288410093377410",
        "name": "winter_coupon",
        "language": "es_MX",
        "status": "PAUSED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "HEADER",
                "format": "IMAGE",
                "example": {"header_handle": ["https://scontent.whatsapp.net/v/t61.winter"]},
            },
            _body("Usa el código {{1}} y obtén {{2}} de descuento.", ["INV25", "25%"]),
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "COPY_CODE", "text": "Copiar código", "example": "INV25"},
                    {"type": "QUICK_REPLY", "text": "No me interesa"},
                ],
            },
        ],
    },
    {  # REJECTED: listed, not sendable
        "id": "2481029384756102",
        "name": "crypto_giveaway",
        "language": "en_US",
        "status": "REJECTED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [_body("Claim your free coins now, {{1}}!", ["Max"])],
    },
    *SHAPES,
]
