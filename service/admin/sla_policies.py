"""The SLA targets page (issue 15): staff read the 24 targets; the admin edits them, written as
people say them ("15m", "4h", "1d 4h"). The use-case is domain/helpdesk/sla_policies.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRouter
from pydantic import ValidationError

from domain.helpdesk.sla_policies import SlaPoliciesUpdate, list_policies, update_policies
from domain.models.sla import SlaPolicy
from service.admin.web import AdminOnly, CsrfForm, Ops, attempt, redirect, render
from service.db import SessionDep

router = APIRouter()
FIELDS = ("response_minutes", "resolution_minutes", "due_soon_percent")
_UNITS = {"d": 1440, "h": 60, "m": 1, "": 1}
_DURATION = re.compile(r"^\s*(?:\d{1,7}\s*[dhm]?\s*)+$")


def show_minutes(minutes: int) -> str:
    parts = []
    for unit, size in (("d", 1440), ("h", 60), ("m", 1)):
        if minutes >= size:
            parts.append(f"{minutes // size}{unit}")
            minutes %= size
    return " ".join(parts) or "0m"


def parse_minutes(text: str) -> int | None:
    """'4h', '1d 4h', '90' (minutes) → minutes; None when it is not a duration."""
    if not _DURATION.match(text):
        return None
    return sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)\s*([dhm]?)", text))


def _name(p: SlaPolicy, field: str) -> str:
    return f"{p.priority}.{p.category}.{field}"


async def _page(
    request: Request, session: SessionDep, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    policies = await list_policies(session)
    shown = {
        _name(p, f): (show_minutes(getattr(p, f)) if f != "due_soon_percent" else str(p.due_soon_percent))
        for p in policies
        for f in FIELDS
    }
    ctx: dict[str, Any] = {"policies": policies, "values": shown | (values or {}), "errors": errors or {}, "name": _name}
    return render(request, "sla_policies.html", ctx, status_code=status_code)


@router.get("/sla-policies", response_class=HTMLResponse)
async def sla_policies_page(request: Request, user: Ops, session: SessionDep) -> HTMLResponse:
    return await _page(request, session)


@router.post("/sla-policies", response_model=None)
async def save_sla_policies(request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    policies = await list_policies(session)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    errors: dict[str, str] = {}
    items: list[dict[str, Any]] = []
    for p in policies:
        item: dict[str, Any] = {"priority": p.priority, "category": p.category}
        for f in FIELDS:
            raw = values.get(_name(p, f), "").strip()
            if not raw:
                continue
            number = parse_minutes(raw) if f != "due_soon_percent" else (int(raw) if raw.isdigit() and len(raw) < 4 else None)
            if number is None:
                errors[_name(p, f)] = "a duration such as 15m, 4h or 1d 4h" if f != "due_soon_percent" else "a whole percent"
            else:
                item[f] = number
        items.append(item)
    if not errors:
        form_errors: dict[str, str] = {}
        try:
            body = SlaPoliciesUpdate.model_validate({"items": items})
        except ValidationError as exc:
            body = None
            for e in exc.errors():
                loc = ".".join(f"[{x}]" if isinstance(x, int) else str(x) for x in e["loc"]).replace(".[", "[")
                form_errors.setdefault(loc, str(e["msg"]))
        if body is not None:
            _, error = await attempt(session, lambda: update_policies(session, user, body, datetime.now(UTC)))
            if error is None:
                return redirect(request, "/admin/sla-policies", "SLA targets saved")
            form_errors = {error.field or "__all__": error.detail}
        errors = _to_form_names(form_errors, policies)
    return await _page(request, session, values=values, errors=errors, status_code=422)


def _to_form_names(errors: dict[str, str], policies: list[SlaPolicy]) -> dict[str, str]:
    """`items[3].response_minutes` (the use-case's and schema's names) → the form field's name."""
    out: dict[str, str] = {}
    for key, message in errors.items():
        m = re.match(r"^items\[(\d+)\]\.(\w+)$", key)
        if m and int(m.group(1)) < len(policies):
            out[_name(policies[int(m.group(1))], m.group(2))] = message
        else:
            out["__all__"] = message
    return out
