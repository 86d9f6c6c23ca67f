"""What a client may do for itself: no discounts (PRODUCT.md rule 7), no hoarding past its seat
cap (under concurrency), and a fee for a late cancellation, billed once on its next invoice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from service.auth import hash_secret
from tests.billing.conftest import invoices_of, run_month
from tests.factories import Api, ClientLogin, World, lease_body, make_world


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


async def machine_login(http: httpx.AsyncClient, db: asyncpg.Pool, client_id: str) -> Api:
    key, secret = f"ck_{uuid.uuid4().hex[:12]}", f"cs_{uuid.uuid4().hex}"
    await db.execute(
        "INSERT INTO api_clients (client_key, secret_hash, role, client_id) VALUES ($1, $2, 'client_admin', $3)",
        key,
        hash_secret(secret),
        uuid.UUID(client_id),
    )
    r = await http.post("/v1/auth/token", data={"grant_type": "client_credentials", "client_id": key, "client_secret": secret})
    assert r.status_code == 200, r.text
    return Api(http, r.json()["access_token"])


def _today(w: World) -> datetime:
    return datetime.now(UTC).astimezone(ZoneInfo(w.site["timezone"]))


def _in_days(w: World, days: int) -> str:
    return (_today(w).date() + timedelta(days=days)).isoformat()


# ---- 4. a discount is a commercial term: only staff set it ---------------------------------------


async def test_a_client_booking_with_a_discount_is_refused_naming_the_field(
    staff: Api, client_login: ClientLogin, http: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=6)
    admin = await client_login(w.client["id"])
    machine = await machine_login(http, db, w.client["id"])
    for api in (admin, machine):
        for pct in ("5", "0", "10.50"):
            body = _problem(await api.call("POST", "/v1/leases", json=lease_body(w, seat_count=1, discount_pct=pct)), 403)
            assert body["field"] == "discount_pct"
            assert body["errors"][0]["field"] == "discount_pct"
    assert await db.fetchval("SELECT count(*) FROM leases WHERE client_id = $1", uuid.UUID(w.client["id"])) == 0

    mine = await admin.post("/v1/leases", lease_body(w, seat_count=1))
    assert mine["discount_pct"] == "0.00"
    by_staff = await staff.post("/v1/leases", lease_body(w, seat_count=1, discount_pct="5"))
    assert by_staff["discount_pct"] == "5.00"
    assert by_staff["status"] == "confirmed"


async def test_the_openapi_description_says_who_sets_a_discount(http: httpx.AsyncClient) -> None:
    op = (await http.get("/openapi.json")).json()["paths"]["/v1/leases"]["post"]
    assert "discount_pct" in op["description"]
    assert "403" in op["description"]


# ---- 2. a client cannot hoard ---------------------------------------------------------------------


async def test_staff_set_the_seat_cap_and_it_is_audited(staff: Api, admin: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    cid = w.client["id"]
    assert (await staff.get(f"/v1/clients/{cid}"))["seat_cap"] is None
    r = await staff.call("PATCH", f"/v1/clients/{cid}", 200, json={"seat_cap": 7})
    assert r.json()["seat_cap"] == 7
    events = await admin.get("/v1/audit-events", params={"object_id": cid})
    assert any(e["action"] == "client.update" and e["after"]["seat_cap"] == 7 for e in events["items"]), events

    client = await client_login(cid)
    _problem(await client.call("PATCH", f"/v1/clients/{cid}", json={"seat_cap": 1000}), 403)
    assert _problem(await staff.call("PATCH", f"/v1/clients/{cid}", json={"seat_cap": -1}), 422)["field"] == "seat_cap"
    assert _problem(await staff.call("PATCH", f"/v1/clients/{cid}", json={"legal_name": None}), 422)["field"] == "legal_name"
    assert (await staff.get(f"/v1/clients/{cid}"))["seat_cap"] == 7
    r = await staff.call("PATCH", f"/v1/clients/{cid}", 200, json={"seat_cap": None})
    assert r.json()["seat_cap"] is None


async def test_concurrent_client_bookings_never_pass_the_cap(
    staff: Api, client_login: ClientLogin, http: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    w = await make_world(staff, zones=2, seats_per_zone=10)
    cid = w.client["id"]
    await staff.call("PATCH", f"/v1/clients/{cid}", 200, json={"seat_cap": 7})
    apis = [await client_login(cid), await client_login(cid), await machine_login(http, db, cid)]
    bodies = [
        lease_body(w, seat_count=n, start_date=_in_days(w, 30), end_date=_in_days(w, 60)) for n in (1, 2, 1, 2, 1, 2, 1, 2, 1, 2)
    ]  # 15 seats asked for, 7 allowed
    responses = await asyncio.gather(*(apis[i % 3].call("POST", "/v1/leases", json=b) for i, b in enumerate(bodies)))
    won = [r.json() for r in responses if r.status_code == 201]
    held = sum(len(x["seats"]) for x in won)
    assert 6 <= held <= 7, [r.text for r in responses]  # the cap is filled as far as the requests fit
    for r in responses:
        if r.status_code != 201:
            body = _problem(r, 409)
            assert body["type"].endswith("seat-cap-exceeded")
            assert body["field"] == "seat_count"
            assert body["seat_cap"] == 7
            assert body["seats_held"] + body["seats_requested"] > 7
    in_db = await db.fetchval(
        "SELECT count(*) FROM lease_seats ls JOIN leases l ON l.id = ls.lease_id WHERE l.client_id = $1 AND NOT ls.voided",
        uuid.UUID(cid),
    )
    assert in_db == held

    # adding seats to a lease counts too, by seat count or by seat ids
    lease = won[0]
    left = 7 - held
    if left:
        await apis[0].post(f"/v1/leases/{lease['id']}/seats", {"seat_count": left, "effective": lease["start_date"]})
    body = _problem(
        await apis[0].call("POST", f"/v1/leases/{lease['id']}/seats", json={"seat_count": 1, "effective": lease["start_date"]}),
        409,
    )
    assert body["type"].endswith("seat-cap-exceeded")
    free = (
        await staff.get(
            f"/v1/sites/{w.site['id']}/availability",
            params={"shift": "DAY", "start": lease["start_date"], "end": lease["end_date"]},
        )
    )["seats"]
    body = _problem(
        await apis[1].call(
            "POST", "/v1/leases", json={**lease_body(w, start_date=_in_days(w, 30), seat_ids=[free[0]["id"]]), "seat_count": None}
        ),
        409,
    )
    assert body["field"] == "seat_ids"
    # staff are not capped; a released seat no longer counts
    await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date=_in_days(w, 30)))
    assert _problem(await apis[0].call("POST", "/v1/leases", json=lease_body(w, seat_count=1, start_date=_in_days(w, 30))), 409)
    await staff.call("PATCH", f"/v1/clients/{cid}", 200, json={"seat_cap": 20})
    await apis[0].post("/v1/leases", lease_body(w, seat_count=1, start_date=_in_days(w, 30)))


async def test_the_default_cap_comes_from_the_settings(
    staff: Api, client_login: ClientLogin, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=6)
    monkeypatch.setattr(app.state.settings, "client_seat_cap_default", 3)
    client = await client_login(w.client["id"])
    await client.post("/v1/leases", lease_body(w, seat_count=2, start_date=_in_days(w, 20)))
    body = _problem(await client.call("POST", "/v1/leases", json=lease_body(w, seat_count=2, start_date=_in_days(w, 20))), 409)
    assert body["seat_cap"] == 3
    assert body["seats_held"] == 2


# ---- 3. cancellation fee ------------------------------------------------------------------------------


async def test_a_late_client_cancellation_is_billed_once_on_the_next_invoice(
    staff: Api, finance: Api, client_login: ClientLogin
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=10)
    client = await client_login(w.client["id"])

    def book(days: int, seats: int, **kw: Any) -> Any:
        return client.post("/v1/leases", lease_body(w, seat_count=seats, start_date=_in_days(w, days), **kw))

    late = await book(10, 2)  # inside the 14-day window: a fee of 2 seats x one month
    waived = await book(14, 1)  # on the window's edge: a fee, which staff waive
    early = await book(15, 3)  # outside the window: no fee
    by_staff = await book(3, 1)  # cancelled by staff: no fee
    for lease in (late, waived, early):
        await client.post(f"/v1/leases/{lease['id']}/cancel", expect=200)
    await staff.post(f"/v1/leases/{by_staff['id']}/cancel", expect=200)

    fees = {x["id"]: (await client.get(f"/v1/leases/{x['id']}/charges"))["items"] for x in (late, waived, early, by_staff)}
    assert [len(fees[x["id"]]) for x in (late, waived, early, by_staff)] == [1, 1, 0, 0]
    fee = fees[late["id"]][0]
    assert (fee["kind"], fee["amount_minor"], fee["currency"]) == ("cancellation_fee", 2 * 1_500_000, "PHP")
    assert fees[waived["id"]][0]["amount_minor"] == 1_500_000

    # only staff waive, once, with a reason; audited
    to_waive = fees[waived["id"]][0]["id"]
    path = f"/v1/leases/{waived['id']}/charges/{to_waive}/waive"
    _problem(await client.call("POST", path, json={"reason": "please"}), 403)
    done = (await staff.call("POST", path, 200, json={"reason": "goodwill: first booking"})).json()
    assert done["waived_at"] is not None
    _problem(await staff.call("POST", path, json={"reason": "again"}), 409)
    _problem(await staff.call("POST", f"/v1/leases/{late['id']}/charges/{to_waive}/waive", json={"reason": "x"}), 404)

    period = _today(w).strftime("%Y-%m")
    await run_month(finance, period)
    await run_month(finance, period)  # a re-run bills nothing twice
    invoices = [i for i in await invoices_of(finance, w.client["id"], period) if i["currency"] == "PHP"]
    lines = [ln for i in invoices for ln in i["lines"] if ln["description"].startswith("Cancellation fee")]
    assert len(invoices) == 1, invoices
    assert [(ln["amount_minor"], ln["tax_minor"]) for ln in lines] == [(3_000_000, 360_000)]
    assert invoices[0]["total_minor"] == invoices[0]["subtotal_minor"] + invoices[0]["tax_minor"]
    billed = (await client.get(f"/v1/leases/{late['id']}/charges"))["items"][0]
    assert billed["invoice_id"] == invoices[0]["id"]
    # billed: no longer waivable, and the next month does not bill it again
    _problem(await staff.call("POST", f"/v1/leases/{late['id']}/charges/{billed['id']}/waive", json={"reason": "late"}), 409)
    nxt = (_today(w).replace(day=1) + timedelta(days=32)).strftime("%Y-%m")
    await run_month(finance, nxt)
    later = await invoices_of(finance, w.client["id"], nxt)
    assert not [ln for i in later for ln in i["lines"] if ln["description"].startswith("Cancellation fee")]
