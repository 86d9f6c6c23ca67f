"""The provisioning queue: credentials that failed, their errors, and a retry. The retry is the same
use-case the API runs (`provisioning.credentials.retry_credential`), so both give the same answer."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.leasing import queries as lease_queries
from domain.models import Credential, Lease
from domain.services.audit import Actor
from domain.services.lookup import get_or_404
from provisioning import credentials
from provisioning.kpis import credentials_by_state
from service.admin.web import CsrfForm, Ops, Staff, attempt, redirect, render
from service.db import SessionDep

router = APIRouter()


def retry_function() -> Callable[[AsyncSession, Actor, uuid.UUID], Awaitable[Credential]]:
    """The retry the admin offers: the provisioning use-case itself."""
    return credentials.retry_credential


async def lease_credentials(session: AsyncSession, lease_id: uuid.UUID) -> list[credentials.MemberCredential]:
    return await credentials.lease_credentials_by_member(session, lease_id)


@router.get("/provisioning", response_class=HTMLResponse)
async def queue(
    request: Request, user: Ops, session: SessionDep, state: Annotated[str | None, Query(max_length=16)] = "failed"
) -> HTMLResponse:
    return render(
        request,
        "provisioning.html",
        {
            "rows": await credentials.queue(session, state or None),
            "counts": await credentials_by_state(session),
            "state": state or "",
            "can_retry": True,
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
    back = str(form.get("back") or "/admin/provisioning")
    if not back.startswith("/admin/"):
        back = "/admin/provisioning"
    _, error = await attempt(session, lambda: credentials.retry_credential(session, user, credential_id))
    if error is not None:
        return redirect(request, back, f"Retry refused: {error.detail}")
    return redirect(request, back, "Retry scheduled: the worker picks it up on its next pass")


# --- integrations (issue 13): the lease page's credentials card, asked for again while work is pending ---
@router.get("/leases/{lease_id}/credentials", response_class=HTMLResponse)
async def lease_credentials_card(request: Request, lease_id: uuid.UUID, user: Staff, session: SessionDep) -> HTMLResponse:
    lease = await get_or_404(session, Lease, lease_id, "lease")
    return render(
        request,
        "_lease_credentials.html",
        {
            "lease": lease,
            "credentials": await lease_credentials(session, lease.id),
            "assignments": await lease_queries.lease_assignments(session, lease.id),
        },
    )
