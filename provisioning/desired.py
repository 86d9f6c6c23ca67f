"""Desired state: which credentials must exist now, derived from leases, seats and members.

A member holds a credential of each enabled kind while they are assigned to a seat that their
lease holds today (on the site's calendar) and the lease is active. `derive` writes that into
`credentials.desired`; the reconciler then converges the targets.

The derivation goes site by site, each in a savepoint: a site whose records make it fail (a time
zone stored before time zones were validated, say) is rolled back, logged and reported in the
result (`sites_failed`); its credentials stay as they are and every other site goes on.

A credential that leaves the desired state is revoked at once when a recorded business event
explains it, visible in the lease tables: its lease ended or was cancelled, its seat was released
(the lease's row for that seat ended or was voided), its member was removed, or its member was
unassigned (the seat assignment is gone and the lease's audit log has the assignment change or
seat release since the credential became desired). Anything else is DRIFT (lease seats deleted,
a lease put back to another status, corrupted rows): when drift is more than `mass_revoke_share`
of the active credentials and at least `mass_revoke_min` of them, those drifted credentials alone
are held for a human's confirmation (`revocation_guards`); every other grant and revocation goes on.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.models.held import held_sql, lease_seat_held_sql, lease_seat_may_hold_sql
from domain.models.seat_on import seat_on_sql
from domain.services.audit import SystemActor, record
from domain.services.isolation import failure, site_local
from provisioning.config import ProvisioningConfig
from provisioning.secrets import new_secret, seal

logger = logging.getLogger("seatlease.provisioning")

ACTOR = SystemActor("provisioning")
DERIVE_LOCK = "seatlease:provisioning:derive"
SECRET_KINDS = ("directory", "wifi")

# one row per (lease, member) of the site `:site` that must hold credentials on its date `:today`, at
# the seat the member sits at that day (domain/models/seat_on.py: a seat move takes effect on its date): the
# lease seat holds its seat that day (seat_held: a night shift's last morning included); a badge is
# valid until the end of the last day the seat is held. One look at the row's segments answers both.
# On the date of a move to another floor, a night shift that started the day before still runs at the
# old seat until the morning: while that seat is still held today, the badge opens both floors
# (prev_floor_name), and only the new one from the next day.
DESIRED_SQL = f"""
SELECT DISTINCT ON (l.id, sa.member_id)
       l.id AS lease_id, sa.member_id, sat.seat_id, l.client_id, l.site_id, s.code AS site_code,
       s.timezone AS tz, l.shift_code, f.name AS floor_name, m.email,
       GREATEST(COALESCE(l.activated_at, sa.created_at), sa.created_at) AS desired_since,
       h.seat_end, pf.floor_name AS prev_floor_name
FROM leases l
JOIN sites s ON s.id = l.site_id
JOIN seat_assignments sa ON sa.lease_id = l.id
-- OFFSET 0 keeps the seat a plain column to join on: an expression as the join key made PostgreSQL
-- hash whole tables (lease_seats, seats) for every site instead of looking each row up
CROSS JOIN LATERAL (SELECT {seat_on_sql("sa", "CAST(:today AS date)")} AS seat_id OFFSET 0) sat
JOIN members m ON m.id = sa.member_id AND m.active
JOIN seats st ON st.id = sat.seat_id
JOIN floors f ON f.id = st.floor_id
JOIN lease_seats ls ON ls.lease_id = l.id AND ls.seat_id = sat.seat_id
     AND {lease_seat_may_hold_sql("ls", "CAST(:today AS date)", "CAST(:today AS date)")}
CROSS JOIN LATERAL (
  SELECT bool_or({held_sql("g", "CAST(:today AS date)", "CAST(:today AS date)", "0", "0")}) AS held_today,
         CASE WHEN bool_or(g.end_date IS NULL) THEN NULL ELSE max(g.end_date) END AS seat_end
  FROM lease_seat_segments g WHERE g.lease_seat_id = ls.id
) h
LEFT JOIN LATERAL (
  SELECT pfl.name AS floor_name FROM seats pst JOIN floors pfl ON pfl.id = pst.floor_id
  WHERE pst.id = {seat_on_sql("sa", "CAST(:today AS date) - 1")} AND pst.id <> sat.seat_id AND pst.floor_id <> st.floor_id
    AND EXISTS (SELECT 1 FROM lease_seats pls WHERE pls.lease_id = l.id AND pls.seat_id = pst.id
                AND {lease_seat_held_sql("pls", "CAST(:today AS date)", "CAST(:today AS date)")})
) pf ON true
WHERE h.held_today AND l.status = 'active' AND l.site_id = :site
ORDER BY l.id, sa.member_id, ls.end_date DESC NULLS FIRST
"""

UPSERT_SQL = f"""
WITH d AS ({DESIRED_SQL}),
k AS (SELECT unnest(CAST(:kinds AS text[])) AS kind),
src AS (
  SELECT gen_random_uuid() AS new_id, k.kind, d.*,
         CASE WHEN k.kind = 'badge' THEN jsonb_build_array(
                d.site_code || ':site:' || d.shift_code, d.site_code || ':' || d.floor_name || ':' || d.shift_code)
                || CASE WHEN d.prev_floor_name IS NULL THEN '[]'::jsonb
                        ELSE jsonb_build_array(d.site_code || ':' || d.prev_floor_name || ':' || d.shift_code) END
              ELSE '[]'::jsonb END AS groups,
         CASE WHEN k.kind <> 'badge' THEN NULL
              WHEN d.seat_end IS NOT NULL THEN ((d.seat_end + 1)::timestamp AT TIME ZONE d.tz)
              ELSE date_trunc('day', now()) + make_interval(days => :validity_days) END AS valid_until
  FROM d CROSS JOIN k
)
INSERT INTO credentials (id, kind, lease_id, member_id, seat_id, client_id, site_id, login, desired, state,
                         access_groups, valid_until, desired_since, next_attempt_at, external_ref, attempts)
SELECT new_id, kind, lease_id, member_id, seat_id, client_id, site_id,
       'sl-' || left(regexp_replace(lower(split_part(email, '@', 1)), '[^a-z0-9]+', '', 'g'), 24)
             || '-' || left(replace(new_id::text, '-', ''), 10),
       true, 'pending', groups, valid_until, desired_since, now(), '{{}}'::jsonb, 0
FROM src
ON CONFLICT (kind, lease_id, member_id) DO UPDATE SET
  seat_id = EXCLUDED.seat_id,
  access_groups = EXCLUDED.access_groups,
  valid_until = EXCLUDED.valid_until,
  next_attempt_at = LEAST(COALESCE(credentials.next_attempt_at, now()), now()),
  desired = true,
  state = CASE WHEN credentials.desired THEN credentials.state ELSE 'pending' END,
  attempts = CASE WHEN credentials.desired THEN credentials.attempts ELSE 0 END,
  desired_since = CASE WHEN credentials.desired THEN credentials.desired_since ELSE now() END,
  revoke_requested_at = CASE WHEN credentials.desired THEN credentials.revoke_requested_at ELSE NULL END,
  disabled_at = CASE WHEN credentials.desired THEN credentials.disabled_at ELSE NULL END,
  revoked_at = CASE WHEN credentials.desired THEN credentials.revoked_at ELSE NULL END,
  updated_at = now()
WHERE NOT credentials.desired
   OR credentials.seat_id IS DISTINCT FROM EXCLUDED.seat_id
   OR credentials.access_groups <> EXCLUDED.access_groups
   OR credentials.valid_until IS DISTINCT FROM EXCLUDED.valid_until
RETURNING id, kind, lease_id, client_id, (xmax = 0) AS inserted
"""

# The site's desired credentials that are no longer desired, each with whether a recorded business
# event explains it. NOT IN over a row value becomes one hashed subplan; NOT EXISTS here may be
# planned as a nested anti-join that re-reads the desired set for every credential (quadratic at scale).
STALE_SQL = f"""
SELECT c.id, (
    l.status IN ('ended', 'cancelled')
    OR NOT m.active
    OR EXISTS (SELECT 1 FROM lease_seats ls WHERE ls.lease_id = c.lease_id AND ls.seat_id = c.seat_id
               AND NOT {lease_seat_held_sql("ls", "CAST(:today AS date)")})
    OR (NOT EXISTS (SELECT 1 FROM seat_assignments sa WHERE sa.lease_id = c.lease_id AND sa.member_id = c.member_id)
        AND EXISTS (SELECT 1 FROM audit_events a WHERE a.object_id = c.lease_id::text AND a.object_type = 'lease'
                    AND a.action IN ('lease.assignments', 'lease.seat_released', 'lease.end', 'lease.cancel')
                    AND a.at >= COALESCE(c.desired_since, c.created_at)))
  ) AS explained
FROM credentials c
JOIN leases l ON l.id = c.lease_id
JOIN members m ON m.id = c.member_id
WHERE c.site_id = :site AND c.desired AND c.kind = ANY(CAST(:kinds AS text[]))
  AND (c.lease_id, c.member_id) NOT IN (SELECT d.lease_id, d.member_id FROM ({DESIRED_SQL}) d)
"""

REVOKE_SQL = """
UPDATE credentials c SET
  desired = false, state = 'revoking', attempts = 0, last_error = NULL, next_attempt_at = now(), updated_at = now(),
  revoke_requested_at = LEAST(now(), COALESCE(
      (SELECT COALESCE(l.ended_at, l.cancelled_at) FROM leases l WHERE l.id = c.lease_id AND l.status IN ('ended','cancelled')),
      (SELECT m.removed_at FROM members m WHERE m.id = c.member_id AND NOT m.active),
      now()))
WHERE c.id = ANY(CAST(:ids AS uuid[])) AND c.desired
RETURNING c.id, c.kind, c.lease_id, c.client_id
"""


@dataclass
class DeriveResult:
    derived: bool = True
    granted: int = 0
    changed: int = 0
    revoked: int = 0
    # drifted credentials held back by the guard (nothing else is ever held)
    guard_held: int = 0
    drifted: int = 0
    sites_failed: list[dict[str, Any]] = field(default_factory=list)
    devices: dict[str, int] = field(default_factory=dict)


async def try_lock(session: AsyncSession, name: str) -> bool:
    return bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(hashtext(:n))"), {"n": name}))


async def derive(session: AsyncSession, config: ProvisioningConfig) -> DeriveResult:
    """Bring `credentials.desired` in line with the leases (one worker at a time; others skip)."""
    if not await try_lock(session, DERIVE_LOCK):
        return DeriveResult(derived=False)
    from provisioning.providers.devices import reconcile_devices

    kinds = config.enabled_kinds
    out = DeriveResult()
    explained: list[uuid.UUID] = []
    drifted: list[uuid.UUID] = []
    sites = (await session.execute(text("SELECT id, code, timezone FROM sites ORDER BY code"))).all()
    for site in sites:
        try:
            async with session.begin_nested():
                today: date = await session.scalar(text("SELECT CAST(now() AT TIME ZONE :tz AS date)"), {"tz": site.timezone})
                at = {"site": site.id, "today": today, "kinds": kinds}
                granted = changed = 0
                stale: list[Any] = []
                if kinds:
                    rows = (await session.execute(text(UPSERT_SQL), {**at, "validity_days": config.badge_validity_days})).all()
                    granted = sum(1 for r in rows if r.inserted)
                    changed = len(rows) - granted
                    stale = list((await session.execute(text(STALE_SQL), at)).all())
                devices = await reconcile_devices(session, site.id, today)
        except Exception as exc:
            if not site_local(exc):
                raise
            out.sites_failed.append(failure(site.id, site.code, "desired_state", exc))
            logger.error("desired-state pass: site %s (%s) skipped: %s", site.code, site.id, out.sites_failed[-1]["error"])
            continue
        out.granted += granted
        out.changed += changed
        explained.extend(r.id for r in stale if r.explained)
        drifted.extend(r.id for r in stale if not r.explained)
        for key, n in devices.items():
            out.devices[key] = out.devices.get(key, 0) + n
    if kinds:
        await _seal_new_secrets(session, config)
        out.drifted = len(drifted)
        held = await _guard(session, config, kinds, drifted)
        out.guard_held = len(held)
        out.revoked = await _revoke(session, explained + [i for i in drifted if i not in held])
    if out.granted or out.changed or out.revoked:
        # the workers that skipped this derivation (it is one at a time) start on the new work
        # as soon as it commits, instead of at their next sweep
        await events.leases_changed(session, "derived")
    return out


async def _seal_new_secrets(session: AsyncSession, config: ProvisioningConfig) -> None:
    """Give each credential that will need one its secret before any grant is attempted."""
    ids = (
        await session.scalars(
            text(
                "SELECT id FROM credentials WHERE kind = ANY(CAST(:kinds AS text[])) AND secret_ciphertext IS NULL "
                "AND secret_revealed_at IS NULL AND first_granted_at IS NULL AND desired"
            ),
            {"kinds": list(SECRET_KINDS)},
        )
    ).all()
    if not ids:
        return
    await session.execute(
        text("UPDATE credentials SET secret_ciphertext = :c WHERE id = :id"),
        [{"id": i, "c": seal(config.secret_key, new_secret())} for i in ids],
    )


async def _revoke(session: AsyncSession, ids: list[uuid.UUID]) -> int:
    if not ids:
        return 0
    return len((await session.execute(text(REVOKE_SQL), {"ids": ids})).all())


async def _guard(session: AsyncSession, config: ProvisioningConfig, kinds: list[str], drifted: list[uuid.UUID]) -> set[uuid.UUID]:
    """The drifted credentials to hold back now (an empty set lets them all be revoked)."""
    would = len(drifted)
    total = int(
        await session.scalar(
            text("SELECT count(*) FROM credentials WHERE desired AND kind = ANY(CAST(:kinds AS text[]))"), {"kinds": kinds}
        )
        or 0
    )
    trips = config.mass_revoke_share < 1 and would >= config.mass_revoke_min and would > config.mass_revoke_share * total
    if not trips:
        if would:
            logger.warning(
                "provisioning drift: %d credentials left the desired state with no lease event behind "
                "them (under the guard's threshold): revoking",
                would,
            )
        await _dismiss_pending(session, would, total)
        return set()
    confirmed = (
        await session.execute(
            text(
                "SELECT id, would_revoke FROM revocation_guards WHERE status = 'confirmed' "
                "ORDER BY confirmed_at DESC LIMIT 1 FOR UPDATE"
            )
        )
    ).first()
    # a confirmation covers the revocation it was shown (and a little growth), not a larger one
    if confirmed is None or would > int(confirmed.would_revoke * 1.1) + 1:
        # so does a rejection: the same drift stays held without asking again; a larger one asks anew
        rejected = (
            await session.execute(
                text("SELECT id, would_revoke FROM revocation_guards WHERE status = 'rejected' ORDER BY rejected_at DESC LIMIT 1")
            )
        ).first()
        if rejected is None or would > int(rejected.would_revoke * 1.1) + 1:
            await _hold(session, would, total, await _by_kind(session, drifted))
        return set(drifted)
    await session.execute(text("UPDATE revocation_guards SET status = 'consumed' WHERE id = :id"), {"id": confirmed.id})
    await record(
        session,
        ACTOR,
        "provisioning.mass_revoke_released",
        "revocation_guard",
        confirmed.id,
        after={"would_revoke": would, "total_active": total},
    )
    return set()


async def _by_kind(session: AsyncSession, ids: list[uuid.UUID]) -> dict[str, int]:
    """How many of these credentials each target holds (what a guard shows the person deciding)."""
    rows = await session.execute(
        text("SELECT kind, count(*) FROM credentials WHERE id = ANY(CAST(:ids AS uuid[])) GROUP BY kind ORDER BY kind"),
        {"ids": ids},
    )
    return {str(kind): int(n) for kind, n in rows.tuples()}


async def _dismiss_pending(session: AsyncSession, would: int, total: int) -> None:
    """Drift back under the threshold (rows restored, say): a pending hold no longer stands, nor does a
    rejection (it was about that drift; a new one is asked about anew)."""
    gone = (
        await session.execute(
            text("UPDATE revocation_guards SET status = 'dismissed' WHERE status IN ('pending', 'rejected') RETURNING id")
        )
    ).all()
    for g in gone:
        await record(
            session,
            ACTOR,
            "provisioning.mass_revoke_dismissed",
            "revocation_guard",
            g.id,
            after={"would_revoke": would, "total_active": total, "reason": "drift under the threshold"},
        )


async def _hold(session: AsyncSession, would: int, total: int, by_kind: dict[str, int]) -> None:
    pending = (
        await session.execute(
            text("SELECT id FROM revocation_guards WHERE status = 'pending' ORDER BY created_at DESC LIMIT 1 FOR UPDATE")
        )
    ).first()
    if pending is not None:
        await session.execute(
            text("UPDATE revocation_guards SET would_revoke = :w, total_active = :t, by_kind = CAST(:k AS jsonb) WHERE id = :id"),
            {"w": would, "t": total, "k": json.dumps(by_kind), "id": pending.id},
        )
        return
    gid = await session.scalar(
        text(
            "INSERT INTO revocation_guards (would_revoke, total_active, by_kind) VALUES (:w, :t, CAST(:k AS jsonb)) RETURNING id"
        ),
        {"w": would, "t": total, "k": json.dumps(by_kind)},
    )
    logger.warning(
        "drift guard: %d of %d active credentials left the desired state with no lease event behind "
        "them; holding just those for confirmation",
        would,
        total,
    )
    await record(
        session,
        ACTOR,
        "provisioning.mass_revoke_held",
        "revocation_guard",
        gid,
        after={"would_revoke": would, "total_active": total, "by_kind": by_kind},
    )


def summary(result: DeriveResult) -> dict[str, Any]:
    return {
        "derived": result.derived,
        "granted": result.granted,
        "changed": result.changed,
        "revoked": result.revoked,
        "guard_held": result.guard_held,
        "drifted": result.drifted,
        "sites_failed": result.sites_failed,
        **result.devices,
    }
