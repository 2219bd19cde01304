"""The campaign list's query parameters (`GET /api/v1/campaigns/`), applied to the caller's
own campaigns (`campaign_list_for_user`): DjangoFilterBackend validates them (a 400 naming
the parameter) and the schema documents them."""

import django_filters
from django.db.models import Q

from config.filters import AwareDateTimeFilter, StableOrderingFilter

from .models import Campaign, CampaignNumber

STATUSES = ", ".join(Campaign.Status.values)


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=Campaign.Status.choices,
        error_messages={"invalid_choice": f"Unknown status %(value)r; one of {STATUSES}."},
    )
    template = django_filters.UUIDFilter(field_name="template_id", help_text="A template's id.")
    account = django_filters.UUIDFilter(
        method="sends_from",
        help_text="A WhatsApp account's id: the campaigns that send from that number (their "
        "own, or one of their `numbers`).",
    )
    created_after = AwareDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Created at or after (ISO 8601)."
    )
    created_before = AwareDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Created before (ISO 8601)."
    )
    search = django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", help_text="Part of the campaign's name."
    )
    ordering = StableOrderingFilter(
        fields=(
            "created_at",
            "name",
            "status",
            "started_at",
            "completed_at",
            "total_recipients",
        ),
        help_text="Sort by these fields, `-` for descending (default `-created_at`).",
    )

    class Meta:
        model = Campaign
        fields: list[str] = []

    def sends_from(self, queryset, name, value):
        pooled = CampaignNumber.objects.filter(account_id=value).values("campaign_id")
        return queryset.filter(Q(account_id=value) | Q(pk__in=pooled))
