"""The worker's lease-state pass (confirmed → active → ended by each site's calendar)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import (
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.errors import SeatsUnavailable
from domain.leasing import renewal
from domain.leasing.state import holds_a_seat_from
from domain.models import (
    Lease,
    RenewalMode,
    Site,
)
from domain.services.audit import Actor, record
from domain.services.isolation import failure, site_local

logger = logging.getLogger("seatlease.worker")


async def advance_lease_states(session: AsyncSession, actor: Actor) -> dict[str, Any]:
    """The worker's pass: confirmed → active on the start date, → ended once no seat of the lease is
    held any more (after the end date, or after the morning that follows it for a night shift),
    each on the site's own calendar. Idempotent.

    Site by site, each in a savepoint: a site whose records make the pass fail (e.g. a time zone
    stored before time zones were validated) is rolled back, logged and reported in
    `sites_failed`; the other sites' leases move on. A failure of the database itself fails the pass.
    """
    activated: list[Any] = []
    ended: list[Any] = []
    failed: list[dict[str, Any]] = []
    sites = (await session.execute(select(Site.id, Site.code, Site.timezone).order_by(Site.code))).all()
    for site_id, code, tz in sites:
        try:
            async with session.begin_nested():
                local_today = func.timezone(tz, func.now()).cast(Lease.start_date.type)
                site_activated = (
                    await session.execute(
                        update(Lease)
                        .where(Lease.site_id == site_id, Lease.status == "confirmed", Lease.start_date <= local_today)
                        .values(status="active", activated_at=func.now())
                        .returning(Lease.id, Lease.client_id)
                    )
                ).all()
                site_ended = (
                    await session.execute(
                        update(Lease)
                        .where(
                            Lease.site_id == site_id,
                            Lease.status == "active",
                            Lease.end_date.is_not(None),
                            Lease.end_date < local_today,
                            ~holds_a_seat_from(Lease.id, local_today),
                        )
                        .values(status="ended", ended_at=func.now())
                        .returning(Lease.id, Lease.client_id)
                    )
                ).all()
        except Exception as exc:
            if not site_local(exc):
                raise
            failed.append(failure(site_id, code, "lease_states", exc))
            logger.error("lease-state pass: site %s (%s) skipped: %s", code, site_id, failed[-1]["error"])
            continue
        activated.extend(site_activated)
        ended.extend(site_ended)
    for lease_id, client_id in activated:
        await record(session, actor, "lease.activate", "lease", lease_id, after={"status": "active"}, client_id=client_id)
    for lease_id, client_id in ended:
        await record(session, actor, "lease.ended", "lease", lease_id, after={"status": "ended"}, client_id=client_id)
    if activated or ended:
        await events.leases_changed(session)
    return {"activated": len(activated), "ended": len(ended), "sites_failed": failed}


# --- auto-renewal (issue 11, renewal) ---


async def renew_due_leases(session: AsyncSession, actor: Actor) -> dict[str, Any]:
    """The worker's renewal pass: each lease set to auto-renew whose term ends today or earlier (on
    its site's calendar) and still runs to that term end is renewed for the same term, before the
    lease-state pass could end it. Exactly once with any number of workers: the due leases are
    locked FOR UPDATE SKIP LOCKED, and a lease renewed by another worker no longer matches (its term
    end moved on) when PostgreSQL re-checks the row it waited for or reads it afresh.

    A lease whose seats are taken after its term end cannot be renewed: it is set back to manual
    renewal and audited as lease.auto_renew_failed, so staff see it (and it is not retried forever).
    Site by site, each in a savepoint, as `advance_lease_states`."""
    renewed: list[Any] = []
    refused: list[Any] = []
    failed: list[dict[str, Any]] = []
    sites = (await session.execute(select(Site.id, Site.code, Site.timezone).order_by(Site.code))).all()
    for site_id, code, tz in sites:
        try:
            async with session.begin_nested():
                local_today = func.timezone(tz, func.now()).cast(Lease.start_date.type)
                due = (
                    await session.scalars(
                        select(Lease)
                        .where(
                            Lease.site_id == site_id,
                            Lease.renewal_mode == RenewalMode.AUTO.value,
                            Lease.status.in_(renewal.RENEWABLE_STATUSES),
                            Lease.term_end_date.is_not(None),
                            Lease.end_date == Lease.term_end_date,
                            Lease.term_end_date <= local_today,
                        )
                        .order_by(Lease.id)
                        .with_for_update(skip_locked=True)
                        .execution_options(populate_existing=True)
                    )
                ).all()
                site_renewed, site_refused = [], []
                for lease in due:
                    lease_id, client_id = lease.id, lease.client_id  # a rolled-back savepoint expires the row
                    try:
                        async with session.begin_nested():
                            await renewal.renew_lease(session, actor, lease, automatic=True)
                        site_renewed.append(lease_id)
                    except SeatsUnavailable as exc:
                        lease.renewal_mode = RenewalMode.MANUAL.value
                        await session.flush()
                        await record(
                            session,
                            actor,
                            "lease.auto_renew_failed",
                            "lease",
                            lease_id,
                            after={"renewal_mode": "manual", "error": exc.detail},
                            client_id=client_id,
                        )
                        site_refused.append(lease_id)
        except Exception as exc:
            if not site_local(exc):
                raise
            # reported as the lease-state pass it runs before (operators see one "lease_states" failure
            # per site in /healthz and /metrics): the same site data makes both fail
            failed.append(failure(site_id, code, "lease_states", exc))
            logger.error("renewal pass: site %s (%s) skipped: %s", code, site_id, failed[-1]["error"])
            continue
        renewed.extend(site_renewed)
        refused.extend(site_refused)
    return {"renewed": len(renewed), "renewal_refused": len(refused), "sites_failed": failed}


# --- end auto-renewal ---
