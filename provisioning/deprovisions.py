"""When the client's identity provider deprovisioned an agent (issue 14): the reconciler records the
instant the last of the agent's facility credentials was cut, and the KPI is the time from the SCIM
call (``scim_deprovisions.requested_at``) to then.

"Cut" is the credential's ``disabled_at`` (access ends: the account disabled, the badge off, the
Wi-Fi login gone); deleting the account after the grace period is housekeeping, not access.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from provisioning.schemas import DurationStats

# a deprovision is complete once every credential the agent had when the call came is cut (or was
# never granted anywhere); its completion is the last cut
COMPLETE_SQL = """
UPDATE scim_deprovisions d SET completed_at = x.done
FROM (
  SELECT d2.id, max(c.disabled_at) AS done
  FROM scim_deprovisions d2
  JOIN credentials c ON c.member_id = d2.member_id AND c.created_at <= d2.requested_at
  WHERE d2.completed_at IS NULL AND d2.credentials > 0 AND d2.member_id = ANY(CAST(:members AS uuid[]))
  GROUP BY d2.id
  HAVING bool_and(c.disabled_at IS NOT NULL OR c.state = 'revoked'
                  OR (c.first_granted_at IS NULL AND c.external_id IS NULL))
     AND max(c.disabled_at) IS NOT NULL
) x
WHERE d.id = x.id
"""

STATS_SQL = """
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY v) AS p99,
       max(v) AS max, count(v) AS n
FROM (SELECT EXTRACT(EPOCH FROM (completed_at - requested_at))::float8 AS v
      FROM scim_deprovisions WHERE completed_at IS NOT NULL AND credentials > 0) s
"""


async def complete(session: AsyncSession, member_ids: list[uuid.UUID]) -> None:
    """Called by the reconciler in the transaction that writes back cut credentials of these agents."""
    if member_ids:
        await session.execute(text(COMPLETE_SQL), {"members": [str(m) for m in set(member_ids)]})


async def stats(session: AsyncSession) -> tuple[DurationStats, int]:
    """The KPI (seconds from the SCIM call to the last credential cut) and how many wait still."""
    row = (await session.execute(text(STATS_SQL))).one()

    def r(x: object) -> float | None:
        return None if x is None else round(max(0.0, float(x)), 3)  # type: ignore[arg-type]

    waiting = await session.scalar(text("SELECT count(*) FROM scim_deprovisions WHERE completed_at IS NULL AND credentials > 0"))
    return DurationStats(p50_seconds=r(row.p50), p99_seconds=r(row.p99), max_seconds=r(row.max), count=int(row.n)), int(
        waiting or 0
    )
