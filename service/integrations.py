"""The integrations page's one read-model, composed from each part's own (ARCHITECTURE: service →
billing, provisioning → domain): provisioning's targets, the reconciler and its guards; billing's
Stripe; the email outbox. The API (`GET /v1/integrations`) and the admin (/admin/integrations) render it."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from billing.integrations import stripe_target
from domain.services.integrations import IntegrationTarget, email_target
from provisioning.integrations import ReconcilerState, provisioning_targets, reconciler_state, standing_guards
from provisioning.schemas import GuardOut
from service.settings import Settings


class Integrations(BaseModel):
    """Every target system seatlease talks to, the reconciler's liveness, and the guards that wait."""

    targets: list[IntegrationTarget]
    reconciler: ReconcilerState
    # pending guards wait for Confirm or Reject; rejected ones still hold their credentials back
    guards: list[GuardOut]


async def read_integrations(session: AsyncSession, settings: Settings) -> Integrations:
    targets = await provisioning_targets(session, settings.provisioning(), settings.demo_targets)
    targets.append(await stripe_target(session, settings.billing(), webhook_secret_set=bool(settings.stripe_webhook_secret)))
    targets.append(await email_target(session, settings.mail()))
    return Integrations(
        targets=targets,
        reconciler=await reconciler_state(session, settings.worker_stale_seconds),
        guards=await standing_guards(session),
    )
