"""Shared helpers of the routers: paging, and the strict query parameter types."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from domain.schemas import PERIOD_PATTERN, UUID_PATTERN, SafeDate, SafeDateTime
from domain.services.paging import keyset_page

Limit = Annotated[int, Query(ge=1, le=500)]
# the `next_cursor` of a previous page: the last id of that page
Cursor = Annotated[
    str | None,
    Query(
        pattern=UUID_PATTERN,
        description="`next_cursor` of the previous page (the id of its last row; a sorted list answers 422 naming "
        "`cursor` when that row is gone: start again)",
    ),
]
# query dates are `YYYY-MM-DD` strings between 2000-01-01 and 2200-12-31, as in bodies
QueryDate = SafeDate
QueryDateTime = SafeDateTime
Period = Annotated[str, Query(pattern=PERIOD_PATTERN, examples=["2031-01"])]


# --- API polish (issue 14): the bodies of CSV and PDF answers, declared so that a client generated
# from /openapi.json reads them (a CSV as text, a PDF as bytes) ---
CSV_CONTENT: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}}}
PDF_CONTENT: dict[str, Any] = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


# keyset paging lives with the aggregates' list queries; routes that page a plain statement use it too
paginate = keyset_page
