"""send-bulk: create a campaign from a template and a JSON list of recipients and start it,
in one call (the seed API's `POST /api/v1/send-bulk/`)."""

from django.db import transaction

from templates_app.models import MessageTemplate

from ..models import Campaign, ImportReport
from .campaigns import campaign_create
from .sending import campaign_send


@transaction.atomic
def campaign_send_bulk(
    *,
    user,
    name: str,
    template: MessageTemplate,
    recipients: list,
    worker_count: int | None = None,
    rate_limit: int | None = None,
    send_at=None,
    **settings,
) -> tuple[Campaign, ImportReport]:
    """`campaign_create` then `campaign_send`, with their checks, in one transaction: when
    the campaign cannot start (no valid recipient, the account needs attention, a `send_at`
    in the past) the refusal is raised and nothing is left behind, not even a draft.
    `settings`: campaign_create's other settings (breaker, marketing_policy,
    message_activity_sharing, offer_expires_at, numbers)."""
    campaign, report = campaign_create(
        user=user,
        name=name,
        template=template,
        recipients=recipients,
        worker_count=worker_count,
        rate_limit=rate_limit,
        **settings,
    )
    assert report is not None  # recipients were given, so they were imported
    campaign = campaign_send(user=user, campaign=campaign, send_at=send_at)
    return campaign, report
