"""The Marketing Messages API's own checks, for `POST /{phone_number_id}/marketing_messages`.

The body is a `/messages` body (checked first by `validation.validate_send`) plus two fields
(docs/whatsapp.md §11.2). What the sandbox refuses, with the codes Meta's and 360dialog's
pages give (docs/sandbox.md):

- a number whose business has not accepted the MM API terms (`POST /__sandbox/number
  {"marketing_messages_onboarded": false}`): 134100, before anything else is read — the
  meaning of 134100 is UNCONFIRMED (Meta's error page lists the code for the MM API; the
  onboarding reading is a BSP's);
- `product_policy` other than CLOUD_API_FALLBACK or STRICT, `message_activity_sharing` not a
  boolean: 100;
- a template that is not MARKETING: 131055 "Method not allowed" (360dialog's "Expected
  errors" page shows this answer for utility and authentication templates).
"""

from .catalogue import TemplateSpec
from .graph_errors import GraphError

PRODUCT_POLICIES = ("CLOUD_API_FALLBACK", "STRICT")


def check_onboarded(onboarded: bool) -> None:
    if not onboarded:
        raise GraphError(
            134100,
            "The business has not accepted the Marketing Messages API terms for this phone "
            "number; onboard it in WhatsApp Manager before sending through marketing_messages.",
        )


def validate_marketing(body: dict, spec: TemplateSpec) -> tuple[str | None, bool | None]:
    """(product_policy, message_activity_sharing) as sent (None: not given), or GraphError."""
    policy = body.get("product_policy")
    if policy is not None and policy not in PRODUCT_POLICIES:
        raise GraphError(100, f"Param product_policy must be one of {', '.join(PRODUCT_POLICIES)}.")
    sharing = body.get("message_activity_sharing")
    if sharing is not None and not isinstance(sharing, bool):
        raise GraphError(100, "Param message_activity_sharing must be a boolean.")
    if spec.category != "MARKETING":
        raise GraphError(
            131055,
            f"Template {spec.name} ({spec.language}) is a {spec.category} template: only "
            "marketing templates can be sent through the Marketing Messages API.",
        )
    return policy, sharing
