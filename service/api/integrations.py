"""The integrations read-model over the API: the same one the admin's integrations page renders."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.auth import StaffUser
from service.db import SessionDep
from service.integrations import Integrations, read_integrations

router = APIRouter(tags=["provisioning"])


@router.get("/v1/integrations", response_model=Integrations, summary="Integrations: every target's state")
async def integrations(request: Request, user: StaffUser, session: SessionDep) -> Integrations:
    """Roles: admin, facility_staff. Each target system — directory (SCIM), Wi-Fi (FreeRADIUS's tables),
    door badges, Stripe, email (SMTP) — with whether it is configured (`configured`; `demo` for the
    targets `seatlease up` started for its demo) and which environment variables turn it on
    (`settings`, explained in `note`), where it is reached (`endpoint`, never a password or token),
    its last success and last error, and its work pending and failed (`counts` says of what: credentials
    per state; Stripe's invoices, credit notes, payment syncs and webhook events; the email outbox).
    Also the reconciler's liveness (`reconciler.status`: ok, degraded or none) and the mass-revocation
    guards waiting for a confirmation or standing rejected (`guards`)."""
    return await read_integrations(session, request.app.state.settings)
