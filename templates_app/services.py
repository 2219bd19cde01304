"""Template catalogue writes: sync from the WABA, and template status changes."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.errors import Invalid, UpstreamUnavailable
from whatsapp.client import GraphClient
from whatsapp.errors import Action, WhatsAppError
from whatsapp.models import WhatsAppAccount
from whatsapp.services import account_mark_needs_attention
from whatsapp.shapes import unsupported_features
from whatsapp.webhook_payload import TemplateUpdate

from .models import MessageTemplate
from .signals import template_unsendable

logger = logging.getLogger(__name__)

# Statuses in which Meta refuses sends (132001 / 132015 / 132016): running campaigns pause.
UNSENDABLE_STATUSES = {
    MessageTemplate.Status.PAUSED,
    MessageTemplate.Status.DISABLED,
    MessageTemplate.Status.REJECTED,
    MessageTemplate.Status.PENDING_DELETION,
    MessageTemplate.Status.DELETED,
    MessageTemplate.Status.LOCKED,
    MessageTemplate.Status.ARCHIVED,
    MessageTemplate.Status.PENDING,
    MessageTemplate.Status.IN_APPEAL,
}
# Webhook events that mean "approved again" rather than a status of their own.
# Gone for good: the campaigns that use it fail instead of waiting, paused, for a fix.
GONE_STATUSES = {MessageTemplate.Status.DELETED, MessageTemplate.Status.PENDING_DELETION}
EVENT_STATUS = {
    "REINSTATED": MessageTemplate.Status.APPROVED,
    "UNARCHIVED": MessageTemplate.Status.APPROVED,
    "UNPAUSE": MessageTemplate.Status.APPROVED,
}


class TemplateSyncError(UpstreamUnavailable):
    """The catalogue could not be read from Meta; the message is for the user (an API 502)."""


class TemplateNotSendable(Invalid):
    """The template cannot be used for a campaign (an API 400 that names its status)."""

    code = "template_not_sendable"


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    campaigns_paused: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def template_require_sendable(template: MessageTemplate) -> None:
    if template.removed_upstream_at is not None:
        raise TemplateNotSendable(
            f"Template {template.name!r} ({template.language}) no longer exists on WhatsApp."
        )
    if template.status != MessageTemplate.Status.APPROVED:
        raise TemplateNotSendable(
            f"Template {template.name!r} ({template.language}) is {template.status}; "
            "only APPROVED templates can be sent."
        )
    missing = unsupported_features(template.components)
    if missing:
        # Sent without these components, every recipient would be refused (132000): refuse
        # once, here, naming what is missing, rather than a million times at Meta.
        raise TemplateNotSendable(
            f"Template {template.name!r} ({template.language}) uses what Broadcast cannot "
            f"send yet: {', '.join(missing)}; choose another template."
        )


def _quality(raw) -> str:
    if isinstance(raw, dict):
        raw = raw.get("score")
    return str(raw or "")[:10]


def _fields_from_meta(item: dict) -> dict:
    return {
        "name": str(item.get("name", ""))[:512],
        "language": str(item.get("language", ""))[:15],
        "status": str(item.get("status", "")).upper()[:20],
        "category": str(item.get("category") or "").upper()[:20],
        "sub_category": str(item.get("sub_category") or "")[:40],
        "parameter_format": (
            "NAMED" if str(item.get("parameter_format", "")).upper() == "NAMED" else "POSITIONAL"
        ),
        "quality_score": _quality(item.get("quality_score")),
        "components": item.get("components") or [],
        "message_send_ttl_seconds": _ttl(item.get("message_send_ttl_seconds")),
    }


def _ttl(raw) -> int | None:
    """Meta's TTL in seconds (-1 is its "custom 30 days" for utility and authentication)."""
    if isinstance(raw, bool):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return 30 * 86_400 if value == -1 else value if 0 < value <= 30 * 86_400 else None


def templates_sync(*, account: WhatsAppAccount, client: GraphClient | None = None) -> SyncResult:
    """Upsert the account's templates from Meta's paged listing.

    The whole listing is read before anything is written: a listing that fails half-way must
    not make the unread templates look deleted. Templates gone from Meta are marked, never
    deleted (campaigns refer to them).
    """
    client = client or GraphClient()
    try:
        listing = list(
            client.list_templates(waba_id=account.waba_id, access_token=account.access_token)
        )
    except WhatsAppError as exc:
        message = f"Template sync failed: {exc}"
        if exc.action == Action.STOP:
            account_mark_needs_attention(account=account, reason=message)
        logger.warning("template sync failed", extra={"account_id": str(account.pk)})
        raise TemplateSyncError(message) from exc

    now = timezone.now()
    result = SyncResult()
    with transaction.atomic():
        existing = {
            t.meta_id: t
            for t in MessageTemplate.objects.select_for_update().filter(account=account)
        }
        seen: set[str] = set()
        for item in listing:
            meta_id = str(item.get("id") or "")
            if not meta_id or meta_id in seen:
                continue
            seen.add(meta_id)
            fields = _fields_from_meta(item)
            template = existing.get(meta_id)
            if template is None:
                MessageTemplate.objects.create(
                    workspace_id=account.workspace_id,
                    account=account,
                    meta_id=meta_id,
                    last_synced_at=now,
                    **fields,
                )
                result.created += 1
                continue
            new_status = fields.pop("status")
            changed = template.removed_upstream_at is not None or any(
                getattr(template, k) != v for k, v in fields.items()
            )
            for key, value in fields.items():
                setattr(template, key, value)
            template.removed_upstream_at = None
            template.last_synced_at = now
            template.save()
            if new_status != template.status:
                result.campaigns_paused += template_status_change(
                    template=template, status=new_status, reason="changed on WhatsApp"
                )
                changed = True
            if changed:
                result.updated += 1
            else:
                result.unchanged += 1
        for meta_id, template in existing.items():
            if meta_id in seen or template.removed_upstream_at is not None:
                continue
            template.removed_upstream_at = now
            template.save(update_fields=["removed_upstream_at", "updated_at"])
            result.removed += 1
            result.campaigns_paused += _announce_unsendable(
                template, reason=f"Template {template.name!r} was deleted on WhatsApp.", gone=False
            )
        account.templates_synced_at = now
        fields_to_save = ["templates_synced_at", "updated_at"]
        if account.state == WhatsAppAccount.State.NEEDS_ATTENTION:
            # A successful listing proves the credentials work again.
            account.state, account.state_reason = WhatsAppAccount.State.ACTIVE, ""
            fields_to_save += ["state", "state_reason"]
        account.save(update_fields=fields_to_save)
    logger.info(
        "templates synced",
        extra={
            "account_id": str(account.pk),
            "templates_created": result.created,
            "templates_updated": result.updated,
            "templates_removed": result.removed,
        },
    )
    return result


def template_status_change(*, template: MessageTemplate, status: str, reason: str = "") -> int:
    """Apply a status change (from a sync or a `message_template_status_update` webhook).

    PAUSED, DISABLED and the other unsendable statuses pause the running campaigns that use the
    template, with the reason shown to the user; nothing resumes by itself. Returns the number
    of campaigns paused.
    """
    status = EVENT_STATUS.get(status.upper(), status.upper())
    if status not in MessageTemplate.Status.values:
        logger.info("ignoring unknown template status", extra={"status": status})
        return 0
    with transaction.atomic():
        MessageTemplate.objects.filter(pk=template.pk).update(
            status=status, status_reason=reason[:2000], updated_at=timezone.now()
        )
        template.status, template.status_reason = status, reason
        if status not in UNSENDABLE_STATUSES:
            return 0
        detail = f" ({reason})" if reason else ""
        if status in GONE_STATUSES:
            return _announce_unsendable(
                template,
                reason=(
                    f"Template {template.name!r} is {status} on WhatsApp{detail}: this campaign "
                    "can never be sent. Rerun it, then pick another template for the draft."
                ),
                gone=True,
            )
        return _announce_unsendable(
            template,
            reason=f"Template {template.name!r} is {status} on WhatsApp{detail}.",
            gone=False,
        )


def _announce_unsendable(template: MessageTemplate, *, reason: str, gone: bool) -> int:
    """Tell the campaigns (templates_app/signals.py); how many campaigns they moved."""
    responses = template_unsendable.send(
        sender=MessageTemplate, template=template, reason=reason, gone=gone
    )
    moved = 0
    for _receiver, count in responses:
        moved += count if isinstance(count, int) else 0
    return moved


def template_update_apply(*, account_ids: list, update: TemplateUpdate) -> int:
    """Apply a `message_template_status_update` to the template on every account of the WABA
    (each connected number keeps its own catalogue); returns how many campaigns paused."""
    templates = MessageTemplate.objects.filter(account_id__in=account_ids)
    found = list(templates.filter(meta_id=update.meta_id)) if update.meta_id else []
    if not found and update.name:
        found = list(templates.filter(Q(name=update.name) & Q(language=update.language)))
    if not found:
        logger.info(
            "template status update for a template not in the catalogue",
            extra={
                "meta_id": update.meta_id,
                "template_name": update.name,
                "event": update.event,
            },
        )
        return 0
    paused = 0
    for template in found:
        paused += template_status_change(
            template=template, status=update.event, reason=update.reason
        )
    logger.info(
        "template status updated by webhook",
        extra={"meta_id": update.meta_id, "event": update.event, "campaigns_paused": paused},
    )
    return paused
