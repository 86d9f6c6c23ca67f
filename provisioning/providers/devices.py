"""Devices: in-stock devices of the plan's kinds go to each leased seat at lease start, are
marked for return when the seat is no longer held, and a seat short of stock is flagged.

Devices live in our own inventory tables, so this provider acts in the derivation transaction,
one site at a time (`:site`, with that site's local date `:today`), in the site's savepoint.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models.held import lease_seat_held_sql
from domain.services import device_history
from domain.services.audit import SystemActor, record

ACTOR = SystemActor("provisioning")

# the seats the site's active leases hold today (seat_held: a night shift's last morning included)
LIVE_SEATS = f"""
SELECT DISTINCT l.id AS lease_id, ls.seat_id, l.site_id, l.plan_id, l.client_id
FROM leases l
JOIN lease_seats ls ON ls.lease_id = l.id
     AND {lease_seat_held_sql("ls", "CAST(:today AS date)", "CAST(:today AS date)")}
WHERE l.status = 'active' AND l.site_id = :site
"""

MISSING = f"""
WITH live AS ({LIVE_SEATS}),
need AS (
  SELECT live.lease_id, live.seat_id, live.site_id, live.client_id, i.device_kind, sum(i.quantity_per_seat) AS qty
  FROM live JOIN inclusions i ON i.plan_id = live.plan_id AND i.kind = 'device' AND i.billing = 'included'
       AND i.device_kind IS NOT NULL
  GROUP BY 1, 2, 3, 4, 5
),
have AS (
  SELECT lease_id, seat_id, kind, count(*) AS n FROM devices
  WHERE status = 'assigned' AND return_due_at IS NULL AND lease_id IS NOT NULL GROUP BY 1, 2, 3
)
SELECT need.lease_id, need.seat_id, need.site_id, need.client_id, need.device_kind,
       (need.qty - COALESCE(have.n, 0))::int AS missing
FROM need LEFT JOIN have ON have.lease_id = need.lease_id AND have.seat_id = need.seat_id
     AND have.kind = need.device_kind
WHERE need.qty > COALESCE(have.n, 0)
"""


# --- changes during a term: seat moves (issue 11) ---
# the site's seat moves that have taken effect and whose devices have not followed yet, oldest first
# (a seat moved twice carries its devices along both steps, in order)
DUE_MOVES = """
UPDATE lease_seat_moves mv SET devices_moved_at = now()
WHERE mv.devices_moved_at IS NULL AND mv.effective_date <= :today
  AND mv.lease_id IN (SELECT id FROM leases WHERE site_id = :site)
RETURNING mv.id, mv.lease_id, mv.from_seat_id, mv.to_seat_id, mv.effective_date
"""

FOLLOW = """
UPDATE devices SET seat_id = :to_seat
WHERE lease_id = :lease AND seat_id = :from_seat AND status = 'assigned' AND return_due_at IS NULL
RETURNING id, serial
"""


async def follow_moves(session: AsyncSession, site_id: uuid.UUID, today: date) -> int:
    """The devices of a moved seat go with it on the move's date, instead of going back to stock
    while the new seat waits for stock (a move is one amendment: the agent keeps their PC)."""
    moved = 0
    due = sorted(
        (await session.execute(text(DUE_MOVES), {"site": site_id, "today": today})).all(), key=lambda m: m.effective_date
    )
    events: list[dict[str, object]] = []
    for mv in due:
        devs = (
            await session.execute(text(FOLLOW), {"to_seat": mv.to_seat_id, "lease": mv.lease_id, "from_seat": mv.from_seat_id})
        ).all()
        for dev in devs:
            moved += 1
            await record(
                session,
                ACTOR,
                "device.move",
                "device",
                dev.id,
                after={"serial": dev.serial, "from_seat_id": mv.from_seat_id, "seat_id": mv.to_seat_id, "lease_id": mv.lease_id},
            )
            events.append(
                {"device_id": dev.id, "seat_id": mv.to_seat_id, "lease_id": mv.lease_id, "note": "followed its seat's move"}
            )
    await device_history.log_many(session, ACTOR, "moved", events)
    return moved


# --- end of seat moves ---


async def reconcile_devices(session: AsyncSession, site_id: uuid.UUID, today: date) -> dict[str, int]:
    """Place, flag and call back the devices of one site's leases."""
    at = {"site": site_id, "today": today}
    followed = await follow_moves(session, site_id, today)
    assigned = 0
    placed: list[dict[str, object]] = []
    stocked = (
        await session.execute(
            text(
                f"SELECT m.* FROM ({MISSING}) m WHERE EXISTS (SELECT 1 FROM devices d WHERE d.site_id = m.site_id "
                "AND d.kind = m.device_kind AND d.status = 'in_stock') ORDER BY m.lease_id, m.seat_id"
            ),
            at,
        )
    ).all()
    for row in stocked:
        got = (
            await session.execute(
                text(
                    "UPDATE devices SET status = 'assigned', seat_id = :seat, lease_id = :lease, return_due_at = NULL "
                    "WHERE id IN (SELECT id FROM devices WHERE site_id = :site AND kind = :kind AND status = 'in_stock' "
                    "ORDER BY serial LIMIT :n FOR UPDATE SKIP LOCKED) RETURNING id, serial"
                ),
                {"seat": row.seat_id, "lease": row.lease_id, "site": row.site_id, "kind": row.device_kind, "n": row.missing},
            )
        ).all()
        for dev in got:
            assigned += 1
            await record(
                session,
                ACTOR,
                "device.assign",
                "device",
                dev.id,
                after={"serial": dev.serial, "seat_id": row.seat_id, "lease_id": row.lease_id},
                client_id=row.client_id,
            )
            placed.append({"device_id": dev.id, "seat_id": row.seat_id, "lease_id": row.lease_id})
    await device_history.log_many(session, ACTOR, "placed", placed)
    flagged = (
        await session.execute(
            text(f"""
        WITH m AS ({MISSING})
        INSERT INTO device_shortages (lease_id, seat_id, device_kind, missing)
        SELECT lease_id, seat_id, device_kind, missing FROM m
        ON CONFLICT (lease_id, seat_id, device_kind) DO UPDATE SET missing = EXCLUDED.missing, resolved_at = NULL
        WHERE device_shortages.missing <> EXCLUDED.missing OR device_shortages.resolved_at IS NOT NULL
        RETURNING id, lease_id, seat_id, device_kind, missing, (xmax = 0) AS inserted"""),
            at,
        )
    ).all()
    for f in flagged:
        if f.inserted:
            await record(
                session,
                ACTOR,
                "device.shortage",
                "lease",
                f.lease_id,
                after={"seat_id": f.seat_id, "device_kind": f.device_kind, "missing": f.missing},
            )
    # row-valued NOT IN runs as one hashed subplan (NOT EXISTS may become a quadratic anti-join)
    resolved = (
        await session.execute(
            text(f"""
        UPDATE device_shortages s SET resolved_at = now()
        WHERE s.resolved_at IS NULL AND s.lease_id IN (SELECT id FROM leases WHERE site_id = :site)
          AND (s.lease_id, s.seat_id, s.device_kind) NOT IN (SELECT m.lease_id, m.seat_id, m.device_kind FROM ({MISSING}) m)
        RETURNING s.id"""),
            at,
        )
    ).all()
    returns = (
        await session.execute(
            text(f"""
        UPDATE devices d SET return_due_at = now()
        WHERE d.status = 'assigned' AND d.lease_id IS NOT NULL AND d.return_due_at IS NULL
          AND d.seat_id IS NOT NULL AND d.lease_id IN (SELECT id FROM leases WHERE site_id = :site)
          AND (d.lease_id, d.seat_id) NOT IN (SELECT live.lease_id, live.seat_id FROM ({LIVE_SEATS}) live)
        RETURNING d.id, d.serial, d.lease_id, d.seat_id"""),
            at,
        )
    ).all()
    for dev in returns:
        await record(
            session,
            ACTOR,
            "device.return_due",
            "device",
            dev.id,
            after={"serial": dev.serial, "seat_id": dev.seat_id, "lease_id": dev.lease_id},
        )
    await device_history.log_many(
        session,
        ACTOR,
        "return_due",
        [
            {"device_id": d.id, "seat_id": d.seat_id, "lease_id": d.lease_id, "note": "its lease no longer holds the seat"}
            for d in returns
        ],
    )
    return {
        "devices_assigned": assigned,
        "device_shortages_flagged": len(flagged),
        "device_shortages_resolved": len(resolved),
        "devices_due_back": len(returns),
        "devices_moved": followed,
    }
