"""Admin for webhook events: inspect (the body Meta signed, pretty-printed) and reprocess.

Everything is read-only: an event's status is the drain's (`services.drain`), and the body is
what Meta signed. Reprocessing puts events back in the drain's queue
(`webhook_events_reprocess`: pending again, attempts reset); processing is idempotent (a
status moves a recipient only forward by precedence, `campaigns.tracking.statuses`), so
reprocessing a processed event is safe."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from config.paginator import EstimatedCountPaginator

from .models import WebhookEvent, WebhookFieldCount
from .services import webhook_events_reprocess


def pretty_body(body: bytes) -> str:
    text = bytes(body).decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=False)
    except ValueError:
        return text  # not JSON (a rejected event): shown as it came


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
    search_fields = ["id", "body_sha256"]  # as get_search_results below reads them
    search_help_text = "An event's id, or the SHA-256 of its body."
    list_select_related = ["account"]
    fields = [
        "account",
        "status",
        "attempts",
        "received_at",
        "processed_at",
        "next_attempt_at",
        "statuses_count",
        "messages_count",
        "error",
        "body_sha256",
        "body_json",
    ]
    readonly_fields = fields
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    actions = ["reprocess"]

    def get_search_results(self, request, queryset, search_term):
        # Exact, so the primary key or the hash's index serves it (Django's "=field" compares
        # UPPER(…), which no index has).
        term = search_term.strip().lower()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(id=int(term)), False
        return queryset.filter(body_sha256=term), False

    @admin.display(description="Body")
    def body_json(self, obj):
        # format_html escapes the body: it is whatever was POSTed to the webhook.
        return format_html('<pre class="webhook-body">{}</pre>', pretty_body(obj.body))

    @admin.action(description="Reprocess the selected events")
    def reprocess(self, request, queryset):
        count = webhook_events_reprocess(event_ids=queryset.values_list("id", flat=True))
        self.message_user(
            request,
            f"{count} event(s) queued for processing again; the drain applies them within seconds.",
            messages.SUCCESS,
        )

    def has_add_permission(self, request):
        return False  # events come from Meta, signed

    def has_change_permission(self, request, obj=None):
        return False  # a view-only page: nothing here is the admin's to change


@admin.register(WebhookFieldCount)
class WebhookFieldCountAdmin(admin.ModelAdmin):
    """What arrives that Broadcast acknowledges and ignores (calls, echoes, flows, alerts,
    history…), per webhook field: read-only counts."""

    list_display = ["field", "count", "last_seen_at"]
    ordering = ["-count"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
