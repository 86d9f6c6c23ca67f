"""`Idempotency-Key` on creating POSTs: replay, mismatch, and concurrent duplicates."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from tests.factories import Api, lease_body, make_world, uniq


async def test_same_key_same_body_replays_the_first_answer(staff: Api, db: asyncpg.Pool) -> None:
    key = uuid.uuid4().hex
    body = {"legal_name": f"Replay {uniq()} Ltd", "billing_email": "ap@replay-example.com"}
    first = await staff.call("POST", "/v1/clients", 201, json=body, headers={"Idempotency-Key": key})
    second = await staff.call("POST", "/v1/clients", 201, json=body, headers={"Idempotency-Key": key})
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert await db.fetchval("SELECT count(*) FROM clients WHERE legal_name = $1", body["legal_name"]) == 1

    other = await staff.call("POST", "/v1/clients", json={**body, "tax_id": "999"}, headers={"Idempotency-Key": key})
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["field"] == "Idempotency-Key"
    assert await db.fetchval("SELECT count(*) FROM clients WHERE legal_name = $1", body["legal_name"]) == 1

    # without a key, the same body makes a second object
    again = await staff.post("/v1/clients", body)
    assert again["id"] != first.json()["id"]


async def test_a_key_is_per_caller(staff: Api, admin: Api) -> None:
    key = uuid.uuid4().hex
    body = {"legal_name": f"Per caller {uniq()}", "billing_email": "ap@caller-example.com"}
    a = await staff.call("POST", "/v1/clients", 201, json=body, headers={"Idempotency-Key": key})
    b = await admin.call("POST", "/v1/clients", 201, json=body, headers={"Idempotency-Key": key})
    assert a.json()["id"] != b.json()["id"]


async def test_a_failed_request_does_not_burn_its_key(staff: Api) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    key = uuid.uuid4().hex
    too_many = lease_body(w, seat_count=3)
    r = await staff.call("POST", "/v1/leases", json=too_many, headers={"Idempotency-Key": key})
    assert r.status_code == 409
    r = await staff.call("POST", "/v1/leases", json=too_many, headers={"Idempotency-Key": key})
    assert r.status_code == 409, "the failure was not stored as the answer; the request ran again"


async def test_twenty_concurrent_duplicates_create_one_lease(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=2, seats_per_zone=10)
    key = uuid.uuid4().hex
    body = lease_body(w, seat_count=1, start_date="2031-02-01")
    responses = await asyncio.gather(
        *(staff.call("POST", "/v1/leases", json=body, headers={"Idempotency-Key": key}) for _ in range(20))
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201][:2]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert await db.fetchval("SELECT count(*) FROM leases WHERE site_id = $1", uuid.UUID(w.site["id"])) == 1
    assert (
        await db.fetchval(
            "SELECT count(*) FROM lease_seats ls JOIN leases l ON l.id = ls.lease_id WHERE l.site_id = $1",
            uuid.UUID(w.site["id"]),
        )
        == 1
    )


async def test_twenty_concurrent_duplicate_clients(staff: Api, db: asyncpg.Pool) -> None:
    key = uuid.uuid4().hex
    body = {"legal_name": f"Concurrent {uniq()}", "billing_email": "ap@concurrent-example.com"}
    responses = await asyncio.gather(
        *(staff.call("POST", "/v1/clients", json=body, headers={"Idempotency-Key": key}) for _ in range(20))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await db.fetchval("SELECT count(*) FROM clients WHERE legal_name = $1", body["legal_name"]) == 1


async def test_an_overlong_key_is_a_problem(staff: Api) -> None:
    r = await staff.call(
        "POST",
        "/v1/clients",
        json={"legal_name": "X", "billing_email": "ap@x-example.com"},
        headers={"Idempotency-Key": "k" * 201},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "Idempotency-Key"
