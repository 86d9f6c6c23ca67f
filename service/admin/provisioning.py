"""The provisioning queue: credentials that failed, their errors, and a retry. Shown only when the
provisioning part is installed; the retry goes through that part's own service."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.models import Client, Member, Site
from service.admin import integrations
from service.admin.web import CsrfForm, Ops, attempt, redirect, render
from service.db import SessionDep

router = APIRouter()


def credential_model() -> Any:
    return integrations.attr("domain.models.credential", "Credential")


def retry_function() -> Callable[..., Any] | None:
    """The API's retry (fresh back-off, audit event, wakes the reconciler), called as a function."""
    api_retry = integrations.attr("service.api.provisioning", "retry")
    if not callable(api_retry):
        return None

    async def run(session: AsyncSession, user: Any, credential_id: uuid.UUID) -> Any:
        return await api_retry(credential_id, user, session)

    return run


async def lease_credentials(session: AsyncSession, lease_id: uuid.UUID) -> list[Any] | None:
    Credential = credential_model()  # noqa: N806
    if Credential is None:
        return None
    return list(
        (
            await session.execute(
                select(Credential, Member.name)
                .join(Member, Member.id == Credential.member_id)
                .where(Credential.lease_id == lease_id)
                .order_by(Member.name, Credential.kind)
            )
        ).all()
    )


@router.get("/provisioning", response_class=HTMLResponse)
async def queue(
    request: Request, user: Ops, session: SessionDep, state: Annotated[str | None, Query(max_length=16)] = "failed"
) -> HTMLResponse:
    Credential = credential_model()  # noqa: N806
    if Credential is None:
        raise NotFound("provisioning is not installed")
    counts: dict[str, int] = dict(
        (await session.execute(select(Credential.state, func.count()).group_by(Credential.state))).tuples().all()
    )
    stmt = (
        select(Credential, Member.name, Client.legal_name, Site.code)
        .join(Member, Member.id == Credential.member_id)
        .join(Client, Client.id == Credential.client_id)
        .join(Site, Site.id == Credential.site_id)
    )
    if state:
        stmt = stmt.where(Credential.state == state)
    rows = (await session.execute(stmt.order_by(Credential.updated_at.desc().nulls_last()).limit(300))).all()
    return render(
        request,
        "provisioning.html",
        {
            "rows": rows,
            "counts": counts,
            "state": state or "",
            "can_retry": retry_function() is not None,
            "states": ("failed", "pending", "active", "revoking", "revoked"),
            "flash": request.query_params.get("flash"),
            "kpis": await _kpis(session),
        },
    )


async def _kpis(session: AsyncSession) -> Any:
    from service.admin.dashboard import provisioning_panel

    return await provisioning_panel(session)


@router.post("/provisioning/credentials/{credential_id}/retry", response_model=None)
async def retry(request: Request, credential_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    fn = retry_function()
    if fn is None:
        raise NotFound("provisioning retry is not installed")
    back = str(form.get("back") or "/admin/provisioning")
    if not back.startswith("/admin/"):
        back = "/admin/provisioning"
    _, error = await attempt(session, lambda: fn(session, user, credential_id))
    if error is not None:
        return redirect(request, back, f"Retry refused: {error.detail}")
    return redirect(request, back, "Retry scheduled: the worker picks it up on its next pass")
