"""No issued invoice has a negative total: true-up credits beyond a month's charges leave the
invoice as credit notes against the invoices they correct, through real billing runs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import calc, worker
from billing.stripe_gateway import StripeGateway
from tests.billing import oracle
from tests.billing.conftest import invoices_of, run_month
from tests.billing.stripe_standin import StripeStandIn
from tests.billing.test_stripe import push_until_quiet
from tests.factories import Api, lease_body, make_world


def line_total(x: dict[str, Any]) -> int:
    return int(x["amount_minor"]) + int(x["tax_minor"])


async def trueup_notes(finance: Api, invoice_id: str) -> list[dict[str, Any]]:
    return [n for n in await finance.get(f"/v1/invoices/{invoice_id}/credit-notes") if n["kind"] == "trueup"]


async def test_excess_trueup_credit_becomes_a_credit_note_on_the_corrected_invoice(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    standin: StripeStandIn,
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=1))
    big = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=6))
    await run_month(finance, f"{y}-01")
    (jan,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    # after January was invoiced, the six-seat lease is ended back on the 5th: its January
    # true-up credit is far more than February's charges for the one seat left
    await staff.post(f"/v1/leases/{big['id']}/end", {"end_date": f"{y}-01-05"}, expect=200)
    counters = await db.fetchrow(
        "SELECT (SELECT next_number FROM billing_number_sequences WHERE site_id = $1 AND kind = 'credit_note') AS cn",
        uuid.UUID(w.site["id"]),
    )
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")

    assert feb["status"] == "issued"
    assert feb["total_minor"] == 0
    charges = sum(line_total(x) for x in feb["lines"] if not x["trueup"] and x["kind"] != "credit_transfer")
    credits = sum(line_total(x) for x in feb["lines"] if x["trueup"])
    assert charges == 1_500_000 * 112 // 100  # one seat for February, taxed
    assert -credits > charges
    (transfer,) = [x for x in feb["lines"] if x["kind"] == "credit_transfer"]
    assert line_total(transfer) == -(charges + credits)

    (note,) = await trueup_notes(finance, jan["id"])  # linked to January's invoice, the one it corrects
    assert note["invoice_id"] == jan["id"]
    assert note["status"] == "issued"  # system-made: no approval, though above the threshold
    assert note["total_minor"] > 5_000_000
    assert (note["amount_minor"], note["tax_minor"]) == (transfer["amount_minor"], transfer["tax_minor"])
    assert note["number"] in transfer["description"]
    assert jan["number"] in transfer["description"]
    # its own gapless number from the credit-note counter (the deposit refund waits for approval, unnumbered)
    assert note["number"] == f"{w.site['code']}-CN-{counters['cn'] or 1:06d}"
    labels = sorted(n["number"] for n in await finance.get(f"/v1/invoices/{jan['id']}/credit-notes") if n["number"])
    assert labels == [f"{w.site['code']}-CN-{i:06d}" for i in range(1, len(labels) + 1)]
    # the sums reconcile exactly: what February's invoice asks, less the credit note, is charges − credits
    assert feb["total_minor"] - note["total_minor"] == charges + credits

    # re-running February is idempotent: no second invoice, no second credit note
    await run_month(finance, f"{y}-02")
    assert await invoices_of(finance, w.client["id"], f"{y}-02") == [feb]
    assert len(await trueup_notes(finance, jan["id"])) == 1
    # and March trues up nothing again: the credit counted as given
    await run_month(finance, f"{y}-03")
    (mar,) = await invoices_of(finance, w.client["id"], f"{y}-03")
    assert not [x for x in mar["lines"] if x["trueup"]]
    assert mar["total_minor"] == 1_500_000 * 112 // 100

    # the zero invoice and its credit note go to Stripe like any other
    gateway = StripeGateway("sk_test_standin", standin.base_url, timeout=0.5)
    await db.execute(
        "UPDATE invoices SET stripe_next_attempt_at = now() + interval '1 day' "
        "WHERE stripe_state IN ('pending','void_pending') AND id <> ALL($1::uuid[])",
        [uuid.UUID(jan["id"]), uuid.UUID(feb["id"])],
    )
    assert await push_until_quiet(maker, gateway, db, jan["id"]) == ["synced", "synced"]  # January and February
    while await worker.sync_next_credit_note(maker, gateway) is not None:
        pass
    (note,) = await trueup_notes(finance, jan["id"])
    remote = standin.credit_notes[note["stripe_credit_note_id"]]
    assert remote["amount"] == note["total_minor"]
    jan_remote = (await finance.get(f"/v1/invoices/{jan['id']}"))["stripe_invoice_id"]
    assert remote["invoice"] == jan_remote
    feb_remote = standin.invoices[(await finance.get(f"/v1/invoices/{feb['id']}"))["stripe_invoice_id"]]
    assert feb_remote["amount_due"] == 0

    # the invoice that carried credit away cannot be voided (that would let the next run credit it again)
    await finance.post(f"/v1/invoices/{feb['id']}/void", {"reason": "x"}, expect=409)


async def test_a_month_of_credits_only_is_a_zero_invoice_and_a_credit_note(
    staff: Api, finance: Api, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=2))
    await run_month(finance, f"{y}-01")
    (jan,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": f"{y}-01-15"}, expect=200)
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    assert feb["total_minor"] == feb["subtotal_minor"] == feb["tax_minor"] == 0
    (credit,) = [x for x in feb["lines"] if x["trueup"]]
    assert credit["amount_minor"] == oracle.rhu(2 * 1_500_000 * 15, 31) - 2 * 1_500_000
    (note,) = await trueup_notes(finance, jan["id"])
    assert note["total_minor"] == -line_total(credit)
    # the deposit still comes back by its own credit note
    kinds = sorted(n["kind"] for n in await finance.get(f"/v1/invoices/{jan['id']}/credit-notes"))
    assert kinds == ["deposit_refund", "trueup"]


@given(
    total=st.integers(-(10**9), 10**9),
    tax=st.integers(-(10**8), 10**8),
    weights=st.lists(st.integers(1, 10**9), min_size=1, max_size=5),
)
def test_excess_split_sums_exactly_and_keeps_tax_within_each_part(total: int, tax: int, weights: list[int]) -> None:
    t = calc.Totals(total - tax, tax, total)
    excess = calc.excess_credit(t)
    if total >= 0:
        assert excess is None
        return
    assert excess is not None
    assert excess.total_minor == -total
    assert 0 <= excess.tax_minor <= excess.total_minor
    if sum(weights) < excess.total_minor:
        weights = [*weights[:-1], weights[-1] + excess.total_minor]
    parts = calc.split_excess(excess, weights)
    assert sum(p.total_minor for p in parts) == excess.total_minor
    assert sum(p.tax_minor for p in parts) == excess.tax_minor
    for part, weight in zip(parts[:-1], weights[:-1], strict=True):
        assert 0 <= part.tax_minor <= part.total_minor <= weight
    assert 0 <= parts[-1].tax_minor <= parts[-1].total_minor
