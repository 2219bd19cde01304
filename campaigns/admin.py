"""Admin for campaigns and what hangs off them. The lifecycle actions call the services the
API calls, in their staff variants (no workspace membership needed)."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import WorkspaceAdmin
from accounts.models import Workspace
from config.web import reported_to_admin

from . import admin_recipients  # noqa: F401 (registers the recipients' admin)
from .engine.breaker import BreakerSettings
from .models import (
    Campaign,
    CampaignNumber,
    Click,
    ImportRejection,
    ImportReport,
    OptOut,
    PendingStatus,
)
from .models_numbers import MAX_NUMBERS
from .selectors import campaign_funnel
from .services.campaigns import BREAKER_EDITABLE
from .services.errors import CampaignError
from .services.numbers import campaign_pool_check, campaign_rate_check
from .services.sending import (
    campaign_pause_by_staff,
    campaign_resume_by_staff,
    campaign_stop_by_staff,
)
from .tracking.counters import campaign_recount


def _apply(modeladmin, request, queryset, fn, verb):
    done = 0
    for campaign in queryset:
        with reported_to_admin(modeladmin, request, about=campaign.name):
            fn(campaign)
            done += 1
    if done:
        modeladmin.message_user(request, f"{verb} {done} campaign(s).")


@admin.action(description="Pause the selected campaigns")
def pause_campaigns(modeladmin, request, queryset):
    reason = f"Paused by {request.user.get_username()} in the admin."
    _apply(
        modeladmin,
        request,
        queryset,
        lambda c: campaign_pause_by_staff(campaign=c, reason=reason),
        "Paused",
    )


@admin.action(description="Stop the selected campaigns (for good)")
def stop_campaigns(modeladmin, request, queryset):
    reason = f"Stopped by {request.user.get_username()} in the admin."
    _apply(
        modeladmin,
        request,
        queryset,
        lambda c: campaign_stop_by_staff(campaign=c, reason=reason),
        "Stopped",
    )


@admin.action(description="Resume the selected paused campaigns")
def resume_campaigns(modeladmin, request, queryset):
    # The same checks as the API and the dashboard (template sendable, account active).
    _apply(
        modeladmin,
        request,
        queryset,
        lambda c: campaign_resume_by_staff(campaign=c),
        "Resumed",
    )


@admin.action(description="Recount the counters from the recipients")
def recount_campaigns(modeladmin, request, queryset):
    pks = list(queryset.values_list("pk", flat=True))
    changed = 0
    for pk in pks:
        try:
            changed += bool(campaign_recount(campaign_id=pk))
        except Campaign.DoesNotExist:  # deleted meanwhile
            continue
    modeladmin.message_user(
        request, f"Recounted {len(pks)} campaign(s): {changed} had wrong counters, now fixed."
    )


def _figure(key: str):
    """A read-only column showing one of the dashboard's figures (`campaign_funnel`: sent,
    delivered and read are funnel figures, as in the API and on the campaign page)."""

    @admin.display(description=key)
    def show(self, obj):
        return campaign_funnel(obj)["counts"][key]

    show.__name__ = f"figure_{key}"
    return show


FIGURES = [
    "total",
    "pending",
    "sending",
    "sent",
    "delivered",
    "read",
    "failed",
    "skipped",
    "unknown",
    "replied",
]
FIGURE_FIELDS = [f"figure_{key}" for key in FIGURES]


class CampaignNumberFormSet(forms.BaseInlineFormSet):
    """The pool as the services check it (services/numbers.py): the workspace's numbers on
    the template's WABA, at most MAX_NUMBERS in all, and a rate they can send at."""

    def clean(self):
        super().clean()
        campaign = self.instance
        if not campaign.account_id or any(form.errors for form in self.forms):
            return  # the campaign's own form, or a row, says what is wrong first
        if campaign.pk and campaign.status not in BREAKER_EDITABLE:
            return  # shown read-only: nothing of it is posted, nothing to check
        chosen = [
            form.cleaned_data["account"].pk
            for form in self.forms
            if form.cleaned_data.get("account") and not form.cleaned_data.get("DELETE")
        ]
        if campaign.account_id in chosen:  # the service would drop it; a row would double it
            raise forms.ValidationError(
                f"{campaign.account} is the campaign's own number: it always sends."
            )
        try:
            pool = campaign_pool_check(campaign=campaign, numbers=chosen)
            campaign_rate_check(rate_limit=campaign.rate_limit, count=1 + len(pool))
        except CampaignError as exc:
            raise forms.ValidationError(exc.message) from exc


class CampaignNumberInline(admin.TabularInline):
    """The numbers a campaign also sends from; changed, like in the API, only while draft,
    scheduled or paused (a running campaign's senders are per number)."""

    model = CampaignNumber
    formset = CampaignNumberFormSet
    extra = 0
    max_num = MAX_NUMBERS - 1  # its own account is the tenth
    autocomplete_fields = ["account"]
    verbose_name = "number it also sends from"
    verbose_name_plural = "Also sends from (the template's number always does)"

    def _editable(self, obj) -> bool:
        return obj is None or obj.status in BREAKER_EDITABLE

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "workspace",
        "status",
        "figure_total",
        "figure_sent",
        "figure_delivered",
        "figure_read",
        "figure_failed",
        "rate_limit",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["workspace"]
    search_fields = ["name", "id"]
    raw_id_fields = ["workspace", "account", "template", "rerun_of", "created_by"]
    readonly_fields = [
        *FIGURE_FIELDS,
        "recipients_link",
        "started_at",
        "completed_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "workspace",
                    "account",
                    "template",
                    "status",
                    "status_reason",
                    "send_at",
                    "worker_count",
                    "rate_limit",
                    "breaker",
                    "marketing_policy",
                    "message_activity_sharing",
                    "rerun_of",
                    "created_by",
                ]
            },
        ),
        (
            "Figures",
            {
                "fields": [*FIGURE_FIELDS, "recipients_link"],
                "description": (
                    "As the dashboard and the API show them: a read message is also counted "
                    "as delivered and sent."
                ),
            },
        ),
        ("Times", {"fields": ["started_at", "completed_at", "created_at", "updated_at"]}),
    ]
    date_hierarchy = "created_at"
    inlines = [CampaignNumberInline]
    actions = [pause_campaigns, resume_campaigns, stop_campaigns, recount_campaigns]
    # The state changes only through the actions above (the lifecycle's rules); what a
    # campaign sends is fixed once it has left draft.
    LIFECYCLE_FIELDS = ["status", "status_reason", "send_at"]
    FIXED_AFTER_DRAFT = [
        "account",
        "template",
        "worker_count",
        "rate_limit",
        "marketing_policy",
        "message_activity_sharing",
        "rerun_of",
    ]

    figure_total = _figure("total")
    figure_pending = _figure("pending")
    figure_sending = _figure("sending")
    figure_sent = _figure("sent")
    figure_delivered = _figure("delivered")
    figure_read = _figure("read")
    figure_failed = _figure("failed")
    figure_skipped = _figure("skipped")
    figure_unknown = _figure("unknown")
    figure_replied = _figure("replied")

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets[:1]  # a new campaign has no figures yet
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = [*self.readonly_fields, *self.LIFECYCLE_FIELDS]
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            fields += self.FIXED_AFTER_DRAFT
        return fields

    @admin.display(description="recipients")
    def recipients_link(self, obj):
        url = reverse("admin:campaigns_recipient_changelist")
        return format_html('<a href="{}?campaign={}">View recipients</a>', url, obj.pk)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == Campaign.Status.RUNNING:
            return False  # stop it first, as the API says (bulk deletes including it: 403)
        return super().has_delete_permission(request, obj)


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = ["phone", "workspace", "source", "created_at"]
    list_filter = ["source"]
    search_fields = ["phone"]
    raw_id_fields = ["workspace"]


class ImportRejectionInline(admin.TabularInline):
    model = ImportRejection
    extra = 0
    max_num = 0
    readonly_fields = ["line", "column", "reason", "value"]
    can_delete = False


@admin.register(ImportReport)
class ImportReportAdmin(admin.ModelAdmin):
    list_display = [
        "campaign",
        "file_name",
        "status",
        "dry_run",
        "rows_read",
        "imported",
        "rejected",
        "created_at",
    ]
    list_filter = ["status", "dry_run", "source"]
    raw_id_fields = ["campaign", "created_by"]
    search_fields = ["file_name", "campaign__name"]


@admin.register(ImportRejection)
class ImportRejectionAdmin(admin.ModelAdmin):
    list_display = ["report", "line", "column", "reason"]
    raw_id_fields = ["report"]
    show_full_result_count = False


@admin.register(PendingStatus)
class PendingStatusAdmin(admin.ModelAdmin):
    list_display = ["id", "wamid", "status", "timestamp", "account", "received_at", "event_id"]
    list_filter = ["status"]
    search_fields = ["wamid"]
    raw_id_fields = ["account"]
    readonly_fields = ["wamid", "status", "timestamp", "payload", "event_id", "received_at"]
    show_full_result_count = False


@admin.register(Click)
class ClickAdmin(admin.ModelAdmin):
    """Clicks as recorded (docs/clicks.md); campaign empty: a Meta click not attributed."""

    list_display = ["occurred_at", "source", "action_type", "account", "campaign", "recipient_id"]
    list_filter = ["source", "action_type", ("campaign", admin.EmptyFieldListFilter)]
    search_fields = ["click_id", "tracking_token"]
    raw_id_fields = ["account", "campaign"]
    readonly_fields = [f.name for f in Click._meta.fields]
    show_full_result_count = False


class WorkspaceBreakerForm(forms.ModelForm):
    class Meta:
        model = Workspace
        fields = ["name", "breaker_defaults"]
        help_texts = {
            "breaker_defaults": (
                "The breaker thresholds this workspace's campaigns start from, e.g. "
                '{"consecutive": 10, "window": 100, "share": 0.5, "min_attempts": 20, '
                '"optout_share": 0.02}; {} for the installation\'s defaults.'
            )
        }

    def clean_breaker_defaults(self):
        try:
            cleaned = BreakerSettings.clean(self.cleaned_data["breaker_defaults"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return {k: v for k, v in cleaned.items() if v is not None}


# accounts, below campaigns in the app graph, cannot know the breaker's rules: the workspace
# admin is extended here with its validated defaults.
admin.site.unregister(Workspace)


@admin.register(Workspace)
class WorkspaceWithBreakerAdmin(WorkspaceAdmin):
    form = WorkspaceBreakerForm
