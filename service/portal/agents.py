"""The client portal's agents (issue 14): teams and their members, each agent's seats and
credentials with their states, a secret revealed once. Client admins add teams and agents and
remove agents (asked first: their access is revoked); viewers read. The same use-cases as the API
(domain/services/clients.py, provisioning/credentials.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.leasing import client_views
from domain.models import Member
from domain.services import clients as svc
from domain.services.client_schemas import MemberCreate, TeamCreate
from provisioning import client_credentials, credentials
from service.admin.confirm import is_confirmed
from service.auth import Principal
from service.db import SessionDep
from service.portal import lease_asks
from service.portal.web import Client, ClientAdmin, CsrfForm, attempt, redirect, render, tenant, validate_form

router = APIRouter()  # included in the portal's router, under /portal


async def _teams_page(
    request: Request,
    session: AsyncSession,
    user: Principal,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    teams = await svc.list_teams(session, tenant(user))
    members = await svc.client_members(session, tenant(user))
    by_team: dict[uuid.UUID, list[Member]] = {t.id: [] for t in teams}
    for m in members:
        by_team.setdefault(m.team_id, []).append(m)
    return render(
        request,
        "portal/teams.html",
        {
            "teams": teams,
            "by_team": by_team,
            "seats": await client_views.seats_of_members(session, tenant(user)),
            "errors": errors or {},
            "v": values or {},
            "flash": request.query_params.get("flash"),
        },
        status_code=status_code,
    )


@router.get("/teams", response_class=HTMLResponse)
async def teams_page(request: Request, user: Client, session: SessionDep) -> HTMLResponse:
    return await _teams_page(request, session, user)


@router.post("/teams", response_model=None)
async def create_team(request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    client = await svc.get_client(session, tenant(user))
    body, errs = validate_form(TeamCreate, {"name": str(form.get("team_name") or "").strip()})
    errors = {"team_name": next(iter(errs.values()))} if errs else {}
    if body is not None:
        _, error = await attempt(session, lambda: svc.create_team(session, user, client, body))
        if error is None:
            return redirect(request, "/portal/teams", f"Team {body.name} created")
        errors = {"team_name": error.detail}
    return await _teams_page(request, session, user, errors=errors, values=dict(form), status_code=422)


async def own_team_member(session: AsyncSession, user: Principal, member_id: uuid.UUID) -> Member:
    member = await svc.get_member(session, member_id)
    user.require_client(member.client_id, "member")
    return member


@router.post("/teams/{team_id}/members", response_model=None)
async def create_member(request: Request, team_id: uuid.UUID, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    team = await svc.get_team(session, team_id)
    user.require_client(team.client_id, "team")  # another client's team does not exist
    values = {k: str(v).strip() for k, v in form.items()}
    body, errors = validate_form(
        MemberCreate,
        {"name": values.get("name", ""), "email": values.get("email", ""), "employee_id": values.get("employee_id", "")},
    )
    if body is not None:
        _, error = await attempt(session, lambda: svc.create_member(session, user, team, body))
        if error is None:
            return redirect(request, "/portal/teams", f"{body.name} added to {team.name}")
        errors = {error.field or "__all__": error.detail}
    prefix = f"member.{team_id}."
    return await _teams_page(
        request,
        session,
        user,
        errors={prefix + k: v for k, v in errors.items()},
        values={prefix + k: v for k, v in values.items()},
        status_code=422,
    )


async def _member_page(
    request: Request,
    session: AsyncSession,
    user: Principal,
    member: Member,
    *,
    once: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    team = await svc.get_team(session, member.team_id)
    return render(
        request,
        "portal/member.html",
        {
            "member": member,
            "team": team,
            "member_seats": await client_views.member_seats(session, member.id),
            "credentials": await client_credentials.member_credentials(session, tenant(user), member.id),
            "credentials_url": f"/portal/members/{member.id}/credentials",
            "once": once,
            "flash": request.query_params.get("flash"),
        },
        status_code=status_code,
        headers=headers,
    )


@router.get("/members/{member_id}", response_class=HTMLResponse)
async def member_page(request: Request, member_id: uuid.UUID, user: Client, session: SessionDep) -> HTMLResponse:
    return await _member_page(request, session, user, await own_team_member(session, user, member_id))


@router.get("/members/{member_id}/credentials", response_class=HTMLResponse)
async def member_credentials(request: Request, member_id: uuid.UUID, user: Client, session: SessionDep) -> HTMLResponse:
    """The agent page's credentials card alone (it refreshes itself while one is being granted)."""
    member = await own_team_member(session, user, member_id)
    credentials = await client_credentials.member_credentials(session, tenant(user), member.id)
    url = f"/portal/members/{member.id}/credentials"
    return render(request, "portal/_credentials.html", {"credentials": credentials, "credentials_url": url})


@router.post("/members/{member_id}/remove", response_model=None)
async def remove_member(
    request: Request, member_id: uuid.UUID, user: ClientAdmin, session: SessionDep, form: CsrfForm
) -> Response:
    """The API's use-case (DELETE /v1/members/{id}): their seats and access go. Asked first."""
    member = await own_team_member(session, user, member_id)
    if not is_confirmed(form):
        if not member.active:
            return redirect(request, f"/portal/members/{member_id}", f"{member.name} was already removed")
        seats = [s.seat_label for s in await client_views.member_seats(session, member.id)]
        return await lease_asks.confirm_remove_member(request, member, seats)
    _, error = await attempt(session, lambda: svc.remove_member(session, user, member, datetime.now(UTC)))
    if error is not None:
        return redirect(request, f"/portal/members/{member_id}", f"Not removed: {error.detail}")
    return redirect(request, "/portal/teams", f"{member.name} removed; their access is being revoked")


@router.post("/credentials/{credential_id}/reveal", response_model=None)
async def reveal(request: Request, credential_id: uuid.UUID, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    """The secret, once (the API's POST /v1/credentials/{id}/reveal): shown in this answer only, never
    in a URL, and destroyed as it is read; the page says so. Another client's credential is a 404."""
    member_id = await client_credentials.credential_member(session, credential_id)
    if member_id is None:
        raise NotFound("credential not found")
    secret, error = await attempt(
        session, lambda: credentials.reveal_secret(session, user, credential_id, request.app.state.settings.secret_key)
    )
    if isinstance(error, NotFound):
        raise error
    member = await own_team_member(session, user, member_id)
    if error is not None:
        return redirect(request, f"/portal/members/{member_id}", f"Not revealed: {error.detail}")
    once = {
        "title": f"{secret.kind} secret of {member.name}",
        "label": f"Secret for {secret.login}",
        "value": secret.secret,
        "note": "Shown once: copy it now and hand it to the agent. It is destroyed and will never be shown again.",
    }
    return await _member_page(request, session, user, member, once=once, headers={"Cache-Control": "no-store"})
