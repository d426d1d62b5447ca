"""Every list is paginated: an opaque cursor, ``page_size`` up to a maximum, nothing silently cut."""

import re

from django.conf import settings
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


class ApiCursorPagination(CursorPagination):
    """Cursor pagination; ``ordering`` comes from the view (newest first for time-ordered lists).

    ``page_size`` is validated by the view's query serializer before it reaches here
    (see :mod:`web.api.params`), so an out-of-range value is a 400, not a silent clamp.
    """

    page_size_query_param = "page_size"
    ordering = "-pk"
    #: What a cursor this paginator wrote looks like (URL-safe base64); the schema says the same.
    CURSOR_PATTERN = "^[A-Za-z0-9+/=]+$"

    def __init__(self) -> None:
        self.page_size = settings.CADENCE_API_PAGE_SIZE
        self.max_page_size = settings.CADENCE_API_MAX_PAGE_SIZE

    def decode_cursor(self, request):
        """An empty or malformed ``cursor`` is not one of ours: 404 as for any cursor that does not decode
        (DRF would read an empty one as the first page)."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None and not re.fullmatch(self.CURSOR_PATTERN, encoded):
            raise NotFound(self.invalid_cursor_message)
        return super().decode_cursor(request)

    def get_ordering(self, request, queryset, view):
        return getattr(view, "ordering", self.ordering)

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link(), "previous": self.get_previous_link(),
                         "page_size": self.page_size})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next", "previous", "page_size"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "format": "uri", "nullable": True,
                         "description": "The next page, or null on the last page."},
                "previous": {"type": "string", "format": "uri", "nullable": True,
                             "description": "The previous page, or null on the first page."},
                "page_size": {"type": "integer", "description": "Items per page used for this response."},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": "Opaque position from a previous response's next/previous link (404 if it is not one).",
             "schema": {"type": "string", "minLength": 1, "pattern": self.CURSOR_PATTERN}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Items per page (default {self.page_size}, at most {self.max_page_size}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]
