"""Filters the API's FilterSets share (django-filter): time ranges that need a time zone, a
case-blind choice, and ordering that pages stably.

A FilterSet validates the query string as a form: DjangoFilterBackend turns its errors into a
400 naming each parameter (`{"created_after": ["Enter a valid date/time."]}`), never a 500.
"""

import django_filters
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_filters.fields import ChoiceField, IsoDateTimeField

# A form error's message is a %-format (django-filter fills its params in): %% is one %.
NAIVE_TIME = "needs a time zone, e.g. 2026-12-01T09:00:00Z or …+01:00 (write + as %%2B)."


class AwareIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with a time zone: a naive time would silently mean the server's zone."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well formed but impossible, e.g. month 13
                parsed = None
            if parsed is not None and timezone.is_naive(parsed):
                raise forms.ValidationError(NAIVE_TIME, code="naive")
        return super().to_python(value)


class AwareDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = AwareIsoDateTimeField


class UpperChoiceField(ChoiceField):
    def to_python(self, value):
        return super().to_python(value).upper()


class UpperChoiceFilter(django_filters.ChoiceFilter):
    """A choice of upper-case values (Meta's template statuses) given in any case."""

    field_class = UpperChoiceField


class StableOrderingFilter(django_filters.OrderingFilter):
    """`?ordering=name,-created_at`; the primary key breaks ties, so that rows with the same
    value cannot move between pages."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.order_by(*(self.get_ordering_value(param) for param in value), "pk")
