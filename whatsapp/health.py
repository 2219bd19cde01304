"""What Meta's account-health webhooks mean for an account (docs/whatsapp.md §11.4).

- `account_update`: a restriction of business-initiated messaging, a ban (DISABLED_UPDATE
  DISABLE), deletion or offboarding blocks the account's template sends, with a reason a person
  can read (and the restriction's end, when it has one); its running campaigns pause at once
  (`account_blocked`, received by `campaigns`). REINSTATE lifts a ban, ACCOUNT_RECONNECTED
  lifts offboarding and deletion, a restriction lifts itself at its expiration; nothing resumes
  by itself. Every event, these and the others (violations, partner events, pricing tiers), is
  kept in the account's event log.
- `phone_number_quality_update`: THROUGHPUT_UPGRADE raises the number to 1,000 msg/s (running
  senders pick it up within seconds); FLAGGED / UNFLAGGED mark its quality; a limit change
  sets the messaging-limit tier, which is the portfolio's, so every number of the WABA gets it.
- `business_capability_update`: the portfolio's messaging limit, likewise.
- And what the Graph API says about the number (`account_refresh_from_meta`: on connecting
  it, and hourly): throughput, quality rating, messaging limit and display number, correcting
  the account where it disagrees, with a note on its event log.

Events are ordered by the time Meta gives them: an older one arriving late changes no state
(it is still logged), and the same event twice is logged once.
"""

from __future__ import annotations

import hashlib
import json
import logging

from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from .client import GraphClient
from .errors import WhatsAppError
from .models import AccountEvent, WhatsAppAccount
from .services import NUMBER_FIELDS, UPDATED_LABELS, _number_summary, _updates_from_meta
from .webhook_account import CAPABILITY_FIELD, AccountUpdate, NumberUpdate

logger = logging.getLogger(__name__)

# Sent (inside the transaction) when an account becomes blocked: `account` and `reason`.
# `campaigns` connects the receiver that pauses its running campaigns (campaigns depends on
# whatsapp, never the other way round). Receivers return how many campaigns they paused.
account_blocked = Signal()

BIZ_INITIATED = "RESTRICTED_BIZ_INITIATED_MESSAGING"
R = WhatsAppAccount.Restriction
# What lifts which block.
LIFTS = {"REINSTATE": {R.DISABLED}, "ACCOUNT_RECONNECTED": {R.OFFBOARDED, R.DELETED}}


def _digest(field: str, event: str, at, value: dict) -> str:
    raw = json.dumps([field, event, at.isoformat(), value], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _log(account_ids, *, field: str, event: str, at, summary: str, value: dict) -> int:
    digest = _digest(field, event, at, value)
    created = AccountEvent.objects.bulk_create(
        [
            AccountEvent(
                account_id=account_id,
                field=field,
                event=event,
                at=at,
                summary=summary,
                value=value,
                digest=digest,
            )
            for account_id in account_ids
        ],
        ignore_conflicts=True,
    )
    return len(created)


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _block_for(update: AccountUpdate, now) -> tuple[str, str, object] | None:
    """(restriction, reason, until) this event imposes, or None when it imposes none."""
    if update.event == "ACCOUNT_RESTRICTION":
        for restriction in update.restrictions:
            if restriction.kind != BIZ_INITIATED:
                continue
            until = restriction.expires
            if until is not None and until <= now:
                return None  # already over when it arrived
            end = f" until {_when(until)}" if until is not None else ""
            reason = (
                "Meta restricted this account from starting conversations (template messages)"
                f"{end}: sends are refused until the restriction ends."
            )
            return R.BUSINESS_INITIATED, reason, until
        return None
    if update.event == "DISABLED_UPDATE" and update.ban_state == "DISABLE":
        when = f" ({update.detail})" if update.detail else ""
        reason = f"Meta disabled this WhatsApp Business Account{when}: nothing can be sent."
        return R.DISABLED, reason, None
    if update.event == "ACCOUNT_DELETED":
        return R.DELETED, "The WhatsApp Business Account was deleted: nothing can be sent.", None
    if update.event == "ACCOUNT_OFFBOARDED":
        reason = (
            "The business removed this app's access to its WhatsApp Business Account "
            "(offboarded): nothing can be sent until it reconnects."
        )
        return R.OFFBOARDED, reason, None
    return None


def _summary(update: AccountUpdate) -> str:
    parts = [update.event]
    if update.restrictions:
        parts.append(
            ", ".join(
                r.kind + (f" until {_when(r.expires)}" if r.expires else "")
                for r in update.restrictions
            )
        )
    if update.ban_state:
        parts.append(update.ban_state)
    if update.detail:
        parts.append(update.detail)
    return " · ".join(parts)


@transaction.atomic
def account_update_apply(*, account_ids: list, update: AccountUpdate) -> dict:
    """Apply one account_update event to the accounts of its WABA. Returns what it did:
    logged (new log rows), blocked / lifted (accounts), paused (campaigns)."""
    now = timezone.now()
    done = {"logged": 0, "blocked": 0, "lifted": 0, "paused": 0}
    done["logged"] = _log(
        account_ids,
        field="account_update",
        event=update.event,
        at=update.at,
        summary=_summary(update),
        value=update.value,
    )
    block = _block_for(update, now)
    lifts = LIFTS.get(update.ban_state if update.event == "DISABLED_UPDATE" else update.event)
    if block is None and not lifts:
        return done
    # Only where no later restriction event was applied (events may arrive out of order).
    newer = Q(restriction_changed_at__gt=update.at)
    accounts = WhatsAppAccount.objects.select_for_update().filter(pk__in=account_ids)
    for account in accounts.exclude(newer):
        if block is not None:
            restriction, reason, until = block
            already = (account.restriction, account.restricted_until) == (restriction, until)
            account.restriction, account.restriction_reason = restriction, reason
            account.restricted_until, account.restriction_changed_at = until, update.at
            account.save(update_fields=_RESTRICTION_FIELDS)
            if not already:
                done["blocked"] += 1
            results = account_blocked.send(sender=WhatsAppAccount, account=account, reason=reason)
            done["paused"] += sum(int(r or 0) for _, r in results)
        else:
            # Noted even when there is nothing to lift: an older block arriving later must not
            # undo this (the account's restriction has one timeline).
            if account.restriction in (lifts or ()):
                account.restriction, account.restriction_reason = R.NONE, ""
                account.restricted_until = None
                done["lifted"] += 1
            account.restriction_changed_at = update.at
            account.save(update_fields=_RESTRICTION_FIELDS)
    if done["blocked"] or done["lifted"] or done["paused"]:
        logger.warning(
            "whatsapp account restriction changed", extra={"event": update.event, **done}
        )
    return done


_RESTRICTION_FIELDS = [
    "restriction",
    "restriction_reason",
    "restricted_until",
    "restriction_changed_at",
    "updated_at",
]


def _accounts_for_number(account_ids: list, display_phone_number: str) -> list:
    """The account of the number a quality update names (by its display digits), among the
    WABA's accounts; the WABA's only account when its display number is not known here."""
    accounts = list(
        WhatsAppAccount.objects.filter(pk__in=account_ids).values_list("pk", "display_phone_number")
    )
    named = [
        pk
        for pk, shown in accounts
        if shown and "".join(c for c in shown if c.isdigit()) == display_phone_number
    ]
    if named or not display_phone_number:
        return named
    return [pk for pk, shown in accounts if not shown] if len(accounts) == 1 else []


@transaction.atomic
def number_update_apply(*, account_ids: list, update: NumberUpdate) -> dict:
    """Apply a phone_number_quality_update (to its number) or a business_capability_update (to
    every number of the WABA): throughput, quality flag, messaging-limit tier."""
    done = {"logged": 0, "updated": 0}
    if update.field == CAPABILITY_FIELD:
        targets = list(account_ids)
    else:
        targets = _accounts_for_number(account_ids, update.display_phone_number)
    summary = update.event + (f" · limit {update.limit}" if update.limit else "")
    done["logged"] = _log(
        targets or [], field=update.field, event=update.event, at=update.at, summary=summary,
        value=update.value,
    )  # fmt: skip
    number_changes: dict = {}
    if update.event == "THROUGHPUT_UPGRADE":
        number_changes["throughput"] = WhatsAppAccount.Throughput.HIGH
    elif update.event == "FLAGGED":
        number_changes["quality_flagged"] = True
    elif update.event in ("UNFLAGGED", "UPGRADE"):
        number_changes["quality_flagged"] = False
    now = timezone.now()
    if number_changes and update.field != CAPABILITY_FIELD:
        done["updated"] += (
            WhatsAppAccount.objects.filter(pk__in=targets)
            .exclude(number_changed_at__gt=update.at)
            .update(**number_changes, number_changed_at=update.at, updated_at=now)
        )
    if update.limit:
        # The messaging limit is the portfolio's: every number of the WABA shares it.
        done["updated"] += (
            WhatsAppAccount.objects.filter(pk__in=account_ids)
            .exclude(limit_changed_at__gt=update.at)
            .exclude(messaging_limit_tier=update.limit, limit_changed_at=update.at)
            .update(messaging_limit_tier=update.limit, limit_changed_at=update.at, updated_at=now)
        )
    if done["updated"]:
        logger.info(
            "whatsapp number limits changed",
            extra={"event": update.event, "limit": update.limit, **done},
        )
    return done


# --- reading the truth from Meta (on connecting, and hourly) ---------------------------------


def account_refresh_from_meta(
    *, account: WhatsAppAccount, client: GraphClient | None = None
) -> list[str]:
    """Read the number's throughput, quality rating, messaging limit and display number from
    the Graph API and correct what the account holds (an operator-entered tier that disagrees
    with Meta's, say); each correction is noted on the account's event log. Returns the
    corrections in words ([] when Meta agrees or did not answer: the next run tries again)."""
    client = client or GraphClient()
    try:
        data = client.get_object(
            object_id=account.phone_number_id,
            access_token=account.access_token,
            fields=NUMBER_FIELDS,
        )
    except WhatsAppError as exc:
        logger.warning(
            "could not read the number from the Graph API",
            extra={"account_id": str(account.pk), "error": str(exc)[:200]},
        )
        return []
    changes = _updates_from_meta(account, _number_summary(data))
    if not changes:
        return []
    notes = [
        f"{UPDATED_LABELS[name]}: {getattr(account, name) or '—'} → {value}."
        for name, value in changes.items()
    ]
    now = timezone.now()
    WhatsAppAccount.objects.filter(pk=account.pk).update(**changes, updated_at=now)
    summary = "Corrected from Meta's Graph API: " + " ".join(notes)
    AccountEvent.objects.bulk_create(
        [
            AccountEvent(
                account=account,
                field="graph",
                event="CORRECTED",
                at=now,
                summary=summary,
                value={"number": data if isinstance(data, dict) else {}},
                digest=hashlib.sha256(
                    f"{account.pk}:{now.isoformat()}:{summary}".encode()
                ).hexdigest(),
            )
        ],
        ignore_conflicts=True,
    )
    logger.info(
        "account corrected from Meta", extra={"account_id": str(account.pk), "changes": notes}
    )
    return notes
