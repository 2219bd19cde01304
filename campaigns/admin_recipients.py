"""The recipients' admin: read-only (the engine and the webhooks move a recipient's state,
each change counted in its campaign's counters), filterable by campaign without listing the
campaigns, and paged without counting a million rows. Registered from `campaigns/admin.py`."""

import uuid

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from config.paginator import EstimatedCountPaginator

from .models import Campaign, Recipient


class CampaignFilter(admin.SimpleListFilter):
    """One campaign's recipients, reached from the campaign's admin page ("View
    recipients", ?campaign=<id>): a dropdown of every campaign would load them all. Shown in
    the sidebar only while it is applied, with "All" to leave it."""

    title = "campaign"
    parameter_name = "campaign"

    def lookups(self, request, model_admin):
        value = self.value()
        try:
            campaign_id = uuid.UUID(str(value))
        except ValueError:
            return []
        name = Campaign.objects.filter(pk=campaign_id).values_list("name", flat=True).first()
        return [(value, name or value)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(campaign_id=self.value())
        return queryset


@admin.register(Recipient)
class RecipientAdmin(admin.ModelAdmin):
    list_display = [
        "phone",
        "campaign",
        "status",
        "attempts",
        "number",
        "wamid",
        "error_code",
        "sent_at",
    ]
    list_filter = [CampaignFilter, "status"]
    search_fields = ["phone", "wamid"]  # as get_search_results below reads them
    search_help_text = "An exact phone number (+14155550100) or wamid."
    # `number`: a LEFT JOIN (nullable, no constraint), 100 rows a page.
    list_select_related = ["campaign", "number"]
    # A million-row table: the admin must not count it on every page (nor the filtered
    # result when it is big: config/paginator.py).
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = [
        "campaign",
        "phone",
        "values",
        "source_line",
        "status",
        "skip_reason",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "claimed_by",
        "number",
        "wamid",
        "message_status",
        "sent_at",
        "delivered_at",
        "read_at",
        "failed_at",
        "replied_at",
        "error_code",
        "error_title",
        "error_details",
        "error_retryable",
        "pricing_category",
    ]

    def get_search_results(self, request, queryset, search_term):
        # Exact and case-sensitive, so the indexes serve it: the wamid's unique index, and
        # (campaign, phone) within a campaign. Django's "=field" is UPPER(…) = UPPER(…), and
        # a substring search scans every row.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(phone=term) | Q(wamid=term)), False

    def get_readonly_fields(self, request, obj=None):
        # The values are what the message will say: still editable while the campaign is a
        # draft (nothing sent, nothing counted from them); everything else is the state
        # machine's, moved by the engine and the webhooks only.
        if obj is not None and self._values_editable(obj):
            return [f for f in self.fields if f != "values"]
        return self.fields

    @staticmethod
    def _values_editable(obj: Recipient) -> bool:
        return (
            obj.campaign.status == Campaign.Status.DRAFT and obj.status == Recipient.Status.PENDING
        )

    def has_change_permission(self, request, obj=None):
        if obj is not None and not self._values_editable(obj):
            return False  # a view-only page, without a Save button that would do nothing
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # Only what the form may change, so a stale copy of the other columns is never
        # written back over the engine's.
        if change and self._values_editable(obj):
            obj.save(update_fields=["values"])

    def has_add_permission(self, request):
        return False  # recipients come from an import, which counts them into the campaign

    # No deleting one recipient: the campaign's counters count it (delete the campaign).
    # Not has_delete_permission=False: the admin asks it of every recipient when a whole
    # campaign is deleted, and would refuse that too.
    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied
