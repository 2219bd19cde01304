"""The workspace's frequency cap (docs/audiences.md §6): at most `messages` messages of one
template category per phone number per rolling `per_hours`, across the workspace's campaigns.

The sender decides once, when it starts, whether a cap applies to its campaign's template
category (`cap_for`); only then does the claim run one more statement per batch (its skip
statement with `capped_condition`), in the claim's transaction: a claimed recipient whose
number already got `messages` messages of that category from the workspace within the
window is marked `skipped` (`frequency_capped`), its attempt not counted, never sent.

A message counts once it is claimed: the count reads sent recipients in the window and those
in flight (`sending`: claimed by any campaign's sender, not yet recorded), by phone (the
partial index `recipient_phone_idx`, WHERE sent_at IS NOT NULL OR status = 'sending'), and
stops at `messages` rows per number. The claims of capped campaigns of one workspace and
category take a transaction-level advisory lock (`cap_lock`) first, so two campaigns
claiming the same number at the same instant are serialised: the second sees the first's
claim. The workspace's owner sets the cap (`accounts.services.workspace_frequency_cap_set`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from templates_app.models import MessageTemplate

from ..models import Campaign, Recipient

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


def cap_lock(c, cap: Cap) -> None:
    """Serialise the claims that count against `cap` (one workspace, one category) until
    the claim's transaction ends; SQLite's single writer serialises them already."""
    if connection.vendor == "postgresql":
        c.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"frequency-cap:{cap.workspace_id}:{cap.category}"],
        )


def capped_condition(cap: Cap) -> tuple[str, list]:
    """The claim's condition (campaigns/engine/claims.py `_skip`) for a claimed row whose
    number already got `cap.messages` messages of the category from the workspace within
    the window, or has them in flight (claimed elsewhere, not yet recorded): counted by
    phone, stopping at `messages` rows."""
    since = timezone.now() - timedelta(hours=cap.hours)
    return (
        f"""AND (SELECT COUNT(*) FROM (
                    SELECT 1 FROM {TABLE} s
                    JOIN {Campaign._meta.db_table} k ON k.id = s.campaign_id
                    JOIN {MessageTemplate._meta.db_table} t ON t.id = k.template_id
                    WHERE s.phone = {TABLE}.phone
                      AND (s.sent_at >= %s OR (s.status = 'sending' AND s.id <> {TABLE}.id))
                      AND k.workspace_id = %s AND t.category = %s
                    LIMIT %s) AS earlier) >= %s""",
        [since, _db(cap.workspace_id), cap.category, cap.messages, cap.messages],
    )
