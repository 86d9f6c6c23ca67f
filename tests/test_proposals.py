"""Proposals and holds through the API: seats held until expiry, accepted into the same rows,
withdrawn or lapsed (released by the worker's pass, exactly once), and pending approvals that expire."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI

from service.worker import release_holds, run_pass
from tests.billing.conftest import invoices_of, run_month
from tests.factories import Api, ClientLogin, World, lease_body, make_world, uniq


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def _seat(w: World, label: str) -> str:
    return next(s["id"] for s in w.seats if s["label"] == label)


async def _other_client(staff: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    c = await staff.post("/v1/clients", {"legal_name": f"Rival {uniq()}", "billing_email": "ap@rival-example.com"})
    t = await staff.post(f"/v1/clients/{c['id']}/teams", {"name": "Team"})
    return c, t


async def _pass(app: FastAPI, **settings: Any) -> dict[str, Any]:
    st = app.state.settings.model_copy(update=settings) if settings else app.state.settings
    return await release_holds(app.state.sessionmaker, st)


async def _seat_rows(db: asyncpg.Pool, lease_id: str) -> list[tuple[Any, ...]]:
    rows = await db.fetch(
        "SELECT id, seat_id, start_date, end_date, voided FROM lease_seats WHERE lease_id = $1 ORDER BY id", uuid.UUID(lease_id)
    )
    return [tuple(r) for r in rows]


async def _actions(db: asyncpg.Pool, object_id: str) -> list[str]:
    rows = await db.fetch("SELECT action FROM audit_events WHERE object_id = $1 ORDER BY id", object_id)
    return [r["action"] for r in rows]


async def test_a_proposal_holds_its_seats_and_its_client_accepts_it_into_the_same_rows(
    staff: Api, client_login: ClientLogin, db: asyncpg.Pool
) -> None:
    w = await make_world(staff)
    picked = [_seat(w, "1F-A-001"), _seat(w, "1F-A-002")]
    body = lease_body(
        w,
        seat_ids=picked,
        seat_count=None,
        start_date="2031-05-10",
        end_date="2032-05-09",
        discount_pct="5",
        add_ons=[{"code": "extra_monitor", "quantity": 2}],
        notice_days=60,
        expires_at=_iso(datetime.now(UTC) + timedelta(days=7)),
    )
    del body["seat_count"]
    prop = await staff.post("/v1/proposals", body)
    assert prop["state"] == "open"
    assert prop["lease"]["status"] == "proposed"
    assert prop["notice_days"] == 60
    assert sorted(s["id"] for s in prop["lease"]["seats"]) == sorted(picked)
    # priced by billing: 2 seats × 15,000.00 for 22 of May's 31 days, 2 monitors, 5% off, setup, deposit, 12% tax
    first = prop["price"]["first_invoice"]
    kinds = [x["kind"] for x in first["lines"]]
    assert kinds == ["seat", "addon", "discount", "setup_fee", "deposit"]
    assert first["lines"][0]["amount_minor"] == round(1_500_000 * 2 * 22 / 31)
    assert prop["price"]["full_month"]["period"] == "2031-06"
    assert prop["price"]["full_month"]["subtotal_minor"] == (3_000_000 + 100_000) * 95 // 100

    # held: not free, and nobody else can book them
    free = await staff.get(
        f"/v1/sites/{w.site['id']}/availability", params={"shift": "DAY", "start": "2031-05-10", "end": "2031-05-20"}
    )
    assert not set(picked) & {s["id"] for s in free["seats"]}
    rival, rival_team = await _other_client(staff)
    r = await staff.call(
        "POST",
        "/v1/leases",
        json=lease_body(
            w, client_id=rival["id"], team_id=rival_team["id"], seat_ids=picked[:1], seat_count=None, start_date="2031-06-01"
        )
        | {"seat_count": None},
    )
    assert r.status_code in (409, 422), r.text

    # the client sees it as a proposal, not as a lease
    owner = await client_login(w.client["id"])
    assert [p["id"] for p in (await owner.get("/v1/proposals"))["items"]] == [prop["id"]]
    assert prop["id"] not in {x["id"] for x in (await owner.get("/v1/leases"))["items"]}
    # another client's users: 404; a viewer of the client and staff may not accept
    stranger = await client_login(rival["id"])
    await stranger.get(f"/v1/proposals/{prop['id']}", expect=404)
    await stranger.post(f"/v1/proposals/{prop['id']}/accept", expect=404)
    await stranger.call("GET", f"/v1/proposals/{prop['id']}/pdf", expect=404)
    assert (await stranger.get("/v1/proposals"))["items"] == []
    viewer = await client_login(w.client["id"], "client_viewer")
    await viewer.post(f"/v1/proposals/{prop['id']}/accept", expect=403)
    await staff.post(f"/v1/proposals/{prop['id']}/accept", expect=403)
    # a proposal is not a lease to amend, end, cancel or approve
    await staff.post(f"/v1/leases/{prop['id']}/cancel", expect=409)

    rows_before = await _seat_rows(db, prop["id"])
    accepted = await owner.post(f"/v1/proposals/{prop['id']}/accept", expect=200)
    assert accepted["state"] == "accepted"
    assert accepted["lease"]["status"] == "confirmed"
    assert await _seat_rows(db, prop["id"]) == rows_before  # the same rows: no re-allocation
    lease = await owner.get(f"/v1/leases/{prop['id']}")
    assert lease["status"] == "confirmed"
    assert prop["id"] in {x["id"] for x in (await owner.get("/v1/leases"))["items"]}
    assert await _actions(db, prop["id"]) == ["lease.propose", "lease.proposal_accepted"]
    # once only
    r = await owner.call("POST", f"/v1/proposals/{prop['id']}/accept")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_discount_above_the_threshold_still_waits_for_finance_after_acceptance(
    staff: Api, client_login: ClientLogin
) -> None:
    w = await make_world(staff)
    prop = await staff.post("/v1/proposals", lease_body(w, discount_pct="25", start_date="2031-05-01"))
    assert prop["lease"]["status"] == "proposed"
    assert prop["price"]["needs_approval"] is True
    assert prop["price"]["free_seats"] is None
    owner = await client_login(w.client["id"])
    accepted = await owner.post(f"/v1/proposals/{prop['id']}/accept", expect=200)
    assert accepted["lease"]["status"] == "pending_approval"
    assert accepted["expires_at"] is not None


async def test_staff_withdraw_a_proposal_and_its_seats_are_free_again(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    prop = await staff.post("/v1/proposals", lease_body(w, seat_count=2, start_date="2031-07-01"))
    rival, team = await _other_client(staff)
    rival_body = lease_body(w, client_id=rival["id"], team_id=team["id"], seat_count=2, start_date="2031-07-01")
    await staff.post("/v1/leases", rival_body, expect=409)
    out = await staff.post(f"/v1/proposals/{prop['id']}/withdraw", expect=200)
    assert out["state"] == "withdrawn"
    assert out["lease"]["status"] == "cancelled"
    assert out["lease"]["seats"] == []
    assert out["price"] == prop["price"]  # what it offered, for the record
    await staff.post("/v1/leases", rival_body)
    assert await _actions(db, prop["id"]) == ["lease.propose", "lease.proposal_withdrawn"]
    await staff.post(f"/v1/proposals/{prop['id']}/withdraw", expect=409)
    # a withdrawn proposal never was a lease
    assert prop["id"] not in {x["id"] for x in (await staff.get("/v1/leases", params={"client_id": w.client["id"]}))["items"]}


async def test_a_proposal_lapses_at_its_expiry_and_the_worker_releases_it_once(
    staff: Api, client_login: ClientLogin, db: asyncpg.Pool, app: FastAPI
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=3)
    prop = await staff.post(
        "/v1/proposals",
        lease_body(w, seat_count=3, start_date="2031-08-01", expires_at=_iso(datetime.now(UTC) + timedelta(seconds=2))),
    )
    rival, team = await _other_client(staff)
    rival_body = lease_body(w, client_id=rival["id"], team_id=team["id"], seat_count=3, start_date="2031-08-01")
    await _pass(app)
    await staff.post("/v1/leases", rival_body, expect=409)  # held before expiry, even after a pass
    await asyncio.sleep(2.5)
    # expired: the client can no longer accept, even before the worker has passed
    owner = await client_login(w.client["id"])
    await owner.post(f"/v1/proposals/{prop['id']}/accept", expect=409)
    assert (await staff.get(f"/v1/proposals/{prop['id']}"))["state"] == "lapsed"
    # two workers at once (one of them a whole worker pass): released and audited exactly once
    worker = run_pass(app.state.sessionmaker, app.state.settings, with_provisioning=False)
    report: dict[str, Any] = (await asyncio.gather(_pass(app), worker))[1]
    assert report["failed_jobs"] == []
    assert (await _actions(db, prop["id"])).count("lease.hold_expired") == 1
    assert all(r[4] for r in await _seat_rows(db, prop["id"]))
    got = await staff.get(f"/v1/proposals/{prop['id']}")
    assert got["state"] == "lapsed"
    assert got["lease"]["status"] == "cancelled"
    await staff.post("/v1/leases", rival_body)


async def test_a_pending_approval_holds_its_seats_until_the_configured_expiry_exactly_once(
    staff: Api, finance: Api, db: asyncpg.Pool, app: FastAPI
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    pending = await staff.post("/v1/leases", lease_body(w, seat_count=2, discount_pct="30", start_date="2031-09-01"))
    assert pending["status"] == "pending_approval"
    rival, team = await _other_client(staff)
    rival_body = lease_body(w, client_id=rival["id"], team_id=team["id"], seat_count=2, start_date="2031-09-01")
    # booked 59 minutes ago, hold of one hour: still held
    await db.execute("UPDATE leases SET created_at = now() - interval '59 minutes' WHERE id = $1", uuid.UUID(pending["id"]))
    await _pass(app, pending_hold_hours=1.0)
    await staff.post("/v1/leases", rival_body, expect=409)
    assert (await staff.get(f"/v1/leases/{pending['id']}"))["status"] == "pending_approval"
    # an hour and a minute: two workers release it, once
    await db.execute("UPDATE leases SET created_at = now() - interval '61 minutes' WHERE id = $1", uuid.UUID(pending["id"]))
    results = await asyncio.gather(*(_pass(app, pending_hold_hours=1.0) for _ in range(3)))
    assert sum(r["approvals_expired"] for r in results) >= 1
    assert (await _actions(db, pending["id"])).count("lease.hold_expired") == 1
    assert (await staff.get(f"/v1/leases/{pending['id']}"))["status"] == "cancelled"
    await finance.post(f"/v1/leases/{pending['id']}/approve", expect=409)
    await staff.post("/v1/leases", rival_body)


async def test_an_approval_that_commits_first_is_never_released(staff: Api, finance: Api, db: asyncpg.Pool, app: FastAPI) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=1)
    pending = await staff.post("/v1/leases", lease_body(w, seat_count=1, discount_pct="30", start_date="2031-09-01"))
    await finance.post(f"/v1/leases/{pending['id']}/approve", expect=200)
    await db.execute("UPDATE leases SET created_at = now() - interval '100 days' WHERE id = $1", uuid.UUID(pending["id"]))
    await _pass(app)
    assert (await staff.get(f"/v1/leases/{pending['id']}"))["status"] == "confirmed"
    assert "lease.hold_expired" not in await _actions(db, pending["id"])


async def test_an_open_proposal_is_not_billed_an_accepted_one_is(staff: Api, finance: Api, client_login: ClientLogin) -> None:
    y = 2118
    w = await make_world(staff)
    prop = await staff.post("/v1/proposals", lease_body(w, seat_count=1, start_date=f"{y}-01-01"))
    await run_month(finance, f"{y}-01")
    assert await invoices_of(finance, w.client["id"], f"{y}-01") == []
    await (await client_login(w.client["id"])).post(f"/v1/proposals/{prop['id']}/accept", expect=200)
    await run_month(finance, f"{y}-02")
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    assert any(x["kind"] == "seat" for x in inv["lines"])


async def test_bad_proposals_are_problems_naming_the_field(staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff)
    for extra, field in (
        ({"expires_at": _iso(datetime.now(UTC) - timedelta(minutes=1))}, "expires_at"),
        ({"expires_at": _iso(datetime.now(UTC) + timedelta(days=400))}, "expires_at"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"notice_days": -1}, "notice_days"),
    ):
        r = await staff.call("POST", "/v1/proposals", json=lease_body(w, **extra))
        assert r.status_code == 422, r.text
        assert field in r.text
    # clients do not propose to themselves
    owner = await client_login(w.client["id"])
    await owner.post("/v1/proposals", lease_body(w), expect=403)
    await staff.get(f"/v1/proposals/{uuid.uuid4()}", expect=404)


async def test_the_proposal_pdf_carries_its_terms_and_price(staff: Api, client_login: ClientLogin, tmp_path: Any) -> None:
    import shutil
    import subprocess

    import pytest

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) not installed")
    w = await make_world(staff)
    body = lease_body(w, seat_count=2, start_date="2031-03-10", notice_days=45, escalation_pct="4.5")
    body["price_steps"] = [{"effective_date": "2032-06-01", "monthly_price_minor": 1_600_000}]
    prop = await staff.post("/v1/proposals", body)
    owner = await client_login(w.client["id"])
    r = await owner.call("GET", f"/v1/proposals/{prop['id']}/pdf", expect=200)
    assert r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "p.pdf"
    pdf.write_bytes(r.content)
    text = (
        await asyncio.to_thread(
            subprocess.run, ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        )
    ).stdout
    assert w.client["legal_name"] in text
    assert "Notice period: 45 days" in text
    # the lease's own price terms, which acceptance keeps
    assert "Escalation: 4.50% on each anniversary of the start" in text
    assert "Seat price from 2032-06-01: PHP 16,000.00" in text
    # 2 seats × 15,000.00 × 22/31 and the first invoice's total, as the API prices it
    assert "21,290.32".replace(",", "") in text.replace(",", "")
    total = prop["price"]["first_invoice"]["total_minor"]
    assert f"{total / 100:,.2f}" in text  # thousands grouped, as every document writes money


async def test_seats_held_by_a_proposal_are_not_counted_as_leased(staff: Api, finance: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)
    await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date="2031-05-01"))
    prop = await staff.post("/v1/proposals", lease_body(w, seat_count=2, start_date="2031-05-01"))

    async def leased() -> int:
        report = await finance.get("/v1/reports/occupancy", params={"site_id": w.site["id"], "date": "2031-05-15"})
        return int(next(r["seats_leased"] for r in report["items"] if r["shift"] == "DAY"))

    assert await leased() == 1
    await (await client_login(w.client["id"])).post(f"/v1/proposals/{prop['id']}/accept", expect=200)
    assert await leased() == 3


async def test_concurrent_proposals_accepts_and_retries(staff: Api, client_login: ClientLogin, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=3)
    # two proposals for the same seats at once: the exclusion constraint lets one hold them
    body = lease_body(w, seat_ids=[_seat(w, "1F-A-001"), _seat(w, "1F-A-002")], start_date="2031-10-01")
    body.pop("seat_count")
    rival, team = await _other_client(staff)
    rival_body = {**body, "client_id": rival["id"], "team_id": team["id"]}
    a, b = await asyncio.gather(
        staff.call("POST", "/v1/proposals", json=body), staff.call("POST", "/v1/proposals", json=rival_body)
    )
    assert sorted((a.status_code, b.status_code)) == [201, 409], (a.text, b.text)
    # one Idempotency-Key sent ten times at once: one proposal
    key = uuid.uuid4().hex
    retry = lease_body(w, seat_count=1, start_date="2031-10-01")
    answers = await asyncio.gather(
        *(staff.call("POST", "/v1/proposals", json=retry, headers={"Idempotency-Key": key}) for _ in range(10))
    )
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["id"] for r in answers}) == 1
    prop = answers[0].json()
    # two accepts at once: one wins, the other is told it is accepted already; audited once
    owner = await client_login(w.client["id"])
    x, y = await asyncio.gather(*(owner.call("POST", f"/v1/proposals/{prop['id']}/accept") for _ in range(2)))
    assert sorted((x.status_code, y.status_code)) == [200, 409]
    assert (await _actions(db, prop["id"])).count("lease.proposal_accepted") == 1


async def test_a_proposal_starting_today_stays_proposed_until_accepted_then_is_active(
    staff: Api, client_login: ClientLogin, app: FastAPI
) -> None:
    from service.worker import lease_transitions

    w = await make_world(staff)
    today = datetime.now(UTC).astimezone(ZoneInfo(w.site["timezone"])).date().isoformat()
    prop = await staff.post("/v1/proposals", lease_body(w, seat_count=1, start_date=today))
    await lease_transitions(app.state.sessionmaker, app.state.settings)
    assert (await staff.get(f"/v1/leases/{prop['id']}", params={}))["status"] == "proposed"
    # nobody may be seated on a proposal: no credential before the client signs
    seat = prop["lease"]["seats"][0]["id"]
    r = await staff.call("PUT", f"/v1/leases/{prop['id']}/assignments", json=[{"seat_id": seat, "member_id": w.members[0]["id"]}])
    assert r.status_code == 409
    accepted = await (await client_login(w.client["id"])).post(f"/v1/proposals/{prop['id']}/accept", expect=200)
    assert accepted["lease"]["status"] == "active"
