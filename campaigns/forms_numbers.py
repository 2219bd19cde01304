"""The dashboard's choice of the numbers a campaign also sends from (models_numbers.py): "Also
send from" on the new-campaign page and on the campaign page.

Only the workspace's other numbers on the template's WhatsApp Business Account can be pooled:
a page offers those, each keyed by `pool_key` (workspace and WABA) so the new-campaign page's
script shows only the chosen template's. The services check the choice again (the API calls
them too) and their refusal is shown beside the field.
"""

from collections.abc import Iterable

from django import forms

from whatsapp.models import WhatsAppAccount

from .models import Campaign
from .models_numbers import MAX_NUMBER_RATE, MAX_NUMBERS
from .selectors import number_label

NUMBERS_HELP = (
    f"Recipients are spread across the numbers, each sending at its own throughput; the "
    f"WhatsApp Business Account's messaging limit is shared. {MAX_NUMBERS} numbers at most, the "
    f"template's own included. The campaign's rate may then be up to {MAX_NUMBER_RATE:,} msg/s "
    "per number."
)
RATE_HELP = (
    f"The rate counts messages a second over all the campaign's numbers: up to "
    f"{MAX_NUMBER_RATE:,} per number it sends from."
)


def pool_key(account: WhatsAppAccount) -> str:
    """The numbers that can be pooled together: one workspace's, on one WABA."""
    return f"{account.workspace_id}:{account.waba_id}"


def number_option(account: WhatsAppAccount, *, chosen: Iterable[str] = ()) -> dict:
    """One checkbox of the choice (campaigns/_numbers_choice.html)."""
    return {
        "pk": str(account.pk),
        "name": account.name,
        "number": number_label(account),
        "throughput": f"{account.throughput:,} msg/s",
        "pool": pool_key(account),
        "checked": str(account.pk) in set(chosen),
        "blocked": account.blocked_reason(),
        "attention": account.state == WhatsAppAccount.State.NEEDS_ATTENTION,
    }


def numbers_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Also send from",
        help_text=NUMBERS_HELP,
    )


def poolable(
    accounts: Iterable[WhatsAppAccount], *, owners: Iterable[WhatsAppAccount]
) -> list[WhatsAppAccount]:
    """The `accounts` that can send with one of `owners` (the offered templates' accounts):
    in its workspace, on its WABA, and not that account itself. A number alone on its WABA
    has nothing to be pooled with."""
    by_key: dict[str, set] = {}
    for owner in owners:
        by_key.setdefault(pool_key(owner), set()).add(owner.pk)
    return [a for a in accounts if by_key.get(pool_key(a), set()) - {a.pk}]


class NumbersForm(forms.Form):
    """The campaign page's "Also send from" (while draft, scheduled or paused): the other
    numbers of its workspace on its account's WABA, and those of its pool."""

    numbers = numbers_field()

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        account = campaign.account
        pool = set(campaign.pool.values_list("account_id", flat=True))
        self.accounts = list(
            WhatsAppAccount.objects.filter(
                workspace_id=campaign.workspace_id, waba_id=account.waba_id
            ).exclude(pk=account.pk)
            | WhatsAppAccount.objects.filter(pk__in=pool)
        )
        self.fields["numbers"].choices = [(str(a.pk), str(a)) for a in self.accounts]
        self.fields["numbers"].initial = [str(pk) for pk in pool]

    def options(self) -> list[dict]:
        chosen = self.data.getlist("numbers") if self.is_bound else self["numbers"].initial
        return [number_option(a, chosen=chosen) for a in self.accounts]
