"""Writes for WhatsApp connections."""

import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.models import Membership, Workspace
from config.errors import CONFLICT, Invalid, PermissionDenied

from .client import GraphClient
from .errors import WhatsAppError, WhatsAppTransportError
from .models import WhatsAppAccount
from .webhook_account import LIMITS

logger = logging.getLogger(__name__)

# A connection's fields, declared once for the service, the admin and the API (in the order
# they show). The owner edits EDITABLE_FIELDS; the secrets are write-only (read back masked).
SECRET_FIELDS = ("access_token", "app_secret", "verify_token")
EDITABLE_FIELDS = (
    "name",
    "waba_id",
    "phone_number_id",
    "display_phone_number",
    *SECRET_FIELDS,
    "throughput",
    "messaging_limit_tier",
    "marketing_messages_api",
)
# The connection's health, set when Meta refuses it; staff may set it in the admin, the API
# only shows it.
STATE_FIELDS = ("state", "state_reason")
# Recorded by the system: read-only everywhere.
RECORDED_FIELDS = (
    # Meta's word on the account and number (webhooks: whatsapp.health).
    "restriction",
    "restriction_reason",
    "restricted_until",
    "quality_rating",
    "quality_flagged",
    "last_error_code",
    "last_error_details",
    "last_error_at",
    "templates_synced_at",
    "created_at",
    "updated_at",
)


class AccountError(Invalid):
    """A connection change that cannot be made; the message is for the user."""


class AccountInUse(AccountError):
    """The connection is referred to (by campaigns) and so cannot go (an API 409)."""

    code = "account_in_use"
    kind = CONFLICT


def _require_owner(*, user, workspace: Workspace) -> None:
    if not Membership.objects.filter(
        user=user, workspace=workspace, role=Membership.Role.OWNER
    ).exists():
        raise PermissionDenied("Only a workspace owner can manage WhatsApp connections.")


def _save(account: WhatsAppAccount) -> WhatsAppAccount:
    try:
        with transaction.atomic():
            account.full_clean(exclude=[*SECRET_FIELDS, "workspace"], validate_unique=False)
            account.save()
    except IntegrityError as exc:
        if (
            WhatsAppAccount.objects.filter(phone_number_id=account.phone_number_id)
            .exclude(pk=account.pk)
            .exists()
        ):
            raise AccountError(
                "This phone number id is already connected.", field="phone_number_id"
            ) from exc
        raise AccountError(
            "A connection with this name already exists in the workspace.", field="name"
        ) from exc
    return account


def account_create(*, user, workspace: Workspace, **fields) -> WhatsAppAccount:
    """Connect a number; what Meta says about it (throughput, quality, limit) is read at once,
    after the commit, instead of trusting what was typed (whatsapp.health)."""
    _require_owner(user=user, workspace=workspace)
    account = account_save_by_staff(account=WhatsAppAccount(workspace=workspace), **fields)
    from .tasks import account_refresh_from_meta_task

    transaction.on_commit(partial(account_refresh_from_meta_task.delay, str(account.pk)))
    return account


def account_update(*, user, account: WhatsAppAccount, **fields) -> WhatsAppAccount:
    _require_owner(user=user, workspace=account.workspace)
    return account_save_by_staff(account=account, **fields)


def account_save_by_staff(*, account: WhatsAppAccount, **fields) -> WhatsAppAccount:
    """Create (`account` unsaved) or update a connection with every rule of account_create
    and account_update but the owner check: the Django admin's staff, whose form has built
    `account` already. Only EDITABLE_FIELDS are taken from `fields`.

    Secrets are write-only: a blank or missing one keeps the stored value (requiring them for
    a new connection is the serializer's or the form's job, which knows it is one).
    """
    adding = account._state.adding
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            continue
        if name in SECRET_FIELDS and not value:
            continue  # secrets are write-only: leaving one out keeps the stored value
        setattr(account, name, value)
    _check_transportable(account)
    if not adding and {"access_token", "app_secret"} & {k for k, v in fields.items() if v}:
        # New credentials: give the connection a fresh chance.
        account.state = WhatsAppAccount.State.ACTIVE
        account.state_reason = ""
    account = _save(account)
    if adding:
        logger.info("whatsapp account created", extra={"account_id": str(account.id)})
    return account


# What a Graph API URL path can carry (Meta's ids are digits), and an HTTP header: printable
# ASCII without spaces. Checked on input, so a pasted value with a space, a slash or a line
# break is a field error here, not a failed sync later.
_GRAPH_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")


def _check_transportable(account: WhatsAppAccount) -> None:
    for name, label in (("waba_id", "WABA id"), ("phone_number_id", "phone number id")):
        value = getattr(account, name) or ""
        if value and not _GRAPH_ID.fullmatch(value):
            raise AccountError(
                f"The {label} is the number Meta shows (digits only), not {value[:40]!r}.",
                field=name,
            )
    for name in SECRET_FIELDS:
        value = getattr(account, name) or ""
        if value and not _TOKEN.fullmatch(value):
            raise AccountError(
                "Paste the value alone: it cannot hold spaces, line breaks or accented characters.",
                field=name,
            )


def account_delete(*, user, account: WhatsAppAccount) -> None:
    _require_owner(user=user, workspace=account.workspace)
    try:
        account.delete()
    except ProtectedError as exc:
        raise AccountInUse(
            "This connection has campaigns; delete them first (their history refers to it)."
        ) from exc


def account_mark_needs_attention(*, account: WhatsAppAccount, reason: str) -> None:
    WhatsAppAccount.objects.filter(pk=account.pk).update(
        state=WhatsAppAccount.State.NEEDS_ATTENTION,
        state_reason=reason,
        updated_at=timezone.now(),
    )
    account.state, account.state_reason = WhatsAppAccount.State.NEEDS_ATTENTION, reason


def secrets_rotate() -> int:
    """Re-encrypt every stored secret with the newest FIELD_ENCRYPTION_KEY; returns the count.

    Loading decrypts with any configured key; saving encrypts with the first one.
    """
    count = 0
    for account in WhatsAppAccount.objects.iterator():
        account.save(update_fields=list(SECRET_FIELDS))
        count += 1
    return count


def account_errors_record(*, account_id, errors: list[WhatsAppError], at: datetime) -> None:
    """Keep the last value-level webhook error (e.g. 130429, docs/whatsapp.md §5.4) on the
    account, for the operator (and the engine)."""
    last = errors[-1]
    WhatsAppAccount.objects.filter(pk=account_id).update(
        last_error_code=last.code, last_error_details=str(last)[:2000], last_error_at=at
    )
    logger.warning(
        "value-level webhook error",
        extra={"account_id": str(account_id), "error_code": last.code, "count": len(errors)},
    )


# --- the dashboard's "Test connection" ------------------------------------------------------

NUMBER_FIELDS = (
    "display_phone_number,verified_name,quality_rating,throughput,"
    "whatsapp_business_manager_messaging_limit"
)
UPDATED_LABELS = {
    "quality_rating": "Quality rating",
    "throughput": "Throughput (msg/s)",
    "messaging_limit_tier": "Messaging-limit tier",
    "display_phone_number": "Display number",
}
# An object id Meta cannot find, or one this token may not see: code 100, subcode 33.
UNKNOWN_OBJECT_SUBCODE = 33


@dataclass
class ConnectionCheck:
    """One thing the test tried, in words for the operator."""

    name: str
    ok: bool
    message: str


@dataclass
class ConnectionTest:
    """What `account_test_connection` found: each check, what Meta says about the number, and
    what was updated from it. Plain data (it is kept in the session between two pages)."""

    checks: list[ConnectionCheck] = field(default_factory=list)
    number: dict[str, str] = field(default_factory=dict)
    updated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def _refusal(error: WhatsAppError, *, what: str, object_id: str) -> str:
    """Meta's refusal of a connection test in plain words, with Meta's own message and code."""
    meta = f"Meta says: {error}" + (f" (code {error.code})" if error.code is not None else "")
    if isinstance(error, WhatsAppTransportError):
        return f"The Graph API did not answer ({error.message}). Try again in a minute."
    if error.code in (0, 190) or error.http_status == 401:
        return f"The access token was refused (expired or revoked): paste a new one. {meta}"
    if error.code == 100 and error.error_subcode == UNKNOWN_OBJECT_SUBCODE:
        return f"The {what} {object_id} was not found, or this token may not see it. {meta}"
    if error.code == 100:
        return f"Meta refused the request for the {what} {object_id}. {meta}"
    if error.code in (3, 10) or (error.code is not None and 200 <= error.code < 300):
        return f"The token lacks a permission for the {what}. {meta}"
    return f"The {what} check failed. {meta}"


def _number_summary(data: dict) -> dict[str, str]:
    throughput = data.get("throughput")
    level = throughput.get("level") if isinstance(throughput, dict) else throughput
    return {
        key: str(value)
        for key, value in {
            "display_phone_number": data.get("display_phone_number"),
            "verified_name": data.get("verified_name"),
            "quality_rating": data.get("quality_rating"),
            "throughput": level,
            "messaging_limit": data.get("whatsapp_business_manager_messaging_limit")
            or data.get("messaging_limit_tier"),
        }.items()
        if value
    }


def _updates_from_meta(account: WhatsAppAccount, number: dict[str, str]) -> dict:
    """The account's fields that Meta's answer corrects: throughput, tier, display number."""
    changes: dict = {}
    level = number.get("throughput", "").upper()
    if level == "HIGH":
        changes["throughput"] = WhatsAppAccount.Throughput.HIGH
    elif level == "STANDARD" and account.throughput == WhatsAppAccount.Throughput.HIGH:
        # STANDARD is 80 msg/s, but a coexistence number (20) reports it too: keep a 20.
        changes["throughput"] = WhatsAppAccount.Throughput.STANDARD
    # Meta's names for the limit (docs/whatsapp.md §3), as WhatsAppAccount.Tier's values.
    tier = LIMITS.get(number.get("messaging_limit", "").upper())
    if tier is not None:
        changes["messaging_limit_tier"] = tier
    rating = number.get("quality_rating", "").upper()
    if rating in ("GREEN", "YELLOW", "RED", "UNKNOWN"):
        changes["quality_rating"] = rating
    digits = "".join(ch for ch in number.get("display_phone_number", "") if ch.isdigit())
    if digits and not account.display_phone_number:
        changes["display_phone_number"] = digits[:32]
    return {k: v for k, v in changes.items() if getattr(account, k) != v}


def account_test_connection(
    *, user, account: WhatsAppAccount, client: GraphClient | None = None
) -> ConnectionTest:
    """Ask the Graph API about the connection with its own credentials: the phone number
    (its name, quality, throughput and messaging limit) and the WABA's template listing.

    Owners only. The calls happen outside any transaction; what Meta reports about the number
    (throughput, tier, a missing display number) is then saved. An account-level refusal (an
    expired token) flags the connection "needs attention", as a send or a sync would; a test
    where every check passes clears that flag, as a successful template sync does.
    """
    _require_owner(user=user, workspace=account.workspace)
    client = client or GraphClient()
    result = ConnectionTest()
    token = account.access_token
    stop: WhatsAppError | None = None

    try:
        data = client.get_object(
            object_id=account.phone_number_id, access_token=token, fields=NUMBER_FIELDS
        )
    except WhatsAppError as exc:
        stop = exc if exc.rule.needs_attention else None
        text = _refusal(exc, what="phone number id", object_id=account.phone_number_id)
        result.checks.append(ConnectionCheck("Phone number", False, text))
    else:
        result.number = _number_summary(data)
        name = result.number.get("verified_name") or "no verified name"
        shown = result.number.get("display_phone_number") or account.phone_number_id
        result.checks.append(ConnectionCheck("Phone number", True, f"{shown} ({name})."))

    if stop is not None and stop.code in (0, 190):
        result.checks.append(
            ConnectionCheck("Templates", False, "Not checked: the access token was refused.")
        )
    else:
        try:
            page = client.templates_page(waba_id=account.waba_id, access_token=token)
        except WhatsAppError as exc:
            stop = stop or (exc if exc.rule.needs_attention else None)
            text = _refusal(exc, what="WABA id", object_id=account.waba_id)
            result.checks.append(ConnectionCheck("Templates", False, text))
        else:
            found = "templates are" if page.get("data") else "no templates yet, but the listing is"
            result.checks.append(
                ConnectionCheck("Templates", True, f"WABA {account.waba_id}: {found} readable.")
            )

    changes = _updates_from_meta(account, result.number)
    for name, value in changes.items():
        before = getattr(account, name)
        result.updated.append(f"{UPDATED_LABELS[name]}: {before or '—'} → {value}.")
        setattr(account, name, value)
    if stop is not None:
        account_mark_needs_attention(account=account, reason=f"Connection test: {stop}")
    elif result.ok and account.state == WhatsAppAccount.State.NEEDS_ATTENTION:
        changes.update(state=WhatsAppAccount.State.ACTIVE, state_reason="")
        account.state, account.state_reason = WhatsAppAccount.State.ACTIVE, ""
        result.updated.append("The connection no longer needs attention.")
    if changes:
        WhatsAppAccount.objects.filter(pk=account.pk).update(**changes, updated_at=timezone.now())
    logger.info(
        "whatsapp connection tested",
        extra={"account_id": str(account.pk), "ok": result.ok},
    )
    return result
