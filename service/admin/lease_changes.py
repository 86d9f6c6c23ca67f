"""The lease page's changes during the term (issue 11): move a seat (and its agent), move the lease
to another floor, set an add-on's quantity from a date. Each form calls the same use-case with the
same input model as the API (domain/leasing/moves.py, addons.py); a domain error shows next to the
form's own field, nothing kept."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from domain.leasing import addons, moves, queries, state
from domain.leasing.change_schemas import AddOnChangeIn, FloorMoveIn, SeatMoveIn
from domain.models import Lease
from service.admin.lease_booking import split_labels
from service.admin.leases import _detail
from service.admin.web import CsrfForm, Ops, attempt, redirect, validate_form
from service.db import SessionDep

router = APIRouter()

# the API's field names → this page's form fields
MOVE_FIELDS = {"seat_id": "move_from", "member_id": "move_from", "to_seat_id": "move_to", "effective": "move_effective"}
FLOOR_FIELDS = {"floor_id": "floor_id", "seat_ids": "floor_labels", "effective": "floor_effective"}
ADDON_FIELDS = {"code": "addon_code", "quantity": "addon_quantity", "effective": "addon_effective"}


async def _run(
    request: Request,
    session: SessionDep,
    lease_id: uuid.UUID,
    form: dict[str, Any],
    fields: dict[str, str],
    model: type[BaseModel],
    data: dict[str, Any],
    errors: dict[str, str],
    done: str,
    work: Callable[[Lease, Any], Awaitable[Any]],
) -> Response:
    body, errs = validate_form(model, data)
    for k, v in errs.items():
        errors.setdefault(fields.get(k, next(iter(fields.values()))), v)
    if errors or body is None:
        return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)
    lease = await state.get_lease(session, lease_id, for_update=True)
    _, error = await attempt(session, lambda: work(lease, body))
    if error is None:
        return redirect(request, f"/admin/leases/{lease_id}", done)
    await session.refresh(lease)
    field = fields.get(error.field or "", "changes")
    return await _detail(request, session, lease_id, errors={field: error.detail}, values=form, status_code=422)


async def _labels(session: SessionDep, lease_id: uuid.UUID, labels: list[str], field: str, errors: dict[str, str]) -> list[str]:
    lease = await state.get_lease(session, lease_id)
    found = await queries.seat_ids_by_label(session, lease.site_id, labels)
    missing = [x for x in labels if x not in found]
    if missing:
        errors[field] = f"no seat {missing[0]} on this site"
    return [str(found[x]) for x in labels if x in found]


@router.post("/leases/{lease_id}/move-seat", response_model=None)
async def move_seat(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"effective": form.get("move_effective") or None}
    for name, key in (("move_from", "seat_id"), ("move_to", "to_seat_id")):
        labels = split_labels(str(form.get(name) or ""))
        if len(labels) != 1:
            errors[name] = "one seat label"
        else:
            found = await _labels(session, lease_id, labels, name, errors)
            data[key] = found[0] if found else None
    return await _run(
        request,
        session,
        lease_id,
        form,
        MOVE_FIELDS,
        SeatMoveIn,
        data,
        errors,
        "Seat moved",
        lambda lease, body: moves.move_seat(session, user, lease, body, is_staff=True),
    )


@router.post("/leases/{lease_id}/move-floor", response_model=None)
async def move_floor(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"floor_id": form.get("floor_id") or None, "effective": form.get("floor_effective") or None}
    labels = split_labels(str(form.get("floor_labels") or ""))
    if labels:
        data["seat_ids"] = await _labels(session, lease_id, labels, "floor_labels", errors)
    return await _run(
        request,
        session,
        lease_id,
        form,
        FLOOR_FIELDS,
        FloorMoveIn,
        data,
        errors,
        "Lease moved floors",
        lambda lease, body: moves.move_floor(session, user, lease, body, is_staff=True),
    )


@router.post("/leases/{lease_id}/add-ons", response_model=None)
async def change_add_on(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    code = str(form.get("addon_code") or "")[:32]
    errors: dict[str, str] = {} if code else {"addon_code": "choose an add-on"}
    data = {"quantity": form.get("addon_quantity") or None, "effective": form.get("addon_effective") or None}
    return await _run(
        request,
        session,
        lease_id,
        form,
        ADDON_FIELDS,
        AddOnChangeIn,
        data,
        errors,
        "Add-on changed",
        lambda lease, body: addons.change_add_on(session, user, lease, code, body, is_staff=True),
    )
