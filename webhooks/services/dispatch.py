"""The webhook inbox's dispatcher: what a stored event says, handed to the app that owns it.

`parse` walks a claimed event's entries and changes (read by `whatsapp.webhook_payload`) and
sorts them by owner, keeping only the accounts the signature speaks for; `apply` calls each
owner's services: statuses, replies, opt-outs and click events (`user_actions`) go to
`campaigns.tracking`, template status updates to `templates_app`, value-level errors
(docs/whatsapp.md §5.4) and account-health events (§11.4) to `whatsapp`. Fields nobody acts
on are counted per field (WebhookFieldCount, in the admin). No other state is written here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F
from django.utils import timezone

from campaigns.tracking import (
    ApplyResult,
    CounterDeltas,
    inbound_messages_apply,
    preferences_apply,
    statuses_apply,
)
from campaigns.tracking.clicks import meta_clicks_apply
from templates_app.events import template_event_apply
from templates_app.services import template_update_apply
from whatsapp import webhook_account
from whatsapp import webhook_payload as payload
from whatsapp.health import account_update_apply, number_update_apply
from whatsapp.services import account_errors_record

from ..models import WebhookFieldCount
from .directory import AccountRef, reload_directory

MESSAGE_FIELDS = {"messages", "user_preferences"}
TEMPLATE_FIELD = "message_template_status_update"


@dataclass
class Parsed:
    event: Any  # drain.Claimed
    statuses: list[payload.StatusItem] = field(default_factory=list)
    messages: list[tuple[AccountRef, list[payload.InboundMessage]]] = field(default_factory=list)
    preferences: list[tuple[AccountRef, list[payload.Preference]]] = field(default_factory=list)
    templates: list[tuple[list[AccountRef], payload.TemplateUpdate]] = field(default_factory=list)
    errors: list[tuple[AccountRef, list]] = field(default_factory=list)
    # Click events of the Marketing Messages API (campaigns.tracking.clicks).
    clicks: list[tuple[AccountRef, list[payload.UserActionItem]]] = field(default_factory=list)
    # account_update, phone_number_quality_update, business_capability_update (whatsapp.health)
    health: list[tuple[list[AccountRef], Any]] = field(default_factory=list)
    # A template's quality, category or components changed (templates_app.events).
    template_events: list[tuple[list[AccountRef], Any]] = field(default_factory=list)
    # Changes of fields Broadcast does not act on (calls, echoes, flows…), counted per field.
    ignored: Counter = field(default_factory=Counter)
    messages_count: int = 0
    skipped: int = 0


def parse(event, directory) -> Parsed:
    data = payload.load(bytes(event.body))
    out = Parsed(event=event)
    signer = directory.by_id.get(event.account_id)
    if signer is None and event.account_id is not None:
        directory = reload_directory() or directory
        signer = directory.by_id.get(event.account_id)

    def allowed(account: AccountRef) -> bool:
        # The signature proved the app secret, so any account with that secret is genuine.
        return signer is None or account.id == signer.id or account.secret == signer.secret

    for change in payload.changes(data):
        if change.field in webhook_account.HEALTH_FIELDS:
            accounts = [a for a in directory.by_waba.get(change.waba_id, ()) if allowed(a)]
            update = _health_update(change, event.received_at)
            if update is None or not accounts:
                out.skipped += 1
            else:
                out.health.append((accounts, update))
            continue
        if change.field in webhook_account.TEMPLATE_EVENT_FIELDS:
            accounts = [a for a in directory.by_waba.get(change.waba_id, ()) if allowed(a)]
            at = webhook_account.entry_time(change.entry_time, event.received_at)
            template_event = webhook_account.read_template_event(change.field, change.value, at)
            if template_event is None or not accounts:
                out.skipped += 1
            else:
                out.template_events.append((accounts, template_event))
            continue
        if change.field == TEMPLATE_FIELD:
            update = payload.read_template_update(change.value)
            accounts = [a for a in directory.by_waba.get(change.waba_id, ()) if allowed(a)]
            if update is None or not accounts:
                out.skipped += 1
            else:
                out.templates.append((accounts, update))
            continue
        if change.field not in MESSAGE_FIELDS:
            out.ignored[change.field[:80] or "(none)"] += 1
            out.skipped += 1
            continue
        account = directory.by_phone.get(change.phone_number_id)
        if account is None or not allowed(account):
            out.skipped += 1
            continue
        value = payload.read_messages_value(change.value, default_time=event.received_at)
        for item in value.statuses:
            item.account_id, item.event_id = account.id, event.id
        out.statuses.extend(value.statuses)
        if value.messages:
            out.messages.append((account, value.messages))
            out.messages_count += len(value.messages)
        if value.preferences:
            out.preferences.append((account, value.preferences))
        if value.errors:
            out.errors.append((account, value.errors))
        if value.user_actions:
            out.clicks.append((account, value.user_actions))
        out.skipped += value.skipped
    return out


def _health_update(change, received_at):
    at = webhook_account.entry_time(change.entry_time, received_at)
    if change.field == webhook_account.ACCOUNT_FIELD:
        return webhook_account.read_account_update(change.value, at)
    return webhook_account.read_number_update(change.field, change.value, at)


def _count_ignored(ignored: Counter) -> None:
    now = timezone.now()
    for name, count in sorted(ignored.items()):
        updated = WebhookFieldCount.objects.filter(field=name).update(
            count=F("count") + count, last_seen_at=now
        )
        if not updated:
            _, created = WebhookFieldCount.objects.get_or_create(
                field=name, defaults={"count": count, "last_seen_at": now}
            )
            if not created:  # another drain created it meanwhile
                WebhookFieldCount.objects.filter(field=name).update(
                    count=F("count") + count, last_seen_at=now
                )


def apply(parsed: list[Parsed], counters: CounterDeltas | None) -> tuple[ApplyResult, int]:
    applied = statuses_apply([s for p in parsed for s in p.statuses], counters=counters)
    replied = 0
    for item in parsed:
        for account, messages in item.messages:
            replied += inbound_messages_apply(account=account, messages=messages)
        for account, preferences in item.preferences:
            preferences_apply(account=account, preferences=preferences)
        for accounts, update in item.templates:
            template_update_apply(account_ids=[a.id for a in accounts], update=update)
        for account, actions in item.clicks:
            meta_clicks_apply(account_id=account.id, items=actions, counters=counters)
        for account, errors in item.errors:
            account_errors_record(account_id=account.id, errors=errors, at=item.event.received_at)
        for accounts, template_event in item.template_events:
            template_event_apply(account_ids=[a.id for a in accounts], event=template_event)
        for accounts, update in item.health:
            ids = [a.id for a in accounts]
            if isinstance(update, webhook_account.AccountUpdate):
                account_update_apply(account_ids=ids, update=update)
            else:
                number_update_apply(account_ids=ids, update=update)
    ignored: Counter = Counter()
    for item in parsed:
        ignored.update(item.ignored)
    if ignored:
        _count_ignored(ignored)
    return applied, replied
