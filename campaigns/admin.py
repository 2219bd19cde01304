from django.contrib import admin

from .models import Campaign, ImportRejection, ImportReport, OptOut, Recipient


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
