from django.contrib import admin

from .models import WebhookEvent


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
    readonly_fields = ["body_text", "body_sha256", "received_at", "processed_at", "error"]
    exclude = ["body"]
    show_full_result_count = False

    @admin.display(description="Body")
    def body_text(self, obj):
        return bytes(obj.body).decode("utf-8", errors="replace")
