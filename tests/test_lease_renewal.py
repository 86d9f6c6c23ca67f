"""Issue 11 through the API: notice, early termination, rejection with a reason, renewal."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Api, ClientLogin, World, lease_body, make_world

ONE = timedelta(days=1)


def _today(tz: str = "Asia/Manila") -> date:
    return datetime.now(ZoneInfo(tz)).date()


def _problem(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    if field is not None:
        assert body.get("field") == field, body
    return body


async def _audit(db: asyncpg.Pool, object_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT action, actor, after FROM audit_events WHERE object_id = $1 ORDER BY id", object_id)
    return [dict(r) for r in rows]


async def _amendments(db: asyncpg.Pool, lease_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT kind, effective_date, details FROM lease_amendments WHERE lease_id = $1 ORDER BY created_at",
        uuid.UUID(lease_id),
    )
    return [dict(r) for r in rows]


def _seats_of(w: World, *labels: str) -> list[str]:
    return [s["id"] for s in w.seats if s["label"] in labels]


async def _book(api: Api, w: World, start: date, end: date | None = None, **kw: Any) -> dict[str, Any]:
    body = lease_body(w, start_date=start.isoformat(), end_date=end.isoformat() if end else None, **kw)
    result: dict[str, Any] = await api.post("/v1/leases", body)
    return result


# ---- 1. notice --------------------------------------------------------------------------------------


async def test_a_client_ends_a_rolling_lease_only_after_its_notice(
    staff: Api, client_login: ClientLogin, db: asyncpg.Pool
) -> None:
    w = await make_world(staff)
    today = _today()
    client = await client_login(w.client["id"])
    lease = await _book(staff, w, today - 40 * ONE, seat_count=1)
    assert (lease["notice_days"], lease["term_end_date"], lease["renewal_mode"]) == (30, None, "manual")

    # five days out: refused, naming the field and the earliest date it could be
    r = await client.call("POST", f"/v1/leases/{lease['id']}/end", json={"end_date": (today + 5 * ONE).isoformat()})
    body = _problem(r, 422, "end_date")
    assert body["earliest_end_date"] == (today + 30 * ONE).isoformat()
    assert body["notice_days"] == 30
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["end_date"] is None  # nothing changed

    # staff set the lease's notice to 60 days (a client may not)
    _problem(await client.call("PUT", f"/v1/leases/{lease['id']}/notice", json={"notice_days": 1}), 403)
    _problem(await staff.call("PUT", f"/v1/leases/{lease['id']}/notice", json={"notice_days": 731}), 422, "notice_days")
    set_ = (await staff.call("PUT", f"/v1/leases/{lease['id']}/notice", 200, json={"notice_days": 60})).json()
    assert set_["notice_days"] == 60
    body = _problem(
        await client.call("POST", f"/v1/leases/{lease['id']}/end", json={"end_date": (today + 30 * ONE).isoformat()}),
        422,
        "end_date",
    )
    assert body["earliest_end_date"] == (today + 60 * ONE).isoformat()
    # a client may not give itself a reason or a fee either
    r = await client.call(
        "POST", f"/v1/leases/{lease['id']}/end", json={"end_date": (today + 90 * ONE).isoformat(), "reason": "x"}
    )
    _problem(r, 403, "reason")
    ended = await client.post(f"/v1/leases/{lease['id']}/end", {"end_date": (today + 60 * ONE).isoformat()}, expect=200)
    assert ended["end_date"] == (today + 60 * ONE).isoformat()
    assert ended["term_end_date"] is None  # still a rolling lease, on notice

    kinds = [a["kind"] for a in await _amendments(db, lease["id"])]
    assert kinds == ["notice_set", "end_date_set"]
    actions = [a["action"] for a in await _audit(db, lease["id"])]
    assert actions == ["lease.create", "lease.notice", "lease.end"]


async def test_a_client_cannot_end_a_fixed_term_lease_early_staff_can_with_a_fee(
    staff: Api, client_login: ClientLogin, db: asyncpg.Pool
) -> None:
    w = await make_world(staff)
    today = _today()
    client = await client_login(w.client["id"])
    lease = await _book(staff, w, today - 100 * ONE, today + 265 * ONE, seat_count=2)
    assert lease["term_end_date"] == (today + 265 * ONE).isoformat()

    # far beyond any notice, still inside the term: the client has no right to it (403), staff do
    body = _problem(
        await client.call("POST", f"/v1/leases/{lease['id']}/end", json={"end_date": (today + 200 * ONE).isoformat()}),
        403,
        "end_date",
    )
    assert body["term_end_date"] == lease["term_end_date"]
    r = await client.call(
        "POST",
        f"/v1/leases/{lease['id']}/end",
        json={"end_date": (today + 200 * ONE).isoformat(), "early_termination_fee_minor": 1},
    )
    _problem(r, 403, "early_termination_fee_minor")

    early = (today + 45 * ONE).isoformat()
    # a fee needs a reason, and only an early end carries one
    r = await staff.call(
        "POST", f"/v1/leases/{lease['id']}/end", json={"end_date": early, "early_termination_fee_minor": 500_000}
    )
    _problem(r, 422, "reason")
    r = await staff.call(
        "POST",
        f"/v1/leases/{lease['id']}/end",
        json={"end_date": (today + 400 * ONE).isoformat(), "reason": "x", "early_termination_fee_minor": 500_000},
    )
    _problem(r, 422, "early_termination_fee_minor")
    _problem(await staff.call("POST", f"/v1/leases/{lease['id']}/end", json={"end_date": early, "reason": ""}), 422, "reason")
    _problem(
        await staff.call("POST", f"/v1/leases/{lease['id']}/end", json={"end_date": early, "early_termination_fee_minor": 0}),
        422,
        "early_termination_fee_minor",
    )
    assert (await client.get(f"/v1/leases/{lease['id']}/charges"))["items"] == []

    done = await staff.post(
        f"/v1/leases/{lease['id']}/end",
        {"end_date": early, "reason": "client lost its campaign", "early_termination_fee_minor": 4_500_000},
        expect=200,
    )
    assert done["end_date"] == early
    assert done["term_end_date"] == lease["term_end_date"]  # the contract's term, ended early
    (fee,) = (await client.get(f"/v1/leases/{lease['id']}/charges"))["items"]
    assert (fee["kind"], fee["amount_minor"], fee["currency"], fee["invoice_id"]) == (
        "termination_fee",
        4_500_000,
        "PHP",
        None,
    )
    assert "client lost its campaign" in fee["description"]
    # a second fee on the same lease is refused, not a 500
    r = await staff.call(
        "POST", f"/v1/leases/{lease['id']}/end", json={"end_date": early, "reason": "again", "early_termination_fee_minor": 1}
    )
    _problem(r, 409, "early_termination_fee_minor")

    (amendment,) = [a for a in await _amendments(db, lease["id"]) if a["kind"] == "end_date_set"]
    assert '"early_termination": true' in amendment["details"]
    assert "client lost its campaign" in amendment["details"]
    audit = await _audit(db, lease["id"])
    assert [a["action"] for a in audit] == ["lease.create", "lease.end"]
    assert "client lost its campaign" in audit[-1]["after"]
    assert [a["action"] for a in await _audit(db, fee["id"])] == ["charge.create"]


# ---- 2. approvals -----------------------------------------------------------------------------------


async def test_finance_rejects_a_pending_lease_with_a_reason(
    staff: Api, finance: Api, client_login: ClientLogin, db: asyncpg.Pool
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)
    pending = await _book(staff, w, date(2031, 3, 1), seat_count=4, discount_pct="25")
    assert pending["status"] == "pending_approval"
    client = await client_login(w.client["id"])
    path = f"/v1/leases/{pending['id']}/reject"
    _problem(await staff.call("POST", path, json={"reason": "no"}), 403)  # facility staff do not approve
    _problem(await client.call("POST", path, json={"reason": "no"}), 403)
    _problem(await finance.call("POST", path, json={}), 422, "reason")
    _problem(await finance.call("POST", path, json={"reason": ""}), 422, "reason")

    rejected = (await finance.call("POST", path, 200, json={"reason": "25% is above what we offer for DAY"})).json()
    assert rejected["status"] == "cancelled"
    assert rejected["rejection_reason"] == "25% is above what we offer for DAY"
    assert rejected["seats"] == []
    # the seats are free again at once
    avail = await staff.get(f"/v1/sites/{w.site['id']}/availability", params={"shift": "DAY", "start": "2031-03-01"})
    assert avail["free_count"] == 4
    # only once, and never an approved one
    _problem(await finance.call("POST", path, json={"reason": "again"}), 409)
    _problem(await finance.call("POST", f"/v1/leases/{pending['id']}/approve"), 409)
    confirmed = await _book(staff, w, date(2031, 3, 1), seat_count=1)
    _problem(await finance.call("POST", f"/v1/leases/{confirmed['id']}/reject", json={"reason": "x"}), 409)

    audit = await _audit(db, pending["id"])
    assert [a["action"] for a in audit] == ["lease.create", "lease.reject"]
    assert "25% is above" in audit[-1]["after"]
    assert [a["kind"] for a in await _amendments(db, pending["id"])] == ["rejected"]


# ---- 3. renewal -------------------------------------------------------------------------------------


async def test_up_for_renewal_shows_in_the_lease_and_filters_the_list(
    staff: Api, client_login: ClientLogin, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await make_world(staff)
    today = _today()
    soon = await _book(staff, w, today - 300 * ONE, today + 30 * ONE, seat_count=1)
    later = await _book(staff, w, today - 300 * ONE, today + 90 * ONE, seat_count=1)
    rolling = await _book(staff, w, today - 300 * ONE, seat_count=1)
    assert soon["up_for_renewal"] is True
    assert soon["renewal_window_starts"] == (today - 30 * ONE).isoformat()
    assert later["up_for_renewal"] is False
    assert rolling["up_for_renewal"] is False
    assert rolling["renewal_window_starts"] is None

    async def due(**params: Any) -> set[str]:
        page = await staff.get("/v1/leases", params={"client_id": w.client["id"], **params})
        return {x["id"] for x in page["items"]}

    assert await due(up_for_renewal="true") == {soon["id"]}
    assert await due(up_for_renewal="false") == {later["id"], rolling["id"]}
    # the client sees its own leases' flag too
    client = await client_login(w.client["id"])
    assert (await client.get(f"/v1/leases/{soon['id']}"))["up_for_renewal"] is True

    # the window is a setting
    monkeypatch.setattr(app.state.settings, "renewal_window_days", 120)
    assert await due(up_for_renewal="true") == {soon["id"], later["id"]}
    assert (await staff.get(f"/v1/leases/{later['id']}"))["up_for_renewal"] is True
    # the booking's own answer uses the setting too
    booked = await _book(staff, w, today - 300 * ONE, today + 100 * ONE, seat_count=1)
    assert (booked["up_for_renewal"], booked["renewal_window_starts"]) == (True, (today - 20 * ONE).isoformat())
    monkeypatch.setattr(app.state.settings, "renewal_window_days", 60)

    # let it lapse: no longer up for renewal; a rolling lease has no renewal to decide
    lapsing = (await staff.call("PUT", f"/v1/leases/{soon['id']}/renewal", 200, json={"renewal_mode": "lapse"})).json()
    assert (lapsing["renewal_mode"], lapsing["up_for_renewal"]) == ("lapse", False)
    assert await due(up_for_renewal="true") == set()
    _problem(await staff.call("PUT", f"/v1/leases/{rolling['id']}/renewal", json={"renewal_mode": "auto"}), 409)
    _problem(await staff.call("PUT", f"/v1/leases/{soon['id']}/renewal", json={"renewal_mode": "sometimes"}), 422, "renewal_mode")
    _problem(await client.call("PUT", f"/v1/leases/{soon['id']}/renewal", json={"renewal_mode": "auto"}), 403)


async def test_renewal_keeps_the_same_seats_without_a_gap(staff: Api, client_login: ClientLogin, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    seats = _seats_of(w, "1F-A-001", "1F-A-002", "1F-A-003")
    body = lease_body(w, start_date="2031-01-16", end_date="2031-07-15", seat_ids=seats, shift="NIGHT")
    body.pop("seat_count")
    lease = await staff.post("/v1/leases", body)
    # a seat released before the term end stays released
    await staff.call("DELETE", f"/v1/leases/{lease['id']}/seats/{seats[2]}", 200, params={"effective": "2031-05-01"})
    await staff.call("PUT", f"/v1/leases/{lease['id']}/renewal", 200, json={"renewal_mode": "lapse"})
    rows_before = await db.fetchval("SELECT count(*) FROM lease_seats WHERE lease_id = $1", uuid.UUID(lease["id"]))

    client = await client_login(w.client["id"])
    _problem(await client.call("POST", f"/v1/leases/{lease['id']}/renew", json={}), 403)
    _problem(await staff.call("POST", f"/v1/leases/{lease['id']}/renew", json={"end_date": "2031-07-15"}), 422, "end_date")
    _problem(await staff.call("POST", f"/v1/leases/{lease['id']}/renew", json={"seat_price_minor": -1}), 422, "seat_price_minor")
    _problem(await staff.call("POST", f"/v1/leases/{lease['id']}/renew", json={"seat_price_minor": "1"}), 422, "seat_price_minor")

    # by default the same term again: six whole months
    renewed = (
        await staff.call("POST", f"/v1/leases/{lease['id']}/renew", 200, json={"seat_price_minor": 1_650_000, "reason": "year 2"})
    ).json()
    assert (renewed["term_start_date"], renewed["term_end_date"], renewed["end_date"]) == (
        "2031-07-16",
        "2032-01-15",
        "2032-01-15",
    )
    assert renewed["renewal_mode"] == "manual"  # renewing overrides the earlier decision to lapse
    periods = {(p["seat_id"], p["start_date"], p["end_date"]) for p in renewed["seat_periods"]}
    assert periods == {
        (seats[0], "2031-01-16", "2032-01-15"),
        (seats[1], "2031-01-16", "2032-01-15"),
        (seats[2], "2031-01-16", "2031-04-30"),
    }
    # extended in place: no new seat rows, no re-allocation
    assert await db.fetchval("SELECT count(*) FROM lease_seats WHERE lease_id = $1", uuid.UUID(lease["id"])) == rows_before
    (amendment,) = [a for a in await _amendments(db, lease["id"]) if a["kind"] == "renewed"]
    assert amendment["effective_date"] == date(2031, 7, 16)
    assert '"seat_price_minor": 1650000' in amendment["details"]
    assert '"currency": "PHP"' in amendment["details"]
    assert [a["action"] for a in await _audit(db, lease["id"])][-2:] == ["lease.renew", "lease.price_step"]
    # the new price is the lease's seat price from the new term's first day (billing prorates it)
    terms = await staff.get(f"/v1/leases/{lease['id']}/terms")
    assert [(s["effective_date"], s["monthly_price_minor"]) for s in terms["price_steps"]] == [("2031-07-16", 1_650_000)]

    # the seats are held through the night after the new term's last date
    avail = await staff.get(
        f"/v1/sites/{w.site['id']}/availability",
        params={"shift": "NIGHT", "start": "2031-07-10", "end": "2032-01-15", "seats": 100},
    )
    assert not {seats[0], seats[1]} & {s["id"] for s in avail["seats"]}

    # a retried renewal with its Idempotency-Key replays the first answer instead of renewing twice
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await staff.call("POST", f"/v1/leases/{lease['id']}/renew", 200, json={}, headers=key)
    retry = await staff.call("POST", f"/v1/leases/{lease['id']}/renew", 200, json={}, headers=key)
    assert first.json() == retry.json()
    assert first.json()["term_end_date"] == "2032-07-15"
    assert len([a for a in await _amendments(db, lease["id"]) if a["kind"] == "renewed"]) == 2

    # an explicit new end date; then another lease takes a seat after the term: no renewal past it
    again = (await staff.call("POST", f"/v1/leases/{lease['id']}/renew", 200, json={"end_date": "2032-09-30"})).json()
    assert again["term_end_date"] == "2032-09-30"
    other = lease_body(w, start_date="2032-10-01", seat_ids=[seats[1]], shift="NIGHT")
    other.pop("seat_count")
    await staff.post("/v1/leases", other)
    _problem(await staff.call("POST", f"/v1/leases/{lease['id']}/renew", json={}), 409, "end_date")
    unchanged = await staff.get(f"/v1/leases/{lease['id']}")
    assert unchanged["term_end_date"] == "2032-09-30"
    assert {p["end_date"] for p in unchanged["seat_periods"] if p["seat_id"] != seats[2]} == {"2032-09-30"}


async def test_what_cannot_be_renewed(staff: Api) -> None:
    w = await make_world(staff)
    rolling = await _book(staff, w, date(2031, 1, 1), seat_count=1)
    _problem(await staff.call("POST", f"/v1/leases/{rolling['id']}/renew", json={}), 409)
    fixed = await _book(staff, w, date(2031, 1, 1), date(2031, 12, 31), seat_count=1)
    await staff.post(f"/v1/leases/{fixed['id']}/end", {"end_date": "2031-06-30", "reason": "moved out"}, expect=200)
    _problem(await staff.call("POST", f"/v1/leases/{fixed['id']}/renew", json={}), 409)  # ended early: no term end to renew
    cancelled = await _book(staff, w, date(2031, 1, 1), date(2031, 12, 31), seat_count=1)
    await staff.post(f"/v1/leases/{cancelled['id']}/cancel", expect=200)
    _problem(await staff.call("POST", f"/v1/leases/{cancelled['id']}/renew", json={}), 409)
    _problem(await staff.call("PUT", f"/v1/leases/{cancelled['id']}/notice", json={"notice_days": 10}), 409)
