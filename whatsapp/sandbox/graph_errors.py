"""The Graph API errors the sandbox can produce, in Meta's exact shapes.

Synchronous errors are `{"error": {"message": "(#code) title", "type": "OAuthException",
"code", "error_data": {"messaging_product", "details"}, "fbtrace_id"}}` (docs/whatsapp.md §1.5);
asynchronous ones (in `statuses[].errors`) are `{"code", "title", "message", "error_data":
{"details"}, "href"}` (§5.4). This table is the sandbox's own, playing Meta: it is not the
application's error classification (that lives in whatsapp/errors.py).
"""

import json

HREF = (
    "https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes"
)

# code -> (title, HTTP status of the synchronous response)
ERRORS: dict[int, tuple[str, int]] = {
    1: ("API Unknown", 500),
    100: ("Invalid parameter", 400),
    190: ("Invalid OAuth access token - Cannot parse access token", 401),
    130429: ("Rate limit hit", 429),
    131000: ("Something went wrong", 500),
    131008: ("Required parameter is missing", 400),
    131009: ("Parameter value is not valid", 400),
    131016: ("Service unavailable", 503),
    131026: ("Message undeliverable", 400),
    131047: ("Re-engagement message", 400),
    131048: ("Spam rate limit hit", 400),
    131049: (
        "This message was not delivered to maintain healthy ecosystem engagement.",
        400,
    ),
    # The Marketing Messages API's (docs/sandbox.md): 131055 for a non-marketing template
    # (360dialog's page), 134100 for a number not onboarded (meaning UNCONFIRMED), 134102 for
    # an outage (HTTP 500 on Meta's error page).
    131055: ("Method not allowed", 400),
    134100: ("Marketing Messages API onboarding required", 400),
    134102: ("Marketing Messages API temporarily unavailable", 500),
    131050: (
        "Unable to deliver the message. This recipient has chosen to stop receiving "
        "marketing messages on WhatsApp from your business",
        400,
    ),
    130472: ("User's number is part of an experiment", 400),
    132000: ("Number of parameters does not match the expected number of params", 400),
    132001: ("Template name does not exist in the translation", 400),
    132005: ("Translated text too long", 400),
    132008: ("Template parameter format mismatch", 400),
    132012: ("Parameter format does not match format in the created template", 400),
    132015: ("Template is Paused", 400),
    132016: ("Template is Disabled", 400),
    132018: ("There was an issue with the parameters in your template.", 400),
}

# Details for the failure modes of /__sandbox/ (a template that always fails, a burst).
DEFAULT_DETAILS = {
    131048: "Message failed to send because there are restrictions on how many messages can "
    "be sent from this phone number.",
    131049: "In order to maintain a healthy ecosystem engagement, the message failed to be "
    "delivered.",
    130472: "User's number is part of an experiment.",
}

# Details Meta gives for the asynchronous failures the sandbox produces.
ASYNC_DETAILS = {
    131026: "Message Undeliverable.",
    131049: "In order to maintain a healthy ecosystem engagement, the message failed to be "
    "delivered.",
}


class GraphError(Exception):
    """A synchronous Graph API error: raised by validation, turned into a response."""

    __slots__ = ("code", "details")

    def __init__(self, code: int, details: str):
        super().__init__(code, details)
        self.code = code
        self.details = details

    @property
    def title(self) -> str:
        return ERRORS[self.code][0]

    @property
    def http_status(self) -> int:
        return ERRORS[self.code][1]

    def body(self, fbtrace_id: str) -> bytes:
        return json.dumps(
            {
                "error": {
                    "message": f"(#{self.code}) {self.title}",
                    "type": "OAuthException",
                    "code": self.code,
                    "error_data": {"messaging_product": "whatsapp", "details": self.details},
                    "fbtrace_id": fbtrace_id,
                }
            },
            separators=(",", ":"),
        ).encode()


def async_error(code: int, details: str | None = None) -> dict:
    """One item of a `failed` status's `errors[]`, as Meta posts it."""
    title = ERRORS[code][0]
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or ASYNC_DETAILS.get(code, title)},
        "href": HREF,
    }
