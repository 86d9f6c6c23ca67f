"""A shift that crosses midnight holds the seat until its end on the morning after its last date
(PRODUCT.md rule 1), enforced by PostgreSQL's exclusion constraint and shown the same way by
availability; the pure rule says the same, all held to a minute-by-minute oracle."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql

from domain.leasing.availability import free_seats_page_stmt
from domain.rules.shifts import DAY_MINUTES, leases_conflict
from tests.factories import Api, lease_body, make_world

# ---- the oracle: which absolute minutes a lease of one seat holds, written out plainly ----------

D0 = date(2031, 4, 1)
HORIZON_DAYS = 40  # past every date the strategies draw (start + length + the night's morning)


def held_minutes(window: tuple[int, int], start: date, end: date | None) -> int:
    """A bit per minute since D0 that the lease holds: on each date of its term, from the window's
    start that date to its end (the next day when the end is not after the start; the whole day
    when start == end)."""
    a, b = window
    length = DAY_MINUTES if a == b else (b - a if a < b else b + DAY_MINUTES - a)
    last = end if end is not None else D0 + timedelta(days=HORIZON_DAYS)
    bits = 0
    day = start
    while day <= last:
        offset = (day - D0).days * DAY_MINUTES + (0 if a == b else a)
        bits |= ((1 << length) - 1) << offset
        day += timedelta(days=1)
    return bits


def oracle_conflict(a: tuple[tuple[int, int], date, date | None], b: tuple[tuple[int, int], date, date | None]) -> bool:
    return bool(held_minutes(*a) & held_minutes(*b))


EDGES = [0, 1, 359, 360, 361, 900, 1259, 1260, 1439]
minute = st.one_of(st.sampled_from(EDGES), st.integers(0, DAY_MINUTES - 1))
window = st.one_of(st.just((0, 0)), st.tuples(minute, minute))
term = st.tuples(st.integers(0, 12), st.one_of(st.none(), st.integers(0, 12))).map(
    lambda t: (D0 + timedelta(days=t[0]), None if t[1] is None else D0 + timedelta(days=t[0] + t[1]))
)
lease = st.tuples(window, term).map(lambda x: (x[0], x[1][0], x[1][1]))

NIGHT, DAY, FULL, EARLY = (1260, 360), (360, 900), (0, 0), (0, 360)


def test_the_oracle_itself() -> None:
    night = (NIGHT, D0, D0 + timedelta(days=9))
    assert oracle_conflict(night, (FULL, D0 + timedelta(days=10), None))  # 06:00 on the 11th
    assert not oracle_conflict(night, (DAY, D0 + timedelta(days=10), None))
    assert not oracle_conflict(night, (NIGHT, D0 + timedelta(days=10), None))
    assert not oracle_conflict(night, (EARLY, D0, D0))  # no night holds the morning of its first date
    assert oracle_conflict(night, (EARLY, D0 + timedelta(days=10), D0 + timedelta(days=10)))


@given(lease, lease)
@settings(max_examples=1500, deadline=None)
def test_the_pure_rule_is_the_oracle(a: Any, b: Any) -> None:
    assert leases_conflict(*a, *b) == oracle_conflict(a, b)
    assert leases_conflict(*a, *b) == leases_conflict(*b, *a)


# ---- the database: the exclusion constraint and availability against the oracle ----------------


@pytest.fixture(scope="module")
async def one_seat(staff: Api) -> dict[str, Any]:
    """A site with two seats; a lease to hang raw lease_seats rows on (on the other seat)."""
    w = await make_world(staff, zones=1, seats_per_zone=2)
    holder = await staff.post(
        "/v1/leases", lease_body(w, seat_ids=[w.seats[1]["id"]], seat_count=None, start_date="2040-01-01", end_date="2040-01-01")
    )
    return {"site": uuid.UUID(w.site["id"]), "seat": uuid.UUID(w.seats[0]["id"]), "lease": uuid.UUID(holder["id"])}


INSERT = """INSERT INTO lease_seats (lease_id, seat_id, start_date, end_date, window_start_min, window_end_min)
            VALUES ($1, $2, $3, $4, $5, $6)"""


def _free_seats_sql(site: uuid.UUID, win: tuple[int, int], start: date, end: date | None) -> str:
    stmt = free_seats_page_stmt(site, win, start, end, 10)
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


@given(lease, lease)
@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@example(((1260, 360), date(2031, 4, 1), date(2031, 4, 10)), ((0, 0), date(2031, 4, 11), None))
@example(((1260, 360), date(2031, 4, 1), date(2031, 4, 10)), ((360, 900), date(2031, 4, 11), None))
@example(((1260, 360), date(2031, 4, 1), date(2031, 4, 10)), ((1260, 360), date(2031, 4, 11), None))
@example(((1260, 360), date(2031, 4, 1), None), ((0, 360), date(2031, 4, 1), date(2031, 4, 1)))
async def test_the_exclusion_constraint_and_availability_are_the_oracle(
    db: asyncpg.Pool, one_seat: dict[str, Any], a: Any, b: Any
) -> None:
    expected = oracle_conflict(a, b)
    (wa, sa, ea), (wb, sb, eb) = a, b
    async with db.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(INSERT, one_seat["lease"], one_seat["seat"], sa, ea, *wa)
            free = {r["id"] for r in await conn.fetch(_free_seats_sql(one_seat["site"], wb, sb, eb))}
            refused = False
            try:
                async with conn.transaction():  # a savepoint
                    await conn.execute(INSERT, one_seat["lease"], one_seat["seat"], sb, eb, *wb)
            except asyncpg.ExclusionViolationError:
                refused = True
        finally:
            await tx.rollback()
    assert refused == expected, (a, b)
    assert (one_seat["seat"] not in free) == expected, (a, b)


# ---- through the API: the cases, and under concurrency ---------------------------------


def _seats(w: Any, i: int, **kw: Any) -> dict[str, Any]:
    return lease_body(w, seat_ids=[w.seats[i]["id"]], seat_count=None, **kw)


async def _free(staff: Api, w: Any, shift: str, start: str, end: str | None = None) -> set[str]:
    params = {"shift": shift, "start": start, "seats": 100, **({"end": end} if end else {})}
    return {s["id"] for s in (await staff.get(f"/v1/sites/{w.site['id']}/availability", params=params))["seats"]}


async def test_night_holds_the_morning_after_its_last_date(staff: Api) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)
    # an early shift to lease the small hours alone
    await staff.post(f"/v1/sites/{w.site['id']}/shifts", {"code": "EARLY", "starts_at": "00:00", "ends_at": "06:00"})
    seat = w.seats[0]["id"]
    await staff.post("/v1/leases", _seats(w, 0, shift="NIGHT", start_date="2031-04-01", end_date="2031-04-10"))

    assert seat not in await _free(staff, w, "FULL", "2031-04-11")
    r = await staff.call("POST", "/v1/leases", json=_seats(w, 0, shift="FULL", start_date="2031-04-11"))
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("seats-unavailable")
    r = await staff.call("POST", "/v1/leases", json=_seats(w, 0, shift="EARLY", start_date="2031-04-11", end_date="2031-04-11"))
    assert r.status_code == 409, r.text

    # the day after, DAY and the next NIGHT fit; so do the small hours of the first date
    for shift, start, end in (("DAY", "2031-04-11", None), ("NIGHT", "2031-04-11", None), ("EARLY", "2031-04-01", "2031-04-01")):
        assert seat in await _free(staff, w, shift, start, end), shift
        await staff.post("/v1/leases", _seats(w, 0, shift=shift, start_date=start, end_date=end))

    # a seat-count booking sees the same: FULL from the 11th never gets seat 0
    lease = await staff.post("/v1/leases", lease_body(w, shift="FULL", start_date="2031-04-11", seat_count=3))
    assert seat not in {s["id"] for s in lease["seats"]}


async def test_extending_a_night_lease_into_a_taken_morning_is_refused(staff: Api) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    night = await staff.post("/v1/leases", _seats(w, 0, shift="NIGHT", start_date="2031-04-01", end_date="2031-04-05"))
    await staff.post("/v1/leases", _seats(w, 0, shift="DAY", start_date="2031-04-06"))
    await staff.post(f"/v1/sites/{w.site['id']}/shifts", {"code": "EARLY", "starts_at": "00:00", "ends_at": "06:00"})
    await staff.post("/v1/leases", _seats(w, 0, shift="EARLY", start_date="2031-04-08", end_date="2031-04-08"))
    # ending the night on the 6th is fine (its tail is the morning of the 7th), on the 7th it is not
    r = await staff.call("POST", f"/v1/leases/{night['id']}/end", json={"end_date": "2031-04-07"})
    assert r.status_code == 409, r.text
    await staff.call("POST", f"/v1/leases/{night['id']}/end", 200, json={"end_date": "2031-04-06"})


async def test_concurrent_night_and_next_morning_bookings_one_wins(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=8)
    bodies = []
    for i in range(8):
        bodies += [
            _seats(w, i, shift="NIGHT", start_date="2031-04-01", end_date="2031-04-10"),
            _seats(w, i, shift="FULL", start_date="2031-04-11", end_date="2031-04-20"),
        ] * 3
    responses = await asyncio.gather(*(staff.call("POST", "/v1/leases", json=b) for b in bodies))
    assert {r.status_code for r in responses} == {201, 409}, [r.text for r in responses if r.status_code >= 500][:2]
    assert sum(r.status_code == 201 for r in responses) == 8  # one lease per seat
    held = await db.fetch(
        "SELECT seat_id, count(*) AS n FROM lease_seats ls JOIN leases l ON l.id = ls.lease_id "
        "WHERE l.site_id = $1 AND NOT ls.voided GROUP BY seat_id",
        uuid.UUID(w.site["id"]),
    )
    assert sorted(r["n"] for r in held) == [1] * 8


# ---- the migration: existing rows become segments; rows that already conflict stop it -----------


SEED = """
WITH s AS (INSERT INTO sites (code, name, timezone, currency, tax_rate)
           VALUES ('MIG', 'Migration site', 'Asia/Manila', 'PHP', 0.12) RETURNING id),
f AS (INSERT INTO floors (site_id, name, level) SELECT id, '1F', 1 FROM s RETURNING id, site_id),
seat AS (INSERT INTO seats (site_id, floor_id, zone, label, x, y) SELECT site_id, id, 'A', '1F-A-001', 0, 0 FROM f
         RETURNING id),
c AS (INSERT INTO clients (legal_name, billing_email, payment_terms_days)
      VALUES ('Migration client', 'ap@client-example.com', 30) RETURNING id),
t AS (INSERT INTO teams (client_id, name) SELECT id, 'Nights' FROM c RETURNING id, client_id),
p AS (INSERT INTO plans (site_id, name, monthly_price_minor, setup_fee_minor, deposit_months)
      SELECT id, 'Seat', 100, 0, 0 FROM s RETURNING id, site_id),
sh AS (INSERT INTO shifts (site_id, code, name, starts_at, ends_at) SELECT id, 'NIGHT', 'Night', '21:00', '06:00' FROM s
       RETURNING id, site_id),
l AS (INSERT INTO leases (client_id, team_id, site_id, plan_id, shift_id, shift_code, start_date, status)
      SELECT t.client_id, t.id, p.site_id, p.id, sh.id, 'NIGHT', '2031-04-01', 'confirmed' FROM t, p, sh RETURNING id)
SELECT l.id AS lease_id, seat.id AS seat_id FROM l, seat
"""


def test_the_migration_converts_rows_and_stops_on_rows_that_already_conflict(server_url: str) -> None:
    from alembic import command

    from service.dburl import connect
    from service.embedded import with_database
    from service.migrate import alembic_config

    async def sql(db: str, statement: str, *args: Any) -> list[asyncpg.Record]:
        conn = await connect(with_database(server_url, db))
        try:
            return list(await conn.fetch(statement, *args))
        finally:
            await conn.close()

    for conflicting in (False, True):
        name = f"night_{uuid.uuid4().hex[:10]}"
        asyncio.run(sql("postgres", f'CREATE DATABASE "{name}"'))
        try:
            cfg = alembic_config(with_database(server_url, name))
            command.upgrade(cfg, "0007_sessions_live")
            (ids,) = asyncio.run(sql(name, SEED))
            rows = [("2031-04-01", "2031-04-10", 1260, 360), ("2031-04-11", "2031-04-20", 360, 900)]
            if conflicting:  # the old constraint let 00:00-06:00 start the morning the last night still ran
                rows.append(("2031-04-11", "2031-04-11", 0, 360))
            for start, end, a, b in rows:
                asyncio.run(
                    sql(name, INSERT, ids["lease_id"], ids["seat_id"], date.fromisoformat(start), date.fromisoformat(end), a, b)
                )
            if conflicting:
                with pytest.raises(RuntimeError, match=r"seat 1F-A-001 from 2031-04-11: lease .* \(lease_seats "):
                    command.upgrade(cfg, "heads")
                continue
            command.upgrade(cfg, "heads")
            segments = asyncio.run(
                sql(name, "SELECT start_date, end_date, win_lo, win_hi FROM lease_seat_segments ORDER BY start_date, win_lo")
            )
            assert [tuple(r) for r in segments] == [
                (date(2031, 4, 1), date(2031, 4, 10), 1260, 1440),
                (date(2031, 4, 2), date(2031, 4, 11), 0, 360),
                (date(2031, 4, 11), date(2031, 4, 20), 360, 900),
            ]
            command.downgrade(cfg, "0007_sessions_live")  # and back: the old constraint returns
            command.upgrade(cfg, "heads")
        finally:
            asyncio.run(sql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_occupancy_reads_the_same_segments(staff: Api) -> None:
    """The occupancy report counts a seat leased for a shift on a day exactly when a lease of that
    shift on that day would be refused: the night's morning tail shows under FULL, not under DAY."""
    w = await make_world(staff, zones=1, seats_per_zone=2)
    await staff.post("/v1/leases", _seats(w, 0, shift="NIGHT", start_date="2031-04-01", end_date="2031-04-10"))

    async def leased(day: str) -> dict[str, int]:
        rows = (await staff.get(f"/v1/reports/occupancy?site_id={w.site['id']}&date={day}"))["items"]
        return {r["shift"]: r["seats_leased"] for r in rows}

    assert await leased("2031-04-10") == {"FULL": 1, "DAY": 0, "NIGHT": 1}
    # the morning after the last date: the seat is held until 06:00, so not free for FULL, free for DAY and NIGHT
    assert await leased("2031-04-11") == {"FULL": 1, "DAY": 0, "NIGHT": 0}
    assert await leased("2031-04-12") == {"FULL": 0, "DAY": 0, "NIGHT": 0}
    # the morning of the first date is not held
    assert await leased("2031-03-31") == {"FULL": 0, "DAY": 0, "NIGHT": 0}
