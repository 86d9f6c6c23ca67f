"""The help desk's KPIs through the API (issue 15): every figure of a known set of tickets, number by number;
the problematic-assets threshold (a setting); incidents bucketed across midnight and time zones, with the
shift of the lease on the seat when the fault began; the period's refusals; /metrics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Api, World, lease_body, make_world

Z = UTC


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=Z)


async def ticket(db: asyncpg.Pool, w: World, category: str, priority: str, created: datetime, **kw: Any) -> uuid.UUID:
    """A ticket row as the ticket use-cases leave it (inserted directly: the figures are under test, not them)."""
    row = {
        "id": uuid.uuid4(),
        "site_id": uuid.UUID(w.site["id"]),
        "category": category,
        "priority": priority,
        "status": "new",
        "subject": f"{category} trouble",
        "raised_by": "tests",
        "raised_via": "admin",
        "created_at": created,
        "updated_at": created,
        "occurred_at": kw.pop("occurred_at", created),
        **kw,
    }
    cols = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await db.execute(f"INSERT INTO tickets ({cols}) VALUES ({marks})", *row.values())
    return row["id"]


async def kpis(api: Api, w: World, **params: str) -> Any:
    return await api.get("/v1/helpdesk/kpis", params={"site_id": w.site["id"], **params})


def on_seat(body: dict[str, Any], seat: dict[str, Any]) -> dict[str, Any]:
    body.pop("seat_count")
    return {**body, "seat_ids": [seat["id"]]}


def group(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(r for r in rows if r["key"] == key)


async def test_every_figure_of_a_known_month(staff: Api, finance: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)  # Manila, UTC+8
    h, m = timedelta(hours=1), timedelta(minutes=1)
    # in the period (March on Manila's calendar: 28 Feb 16:00 UTC to 31 Mar 16:00 UTC)
    t1 = at("2026-03-02T01:00")  # answered in 10 min (due 15), resolved in 2 h (due 4 h): both met
    await ticket(db, w, "network", "urgent", t1, responded_at=t1 + 10 * m, resolved_at=t1 + 2 * h, status="resolved",
                 response_due_at=t1 + 15 * m, resolution_due_at=t1 + 4 * h)  # fmt: skip
    t2 = at("2026-03-05T02:00")  # answered in 30 min (due 15), resolved in 10 h (due 8 h): both breached
    await ticket(db, w, "network", "high", t2, responded_at=t2 + 30 * m, resolved_at=t2 + 10 * h, status="resolved",
                 response_due_at=t2 + 15 * m, resolution_due_at=t2 + 8 * h, response_breached_at=t2 + 15 * m)  # fmt: skip
    t3 = at("2026-03-10T03:00")  # answered in 1 h (due 4 h): met; never resolved, due on the 12th: breached
    await ticket(db, w, "device", "normal", t3, responded_at=t3 + h, status="in_progress",
                 response_due_at=t3 + 4 * h, resolution_due_at=at("2026-03-12T03:00"))  # fmt: skip
    t4 = at("2026-03-20T00:00")  # no SLA targets: timed, not in compliance
    await ticket(db, w, "device", "normal", t4, responded_at=t4 + 2 * h, resolved_at=t4 + 24 * h, status="closed")
    t6 = at("2026-02-28T16:30")  # 00:30 on 1 March in Manila: in March; waiting on the client: resolution pending
    await ticket(db, w, "power", "low", t6, responded_at=t6 + 15 * m, status="waiting_on_client", sla_paused_at=t6 + h,
                 response_due_at=t6 + 30 * m, resolution_due_at=at("2026-03-02T00:00"))  # fmt: skip
    # opened before March, resolved in it: resolved and timed, not opened
    t7 = at("2026-02-20T00:00")
    await ticket(db, w, "it", "normal", t7, responded_at=t7 + h, resolved_at=at("2026-03-03T00:00"), status="resolved")
    # outside: 00:30 on 1 April in Manila; and a February one
    await ticket(db, w, "power", "urgent", at("2026-03-31T16:30"), responded_at=at("2026-03-31T16:40"))
    await ticket(db, w, "it", "high", at("2026-02-10T00:00"), response_due_at=at("2026-02-10T01:00"))
    # another site's ticket in March is not this site's
    other = await make_world(staff)
    await ticket(db, other, "network", "urgent", t1, responded_at=t1 + m)

    k = await kpis(finance, w, **{"from": "2026-03-01", "to": "2026-03-31"})
    assert (k["from_date"], k["to_date"], k["site_id"]) == ("2026-03-01", "2026-03-31", w.site["id"])
    tot = k["totals"]
    assert (tot["opened"], tot["resolved"]) == (5, 4)
    # answered in March: 600, 900, 1800, 3600, 7200 s (continuous percentiles)
    assert tot["response_time"] == {"count": 5, "p50_seconds": 1800.0, "p90_seconds": 5760.0}
    # resolved in March: 7200, 36000, 86400 s and t7's 11 days (950400 s)
    assert tot["resolution_time"] == {"count": 4, "p50_seconds": 61200.0, "p90_seconds": 691200.0}
    assert tot["sla_response"] == {"with_target": 4, "met": 3, "breached": 1, "pending": 0, "compliance": 0.75}
    assert tot["sla_resolution"] == {"with_target": 4, "met": 1, "breached": 2, "pending": 1, "compliance": 0.3333}

    assert [g["key"] for g in k["by_category"]] == ["it", "device", "network", "power", "facility", "access"]
    net = group(k["by_category"], "network")
    assert (net["opened"], net["resolved"]) == (2, 2)
    assert net["response_time"] == {"count": 2, "p50_seconds": 1200.0, "p90_seconds": 1680.0}
    assert net["resolution_time"] == {"count": 2, "p50_seconds": 21600.0, "p90_seconds": 33120.0}
    assert net["sla_resolution"]["compliance"] == 0.5
    it = group(k["by_category"], "it")
    assert (it["opened"], it["resolved"], it["response_time"]["count"]) == (0, 1, 0)
    assert it["resolution_time"]["p50_seconds"] == 950400.0
    facility = group(k["by_category"], "facility")
    assert facility["opened"] == 0
    assert facility["response_time"]["p50_seconds"] is None
    assert facility["sla_response"]["compliance"] is None
    normal = group(k["by_priority"], "normal")
    assert (normal["opened"], normal["resolved"]) == (2, 2)  # t3, t4 opened; t4, t7 resolved
    assert normal["sla_resolution"] == {"with_target": 1, "met": 0, "breached": 1, "pending": 0, "compliance": 0.0}
    assert group(k["by_priority"], "low")["sla_resolution"]["pending"] == 1

    # the same period on all sites holds this site's figures and the other's
    everywhere = await finance.get("/v1/helpdesk/kpis", params={"from": "2026-03-01", "to": "2026-03-31"})
    assert everywhere["totals"]["opened"] >= 6
    assert everywhere["site_id"] is None


async def test_bad_periods_are_problems_naming_the_field(staff: Api, admin: Api, http: httpx.AsyncClient) -> None:
    w = await make_world(staff)
    for params, field in (
        ({"from": "2026-02-30"}, "from"),
        ({"from": "03/01/2026"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),
        ({"from": "2024-01-01", "to": "2026-03-01"}, "to"),
        ({"bucket": "month"}, "bucket"),
    ):
        r = await admin.call("GET", "/v1/helpdesk/kpis", params={"site_id": w.site["id"], **params})
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text, (params, r.text)
    r = await admin.call("GET", "/v1/helpdesk/kpis", params={"site_id": str(uuid.uuid4())})
    assert r.status_code == 404
    assert (await http.get("/v1/helpdesk/kpis")).status_code == 401


async def test_clients_may_not_read_the_kpis(staff: Api, client_login: Any) -> None:
    w = await make_world(staff)
    client = await client_login(w.client["id"])
    r = await client.call("GET", "/v1/helpdesk/kpis")
    assert r.status_code == 403


async def test_problematic_assets_over_the_threshold(staff: Api, db: asyncpg.Pool, app: FastAPI) -> None:
    w = await make_world(staff)
    site_id = w.site["id"]
    d1 = await staff.post("/v1/devices", {"serial": f"HS-{uuid.uuid4().hex[:8]}", "kind": "headset", "site_id": site_id})
    d2 = await staff.post("/v1/devices", {"serial": f"PC-{uuid.uuid4().hex[:8]}", "kind": "pc", "site_id": site_id})
    s1, s2 = w.seats[0], w.seats[1]
    # the window: the 90 days up to the end of 31 March in Manila (31 Mar 16:00 UTC), from 31 Dec 16:00 UTC
    for day in ("2026-01-05", "2026-02-01", "2026-03-01", "2026-03-30"):  # d1: 4 (> 3)
        await ticket(db, w, "device", "normal", at(f"{day}T00:00"), device_id=uuid.UUID(d1["id"]))
    for day in ("2026-01-05", "2026-02-01", "2026-03-01"):  # d2: 3, not more than 3
        await ticket(db, w, "device", "normal", at(f"{day}T00:00"), device_id=uuid.UUID(d2["id"]))
    # s1: 4, but one an hour before the window and one after it (00:30 on 1 April in Manila)
    for when in ("2025-12-31T15:00", "2026-01-10T00:00", "2026-03-31T15:59", "2026-03-31T16:30"):
        await ticket(db, w, "facility", "low", at(when), seat_id=uuid.UUID(s1["id"]))
    for day in ("2026-01-02", "2026-01-03", "2026-02-01", "2026-02-02", "2026-03-03"):  # s2: 5, one still open
        status = "in_progress" if day == "2026-03-03" else "closed"
        await ticket(db, w, "power", "high", at(f"{day}T00:00"), seat_id=uuid.UUID(s2["id"]), status=status)

    k = await kpis(staff, w, **{"from": "2026-03-01", "to": "2026-03-31"})
    pa = k["problematic_assets"]
    assert (pa["threshold"], pa["window_days"]) == (3, 90)
    assert (pa["since"], pa["until"]) == ("2025-12-31T16:00:00Z", "2026-03-31T16:00:00Z")
    got = [(a["kind"], a["id"], a["tickets"], a["open_tickets"]) for a in pa["items"]]
    assert got == [("seat", s2["id"], 5, 1), ("device", d1["id"], 4, 4)]
    seat = pa["items"][0]
    assert seat["label"] == s2["label"]
    assert seat["site_code"] == w.site["code"]
    assert seat["floor_name"] == "1F"
    assert seat["link"] == f"/admin/sites/{site_id}/map?floor_id={s2['floor_id']}&seat={s2['id']}"
    assert seat["last_ticket_at"] == "2026-03-03T00:00:00Z"
    device = pa["items"][1]
    assert device["label"] == f"{d1['serial']} (headset)"
    assert device["link"] == f"/admin/devices?serial={d1['serial']}"

    # N is a setting: at 2, d2 (3 tickets) is problematic too; s1 (2 in the window) is not yet
    saved = app.state.settings
    app.state.settings = saved.model_copy(update={"helpdesk_problem_tickets": 2})
    try:
        k = await kpis(staff, w, **{"from": "2026-03-01", "to": "2026-03-31"})
    finally:
        app.state.settings = saved
    at_two = [(a["kind"], a["id"], a["tickets"]) for a in k["problematic_assets"]["items"]]
    assert at_two == [("seat", s2["id"], 5), ("device", d1["id"], 4), ("device", d2["id"], 3)]
    assert k["problematic_assets"]["threshold"] == 2


@pytest.mark.parametrize("bucket", ["day", "week"])
async def test_incidents_across_midnight_time_zones_and_shifts(staff: Api, db: asyncpg.Pool, bucket: str) -> None:
    mnl = await make_world(staff, floors=2)  # UTC+8
    nyc = await make_world(staff, timezone="America/New_York", currency="USD")  # UTC-4 from 8 March 2026
    seat = mnl.seats[0]  # 1F, leased by DAY to one client and by NIGHT to another
    seat2 = next(s for s in mnl.seats if s["floor_id"] == mnl.floors[1]["id"])  # 2F, not leased
    day_lease = await staff.post("/v1/leases", on_seat(lease_body(mnl, shift="DAY", start_date="2026-03-01"), seat))
    other = await staff.post("/v1/clients", {"legal_name": "Night client", "billing_email": "ap@client-example.com"})
    team = await staff.post(f"/v1/clients/{other['id']}/teams", {"name": "Nights"})
    await staff.post(
        "/v1/leases",
        on_seat(lease_body(mnl, client_id=other["id"], team_id=team["id"], shift="NIGHT", start_date="2026-03-01"), seat),
    )
    sid = uuid.UUID(seat["id"])
    # 23:30 on the 10th in Manila, NIGHT (21:00-06:00) → the 10th
    await ticket(db, mnl, "network", "high", at("2026-03-10T15:30"), seat_id=sid)
    # 02:00 on the 11th in Manila: the NIGHT shift that began on the 10th still holds the seat → the 11th
    await ticket(db, mnl, "power", "urgent", at("2026-03-10T18:00"), seat_id=sid)
    # 11:00 on the 11th in Manila: DAY; reported a day late (created the 12th), counted when it occurred
    await ticket(db, mnl, "device", "normal", at("2026-03-12T03:00"), seat_id=sid, occurred_at=at("2026-03-11T03:00"))
    # 16:00 on the 11th: neither shift holds the seat → no shift; a 2F seat at 00:30 on the 12th
    await ticket(db, mnl, "device", "low", at("2026-03-11T08:00"), seat_id=sid)
    await ticket(db, mnl, "facility", "low", at("2026-03-11T16:30"), seat_id=uuid.UUID(seat2["id"]))
    # no seat, the DAY lease named: DAY, no floor
    await ticket(db, mnl, "access", "normal", at("2026-03-12T02:00"), lease_id=uuid.UUID(day_lease["id"]))
    # Sunday 15 March 20:00 UTC: Monday 04:00 in Manila (week of the 16th), Sunday 16:00 in New York (week of the 9th)
    await ticket(db, mnl, "it", "normal", at("2026-03-15T20:00"))
    await ticket(db, nyc, "it", "normal", at("2026-03-15T20:00"))
    # 23:30 on the 10th in New York is 03:30 UTC on the 11th → the 10th there
    await ticket(db, nyc, "network", "high", at("2026-03-11T03:30"))
    # outside March in New York: 00:30 on 1 April local (04:30 UTC) is out; 23:30 on 31 March local is in
    await ticket(db, nyc, "power", "urgent", at("2026-04-01T04:30"))
    await ticket(db, nyc, "power", "urgent", at("2026-04-01T03:30"))

    params = {"from": "2026-03-01", "to": "2026-03-31", "bucket": bucket}
    m = (await kpis(staff, mnl, **params))["incidents"]
    n = (await kpis(staff, nyc, **params))["incidents"]
    assert m["bucket"] == n["bucket"] == bucket

    def cats(inc: dict[str, Any]) -> list[tuple[str, str, int]]:
        return [(r["bucket"], r["category"], r["count"]) for r in inc["by_category"]]

    def shifts(inc: dict[str, Any]) -> list[tuple[str, str | None, int]]:
        return [(r["bucket"], r["shift"], r["count"]) for r in inc["by_shift"]]

    def floors(inc: dict[str, Any]) -> list[tuple[str, str | None, int]]:
        return [(r["bucket"], r["floor_name"], r["count"]) for r in inc["by_floor"]]

    if bucket == "day":
        assert cats(m) == [
            ("2026-03-10", "network", 1),
            ("2026-03-11", "device", 2),
            ("2026-03-11", "power", 1),
            ("2026-03-12", "access", 1),
            ("2026-03-12", "facility", 1),
            ("2026-03-16", "it", 1),
        ]
        assert shifts(m) == [
            ("2026-03-10", "NIGHT", 1),
            ("2026-03-11", "DAY", 1),
            ("2026-03-11", "NIGHT", 1),
            ("2026-03-11", None, 1),
            ("2026-03-12", "DAY", 1),
            ("2026-03-12", None, 1),
            ("2026-03-16", None, 1),
        ]
        assert floors(m) == [
            ("2026-03-10", "1F", 1),
            ("2026-03-11", "1F", 3),
            ("2026-03-12", "2F", 1),
            ("2026-03-12", None, 1),
            ("2026-03-16", None, 1),
        ]
        assert cats(n) == [("2026-03-10", "network", 1), ("2026-03-15", "it", 1), ("2026-03-31", "power", 1)]
    else:  # weeks begin on Monday
        assert cats(m) == [
            ("2026-03-09", "access", 1),
            ("2026-03-09", "device", 2),
            ("2026-03-09", "facility", 1),
            ("2026-03-09", "network", 1),
            ("2026-03-09", "power", 1),
            ("2026-03-16", "it", 1),
        ]
        assert shifts(m) == [
            ("2026-03-09", "DAY", 2),
            ("2026-03-09", "NIGHT", 2),
            ("2026-03-09", None, 2),
            ("2026-03-16", None, 1),
        ]
        assert cats(n) == [("2026-03-09", "it", 1), ("2026-03-09", "network", 1), ("2026-03-30", "power", 1)]
    assert {r["site_code"] for r in m["by_floor"]} == {mnl.site["code"]}


async def test_metrics_lines(staff: Api, db: asyncpg.Pool, http: httpx.AsyncClient) -> None:
    w = await make_world(staff)
    before = await staff.call("GET", "/metrics")
    assert before.status_code == 200

    def value(text: str, line_start: str) -> float:
        line = next(ln for ln in text.splitlines() if ln.startswith(line_start + " "))
        return float(line.rsplit(" ", 1)[1])

    now = datetime.now(Z)
    open_key = 'seatlease_tickets_open{category="access",priority="urgent"}'
    opened_key = 'seatlease_tickets_opened_total{category="access"}'
    resolved_key = 'seatlease_tickets_resolved_total{category="access"}'
    b_open, b_opened, b_resolved = (value(before.text, k) for k in (open_key, opened_key, resolved_key))
    await ticket(db, w, "access", "urgent", now - timedelta(hours=3))
    await ticket(db, w, "access", "urgent", now - timedelta(hours=2), resolved_at=now - timedelta(hours=1), status="resolved")
    after = (await staff.call("GET", "/metrics")).text
    assert value(after, open_key) == b_open + 1
    assert value(after, opened_key) == b_opened + 2
    assert value(after, resolved_key) == b_resolved + 1
    types = [ln for ln in after.splitlines() if ln.startswith("# TYPE seatlease_tickets_")]
    assert any(ln.startswith("# TYPE seatlease_tickets_opened") and ln.endswith(" counter") for ln in types), types
    for line in (
        'seatlease_ticket_resolution_seconds{quantile="0.5"}',
        'seatlease_ticket_resolution_seconds{quantile="0.9"}',
        'seatlease_ticket_sla_compliance_ratio{target="response"}',
        'seatlease_ticket_sla_compliance_ratio{target="resolution"}',
    ):
        assert line in after
    assert value(after, 'seatlease_ticket_resolution_seconds{quantile="0.5"}') > 0
    assert "seatlease_provisioning_lead_time_seconds" in after  # the provisioning figures are still there
    assert (await http.get("/metrics")).status_code == 401


async def test_the_bucket_follows_the_period_unless_asked(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    await ticket(db, w, "it", "normal", at("2026-03-04T03:00"))  # a Wednesday: the week of 2 March
    two_months = await kpis(staff, w, **{"from": "2026-02-01", "to": "2026-04-03"})  # 62 days: daily
    assert two_months["incidents"]["bucket"] == "day"
    assert [r["bucket"] for r in two_months["incidents"]["by_category"]] == ["2026-03-04"]
    longer = await kpis(staff, w, **{"from": "2026-02-01", "to": "2026-04-04"})  # 63 days: weekly
    assert longer["incidents"]["bucket"] == "week"
    assert [r["bucket"] for r in longer["incidents"]["by_category"]] == ["2026-03-02"]
    asked = await kpis(staff, w, **{"from": "2026-02-01", "to": "2026-04-04", "bucket": "day"})
    assert asked["incidents"]["bucket"] == "day"
