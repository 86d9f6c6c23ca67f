"""Provisioning KPIs: lead time, revocation lag, access without a lease, devices out for return."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from provisioning import deprovisions
from provisioning.schemas import DurationStats, ProvisioningKpis

# lead time: from when a credential became due (lease active and member seated) to first granted;
# revocation lag: from when it stopped being due (lease ended, seat released, member removed) to disabled
_STATS = """
SELECT
  percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS p50,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY v) AS p99,
  max(v) AS max, count(v) AS n
FROM (SELECT EXTRACT(EPOCH FROM ({end} - {start}))::float8 AS v FROM credentials
      WHERE {end} IS NOT NULL AND {start} IS NOT NULL) s
"""


def _stats(row: Any) -> DurationStats:
    def r(x: Any) -> float | None:
        return None if x is None else round(max(0.0, float(x)), 3)

    return DurationStats(p50_seconds=r(row.p50), p99_seconds=r(row.p99), max_seconds=r(row.max), count=int(row.n))


async def kpis(session: AsyncSession) -> dict[str, Any]:
    """The figures as a plain mapping, for reports that merge them with others'."""
    return (await read_kpis(session)).model_dump()


async def read_kpis(session: AsyncSession) -> ProvisioningKpis:
    lead = (await session.execute(text(_STATS.format(start="desired_since", end="first_granted_at")))).one()
    lag = (await session.execute(text(_STATS.format(start="revoke_requested_at", end="disabled_at")))).one()
    counts = (
        await session.execute(
            text("""
        SELECT
          count(*) FILTER (WHERE NOT desired AND disabled_at IS NULL AND state <> 'revoked'
                           AND (external_id IS NOT NULL OR first_granted_at IS NOT NULL)) AS without_lease,
          count(*) FILTER (WHERE state = 'failed') AS failed,
          count(*) FILTER (WHERE desired AND state <> 'active') AS pending_grant,
          count(*) FILTER (WHERE NOT desired AND state NOT IN ('revoked')) AS pending_revoke
        FROM credentials""")
        )
    ).one()
    devices_out = int(await session.scalar(text("SELECT count(*) FROM devices WHERE return_due_at IS NOT NULL")) or 0)
    shortages = int(await session.scalar(text("SELECT count(*) FROM device_shortages WHERE resolved_at IS NULL")) or 0)
    guards = int(await session.scalar(text("SELECT count(*) FROM revocation_guards WHERE status = 'pending'")) or 0)
    scim_time, scim_waiting = await deprovisions.stats(session)  # client SCIM (issue 14)
    return ProvisioningKpis(
        provisioning_lead_time=_stats(lead),
        revocation_lag=_stats(lag),
        credentials_active_without_lease=int(counts.without_lease),
        credentials_failed=int(counts.failed),
        credentials_pending_grant=int(counts.pending_grant),
        credentials_pending_revoke=int(counts.pending_revoke),
        devices_out_for_return=devices_out,
        seats_short_of_devices=shortages,
        mass_revocations_awaiting_confirmation=guards,
        scim_deprovision_time=scim_time,
        scim_deprovisions_waiting=scim_waiting,
    )


async def credentials_by_state(session: AsyncSession) -> dict[str, int]:
    """How many credentials are in each state (states with none are absent)."""
    rows = await session.execute(text("SELECT state, count(*) FROM credentials GROUP BY state"))
    return {str(state): int(n) for state, n in rows.tuples()}
