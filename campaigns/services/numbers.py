"""Choosing the numbers a campaign sends from (models_numbers.py): its own account, plus a
pool of the workspace's other numbers on the same WhatsApp Business Account."""

import uuid

from whatsapp.models import WhatsAppAccount

from ..models import Campaign, CampaignNumber
from ..models_numbers import MAX_NUMBER_RATE, MAX_NUMBERS
from .errors import CampaignError


def _ids(numbers) -> list[uuid.UUID]:
    if not isinstance(numbers, list | tuple):
        raise CampaignError("numbers must be a list of WhatsApp account ids.", field="numbers")
    ids: list[uuid.UUID] = []
    for value in numbers:
        try:
            ids.append(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except (TypeError, ValueError, AttributeError):
            raise CampaignError(
                f"numbers: {str(value)[:60]!r} is not a WhatsApp account id.", field="numbers"
            ) from None
    return list(dict.fromkeys(ids))


def campaign_pool_check(*, campaign: Campaign, numbers) -> list[WhatsAppAccount]:
    """The pool `numbers` names (ids; the campaign's own account may be among them, and is
    left out): each a number of the campaign's workspace, on its account's WABA, at most
    MAX_NUMBERS in all. A refusal names the number at fault."""
    ids = [i for i in _ids(numbers) if i != campaign.account_id]
    if len(ids) + 1 > MAX_NUMBERS:
        raise CampaignError(
            f"A campaign sends from at most {MAX_NUMBERS} numbers (its own included).",
            field="numbers",
        )
    found = {
        a.pk: a
        for a in WhatsAppAccount.objects.filter(pk__in=ids, workspace_id=campaign.workspace_id)
    }
    for i in ids:
        account = found.get(i)
        if account is None:  # another workspace's number is as unknown as a made-up one
            raise CampaignError(f"numbers: unknown WhatsApp account {i}.", field="numbers")
        if account.waba_id != campaign.account.waba_id:
            raise CampaignError(
                f"numbers: {account} is on WhatsApp Business Account {account.waba_id}; a "
                f"campaign's numbers share its template's account ({campaign.account.waba_id}).",
                field="numbers",
            )
    return [found[i] for i in ids]


def campaign_pool_store(*, campaign: Campaign, pool: list[WhatsAppAccount]) -> None:
    """Replace the campaign's pool (inside the caller's transaction)."""
    CampaignNumber.objects.filter(campaign=campaign).exclude(account__in=pool).delete()
    have = set(
        CampaignNumber.objects.filter(campaign=campaign).values_list("account_id", flat=True)
    )
    CampaignNumber.objects.bulk_create(
        CampaignNumber(campaign=campaign, account=a) for a in pool if a.pk not in have
    )


def campaign_rate_check(*, rate_limit: int, count: int) -> None:
    """Meta lets one number send at most MAX_NUMBER_RATE msg/s: a campaign's rate is bounded
    by how many numbers it sends from."""
    if rate_limit > MAX_NUMBER_RATE * count:
        numbers = "its number" if count == 1 else f"its {count} numbers"
        raise CampaignError(
            f"A rate of {rate_limit:,} msg/s is more than {numbers} can send "
            f"({MAX_NUMBER_RATE:,} msg/s each): at most {MAX_NUMBER_RATE * count:,}. Add "
            "numbers to the campaign to send faster.",
            field="rate_limit",
        )
