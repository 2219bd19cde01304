"""An admin paginator for the million-row tables (recipients, webhook events): it never counts
a big result exactly.

Django's changelist counts its result (`paginator.count`) on every page, and with no filter
that is `SELECT COUNT(*)` over the whole table: seconds on a million recipients, while every
worker is writing to it. PostgreSQL's planner already knows roughly how many rows a query
returns (from the table's statistics), so: a result the planner puts at EXACT_BELOW rows or
more is shown with that estimate (the page links are then approximate; the rows are not);
a smaller one is counted, which is cheap. Other databases count as Django does.
"""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

EXACT_BELOW = 10_000


def planner_rows(queryset: QuerySet) -> int:
    """The planner's estimate of how many rows `queryset` returns (EXPLAIN, nothing run)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    exact_below = EXACT_BELOW

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        estimate = planner_rows(queryset)
        if estimate < self.exact_below:
            return super().count
        return estimate
