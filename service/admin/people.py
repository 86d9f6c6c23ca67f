"""Clients, their teams and members."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from billing import payment_queries
from billing.db import driver
from domain.models import Member
from domain.services import clients as svc
from domain.services.client_schemas import ClientCreate, MemberCreate, TeamCreate
from service.admin.confirm import confirm_page, dry_run, is_confirmed
from service.admin.web import CsrfForm, Ops, Staff, attempt, can, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()


# ---- clients -------------------------------------------------------------------------------


async def _clients_page(
    request: Request,
    session: AsyncSession,
    q: str | None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = await svc.client_summaries(session, q)
    return render(
        request,
        "clients.html",
        {"rows": rows, "q": q or "", "errors": errors or {}, "v": values or {}, "flash": request.query_params.get("flash")},
        status_code=status_code,
    )


@router.get("/clients", response_class=HTMLResponse)
async def clients_page(
    request: Request, user: Staff, session: SessionDep, q: Annotated[str | None, Query(max_length=100)] = None
) -> HTMLResponse:
    return await _clients_page(request, session, q)


@router.post("/clients", response_model=None)
async def create_client(request: Request, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    values = {k: str(v).strip() for k, v in form.items()}
    body, errors = validate_form(ClientCreate, {**values, "payment_terms_days": values.get("payment_terms_days") or 30})
    if body is not None:
        client, error = await attempt(session, lambda: svc.create_client(session, user, body))
        if error is None:
            return redirect(request, f"/admin/clients/{client.id}", "Client created")
        errors = {error.field or "__all__": error.detail}
    return await _clients_page(request, session, None, errors=errors, values=values, status_code=422)


async def _client_page(
    request: Request,
    session: AsyncSession,
    client_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    client = await svc.get_client(session, client_id)
    teams = await svc.list_teams(session, client.id)
    members = await svc.client_members(session, client.id)
    leases = await svc.client_leases(session, client.id)
    by_team: dict[uuid.UUID, list[Member]] = {t.id: [] for t in teams}
    for m in members:
        by_team.setdefault(m.team_id, []).append(m)
    # --- payments (issue 12): finance sees the client's money on its page ---
    finance = can(getattr(request.state, "principal", None), "finance")
    pay = await payment_queries.client_panel(await driver(session), client.id) if finance else None
    return render(
        request,
        "client_detail.html",
        {
            "client": client,
            "teams": teams,
            "by_team": by_team,
            "leases": leases,
            "pay": pay,
            "errors": errors or {},
            "v": values or {},
            "flash": request.query_params.get("flash"),
        },
        status_code=status_code,
    )


client_page_with = _client_page  # the payments forms re-render this page with their errors


@router.get("/clients/{client_id}", response_class=HTMLResponse)
async def client_page(request: Request, client_id: uuid.UUID, user: Staff, session: SessionDep) -> HTMLResponse:
    return await _client_page(request, session, client_id)


@router.post("/clients/{client_id}/teams", response_model=None)
async def create_team(request: Request, client_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    client = await svc.get_client(session, client_id)
    body, errors = validate_form(TeamCreate, {"name": str(form.get("team_name") or "").strip()})
    errors = {"team_name": next(iter(errors.values()))} if errors else {}
    if body is not None:
        _, error = await attempt(session, lambda: svc.create_team(session, user, client, body))
        if error is None:
            return redirect(request, f"/admin/clients/{client_id}", f"Team {body.name} created")
        errors = {"team_name": error.detail}
    return await _client_page(request, session, client_id, errors=errors, values=dict(form), status_code=422)


@router.post("/teams/{team_id}/members", response_model=None)
async def create_member(request: Request, team_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    team = await svc.get_team(session, team_id)
    values = {k: str(v).strip() for k, v in form.items()}
    body, errors = validate_form(
        MemberCreate,
        {"name": values.get("name", ""), "email": values.get("email", ""), "employee_id": values.get("employee_id", "")},
    )
    if body is not None:
        _, error = await attempt(session, lambda: svc.create_member(session, user, team, body))
        if error is None:
            return redirect(request, f"/admin/clients/{team.client_id}", f"{body.name} added to {team.name}")
        errors = {error.field or "__all__": error.detail}
    errors = {f"member.{team_id}.{k}": v for k, v in errors.items()}
    return await _client_page(
        request,
        session,
        team.client_id,
        errors=errors,
        values={f"member.{team_id}.{k}": v for k, v in values.items()},
        status_code=422,
    )


@router.post("/members/{member_id}/remove", response_model=None)
async def remove_member(request: Request, member_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    """The API's use-case: a member already removed is a 409 (an error page), as in the API. The
    first post asks (what is lost, nothing changed); only the confirmation's own form removes."""
    member = await svc.get_member(session, member_id)
    name, email, client_id = member.name, member.email, member.client_id  # the dry run expires the object
    if not is_confirmed(form):
        error = await dry_run(session, lambda: svc.remove_member(session, user, member, datetime.now(UTC)))
        if error is not None:
            raise error
        return confirm_page(
            request,
            title="Remove the member",
            question=f"Remove {name} ({email}) from the team?",
            consequences=[
                "Their seats are released now: the lease keeps the seats, free to assign to someone else.",
                "Their Wi-Fi, directory and badge access are revoked at once by the reconciler.",
                "This cannot be undone: to bring them back, add them to a team again.",
            ],
            action=f"/admin/members/{member_id}/remove",
            back=f"/admin/clients/{client_id}",
            button="Remove the member",
        )
    member = await svc.get_member(session, member_id)
    await svc.remove_member(session, user, member, datetime.now(UTC))
    return redirect(request, f"/admin/clients/{member.client_id}", f"{member.name} removed; their access is revoked")
