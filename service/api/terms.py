"""Issue 11, terms that hold: a plan's dated prices, and a lease's own terms, dated seat prices and
escalation. Edges only: parse, look up (404 under the tenant filter), call the use-case, render."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from domain.leasing import terms
from domain.leasing.state import lease_site
from domain.leasing.terms_schemas import EscalationIn, LeaseTerms, PriceStepIn
from domain.models import Lease as LeaseRow
from domain.services import catalog, plan_prices
from domain.services.plan_price_schemas import PlanPrice, PlanPriceCreate, PlanPriceHistory
from service.api.leases import load_lease
from service.auth import StaffOrFinance, StaffUser, TenantReader
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1", tags=["terms"])


@router.post(
    "/plans/{plan_id}/prices",
    status_code=201,
    response_model=PlanPrice,
    summary="Add a plan price from a date",
    description="""Roles: admin, facility_staff. The plan's prices from `effective_from` on (today or later on
the site's calendar, else **422** naming `effective_from`); fields left out keep the price in force on that
date, add-ons not named in `add_on_prices` keep theirs (a code that is not a priced add-on of the plan:
**422** naming `add_on_prices`). A lease booked to start on or after that date copies these prices; leases
already booked keep their own, so no issued invoice and no true-up moves. **409** naming `effective_from`
when the plan already has a price from that date. Audited.""",
)
async def add_plan_price(
    plan_id: uuid.UUID, body: PlanPriceCreate, user: StaffUser, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    plan = await catalog.get_plan(session, plan_id)
    site = await catalog.site_for(session, plan.site_id)

    async def make() -> PlanPrice:
        row = await plan_prices.add_plan_price(session, user, plan, site, body, catalog.site_today(site))
        history = await plan_prices.price_history(session, plan, site.currency)
        return next(x for x in history if x.effective_from == row.effective_from)

    return await idem.run(session, str(user.subject), body, make)


@router.get(
    "/plans/{plan_id}/prices",
    response_model=PlanPriceHistory,
    summary="A plan's price history",
    description="""Roles: admin, facility_staff, finance. Newest date first; the last item
(`effective_from` null) is the price the plan was created with, in force before its first dated price.""",
)
async def list_plan_prices(plan_id: uuid.UUID, user: StaffOrFinance, session: SessionDep) -> PlanPriceHistory:
    plan = await catalog.get_plan(session, plan_id)
    site = await catalog.site_for(session, plan.site_id)
    return PlanPriceHistory(items=await plan_prices.price_history(session, plan, site.currency))


async def _terms(session: SessionDep, lease: LeaseRow) -> LeaseTerms:
    site = await lease_site(session, lease)
    return await terms.lease_terms(session, lease, site.currency, catalog.site_today(site))


@router.get(
    "/leases/{lease_id}/terms",
    response_model=LeaseTerms,
    summary="A lease's own commercial terms",
    description="""Roles: admin, facility_staff, finance; a client its own lease (another client's: 404).
The prices the lease was booked at (copied from its plan's price in force on its start date), its
notice period, discount, yearly escalation and dated seat prices, and the seat price in force today.""",
)
async def get_lease_terms(lease_id: uuid.UUID, user: TenantReader, session: SessionDep) -> LeaseTerms:
    return await _terms(session, await load_lease(session, lease_id, user))


@router.post(
    "/leases/{lease_id}/price-steps",
    status_code=201,
    response_model=LeaseTerms,
    summary="Set the lease's seat price from a date",
    description="""Roles: admin, facility_staff. From `effective_date` on (after the lease's start, on or
before its end if it has one: else **422** naming `effective_date`) the lease's monthly seat price is
`monthly_price_minor`; a step already on that date is replaced, and a yearly escalation continues from
it on later anniversaries. A date in a month already invoiced is trued up on the next invoice. The lease
must be pending_approval, confirmed or active (**409** otherwise). Dated amendment and audit event.""",
)
async def add_price_step(
    lease_id: uuid.UUID, body: PriceStepIn, user: StaffUser, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    lease = await load_lease(session, lease_id, user, for_update=True)

    async def make() -> LeaseTerms:
        await terms.set_seat_price_from(session, lease, body.effective_date, body.monthly_price_minor, user, body.reason)
        return await _terms(session, lease)

    return await idem.run(session, str(user.subject), body, make)


@router.delete(
    "/leases/{lease_id}/price-steps/{effective_date}",
    response_model=LeaseTerms,
    summary="Remove a dated seat price",
    description="Roles: admin, facility_staff. 404 when the lease has no price step on that date. Audited.",
)
async def remove_price_step(lease_id: uuid.UUID, effective_date: date, user: StaffUser, session: SessionDep) -> LeaseTerms:
    lease = await load_lease(session, lease_id, user, for_update=True)
    await terms.remove_price_step(session, lease, effective_date, user)
    return await _terms(session, lease)


@router.put(
    "/leases/{lease_id}/escalation",
    response_model=LeaseTerms,
    summary="Set the lease's yearly escalation",
    description="""Roles: admin, facility_staff. `escalation_pct` (a decimal string, e.g. `"5"`) raises the
seat price on each anniversary of the lease's start, compounding, rounded half up to a minor unit each
year; `null` or `"0"` removes it. Invoices apply the price in force on each day, prorated by days.""",
)
async def set_escalation(lease_id: uuid.UUID, body: EscalationIn, user: StaffUser, session: SessionDep) -> LeaseTerms:
    lease = await load_lease(session, lease_id, user, for_update=True)
    await terms.set_escalation(session, lease, body.escalation_pct, user, body.reason)
    return await _terms(session, lease)
