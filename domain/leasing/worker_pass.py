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
from domain.leasing.state import holds_a_seat_from
from domain.models import (
    Lease,
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
