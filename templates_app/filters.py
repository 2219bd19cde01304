"""The template catalogue's query parameters (`GET /api/v1/templates/`), applied to the
caller's own templates (`template_list_for_user`)."""

import django_filters

from config.filters import StableOrderingFilter, UpperChoiceFilter

from .models import MessageTemplate


class TemplateFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(
        field_name="account_id", help_text="A WhatsApp account's id."
    )
    status = UpperChoiceFilter(
        choices=MessageTemplate.Status.choices, help_text="Meta's status, e.g. APPROVED."
    )
    category = UpperChoiceFilter(choices=MessageTemplate.Category.choices)
    language = django_filters.CharFilter(help_text="A language code, e.g. en_US.")
    search = django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", help_text="Part of the template's name."
    )
    ordering = StableOrderingFilter(
        fields=("name", "language", "status", "category", "last_synced_at", "updated_at"),
        help_text="Sort by these fields, `-` for descending (default `name,language`).",
    )

    class Meta:
        model = MessageTemplate
        fields: list[str] = []
