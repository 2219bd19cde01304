"""The API's paginators: pages of 50 (`?page=`, `?page_size=` up to 200) for the lists, and
the strict reading of `page_size` that every paginator shares.

DRF ignores a `page_size` it cannot read (`abc`, `0`, `-5`) and serves the default page: a
client with a typo would never find out. Here that is a 400 naming the parameter; a size over
the cap is served at the cap, as DRF does (the `next` link still walks every row).
"""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StrictPageSize:
    """Mixed into a DRF paginator that has `page_size_query_param` and `max_page_size`."""

    page_size_query_param = "page_size"
    max_page_size: int

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"A whole number from 1 to {self.max_page_size}, not {raw[:20]!r}."
                    ]
                }
            )
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
                parameter["description"] = (
                    f"Results per page (default {self.page_size}, at most "
                    f"{self.max_page_size}; a larger size is served at {self.max_page_size})."
                )
        return parameters


class PagePagination(StrictPageSize, PageNumberPagination):
    """The default paginator of every list (REST_FRAMEWORK DEFAULT_PAGINATION_CLASS)."""

    max_page_size = 200
