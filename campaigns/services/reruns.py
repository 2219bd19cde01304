"""Rerun (a new draft from an old campaign's recipients) and retry-failed (in place)."""

from django.db import connection, transaction
from django.db.models import Q

from config.sql import execute, is_postgres

from ..models import Campaign, CampaignNumber, OptOut, Recipient
from ..tracking.counters import counters_apply
from ..tracking.timeline import Deltas, add_events, timeline_apply
from .campaigns import CampaignError, _check_member
from .lifecycle import InvalidTransition, campaign_transition
from .sending import senders_start

SEGMENTS = {
    "all": Q(),
    "failed": Q(status=Recipient.Status.FAILED),
    "failed_retryable": Q(status=Recipient.Status.FAILED, error_retryable=True),
    "unknown": Q(status=Recipient.Status.UNKNOWN),
    "delivered_not_read": Q(status=Recipient.Status.DELIVERED),
    # Clicked a link of the message (docs/clicks.md), whatever its status.
    "clicked": Q(clicked_at__isnull=False),
    # Delivered or read, and never clicked.
    "not_clicked": Q(
        status__in=[Recipient.Status.DELIVERED, Recipient.Status.READ], clicked_at__isnull=True
    ),
}


@transaction.atomic
def campaign_rerun(
    *, user, campaign: Campaign, segment: str = "all", name: str | None = None
) -> Campaign:
    """A new draft with the chosen recipients of `campaign` and each row's original values.

    Numbers that opted out since are left out."""
    _check_member(user, campaign.workspace_id)
    if segment not in SEGMENTS:
        raise CampaignError(f"segment must be one of {', '.join(SEGMENTS)}.", field="segment")
    rerun = Campaign.objects.create(
        workspace_id=campaign.workspace_id,
        account_id=campaign.account_id,
        template_id=campaign.template_id,
        name=(name or f"{campaign.name} (rerun)")[:200],
        worker_count=campaign.worker_count,
        rate_limit=campaign.rate_limit,
        marketing_policy=campaign.marketing_policy,
        message_activity_sharing=campaign.message_activity_sharing,
        rerun_of=campaign,
        created_by=user,
    )
    CampaignNumber.objects.bulk_create(  # the same numbers as the campaign it reruns
        CampaignNumber(campaign=rerun, account_id=a)
        for a in campaign.pool.values_list("account_id", flat=True)
    )
    source = (
        Recipient.objects.filter(campaign=campaign)
        .filter(SEGMENTS[segment])
        .exclude(
            phone__in=OptOut.objects.filter(workspace_id=campaign.workspace_id).values("phone")
        )
    )
    sql, params = (
        source.order_by("id").values_list("phone", "values", "source_line").query.sql_with_params()
    )
    table = Recipient._meta.db_table
    target = rerun.pk if connection.vendor == "postgresql" else rerun.pk.hex
    with connection.cursor() as c:
        c.execute(
            f'INSERT INTO {table} (campaign_id, phone, "values", source_line, status, '
            "skip_reason, attempts, claimed_by, message_status, error_title, error_details, "
            f"pricing_category) SELECT %s, s.phone, s.\"values\", s.source_line, 'pending', '', "
            f"0, '', '', '', '', '' FROM ({sql}) s",
            [target, *params],
        )
        copied = c.rowcount
    counters_apply(campaign_id=rerun.pk, deltas={Recipient.Status.PENDING: copied}, total=copied)
    rerun.refresh_from_db()
    return rerun


@transaction.atomic
def campaign_retry_failed(*, user, campaign: Campaign) -> int:
    """Re-queue, in place, the failed recipients whose error can succeed on retry. A deferral
    (e.g. 131049's 24 h) is kept: they are not sent before it ends. Returns how many."""
    _check_member(user, campaign.workspace_id)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (
        Campaign.Status.RUNNING,
        Campaign.Status.PAUSED,
        Campaign.Status.COMPLETED,
    ):
        raise InvalidTransition(f"cannot retry a {campaign.status} campaign")
    failed_times = _requeue_retryable(campaign.pk)
    count = len(failed_times)
    if not count:
        return 0
    timeline = Deltas()  # their failure times leave the timeline
    for failed_at in failed_times:
        if failed_at is not None:
            add_events(timeline, campaign.pk, "failed", failed_at, -1)
    counters_apply(
        campaign_id=campaign.pk,
        deltas={Recipient.Status.FAILED: -count, Recipient.Status.PENDING: count},
    )
    timeline_apply(timeline)
    if campaign.status == Campaign.Status.COMPLETED:
        campaign_transition(
            campaign=campaign, to=Campaign.Status.RUNNING, allowed_from={Campaign.Status.COMPLETED}
        )
        transaction.on_commit(lambda: senders_start(campaign.pk))
    elif campaign.status == Campaign.Status.RUNNING:
        transaction.on_commit(lambda: senders_start(campaign.pk))
    return count


def _requeue_retryable(campaign_id) -> list:
    """Move the campaign's retryable failed recipients back to pending; the failure time each
    had. PostgreSQL: one statement, reading each row's time under the row's lock (a webhook
    may be moving the same rows)."""
    if is_postgres():
        table = connection.ops.quote_name(Recipient._meta.db_table)
        rows = execute(
            f"""UPDATE {table} AS r SET status = 'pending', failed_at = NULL, attempts = 0
                FROM (SELECT id, failed_at FROM {table}
                      WHERE campaign_id = %b AND status = 'failed' AND error_retryable
                      ORDER BY id FOR UPDATE) AS old
                WHERE r.id = old.id
                RETURNING old.failed_at""",
            [campaign_id],
        )
        return [row[0] for row in rows]
    retried = Recipient.objects.filter(
        campaign_id=campaign_id, status=Recipient.Status.FAILED, error_retryable=True
    )
    times = list(retried.values_list("failed_at", flat=True))
    retried.update(status=Recipient.Status.PENDING, failed_at=None, attempts=0)
    return times
