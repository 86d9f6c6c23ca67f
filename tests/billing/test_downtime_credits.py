"""Downtime credits (issue 15) through the API and the worker's pass: a resolved outage costs each
affected lease the leased hours it lost (a NIGHT seat's 02:00 outage counts, a DAY seat's does not),
as a credit note against the month's invoice through the approval threshold; never twice, whether the
pass runs twice, twice at once, or staff ask for it at the same time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.downtime import run_pass
from service.worker import downtime_credits as downtime_credits_job
from tests.billing.conftest import app_of, invoices_of, run_month
from tests.factories import Api, lease_body, make_world, uniq
from tests.ticket_rows import make_ticket

MANILA = ZoneInfo("Asia/Manila")


def at(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=MANILA).astimezone(UTC)


async def _other_client(staff: Api) -> tuple[str, str]:
    c = await staff.post("/v1/clients", {"legal_name": f"Nightly {uniq()}", "billing_email": "ap@client-example.com"})
    t = await staff.post(f"/v1/clients/{c['id']}/teams", {"name": "Team"})
    return c["id"], t["id"]


async def _three_leases(staff: Api, y: int) -> tuple[Any, dict[str, Any], dict[str, Any], dict[str, Any], str]:
    """One site; from March 1st: a NIGHT seat and a DAY seat of one client, a FULL seat of another."""
    w = await make_world(staff)
    night = await staff.post("/v1/leases", lease_body(w, shift="NIGHT", start_date=f"{y}-03-01", seat_count=1))
    day = await staff.post("/v1/leases", lease_body(w, shift="DAY", start_date=f"{y}-03-01", seat_count=1))
    other, team = await _other_client(staff)
    full = await staff.post(
        "/v1/leases", lease_body(w, client_id=other, team_id=team, shift="FULL", start_date=f"{y}-03-01", seat_count=1)
    )
    return w, night, day, full, other


def _rule(api: Api) -> Any:
    return app_of(api).state.settings.downtime_credits()


async def test_a_resolved_outage_credits_the_leased_hours_lost_once(
    staff: Api, finance: Api, db: asyncpg.Pool, fresh_year: Callable[..., int], maker: async_sessionmaker[AsyncSession]
) -> None:
    y = fresh_year()
    w, night, day, full, other = await _three_leases(staff, y)
    await run_month(finance, f"{y}-03")
    ticket = await make_ticket(
        maker,
        site_id=w.site["id"],
        seat_id=night["seats"][0]["id"],
        category="power",
        status="resolved",
        occurred_at=at(y, 3, 10, 1),
        resolved_at=at(y, 3, 10, 5),
    )
    for lease in (day, full):
        await staff.call("POST", f"/v1/tickets/{ticket}/affected-seats", 200, json={"seat_id": lease["seats"][0]["id"]})
    view = await staff.get(f"/v1/tickets/{ticket}/downtime-credits")
    # (the DAY lease may hold the NIGHT lease's seat by day: one seat, two leases)
    assert set(view["affected_seat_ids"]) == {lease["seats"][0]["id"] for lease in (night, day, full)}
    assert view["credits"] == []

    # two passes at once, then a third: one proposal per lease, one credit note each
    rule = _rule(staff)
    await asyncio.gather(run_pass(maker, rule), run_pass(maker, rule))
    await run_pass(maker, rule)
    view = await finance.get(f"/v1/tickets/{ticket}/downtime-credits")
    by_lease = {c["lease_id"]: c for c in view["credits"]}
    assert set(by_lease) == {night["id"], full["id"]}, "the DAY seat lost no leased hour at 01:00-05:00"
    n, f = by_lease[night["id"]], by_lease[full["id"]]
    # NIGHT: March holds 3 + 30 x 9 = 273 leased hours; FULL: 31 x 24 = 744
    assert (n["hours_lost"], n["amount_minor"]) == ("4.00", 21_978), str(n)  # 1,500,000 x 4 / 273 = 21,978.02
    assert (f["hours_lost"], f["amount_minor"]) == ("4.00", 8_065)  # 1,500,000 x 4 / 744 = 8,064.5
    (line,) = n["lines"]
    assert (line["seat_label"], line["shift"], line["period"], line["hours_lost"], line["month_leased_hours"]) == (
        night["seats"][0]["label"],
        "NIGHT",
        f"{y}-03",
        "4.00",
        "273.00",
    )
    assert f["client_id"] == other
    for c, client in ((n, w.client["id"]), (f, other)):
        assert c["status"] == "credited"
        assert c["credit_note"]["status"] == "issued"  # below SEATLEASE_CREDIT_APPROVAL_MINOR
        assert c["credit_note"]["amount_minor"] == c["amount_minor"]
        (inv,) = await invoices_of(finance, client, f"{y}-03")
        assert c["invoice_id"] == inv["id"]
        notes = await finance.get(f"/v1/invoices/{inv['id']}/credit-notes")
        assert [(x["id"], x["status"]) for x in notes] == [(c["credit_note"]["id"], "issued")]
    assert await db.fetchval("SELECT count(*) FROM downtime_credits WHERE ticket_id = $1", uuid.UUID(ticket)) == 2
    assert (
        await db.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'downtime_credit.propose' AND object_id IN "
            "(SELECT id::text FROM downtime_credits WHERE ticket_id = $1)",
            uuid.UUID(ticket),
        )
        == 2
    )
    # asked again by staff: the same, nothing new
    again = await staff.post(f"/v1/tickets/{ticket}/downtime-credits", expect=200)
    assert {c["id"] for c in again["credits"]} == {n["id"], f["id"]}
    assert await db.fetchval("SELECT count(*) FROM credit_notes WHERE invoice_id = $1::uuid", n["invoice_id"]) == 1
    # the seats are frozen once credits are proposed
    extra = next(
        s["id"] for s in w.seats if s["id"] not in {night["seats"][0]["id"], day["seats"][0]["id"], full["seats"][0]["id"]}
    )
    r = await staff.call("POST", f"/v1/tickets/{ticket}/affected-seats", 409, json={"seat_id": extra})
    assert r.json()["field"] == "seat_id"


async def test_awaiting_the_invoice_then_pending_approval_above_the_threshold(
    staff: Api, finance: Api, http: httpx.AsyncClient, fresh_year: Callable[..., int], maker: async_sessionmaker[AsyncSession]
) -> None:
    y = fresh_year()
    w, night, _day, _full, _other = await _three_leases(staff, y)
    # a whole day's outage on the NIGHT seat in May, before May is invoiced
    ticket = await make_ticket(
        maker,
        site_id=w.site["id"],
        seat_id=night["seats"][0]["id"],
        category="network",
        status="resolved",
        occurred_at=at(y, 5, 10, 0),
        resolved_at=at(y, 5, 11, 0),
    )
    # staff ask twice at once: one proposal
    answers = await asyncio.gather(
        *(http.post(f"/v1/tickets/{ticket}/downtime-credits", headers=staff.headers) for _ in range(2))
    )
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json()["credits"] == answers[1].json()["credits"]
    credits = (await staff.get(f"/v1/tickets/{ticket}/downtime-credits"))["credits"]
    # the DAY lease of the same seat (when allocation gave it the same seat) lost its 9 hours too
    assert len(credits) == len({night["id"], _day["id"]} & {c["lease_id"] for c in credits})
    (c,) = [c for c in credits if c["lease_id"] == night["id"]]
    assert c["status"] == "awaiting_invoice"
    assert c["credit_note"] is None
    # May: 31 nights of 9 hours; the day of the 10th holds 6 + 3 leased hours
    assert c["hours_lost"] == "9.00"
    assert c["amount_minor"] == 1_500_000 * 9 // 279 + (1 if (1_500_000 * 9 % 279) * 2 >= 279 else 0)

    settings = app_of(staff).state.settings
    old = settings.credit_note_approval_threshold_minor
    settings.credit_note_approval_threshold_minor = 10_000
    try:
        await run_month(finance, f"{y}-05")
        await run_pass(maker, settings.downtime_credits())
    finally:
        settings.credit_note_approval_threshold_minor = old
    credits = (await finance.get(f"/v1/tickets/{ticket}/downtime-credits"))["credits"]
    (c,) = [c for c in credits if c["lease_id"] == night["id"]]
    assert c["status"] == "credited"
    assert c["credit_note"]["status"] == "pending_approval"  # above the threshold: finance approves
    assert c["credit_note"]["number_label"] is None


async def test_refusals_and_the_minimum(
    staff: Api, fresh_year: Callable[..., int], maker: async_sessionmaker[AsyncSession], db: asyncpg.Pool
) -> None:
    y = fresh_year()
    w, night, _day, _full, _other = await _three_leases(staff, y)
    seat = night["seats"][0]["id"]
    device = await make_ticket(
        maker,
        site_id=w.site["id"],
        seat_id=seat,
        category="device",
        status="resolved",
        occurred_at=at(y, 3, 10, 1),
        resolved_at=at(y, 3, 10, 5),
    )
    r = await staff.call("POST", f"/v1/tickets/{device}/downtime-credits", 409)
    assert r.json()["field"] == "category"
    open_ = await make_ticket(maker, site_id=w.site["id"], seat_id=seat, category="power", occurred_at=at(y, 3, 10, 1))
    r = await staff.call("POST", f"/v1/tickets/{open_}/downtime-credits", 409)
    assert r.json()["field"] == "status"
    other = await make_world(staff)
    r = await staff.call("POST", f"/v1/tickets/{open_}/affected-seats", 422, json={"seat_id": other.seats[0]["id"]})
    assert r.json()["field"] == "seat_id"
    await staff.call("POST", f"/v1/tickets/{uuid.uuid4()}/downtime-credits", 404)
    # 20 minutes: below the 30-minute minimum, recorded as no credit, no credit note
    blip = await make_ticket(
        maker,
        site_id=w.site["id"],
        seat_id=seat,
        category="power",
        status="resolved",
        occurred_at=at(y, 3, 10, 1),
        resolved_at=at(y, 3, 10, 1, 20),
    )
    (c,) = (await staff.post(f"/v1/tickets/{blip}/downtime-credits", expect=200))["credits"]
    assert (c["status"], c["amount_minor"], c["credit_note"]) == ("no_credit", 0, None)
    assert await db.fetchval("SELECT count(*) FROM ticket_events WHERE ticket_id = $1", uuid.UUID(device)) == 0


async def test_resolved_through_the_ticket_workflow_the_worker_proposes(
    staff: Api, app: FastAPI, maker: async_sessionmaker[AsyncSession], db: asyncpg.Pool
) -> None:
    """End to end: a lease running now, a power ticket raised and resolved through the API (the ticket
    use-cases' change_status), the worker's job proposes the credit; the month is not invoiced yet."""
    w = await make_world(staff)
    start = (datetime.now(MANILA).date() - timedelta(days=10)).isoformat()
    lease = await staff.post("/v1/leases", lease_body(w, shift="FULL", start_date=start, seat_count=1))
    seat = lease["seats"][0]["id"]
    occurred = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    ticket = await staff.post(
        "/v1/tickets",
        {
            "client_id": w.client["id"],
            "seat_id": seat,
            "category": "power",
            "subject": "UPS tripped",
            "occurred_at": occurred.isoformat(),
        },
    )
    settings = app.state.settings
    await downtime_credits_job(maker, settings)
    assert (await staff.get(f"/v1/tickets/{ticket['id']}/downtime-credits"))["credits"] == [], "not resolved yet"
    await staff.call("POST", f"/v1/tickets/{ticket['id']}/status", 200, json={"status": "resolved", "resolution": "UPS reset"})
    await asyncio.gather(downtime_credits_job(maker, settings), downtime_credits_job(maker, settings))
    await downtime_credits_job(maker, settings)
    (c,) = (await staff.get(f"/v1/tickets/{ticket['id']}/downtime-credits"))["credits"]
    assert c["lease_id"] == lease["id"]
    assert Decimal(c["hours_lost"]) == pytest.approx(Decimal("2.00"), abs=Decimal("0.02"))
    assert c["status"] in ("awaiting_invoice", "credited")  # this month is not invoiced by the suite
    assert c["amount_minor"] == sum(line["amount_minor"] for line in c["lines"]) > 0
    for line in c["lines"]:
        lost, month = Fraction(line["hours_lost"]), Fraction(line["month_leased_hours"])
        assert abs(line["amount_minor"] - 1_500_000 * lost / month) <= 1 + 1_500_000 * Fraction(1, 100) / month
    assert await db.fetchval("SELECT count(*) FROM downtime_credits WHERE ticket_id = $1", uuid.UUID(ticket["id"])) == 1


async def test_the_pass_looks_once_and_again_when_seats_are_added(
    staff: Api, finance: Api, db: asyncpg.Pool, fresh_year: Callable[..., int], maker: async_sessionmaker[AsyncSession]
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    day = await staff.post("/v1/leases", lease_body(w, shift="DAY", start_date=f"{y}-03-01", seat_count=1))
    other, team = await _other_client(staff)
    # another seat than the DAY lease's, leased by night
    seat = next(x["id"] for x in w.seats if x["id"] != day["seats"][0]["id"])
    body = lease_body(w, client_id=other, team_id=team, shift="NIGHT", start_date=f"{y}-03-01", seat_ids=[seat])
    body.pop("seat_count")
    night = await staff.post("/v1/leases", body)
    ticket = await make_ticket(
        maker,
        site_id=w.site["id"],
        seat_id=day["seats"][0]["id"],
        category="power",
        status="resolved",
        occurred_at=at(y, 3, 10, 1),
        resolved_at=at(y, 3, 10, 5),
    )
    rule = _rule(staff)
    await run_pass(maker, rule)
    checked = await db.fetchval("SELECT checked_at FROM downtime_checks WHERE ticket_id = $1", uuid.UUID(ticket))
    assert checked is not None, "looked at"
    assert (await staff.get(f"/v1/tickets/{ticket}/downtime-credits"))["credits"] == [], "a DAY seat at 01:00-05:00"
    await run_pass(maker, rule)
    assert await db.fetchval("SELECT checked_at FROM downtime_checks WHERE ticket_id = $1", uuid.UUID(ticket)) == checked, (
        "not looked at again on every pass"
    )
    await staff.call("POST", f"/v1/tickets/{ticket}/affected-seats", 200, json={"seat_id": seat})
    await run_pass(maker, rule)
    (c,) = (await staff.get(f"/v1/tickets/{ticket}/downtime-credits"))["credits"]
    assert (c["lease_id"], c["hours_lost"]) == (night["id"], "4.00")
