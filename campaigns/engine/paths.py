"""Which Graph endpoint a campaign's sends take: /messages or the Marketing Messages API.

Meta routes by the template's latest category (docs/whatsapp.md §11.2): a MARKETING template
goes to `/{phone-number-id}/marketing_messages` when its account has the Marketing Messages
API turned on (`WhatsAppAccount.marketing_messages_api`), with the campaign's
`product_policy` and `message_activity_sharing`; utility and authentication templates, and
every template of an account without it, keep using `/messages`.

The sender decides once, when it starts (`Sender.__init__`), so a send costs nothing more
than merging a dict into its payload. A template whose category changes mid-campaign is
handled by Meta's answer (131055, docs/errors.md), not by a per-message check.
"""

from templates_app.models import MessageTemplate
from whatsapp.client import MARKETING_MESSAGES, MESSAGES
from whatsapp.models import WhatsAppAccount

from ..models import Campaign


def send_path(campaign: Campaign, number: WhatsAppAccount | None = None) -> str:
    """ "marketing_messages" for a MARKETING template on an account with the Marketing
    Messages API on, else "messages". `number`: the one sending (a campaign's numbers may
    differ); by default the campaign's own."""
    sender = number or campaign.account
    marketing = campaign.template.category == MessageTemplate.Category.MARKETING
    return MARKETING_MESSAGES if sender.marketing_messages_api and marketing else MESSAGES


def path_extras(campaign: Campaign, number: WhatsAppAccount | None = None) -> dict:
    """The fields the Marketing Messages API adds to the /messages body; {} for /messages.

    `product_policy`: with CLOUD_API_FALLBACK Meta delivers through the Cloud API when the
    MM API cannot; with STRICT it does not, and the message fails."""
    if send_path(campaign, number) != MARKETING_MESSAGES:
        return {}
    return {
        "product_policy": campaign.marketing_policy,
        "message_activity_sharing": campaign.message_activity_sharing,
    }
