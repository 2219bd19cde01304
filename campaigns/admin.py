"""Admin for campaigns and what hangs off them. The lifecycle actions call the services the
API calls, in their staff variants (no workspace membership needed)."""

from django import forms
from django.contrib import admin

from accounts.admin import WorkspaceAdmin
from accounts.models import Workspace
from config.web import reported_to_admin

from .engine.breaker import BreakerSettings
from .models import Campaign, ImportRejection, ImportReport, OptOut, PendingStatus, Recipient
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


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "workspace",
        "status",
        "total_recipients",
        "sent_count",
        "delivered_count",
        "read_count",
        "failed_count",
        "rate_limit",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["name", "id"]
    raw_id_fields = ["workspace", "account", "template", "rerun_of", "created_by"]
    readonly_fields = [
        "total_recipients",
        "pending_count",
        "sending_count",
        "sent_count",
        "delivered_count",
        "read_count",
        "failed_count",
        "skipped_count",
        "unknown_count",
        "replied_count",
        "started_at",
        "completed_at",
        "created_at",
        "updated_at",
    ]
    date_hierarchy = "created_at"
    actions = [pause_campaigns, resume_campaigns, stop_campaigns, recount_campaigns]
    # The state changes only through the actions above (the lifecycle's rules); what a
    # campaign sends is fixed once it has left draft.
    LIFECYCLE_FIELDS = ["status", "status_reason", "send_at"]
    FIXED_AFTER_DRAFT = ["account", "template", "worker_count", "rate_limit", "rerun_of"]

    def get_readonly_fields(self, request, obj=None):
        fields = [*self.readonly_fields, *self.LIFECYCLE_FIELDS]
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            fields += self.FIXED_AFTER_DRAFT
        return fields

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == Campaign.Status.RUNNING:
            return False  # stop it first, as the API says (bulk deletes including it: 403)
        return super().has_delete_permission(request, obj)


@admin.register(Recipient)
class RecipientAdmin(admin.ModelAdmin):
    list_display = ["phone", "campaign", "status", "attempts", "wamid", "error_code", "sent_at"]
    list_filter = ["status"]
    search_fields = ["phone", "wamid"]
    raw_id_fields = ["campaign"]
    # A million-row table: the admin must not count it on every page.
    show_full_result_count = False
    list_select_related = ["campaign"]


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
