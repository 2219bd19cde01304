"""The numbers a campaign sends from: its own (the template's account) and, optionally, a pool
of the workspace's other numbers on the same WhatsApp Business Account.

Each number has its own throughput and quality; the WABA's messaging limit is shared
(docs/whatsapp.md §3). The engine runs `ENGINE_SENDERS_PER_CAMPAIGN` senders per number, all
claiming from the campaign's one queue of recipients, so a faster number simply takes more
of them (docs/architecture.md §4.7). Each recipient records the number that sent it
(`Recipient.number`): its status webhooks and replies arrive on that number.
"""

from django.db import models
from django.db.models import Q

from whatsapp.models import WhatsAppAccount

# A campaign's numbers, its own included; and Meta's highest throughput of one number, which
# bounds the campaign's rate: at most MAX_NUMBER_RATE a second per number it sends from.
MAX_NUMBERS = 10
MAX_NUMBER_RATE = 1000


class CampaignNumber(models.Model):
    """One more number a campaign sends from, besides its own `account`."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="pool"
    )
    # A number a campaign may send from cannot be deleted under it (like the campaign's own).
    account = models.ForeignKey(WhatsAppAccount, on_delete=models.PROTECT, related_name="pooled_in")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "account"], name="campaign_number_once"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.account_id}"


def sent_from(account_id) -> Q:
    """Recipients sent from this number: recorded on the row (`number`), or, for a row sent
    before numbers were recorded, its campaign's own account."""
    return Q(number_id=account_id) | Q(number__isnull=True, campaign__account_id=account_id)


def numbers_of(campaign) -> list[WhatsAppAccount]:
    """The numbers the campaign sends from, its own account first, then its pool in a stable
    order (the engine maps sender numbers onto it: docs/architecture.md §4.7)."""
    pool = WhatsAppAccount.objects.filter(pooled_in__campaign=campaign).order_by("pk")
    return [campaign.account, *pool]


def numbers_count(campaign_id) -> int:
    return 1 + CampaignNumber.objects.filter(campaign_id=campaign_id).count()
