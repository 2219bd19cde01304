"""The sandbox's templates of the richer shapes (docs/whatsapp.md §11.1), in the shape
`GET message_templates` returns them: media and product carousels, a limited-time offer,
location and product headers, catalog, multi-product and flow buttons, a call-permission
request, and a tracked link (docs/clicks.md). Data only; builtin_templates.py lists them.
"""

_IMAGE = "https://scontent.whatsapp.net/v/t61.card"


def _card(body: str, example: str, url_example: str) -> dict:
    return {
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": [_IMAGE]}},
            {"type": "BODY", "text": body, "example": {"body_text": [[example]]}},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Send more like this"},
                    {
                        "type": "URL",
                        "text": "Buy now",
                        "url": "https://shop.example.com/p/{{1}}",
                        "example": [f"https://shop.example.com/p/{url_example}"],
                    },
                ],
            },
        ]
    }


def _product_card() -> dict:
    return {
        "components": [
            {"type": "HEADER", "format": "PRODUCT"},
            {"type": "BUTTONS", "buttons": [{"type": "SPM", "text": "View"}]},
        ]
    }


SHAPES: list[dict] = [
    {  # media-card carousel: a top-level body, then two image cards
        "id": "3102938475610001",
        "name": "summer_carousel",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Summer is here, {{1}}! Pick your favourite.",
                "example": {"body_text": [["Ana"]]},
            },
            {
                "type": "CAROUSEL",
                "cards": [
                    _card("Rare lemons for {{1}}", "$10", "lemon"),
                    _card("Fresh mangoes for {{1}}", "$12", "mango"),
                ],
            },
        ],
    },
    {  # product-card carousel
        "id": "3102938475610002",
        "name": "bestsellers_carousel",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "BODY", "text": "Our bestsellers this week."},
            {"type": "CAROUSEL", "cards": [_product_card(), _product_card()]},
        ],
    },
    {  # limited-time offer with an expiry, a copy code and a URL button
        "id": "3102938475610003",
        "name": "flash_sale_offer",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": [_IMAGE]}},
            {
                "type": "LIMITED_TIME_OFFER",
                "limited_time_offer": {"text": "Expiring offer!", "has_expiration": True},
            },
            {
                "type": "BODY",
                "text": "Good news, {{1}}! Use code {{2}} to get 25% off.",
                "example": {"body_text": [["Pablo", "FLASH25"]]},
            },
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "COPY_CODE", "example": "FLASH25"},
                    {
                        "type": "URL",
                        "text": "Shop now",
                        "url": "https://shop.example.com/offers?code={{1}}",
                        "example": ["https://shop.example.com/offers?code=FLASH25"],
                    },
                ],
            },
        ],
    },
    {  # location header
        "id": "3102938475610004",
        "name": "pickup_point",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "LOCATION"},
            {
                "type": "BODY",
                "text": "Your parcel {{1}} is waiting at this pickup point.",
                "example": {"body_text": [["PK-88213"]]},
            },
        ],
    },
    {  # product header with a single-product button
        "id": "3102938475610005",
        "name": "product_spotlight",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "PRODUCT"},
            {"type": "BODY", "text": "Back in stock, just for you."},
            {"type": "BUTTONS", "buttons": [{"type": "SPM", "text": "View"}]},
        ],
    },
    {  # catalog button
        "id": "3102938475610006",
        "name": "catalog_browse",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{1}}, our new collection is in.",
                "example": {"body_text": [["Sam"]]},
            },
            {"type": "BUTTONS", "buttons": [{"type": "CATALOG", "text": "View catalog"}]},
        ],
    },
    {  # multi-product button
        "id": "3102938475610007",
        "name": "picked_for_you",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Picked for you"},
            {
                "type": "BODY",
                "text": "{{1}}, these are back in your size.",
                "example": {"body_text": [["Jo"]]},
            },
            {"type": "BUTTONS", "buttons": [{"type": "MPM", "text": "View items"}]},
        ],
    },
    {  # flow button
        "id": "3102938475610008",
        "name": "book_a_fitting",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "BODY", "text": "Book your fitting in two taps."},
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "FLOW",
                        "text": "Book now",
                        "flow_id": "1234567890123456",
                        "navigate_screen": "WELCOME",
                        "flow_action": "navigate",
                    }
                ],
            },
        ],
    },
    {  # call-permission request
        "id": "3102938475610009",
        "name": "may_we_call",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "{{1}}, may our stylist call you about your order?",
                "example": {"body_text": [["Lee"]]},
            },
            {"type": "CALL_PERMISSION_REQUEST"},
        ],
    },
    {  # a tracked link: the URL is this installation's /r/{{1}} (docs/clicks.md)
        "id": "3102938475610010",
        "name": "tracked_offer",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "{{1}}, your member price is live.",
                "example": {"body_text": [["Kai"]]},
            },
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "See the offer",
                        "url": "http://127.0.0.1:8000/r/{{1}}",
                        "example": ["http://127.0.0.1:8000/r/abc"],
                    }
                ],
            },
        ],
    },
]
