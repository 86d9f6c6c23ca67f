"""The API and the admin run the same invoice use-cases (billing/invoices.py): a credit note made
through either edge is the same document with the same audit event, and both refuse the same void
for the same reason."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.billing.conftest import invoices_of, run_month
from tests.conftest import make_user
from tests.factories import Api, lease_body, make_world


def _csrf(html: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    return token.group(1)


@pytest.fixture
async def finance_admin(app: FastAPI, db: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    """A finance user logged in to the admin, with a cookie jar of its own."""
    email, password = await make_user(db, "finance")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        page = await browser.get("/admin/login")
        r = await browser.post("/admin/login", data={"email": email, "password": password, "csrf_token": _csrf(page.text)})
        assert r.status_code in (302, 303), r.text[:300]
        yield browser


async def test_credit_notes_and_voids_are_the_same_through_the_api_and_the_admin(
    staff: Api, finance: Api, finance_admin: httpx.AsyncClient, db: asyncpg.Pool, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date=f"{y}-01-01"))
    await run_month(finance, f"{y}-01")
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-01")

    by_api = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "aircon outage", "amount_minor": 10_000})
    page = await finance_admin.get(f"/admin/invoices/{inv['id']}")
    r = await finance_admin.post(
        f"/admin/invoices/{inv['id']}/credit-notes",
        data={
            "csrf_token": _csrf(page.text),
            "credit_kind": "partial",
            "amount": "100.00",
            "reason": "aircon outage",
            "form_key": "both-edges-1",
        },
    )
    assert r.status_code in (302, 303), r.text[:500]
    notes = await finance.get(f"/v1/invoices/{inv['id']}/credit-notes")
    assert notes[0]["id"] == by_api["id"]
    by_admin = notes[1]

    def document(n: dict[str, Any]) -> tuple[Any, ...]:
        return (n["kind"], n["status"], n["reason"], n["currency"], n["amount_minor"], n["tax_minor"], n["total_minor"])

    assert document(by_admin) == document(by_api) == ("manual", "issued", "aircon outage", "PHP", 10_000, 1_200, 11_200)
    first, second = (int(n["number"].rsplit("-", 1)[1]) for n in (by_api, by_admin))
    assert second == first + 1  # one numbering, whichever edge issued it
    audits = await db.fetch(
        "SELECT object_id, action, object_type, client_id::text AS client_id FROM audit_events "
        "WHERE object_id = ANY($1::text[]) ORDER BY id",
        [by_api["id"], by_admin["id"]],
    )
    assert [(a["object_id"], a["action"], a["object_type"], a["client_id"]) for a in audits] == [
        (by_api["id"], "credit_note.create", "credit_note", w.client["id"]),
        (by_admin["id"], "credit_note.create", "credit_note", w.client["id"]),
    ]

    # the same void is refused by both, for the same reason, and changes nothing
    refused = await finance.call("POST", f"/v1/invoices/{inv['id']}/void", json={"reason": "mistake"})
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    page = await finance_admin.get(f"/admin/invoices/{inv['id']}")
    r = await finance_admin.post(
        f"/admin/invoices/{inv['id']}/void",
        data={"csrf_token": _csrf(page.text), "confirm": "yes", "void_reason": "mistake"},
    )
    assert r.status_code == 409
    assert detail in r.text.replace("&#39;", "'")
    assert await finance.get(f"/v1/invoices/{inv['id']}") == inv
