"""The workspace's frequency cap (docs/audiences.md §6): at most `messages` messages of one
template category per phone number per rolling `per_hours`, across the workspace's campaigns.

The sender decides once, when it starts, whether a cap applies to its campaign's template
category (`cap_for`); only then does the claim run one more statement per batch
(`skip_capped`), in the claim's transaction: a claimed recipient whose number already got
`messages` messages of that category from the workspace within the window is marked
`skipped` (`frequency_capped`), its attempt not counted, never sent. The count reads sent
recipients by phone (the partial index `recipient_phone_idx`, WHERE sent_at IS NOT NULL) and
stops at `messages` rows per number. The workspace's owner sets the cap
(`accounts.services.workspace_frequency_cap_set`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from templates_app.models import MessageTemplate

from ..models import Campaign, Recipient
from ..tracking.counters import counters_apply

SKIP_REASON = "frequency_capped"
TABLE = Recipient._meta.db_table


@dataclass(frozen=True, slots=True)
class Cap:
    messages: int
    hours: int
    category: str  # MessageTemplate.Category, e.g. "MARKETING"
    workspace_id: object


def cap_for(campaign: Campaign) -> Cap | None:
    """The cap on the campaign's template category, or None (no statement at the claim)."""
    category = campaign.template.category or ""
    rule = (campaign.workspace.frequency_cap or {}).get(category.lower())
    if not isinstance(rule, dict) or not rule.get("messages") or not rule.get("per_hours"):
        return None
    return Cap(
        messages=int(rule["messages"]),
        hours=int(rule["per_hours"]),
        category=category,
        workspace_id=campaign.workspace_id,
    )


def _db(value):
    return value if connection.vendor == "postgresql" else value.hex


def skip_capped(c, *, campaign_id, rows: list[tuple], cap: Cap) -> list[tuple]:
    """Mark the claimed rows (id first) whose number reached the cap as skipped; one
    statement for the batch, counters moved in the caller's transaction. Returns the rest."""
    ids = [r[0] for r in rows]
    since = timezone.now() - timedelta(hours=cap.hours)
    c.execute(
        f"""UPDATE {TABLE} SET status = 'skipped', skip_reason = %s,
                claimed_at = NULL, claimed_by = '', attempts = attempts - 1
            WHERE id IN ({", ".join(["%s"] * len(ids))}) AND status = 'sending'
              AND (SELECT COUNT(*) FROM (
                    SELECT 1 FROM {TABLE} s
                    JOIN {Campaign._meta.db_table} k ON k.id = s.campaign_id
                    JOIN {MessageTemplate._meta.db_table} t ON t.id = k.template_id
                    WHERE s.phone = {TABLE}.phone AND s.sent_at IS NOT NULL
                      AND s.sent_at >= %s AND k.workspace_id = %s AND t.category = %s
                    LIMIT %s) AS earlier) >= %s
            RETURNING id""",
        [
            SKIP_REASON,
            *ids,
            since,
            _db(cap.workspace_id),
            cap.category,
            cap.messages,
            cap.messages,
        ],
    )
    skipped = {r[0] for r in c.fetchall()}
    if not skipped:
        return rows
    counters_apply(
        campaign_id=campaign_id,
        deltas={Recipient.Status.SENDING: -len(skipped), Recipient.Status.SKIPPED: len(skipped)},
    )
    return [r for r in rows if r[0] not in skipped]
