"""Admin for the template catalogue, and the "Sync templates" action on WhatsApp accounts."""

from django.contrib import admin, messages

from config.web import reported_to_admin
from whatsapp.admin import WhatsAppAccountAdmin
from whatsapp.models import WhatsAppAccount

from .models import MessageTemplate
from .services import templates_sync


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


# whatsapp, below templates_app in the app graph, cannot call the sync: the account admin is
# extended here with the action (the pattern Django documents for another app's admin).
admin.site.unregister(WhatsAppAccount)


@admin.register(WhatsAppAccount)
class WhatsAppAccountWithSyncAdmin(WhatsAppAccountAdmin):
    actions = ["sync_templates"]

    @admin.action(description="Sync templates from WhatsApp")
    def sync_templates(self, request, queryset):
        for account in queryset:
            with reported_to_admin(self, request, about=account.name, level=messages.ERROR):
                result = templates_sync(account=account)
                self.message_user(
                    request,
                    f"{account.name}: {result.total} templates ({result.created} new, "
                    f"{result.updated} changed, {result.removed} removed).",
                )
