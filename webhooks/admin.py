"""Admin for webhook events: inspect and reprocess."""

from django.contrib import admin, messages

from .models import WebhookEvent
from .services import webhook_events_reprocess


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "account",
        "status",
        "received_at",
        "processed_at",
        "statuses_count",
        "messages_count",
        "attempts",
    ]
    list_filter = ["status"]
    search_fields = ["body_sha256", "id"]
    raw_id_fields = ["account"]
    readonly_fields = [
        "body_text",
        "body_sha256",
        "received_at",
        "processed_at",
        "next_attempt_at",
        "error",
    ]
    exclude = ["body"]
    show_full_result_count = False
    actions = ["reprocess"]

    @admin.display(description="Body")
    def body_text(self, obj):
        return bytes(obj.body).decode("utf-8", errors="replace")

    @admin.action(description="Reprocess the selected events")
    def reprocess(self, request, queryset):
        count = webhook_events_reprocess(event_ids=queryset.values_list("id", flat=True))
        self.message_user(request, f"{count} event(s) queued for processing.", messages.SUCCESS)
