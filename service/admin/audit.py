"""The audit page (issue 13): every write, filtered by object, action, actor and time, each event's
before and after as a field-by-field diff, newest first with a cursor that new events don't shift.

Admin only, like GET /v1/audit-events: the log is the control over every role's own actions and
spans money, users and keys beyond what facility staff or finance see on their pages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRouter

from domain.services import audit
from service.admin.web import render, require
from service.auth import Principal
from service.db import SessionDep

router = APIRouter()
Admin = Annotated[Principal, require("admin")]
PAGE_SIZE = 50

# what the filters offer (free text is accepted too: a kind added later still filters)
OBJECT_TYPES = (
    "lease", "client", "team", "member", "site", "floor", "shift", "seat", "plan", "device", "credential",
    "invoice", "credit_note", "payment", "billing_run", "one_off_charge", "withholding_certificate", "user", "api_client",
)  # fmt: skip
# the object pages an event links to
OBJECT_PAGES = {
    "lease": "/admin/leases/{}",
    "client": "/admin/clients/{}",
    "invoice": "/admin/invoices/{}",
    "plan": "/admin/plans/{}",
}


def show(value: Any) -> str:
    """A recorded value as people read it: text as is, nothing as an em dash, the rest as JSON."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def trail_url(object_type: str, object_id: Any) -> str:
    """The audit page filtered to one object: the link object pages show."""
    return "/admin/audit?" + urlencode({"object_type": object_type, "object_id": str(object_id)})


def _day(value: str | None, name: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[name] = "not a date (YYYY-MM-DD)"
        return None
    if not date(2000, 1, 1) <= day <= date(2200, 12, 31):
        errors[name] = "between 2000-01-01 and 2200-12-31"
        return None
    return day


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    user: Admin,
    session: SessionDep,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=320)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    before: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """Dates are whole UTC days: `since` from its start, `until` to its end (inclusive)."""
    errors: dict[str, str] = {}
    first, last = _day(since, "since", errors), _day(until, "until", errors)
    if first and last and last < first:
        errors["until"] = "before the first day"
    cursor: int | None = None
    if before:
        if before.isdigit() and int(before) < 2**63:
            cursor = int(before)
        else:
            errors["before"] = "not a page of this list"
    f = {
        "object_type": (object_type or "").strip(),
        "object_id": (object_id or "").strip(),
        "action": (action or "").strip(),
        "actor": (actor or "").strip(),
        "since": since or "",
        "until": until or "",
    }
    rows: list[Any] = []
    nxt: str | None = None
    if not errors:
        rows, nxt = await audit.list_events(
            session,
            object_type=f["object_type"] or None,
            object_id=f["object_id"] or None,
            action=f["action"] or None,
            actor=f["actor"] or None,
            since=datetime.combine(first, time(), UTC) if first else None,
            until=datetime.combine(last + timedelta(days=1), time(), UTC) if last else None,
            before_id=cursor,
            limit=PAGE_SIZE,
        )
    query = urlencode({k: v for k, v in f.items() if v})
    return render(
        request,
        "audit.html",
        {
            "events": [(e, audit.diff(e.before, e.after)) for e in rows],
            "f": f,
            "errors": errors,
            "next_url": f"/admin/audit?{query + '&' if query else ''}before={nxt}" if nxt else None,
            "first_url": f"/admin/audit?{query}" if cursor else None,
            "object_types": OBJECT_TYPES,
            "object_pages": OBJECT_PAGES,
            "show": show,
            "utc": lambda at: at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        },
        status_code=422 if errors else 200,
    )
