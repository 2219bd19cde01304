"""Writes for WhatsApp connections."""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.models import Membership, Workspace
from config.errors import CONFLICT, Invalid, PermissionDenied

from .errors import WhatsAppError
from .models import WhatsAppAccount

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
)
# The connection's health, set when Meta refuses it; staff may set it in the admin, the API
# only shows it.
STATE_FIELDS = ("state", "state_reason")
# Recorded by the system: read-only everywhere.
RECORDED_FIELDS = (
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
    _require_owner(user=user, workspace=workspace)
    return account_save_by_staff(account=WhatsAppAccount(workspace=workspace), **fields)


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
    if not adding and {"access_token", "app_secret"} & {k for k, v in fields.items() if v}:
        # New credentials: give the connection a fresh chance.
        account.state = WhatsAppAccount.State.ACTIVE
        account.state_reason = ""
    account = _save(account)
    if adding:
        logger.info("whatsapp account created", extra={"account_id": str(account.id)})
    return account


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
