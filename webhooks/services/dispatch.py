"""The webhook inbox's dispatcher: what a stored event says, handed to the app that owns it.

`parse` walks a claimed event's entries and changes (read by `whatsapp.webhook_payload`) and
sorts them by owner, keeping only the accounts the signature speaks for; `apply` calls each
owner's services: statuses, replies and opt-outs go to `campaigns.tracking`, template status
updates to `templates_app`, value-level errors (docs/whatsapp.md §5.4) to `whatsapp`. No
state is written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from campaigns.tracking import (
    ApplyResult,
    CounterDeltas,
    inbound_messages_apply,
    preferences_apply,
    statuses_apply,
)
from templates_app.services import template_update_apply
from whatsapp import webhook_payload as payload
from whatsapp.services import account_errors_record

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
        if change.field == TEMPLATE_FIELD:
            update = payload.read_template_update(change.value)
            accounts = [a for a in directory.by_waba.get(change.waba_id, ()) if allowed(a)]
            if update is None or not accounts:
                out.skipped += 1
            else:
                out.templates.append((accounts, update))
            continue
        account = directory.by_phone.get(change.phone_number_id)
        if change.field not in MESSAGE_FIELDS or account is None or not allowed(account):
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
        out.skipped += value.skipped
    return out


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
        for account, errors in item.errors:
            account_errors_record(account_id=account.id, errors=errors, at=item.event.received_at)
    return applied, replied
