"""The billing oracle extended to payments (issue 12): generated sequences of payments (oldest due
first, to a chosen invoice, all as credit), post-dated cheques held then cleared, voids, credit notes,
credit applied and refunds, for a client with or without withholding, checked after every step against
the slow ledger of tests/billing/oracle.py: each invoice's status, the client's balance (outstanding,
credit, cheques held, tax withheld) and its AR aging."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI

from billing import payment_worker
from tests.billing.oracle import Ledger
from tests.billing.payment_helpers import aging_total, balance, billed, days_from_today, manila_today
from tests.factories import Api

STEPS = 18


async def check(finance: Api, ledger: Ledger, cid: str, as_of: str, step: str) -> None:
    for invoice_id in ledger.invoices:
        got = (await finance.get(f"/v1/invoices/{invoice_id}"))["status"]
        assert got == ledger.status(invoice_id), (step, invoice_id, got, ledger.status(invoice_id))
    bal = await balance(finance, cid)
    want = {
        "outstanding_minor": ledger.outstanding(),
        "credit_minor": ledger.credit(),
        "held_minor": ledger.held_total(),
        "withheld_minor": ledger.withheld(),
    }
    assert {k: bal[k] for k in want} == want, step
    assert await aging_total(finance, cid, as_of) == ledger.outstanding(), step


def _plan_of(payment: dict[str, Any]) -> list[tuple[str, int, int]]:
    return sorted((a["invoice_id"], a["amount_minor"], a["withheld_minor"]) for a in payment["allocations"])


class Walk:
    """One generated history: each method is one kind of step, done through the API and in the ledger."""

    def __init__(self, finance: Api, db: asyncpg.Pool, app: FastAPI, cid: str, ledger: Ledger, rnd: random.Random) -> None:
        self.finance, self.db, self.maker, self.cid, self.ledger, self.rnd = finance, db, app.state.sessionmaker, cid, ledger, rnd
        self.base = {"client_id": cid, "method": "bank_transfer", "currency": "PHP", "paid_on": manila_today().isoformat()}
        self.credit_applied = False

    async def default(self) -> None:
        amount = self.rnd.randint(1, self.ledger.outstanding() + 50_000)
        plan = sorted(self.ledger.default_plan(amount))
        p = await self.finance.post("/v1/payments", {**self.base, "amount_minor": amount})
        assert _plan_of(p) == plan
        self.ledger.record(p["id"], amount, plan)

    async def chosen(self) -> None:
        if not self.ledger.open_invoices():
            return
        i = self.rnd.choice(self.ledger.open_invoices())
        opened, wht = self.ledger.open(i), self.ledger.withholding_left(i)
        amount = max(1, self.rnd.choice([opened - wht, self.rnd.randint(1, opened + 10), opened + 1]))
        body = {**self.base, "amount_minor": amount, "allocations": [{"invoice_id": i, "amount_minor": amount}]}
        r = await self.finance.call("POST", "/v1/payments", json=body)
        withheld = wht if wht and amount == opened - wht else 0
        if amount + withheld > opened:
            assert r.status_code in (409, 422), r.text
            assert r.json()["field"].startswith("allocations[0]")
            return
        assert r.status_code == 201, r.text
        assert _plan_of(r.json()) == [(i, amount, withheld)]
        self.ledger.record(r.json()["id"], amount, [(i, amount, withheld)])

    async def credit(self) -> None:
        amount = self.rnd.randint(1, 300_000)
        p = await self.finance.post("/v1/payments", {**self.base, "amount_minor": amount, "allocations": []})
        self.ledger.record(p["id"], amount, [])

    async def cheque(self) -> None:
        opened = [i for i in self.ledger.open_invoices() if self.ledger.open(i) > 0]
        if not opened:
            return
        i = self.rnd.choice(opened)
        amount = self.rnd.randint(1, self.ledger.open(i))
        body = {
            **self.base,
            "method": "cheque",
            "paid_on": days_from_today(self.rnd.randint(1, 30)),
            "amount_minor": amount + 5_000,
        }
        p = await self.finance.post(
            "/v1/payments", {**body, "allocations": [{"invoice_id": i, "amount_minor": amount, "withheld_minor": 0}]}
        )
        assert p["status"] == "held"
        self.ledger.record(p["id"], amount + 5_000, [(i, amount, 0)], held=True)

    async def clear(self) -> None:
        held = [pid for pid, p in self.ledger.payments.items() if p["status"] == "held"]
        if held:
            pid = self.rnd.choice(held)
            await self.db.execute("UPDATE payments SET paid_on = current_date - 1 WHERE id = $1", uuid.UUID(pid))
            while await payment_worker.clear_next_cheque(self.maker, set()) is not None:
                pass
            self.ledger.clear(pid)

    async def void(self) -> None:
        # credit applied comes out of the oldest payments: the ledger does not follow which, so no voids after
        live = [pid for pid, p in self.ledger.payments.items() if p["status"] != "void"]
        if live and not self.credit_applied:
            pid = self.rnd.choice(live)
            await self.finance.post(f"/v1/payments/{pid}/void", {"reason": "bounced"}, expect=200)
            self.ledger.void(pid)

    async def refund(self) -> None:
        amount = self.rnd.randint(1, max(1, self.ledger.credit()) + 10_000)
        r = await self.finance.call(
            "POST", f"/v1/clients/{self.cid}/credit-refunds", json={"currency": "PHP", "amount_minor": amount}
        )
        if amount <= self.ledger.credit():
            assert r.status_code == 201, r.text
            self.ledger.refunded += amount
        else:
            assert (r.status_code, r.json()["field"]) == (409, "amount_minor")

    async def apply(self) -> None:
        plan = sorted(self.ledger.default_plan(max(0, self.ledger.credit())))
        made = await self.finance.post(f"/v1/clients/{self.cid}/credit/apply", {"currency": "PHP"}, expect=200)
        got: dict[str, list[int]] = {}
        for a in made:  # one invoice's credit may come out of several payments
            got.setdefault(a["invoice_id"], [0, 0])
            got[a["invoice_id"]][0] += a["amount_minor"]
            got[a["invoice_id"]][1] += a["withheld_minor"]
        assert sorted((k, v[0], v[1]) for k, v in got.items()) == plan
        self.ledger.apply_credit()
        self.credit_applied = self.credit_applied or bool(plan)

    async def credit_note(self) -> None:
        i = self.rnd.choice(list(self.ledger.invoices))
        amount = self.rnd.randint(1_000, 200_000)
        r = await self.finance.call("POST", f"/v1/invoices/{i}/credit-notes", json={"reason": "oracle", "amount_minor": amount})
        if r.status_code == 201 and r.json()["status"] == "issued":
            self.ledger.credit_note(i, r.json()["amount_minor"], r.json()["total_minor"])


OPS = ["default", "default", "chosen", "credit", "cheque", "clear", "void", "refund", "apply", "credit_note"]


@pytest.mark.parametrize("seed", [7, 12, 2031, 42, 99])
async def test_generated_payment_histories_match_the_ledger(
    staff: Api, finance: Api, fresh_year: Callable[..., int], db: asyncpg.Pool, app: FastAPI, seed: int
) -> None:
    rnd = random.Random(seed)
    rate = rnd.choice(["0", "0.05", "0.02"])
    w, invoices = await billed(staff, finance, fresh_year, months=3)
    cid = w.client["id"]
    await finance.call("PATCH", f"/v1/clients/{cid}", json={"withholding_rate": rate}, expect=200)
    ledger = Ledger(rate)
    for inv in invoices:
        ledger.add_invoice(inv)
    as_of = f"{invoices[-1]['period']}-28"
    walk = Walk(finance, db, app, cid, ledger, rnd)
    await check(finance, ledger, cid, as_of, "start")
    for n in range(STEPS):
        op = rnd.choice(OPS)
        try:
            await getattr(walk, op)()
        except AssertionError as exc:
            raise AssertionError(f"step {n} ({op}) of seed {seed}: {exc}") from exc
        await check(finance, ledger, cid, as_of, f"{n}:{op}")
