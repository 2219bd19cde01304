"""Creating, editing and deleting campaigns (sending lives in the engine's services)."""

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from config.errors import PermissionDenied
from templates_app.models import MessageTemplate
from templates_app.services import TemplateNotSendable, template_require_sendable
from whatsapp.models import WhatsAppAccount

from ..audiences.mapping import campaign_audience_set
from ..engine.breaker import BreakerSettings
from ..importing.pipeline import campaign_variables, recipients_import
from ..importing.readers import read_json
from ..models import Campaign, ImportReport
from ..models_numbers import numbers_count
from .errors import CampaignError
from .lifecycle import InvalidTransition
from .numbers import campaign_pool_check, campaign_pool_store, campaign_rate_check

EDITABLE = {Campaign.Status.DRAFT, Campaign.Status.SCHEDULED}
MARKETING_FIELDS = ("marketing_policy", "message_activity_sharing")
# The breaker's thresholds can also change while paused: the operator tunes them, then resumes.
BREAKER_EDITABLE = EDITABLE | {Campaign.Status.PAUSED}


def _clean_breaker(breaker) -> dict:
    try:
        return BreakerSettings.clean(breaker)
    except ValueError as exc:
        raise CampaignError(str(exc), field="breaker") from exc


def _check_member(user, workspace_id) -> None:
    if not Membership.objects.filter(user=user, workspace_id=workspace_id).exists():
        raise PermissionDenied("not a member of this workspace")


def _check_marketing_policy(policy) -> None:
    if policy is not None and policy not in Campaign.MarketingPolicy.values:
        raise CampaignError(
            f"marketing_policy must be one of {', '.join(Campaign.MarketingPolicy.values)}.",
            field="marketing_policy",
        )


def _check_template(template: MessageTemplate, account: WhatsAppAccount | None):
    try:
        template_require_sendable(template)
    except TemplateNotSendable as exc:
        raise CampaignError(str(exc), field="template_id") from exc
    if account is not None and account.pk != template.account_id:
        raise CampaignError(
            "The template belongs to another WhatsApp account than the one chosen.",
            field="account",
        )


def _offer_expiry(when):
    if timezone.is_naive(when):
        raise CampaignError(
            "offer_expires_at needs a time zone (e.g. 2026-12-31T23:59:00+01:00).",
            field="offer_expires_at",
        )
    if when <= timezone.now():
        raise CampaignError(
            f"offer_expires_at {when.isoformat()} is in the past.", field="offer_expires_at"
        )
    return when


@transaction.atomic
def campaign_create(
    *,
    user,
    name: str,
    template: MessageTemplate,
    account: WhatsAppAccount | None = None,
    recipients: list | None = None,
    worker_count: int | None = None,
    rate_limit: int | None = None,
    breaker: dict | None = None,
    marketing_policy: str | None = None,
    message_activity_sharing: bool | None = None,
    offer_expires_at=None,
    audience: dict | None = None,
    mapping: dict | None = None,
    numbers: list | None = None,
) -> tuple[Campaign, ImportReport | None]:
    """A draft campaign for `template`, optionally with recipients from a JSON list.

    A list that cannot be read at all refuses the whole campaign; rows that fail validation
    are reported and the rest imported.
    """
    _check_member(user, template.workspace_id)
    _check_template(template, account)
    _check_marketing_policy(marketing_policy)
    campaign = Campaign(
        workspace_id=template.workspace_id,
        account_id=template.account_id,
        template=template,
        name=name.strip(),
        created_by=user,
    )
    if worker_count is not None:
        campaign.worker_count = worker_count
    if rate_limit is not None:
        campaign.rate_limit = rate_limit
    if breaker is not None:
        campaign.breaker = {k: v for k, v in _clean_breaker(breaker).items() if v is not None}
    # Used only on the Marketing Messages API path (campaigns/engine/paths.py).
    if marketing_policy is not None:
        campaign.marketing_policy = marketing_policy
    if message_activity_sharing is not None:
        campaign.message_activity_sharing = message_activity_sharing
    if offer_expires_at is not None:
        campaign.offer_expires_at = _offer_expiry(offer_expires_at)
    # Sent to when the campaign is sent (docs/audiences.md §5); checked with the template.
    campaign_audience_set(
        campaign=campaign,
        variables=campaign_variables(campaign),
        audience=audience,
        mapping=mapping,
    )
    # More numbers to send from (services/numbers.py): the rate is bounded by how many.
    pool = campaign_pool_check(campaign=campaign, numbers=numbers or [])
    campaign_rate_check(rate_limit=campaign.rate_limit, count=1 + len(pool))
    campaign.save()
    campaign_pool_store(campaign=campaign, pool=pool)
    report = None
    if recipients is not None:
        report = ImportReport.objects.create(campaign=campaign, created_by=user, source="json")
        recipients_import(campaign=campaign, source=read_json(recipients), report=report)
    return campaign, report


@transaction.atomic
def campaign_update(*, user, campaign: Campaign, **fields) -> Campaign:
    """Edit a draft or scheduled campaign: name, template (only while it has no recipients),
    worker_count, rate_limit, marketing_policy, message_activity_sharing; and the breaker's
    thresholds and the numbers it sends from, also while paused (a number Meta restricted is
    taken out of the pool, then the campaign resumed)."""
    _check_member(user, campaign.workspace_id)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    breaker = fields.pop("breaker", None)
    offer_given, offer = "offer_expires_at" in fields, fields.pop("offer_expires_at", None)
    audience, mapping = fields.pop("audience", None), fields.pop("mapping", None)
    numbers = fields.pop("numbers", None)
    editing = [k for k, v in fields.items() if v is not None] + (["offer"] if offer_given else [])
    editing += ["audience"] if audience is not None or mapping is not None else []
    if campaign.status not in EDITABLE and (editing or campaign.status not in BREAKER_EDITABLE):
        raise InvalidTransition(f"cannot edit a {campaign.status} campaign")
    _check_marketing_policy(fields.get("marketing_policy"))
    if breaker is not None:
        # Merged into the campaign's own overrides; a null removes one (back to the default).
        merged = {**campaign.breaker, **_clean_breaker(breaker)}
        campaign.breaker = {k: v for k, v in merged.items() if v is not None}
    template = fields.pop("template", None)
    if template is not None and template.pk != campaign.template_id:
        if template.workspace_id != campaign.workspace_id:
            raise CampaignError("Unknown template.", field="template_id")
        if campaign.total_recipients:
            raise CampaignError(
                "The template cannot change once recipients are imported (their columns "
                "were checked against it); create a new campaign instead.",
                field="template_id",
            )
        _check_template(template, None)
        campaign.template, campaign.account_id = template, template.account_id
    if offer_given:
        if offer is None and campaign.offer_expires_at is not None and campaign.total_recipients:
            raise CampaignError(
                "The offer's end cannot be cleared once recipients are imported: rows without "
                "their own offer_expiration_time rely on it. Change it instead.",
                field="offer_expires_at",
            )
        campaign.offer_expires_at = None if offer is None else _offer_expiry(offer)
    if audience is not None or mapping is not None or (template is not None and campaign.mapping):
        if campaign.audience_resolved_at is not None and audience is not None:
            raise CampaignError(
                "The audience was resolved into recipients already.", field="audience"
            )
        campaign_audience_set(
            campaign=campaign,
            variables=campaign_variables(campaign),
            audience=audience,
            mapping=campaign.mapping if mapping is None else mapping,
        )
    for key in ("name", "worker_count", "rate_limit", *MARKETING_FIELDS):
        if key in fields and fields[key] is not None:
            setattr(campaign, key, fields[key].strip() if key == "name" else fields[key])
    if numbers is None and template is not None:  # the pool must fit the new account's WABA
        numbers = list(campaign.pool.values_list("account_id", flat=True))
    if numbers is not None:
        pool = campaign_pool_check(campaign=campaign, numbers=numbers)
        campaign_pool_store(campaign=campaign, pool=pool)
    count = numbers_count(campaign.pk) if numbers is None else 1 + len(pool)
    campaign_rate_check(rate_limit=campaign.rate_limit, count=count)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_delete(*, user, campaign: Campaign) -> None:
    _check_member(user, campaign.workspace_id)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status == Campaign.Status.RUNNING:
        raise InvalidTransition("cannot delete a running campaign: pause or stop it first")
    campaign.delete()
