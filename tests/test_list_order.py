"""Issue 14: lists sorted the way people read them, on cursors that rows written mid-walk neither shift
nor repeat: seats by label in natural order, leases by start date, invoices newest issue date first."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import asyncpg

from tests.factories import Api, ClientLogin, lease_body, make_world, uniq

Page = dict[str, Any]


async def _walk(
    api: Api, path: str, params: dict[str, Any], limit: int, between: Callable[[int], Awaitable[None]]
) -> list[dict[str, Any]]:
    """Every page of a list, calling ``between(page number)`` after each page."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    page_no = 0
    while True:
        page: Page = await api.get(path, params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        page_no += 1
        await between(page_no)


def _natural(label: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in __import__("re").findall(r"\d+|\D+", label))


async def test_seats_come_in_natural_label_order_on_a_stable_cursor(staff: Api) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=1)
    floor = w.floors[0]["id"]
    labels = [f"N-{i}" for i in range(1, 16)]
    random.Random(14).shuffle(labels)
    await staff.post(f"/v1/sites/{w.site['id']}/seats", {"floor_id": floor, "zone": "N", "labels": labels, "columns": 5})

    path = f"/v1/sites/{w.site['id']}/seats"
    listed = [s["label"] for s in (await staff.get(path, params={"zone": "N"}))["items"]]
    assert listed == [f"N-{i}" for i in range(1, 16)]  # N-2 before N-10

    added: list[str] = []

    async def insert(page_no: int) -> None:  # one label before the walk's place, one after
        new = [f"N-{page_no}a", f"N-{90 + page_no}"]
        added.extend(new)
        await staff.post(path, {"floor_id": floor, "zone": "N", "labels": new, "columns": 5})

    walked = [s["label"] for s in await _walk(staff, path, {"zone": "N"}, 4, insert)]
    assert len(walked) == len(set(walked)), walked  # none twice
    assert set(listed) <= set(walked)  # none skipped
    assert walked == sorted(walked, key=_natural)
    assert all(f"N-{90 + n}" in walked for n in range(1, 4))  # those after the place are met


async def test_leases_come_by_start_date_on_a_stable_cursor(staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff, seats_per_zone=20)
    own = await client_login(w.client["id"])
    first = date(2035, 1, 1)
    days = list(range(0, 120, 10))
    random.Random(7).shuffle(days)
    for d in days:
        await staff.post("/v1/leases", lease_body(w, start_date=str(first + timedelta(days=d)), seat_count=1))
    before = await own.get("/v1/leases")
    starts = [x["start_date"] for x in before["items"]]
    assert starts == sorted(starts)
    assert starts[0] == "2035-01-01"

    async def insert(page_no: int) -> None:  # one starting before everything, one after
        await staff.post("/v1/leases", lease_body(w, start_date=str(first - timedelta(days=page_no)), seat_count=1))
        await staff.post("/v1/leases", lease_body(w, start_date=str(first + timedelta(days=200 + page_no)), seat_count=1))

    walked = await _walk(own, "/v1/leases", {}, 5, insert)
    ids = [x["id"] for x in walked]
    assert len(ids) == len(set(ids))
    assert {x["id"] for x in before["items"]} <= set(ids)
    keys = [(x["start_date"], x["id"]) for x in walked]
    assert keys == sorted(keys)


async def test_invoices_come_newest_issue_first_on_a_stable_cursor(
    staff: Api, finance: Api, client_login: ClientLogin, db: asyncpg.Pool
) -> None:
    w = await make_world(staff)
    own = await client_login(w.client["id"])

    async def one_off(issued_on: date | None) -> str:
        inv = await finance.post(
            "/v1/invoices",
            {
                "client_id": w.client["id"],
                "site_id": w.site["id"],
                "lines": [{"description": f"Service {uniq()}", "unit_price_minor": 10_000, "reason": "test"}],
                "issue": issued_on is not None,
            },
        )
        if issued_on is not None:  # as if issued on that day (a run dates its invoices the day it runs)
            await db.execute("UPDATE invoices SET issue_date = $2 WHERE id = $1", uuid.UUID(inv["id"]), issued_on)
        return str(inv["id"])

    days = [date(2036, 1, 1) + timedelta(days=d) for d in (30, 0, 60, 10, 50, 20, 40)]
    for d in days:
        await one_off(d)
    draft = await one_off(None)
    issued = (await own.get("/v1/invoices"))["items"]
    assert [x["issue_date"] for x in issued] == sorted((str(d) for d in days), reverse=True)
    staff_view = (await finance.get("/v1/invoices", params={"client_id": w.client["id"]}))["items"]
    assert staff_view[0]["id"] == draft  # not issued yet: before the issued ones
    assert [x["id"] for x in staff_view[1:]] == [x["id"] for x in issued]

    async def insert(page_no: int) -> None:  # one newer than everything, one older
        await one_off(date(2037, 1, page_no))
        await one_off(date(2035, 1, page_no))

    walked = await _walk(own, "/v1/invoices", {}, 3, insert)
    ids = [x["id"] for x in walked]
    assert len(ids) == len(set(ids))
    assert {x["id"] for x in issued} <= set(ids)
    dates = [x["issue_date"] for x in walked]
    assert dates == sorted(dates, reverse=True)
