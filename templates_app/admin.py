from django.contrib import admin

from .models import MessageTemplate


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "language",
        "status",
        "category",
        "parameter_format",
        "quality_score",
        "account",
        "last_synced_at",
        "removed_upstream_at",
    ]
    list_filter = ["status", "category", "parameter_format", "language"]
    search_fields = ["name", "meta_id"]
    raw_id_fields = ["workspace", "account"]
    readonly_fields = ["last_synced_at", "created_at", "updated_at"]
