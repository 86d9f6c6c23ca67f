"""Helpers of the payments tests (issue 12): a billed client, the site's today, a client's aging."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.billing.conftest import invoices_of, run_month
from tests.factories import Api, World, lease_body, make_world


def manila_today() -> date:
    return datetime.now(ZoneInfo("Asia/Manila")).date()


def days_from_today(n: int) -> str:
    return (manila_today() + timedelta(days=n)).isoformat()


async def billed(staff: Api, finance: Api, fresh_year: Callable[..., int], months: int = 1, **kw: Any) -> tuple[World, list[Any]]:
    """A new client with a lease billed for `months` months of a fresh year: its invoices, oldest first."""
    y = fresh_year()
    w = await make_world(staff, **kw)
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=2))
    out = []
    for m in range(1, months + 1):
        await run_month(finance, f"{y}-{m:02d}")
        (inv,) = await invoices_of(finance, w.client["id"], f"{y}-{m:02d}")
        out.append(inv)
    return w, out


async def pay(finance: Api, client_id: str, amount: int, allocations: Any = None, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": client_id,
        "method": kw.pop("method", "bank_transfer"),
        "amount_minor": amount,
        "currency": kw.pop("currency", "PHP"),
        "paid_on": kw.pop("paid_on", manila_today().isoformat()),
        "reference": kw.pop("reference", "BDO-REF-1"),
        **kw,
    }
    if allocations is not None:
        body["allocations"] = allocations
    return dict(await finance.post("/v1/payments", body))


async def status(finance: Api, invoice_id: str) -> str:
    return str((await finance.get(f"/v1/invoices/{invoice_id}"))["status"])


async def balance(api: Api, client_id: str, currency: str = "PHP") -> dict[str, Any]:
    got = await api.get(f"/v1/clients/{client_id}/balance")
    rows = [c for c in got["currencies"] if c["currency"] == currency]
    return rows[0] if rows else {"outstanding_minor": 0, "credit_minor": 0, "held_minor": 0, "withheld_minor": 0}


async def aging_total(finance: Api, client_id: str, as_of: str) -> int:
    aging = await finance.get("/v1/reports/ar-aging", params={"as_of": as_of})
    return sum(c["total"] for c in aging["clients"] if c["client_id"] == client_id)
