"""The engine's database work: claim batches, record outcomes, release and recover claims.

Every function is a few set-based statements per batch — never per message — and adjusts
the campaign counters in the same transaction as the recipients.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from whatsapp.errors import OPT_OUT_CODES
from whatsapp.models import WhatsAppAccount

from ..audiences.timeline import contacts_mark_messaged
from ..models import Campaign, OptOut, Recipient
from ..tracking.counters import counters_apply
from ..tracking.timeline import Deltas, add_events, timeline_apply
from .batch_update import TABLE, update_each, update_each_returning

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Outcome:
    """What happened to one claimed recipient."""

    id: int
    status: str  # sent | failed | pending (retry / release) | unknown
    wamid: str | None = None
    message_status: str = ""
    error_code: int | None = None
    error_title: str = ""
    error_details: str = ""
    error_retryable: bool | None = None
    next_attempt_at: object = None
    released: bool = False  # never left: the claim is undone without counting an attempt
    send_path: str = ""  # the endpoint the request went to (engine/paths.py); "" keeps the row's


# An outcome's endpoint, inside the batch's own UPDATE; one without one keeps the row's.
PATH = "send_path = COALESCE(NULLIF(v.path, ''), send_path)"


def _uuid(value):
    return value if connection.vendor == "postgresql" else value.hex


def record_outcomes(
    *, campaign_id, outcomes: list[Outcome], worker: str | None = None, contacts: bool = False
) -> list[str]:
    """Write a batch of outcomes; returns the wamids recorded (for pending webhook statuses).

    Only rows still `sending` (or `unknown`, for a send recovered too early) change state: a
    status webhook that arrived first has already moved the row further, and is kept. With
    `worker`, a `sending` row changes only while that worker's claim holds it: a sender that
    froze past its lease must not undo the claim of the sender that took its rows over.
    `contacts` (a campaign with an audience): the sent rows' contacts get `last_messaged_at`.
    """
    if not outcomes:
        return []
    # Each statement's rows carry the worker (`v.who`) when the claim is checked.
    who = (worker,) if worker is not None else ()
    who_column = (("who", "text"),) if worker is not None else ()
    mine = " AND claimed_by = v.who" if worker is not None else ""
    now = timezone.now()
    deltas: dict[str, int] = {}
    timeline = Deltas()

    def move(from_state: str, to_state: str, n: int):
        if n:
            deltas[from_state] = deltas.get(from_state, 0) - n
            deltas[to_state] = deltas.get(to_state, 0) + n

    sent = [o for o in outcomes if o.status == Recipient.Status.SENT]
    failed = [o for o in outcomes if o.status == Recipient.Status.FAILED]
    retry = [o for o in outcomes if o.status == Recipient.Status.PENDING and not o.released]
    released = [o for o in outcomes if o.released]
    unknown = [o for o in outcomes if o.status == Recipient.Status.UNKNOWN]
    with transaction.atomic(), connection.cursor() as c:
        if sent:
            rows = [(o.id, o.wamid, o.message_status, now, o.send_path, *who) for o in sent]
            columns = (
                ("id", "bigint"),
                ("wid", "text"),
                ("mstatus", "text"),
                ("ts", "timestamptz"),
                ("path", "text"),
                *who_column,
            )
            for from_state in (Recipient.Status.SENDING, Recipient.Status.UNKNOWN):
                claim = mine if from_state == Recipient.Status.SENDING else ""
                n, first_sends = _mark_sent(
                    c, from_state=from_state, columns=columns, rows=rows, claim=claim
                )
                move(from_state, Recipient.Status.SENT, n)
                add_events(timeline, campaign_id, "sent", now, first_sends)
                if from_state == Recipient.Status.SENDING and n == len(rows):
                    break  # the usual case: every row was still sending, all are done
            else:
                # Rows a webhook already advanced still need their wamid.
                update_each(
                    c,
                    set_sql=f"wamid = v.wid, message_status = v.mstatus, claimed_at = NULL, {PATH}",
                    where_sql="wamid IS NULL",
                    columns=columns,
                    rows=rows,
                )
            if contacts:
                contacts_mark_messaged(c, recipient_ids=[o.id for o in sent], at=now)
        if failed:
            n = update_each(
                c,
                set_sql="""status = 'failed', failed_at = v.ts, error_code = v.code,
                    error_title = v.title, error_details = v.details, error_retryable = v.retry,
                    next_attempt_at = v.later, claimed_at = NULL, """
                + PATH,
                where_sql="status = 'sending'" + mine,
                columns=(
                    ("id", "bigint"),
                    ("ts", "timestamptz"),
                    ("code", "integer"),
                    ("title", "text"),
                    ("details", "text"),
                    ("retry", "boolean"),
                    ("later", "timestamptz"),
                    ("path", "text"),
                    *who_column,
                ),
                rows=[
                    (
                        o.id,
                        now,
                        o.error_code,
                        o.error_title[:255],
                        o.error_details,
                        o.error_retryable,
                        o.next_attempt_at,
                        o.send_path,
                        *who,
                    )
                    for o in failed
                ],
            )
            move(Recipient.Status.SENDING, Recipient.Status.FAILED, n)
            # A row being sent has no failure time (retry-failed and a delivery clear it).
            add_events(timeline, campaign_id, "failed", now, n)
            _opt_out(campaign_id, [o.id for o in failed if o.error_code in OPT_OUT_CODES])
        if retry:
            n = update_each(
                c,
                set_sql="""status = 'pending', next_attempt_at = v.later, error_code = v.code,
                    error_title = v.title, error_details = v.details, claimed_at = NULL""",
                where_sql="status = 'sending'" + mine,
                columns=(
                    ("id", "bigint"),
                    ("later", "timestamptz"),
                    ("code", "integer"),
                    ("title", "text"),
                    ("details", "text"),
                    *who_column,
                ),
                rows=[
                    (
                        o.id,
                        o.next_attempt_at,
                        o.error_code,
                        o.error_title[:255],
                        o.error_details,
                        *who,
                    )
                    for o in retry
                ],
            )
            move(Recipient.Status.SENDING, Recipient.Status.PENDING, n)
        if released:
            n = update_each(
                c,
                set_sql="""status = 'pending', attempts = attempts - 1, claimed_at = NULL,
                    next_attempt_at = v.later""",
                where_sql="status = 'sending' AND attempts > 0" + mine,
                columns=(("id", "bigint"), ("later", "timestamptz"), *who_column),
                rows=[(o.id, o.next_attempt_at, *who) for o in released],
            )
            move(Recipient.Status.SENDING, Recipient.Status.PENDING, n)
        if unknown:
            n = update_each(
                c,
                set_sql="""status = 'unknown', error_title = v.title, error_details = v.details,
                    claimed_at = NULL, """
                + PATH,
                where_sql="status = 'sending'" + mine,
                columns=(
                    ("id", "bigint"),
                    ("title", "text"),
                    ("details", "text"),
                    ("path", "text"),
                    *who_column,
                ),
                rows=[
                    (o.id, o.error_title[:255], o.error_details, o.send_path, *who) for o in unknown
                ],
            )
            move(Recipient.Status.SENDING, Recipient.Status.UNKNOWN, n)
        counters_apply(campaign_id=campaign_id, deltas=deltas)
        timeline_apply(timeline)
    return [o.wamid for o in sent if o.wamid]


def _mark_sent(c, *, from_state: str, columns, rows: list[tuple], claim: str) -> tuple[int, int]:
    """Rows still in `from_state` become sent; returns how many, and how many of them had
    no send time before (a retried recipient keeps its first one): the timeline's sends."""
    set_sql = f"""status = 'sent', wamid = v.wid, message_status = v.mstatus,
        sent_at = COALESCE(sent_at, v.ts), claimed_at = NULL, {PATH}"""
    where_sql = f"status = '{from_state}'" + claim
    if connection.vendor == "postgresql":
        # The new sent_at is this batch's time exactly when the row had none.
        firsts = update_each_returning(
            c,
            set_sql=set_sql,
            where_sql=where_sql,
            columns=columns,
            rows=rows,
            returning="sent_at = v.ts",
        )
        return len(firsts), sum(1 for (first,) in firsts if first)
    ids = [row[0] for row in rows]
    # The claim's worker is the same on every row: a parameter here, not a column.
    worker = [rows[0][-1]] if claim else []
    c.execute(
        f"SELECT COUNT(*) FROM {TABLE} WHERE id IN ({', '.join(['%s'] * len(ids))}) "
        f"AND {where_sql.replace('v.who', '%s')} AND sent_at IS NULL",
        [*ids, *worker],
    )
    first_sends = c.fetchone()[0]
    return update_each(c, set_sql=set_sql, where_sql=where_sql, columns=columns, rows=rows), (
        first_sends
    )


def lease_seconds() -> int:
    return settings.ENGINE_LEASE_SECONDS


def expired_claims(*, campaign_id=None, limit: int = 5000) -> list[tuple]:
    """(id, campaign_id, claimed_by) of rows in `sending` whose lease ran out."""
    cutoff = timezone.now() - timedelta(seconds=lease_seconds())
    qs = Recipient.objects.filter(status=Recipient.Status.SENDING, claimed_at__lt=cutoff)
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    return list(qs.values_list("id", "campaign_id", "claimed_by")[:limit])


def recover_claims(*, campaign_id, maybe_sent: set[int], never_sent: set[int]) -> set[int]:
    """Expired claims: rows whose request may have left become `unknown` (never re-sent
    automatically); rows that never left go back to `pending`. Returns the ids recovered."""
    cutoff = timezone.now() - timedelta(seconds=lease_seconds())
    with transaction.atomic():
        # A frozen worker may still hold some of these rows in an open transaction (SIGSTOP
        # inside record_outcomes): waiting for it would block every sweep behind it. Rows
        # locked elsewhere are left for the next sweep; PostgreSQL ends the frozen client's
        # idle transaction (DB_IDLE_IN_TRANSACTION_TIMEOUT) and frees them.
        free = set(
            Recipient.objects.select_for_update(skip_locked=True)
            .filter(
                id__in=maybe_sent | never_sent,
                status=Recipient.Status.SENDING,
                claimed_at__lt=cutoff,
            )
            .values_list("id", flat=True)
        )
        # Locked and checked above: nothing else can change these rows before the commit.
        unknown = Recipient.objects.filter(id__in=maybe_sent & free).update(
            status=Recipient.Status.UNKNOWN,
            claimed_at=None,
            error_title="Outcome unknown",
            error_details="The worker stopped after sending; the status webhook will tell.",
        )
        # Never left: the claim's attempt is not counted (it would spend a retry budget).
        pending = Recipient.objects.filter(id__in=never_sent & free).update(
            status=Recipient.Status.PENDING,
            claimed_at=None,
            attempts=Greatest(F("attempts") - 1, Value(0)),
        )
        counters_apply(
            campaign_id=campaign_id,
            deltas={
                Recipient.Status.SENDING: -(unknown + pending),
                Recipient.Status.UNKNOWN: unknown,
                Recipient.Status.PENDING: pending,
            },
        )
    if unknown or pending:
        logger.warning(
            "recovered expired claims",
            extra={"campaign_id": str(campaign_id), "unknown": unknown, "requeued": pending},
        )
    return free


def _opt_out(campaign_id, recipient_ids: list[int]) -> None:
    """A send Meta refused because the person stopped marketing messages (131050): the
    number joins the workspace's opt-out list, as the same error on a status webhook does."""
    if not recipient_ids:
        return
    rows = Recipient.objects.filter(id__in=recipient_ids).values_list(
        "campaign__workspace_id", "phone"
    )
    OptOut.objects.bulk_create(
        [
            OptOut(
                workspace_id=workspace_id,
                phone=phone,
                source=OptOut.Source.ERROR,
                detail="Meta refused a send with error 131050: the user stopped marketing "
                "messages.",
            )
            for workspace_id, phone in rows
        ],
        ignore_conflicts=True,
    )


def optouts_since_start(*, campaign_id) -> tuple[int, int]:
    """(people this campaign reached who opted out after their message, people reached):
    the breaker's opt-out evidence. Walks the workspace's opt-outs since the campaign
    started, each looked up by the (campaign, phone) unique index; called every few seconds,
    and only when the campaign sets an opt-out limit."""
    campaign = (
        Campaign.objects.filter(pk=campaign_id)
        .values("workspace_id", "started_at", "sent_count", "delivered_count", "read_count")
        .first()
    )
    if campaign is None or campaign["started_at"] is None:
        return 0, 0
    recent = OptOut.objects.filter(
        workspace_id=campaign["workspace_id"], opted_out_at__gte=campaign["started_at"]
    ).values("phone")
    opted_out = Recipient.objects.filter(
        campaign_id=campaign_id, phone__in=recent, sent_at__isnull=False
    ).count()
    reached = campaign["sent_count"] + campaign["delivered_count"] + campaign["read_count"]
    return opted_out, reached


def remaining(*, campaign_id) -> dict:
    """What is left to do: due pending, later pending (backoff), and in-flight rows."""
    now = timezone.now()
    base = Recipient.objects.filter(campaign_id=campaign_id)
    pending = base.filter(status=Recipient.Status.PENDING)
    return {
        "due": pending.filter(next_attempt_at__isnull=True).exists()
        or pending.filter(next_attempt_at__lte=now).exists(),
        "later": pending.filter(next_attempt_at__gt=now)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first(),
        "sending": base.filter(status=Recipient.Status.SENDING).exists(),
    }


def account_limits(*, account_id) -> tuple[int, int | None]:
    """The number's throughput (msg/s) and the portfolio's daily unique-user limit (None:
    unlimited), as the account has them now (Meta's webhooks update them: whatsapp.health)."""
    account = WhatsAppAccount.objects.only("throughput", "messaging_limit_tier").get(pk=account_id)
    return account.throughput, account.daily_unique_limit
