"""Statements an auditor accepts: per currency, the balance moves by exactly what happened (invoiced,
credited, paid — cleared money only —, withheld, refunded), the JSON (minor units), the CSV (major
units, a currency on every row) and the PDF (the issuer, page numbers, grouped amounts) say the same,
and every download is named after the client and the period."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from billing.doc_kit import slug
from billing.facts import Month
from domain.rules.money import format_amount
from tests.billing.conftest import dated_as_if_issued_on, invoices_of, run_month
from tests.billing.docs_helpers import ISSUER, pdf_text, receive, refund, set_issuer
from tests.factories import Api, ClientLogin, World, lease_body, make_site, make_world

COMPONENTS = ("invoiced_minor", "credited_minor", "paid_minor", "withheld_minor", "refunded_minor", "returned_minor")


async def two_currency_client(staff: Api, finance: Api, y: int) -> tuple[World, dict[str, Any], dict[str, Any]]:
    """A client leasing in Manila (PHP) and in Austin (USD), billed for January."""
    w = await make_world(staff)
    await set_issuer(staff, w.site["id"])
    usd_site, _, _, _ = await make_site(staff, timezone="America/Chicago", currency="USD", tax_rate="0.0825")
    await set_issuer(
        staff, usd_site["id"], legal_name="Seatlease Texas LLC", address="500 Congress Ave\nAustin, TX 78701", tax_id="87-1234567"
    )
    plan = await staff.post(
        "/v1/plans",
        {
            "site_id": usd_site["id"],
            "name": "Austin seat",
            "monthly_price_minor": 45_000,
            "setup_fee_minor": 0,
            "deposit_months": 0,
        },
    )
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=2))
    await staff.post(
        "/v1/leases",
        lease_body(w, site_id=usd_site["id"], plan_id=plan["id"], shift="FULL", start_date=f"{y}-01-01", seat_count=3),
    )
    await run_month(finance, f"{y}-01")
    # both issued on one day of the far year: today's date differs between Manila and Chicago at some
    # hours, and a correction is dated on or after its invoice, so every document falls in the months read
    await dated_as_if_issued_on(finance, f"{y}-01", date(y, 1, 1))
    invs = {i["currency"]: i for i in await invoices_of(finance, w.client["id"], f"{y}-01")}
    return w, invs["PHP"], invs["USD"]


def check_identity(sec: dict[str, Any]) -> None:
    assert sec["closing_balance_minor"] == (
        sec["opening_balance_minor"]
        + sec["invoiced_minor"]
        - sec["credited_minor"]
        - sec["paid_minor"]
        - sec["withheld_minor"]
        + sec["refunded_minor"]
        + sec["returned_minor"]
    ), sec


async def test_statement_balances_per_currency_and_every_format_agrees(
    staff: Api, finance: Api, db: asyncpg.Pool, fresh_year: Callable[..., int], client_login: ClientLogin, tmp_path: Path
) -> None:
    y = fresh_year()
    w, php, usd = await two_currency_client(staff, finance, y)
    # the money arrives the month after the invoices' month (whatever day they were issued)
    m1 = Month.of(date.fromisoformat(php["issue_date"]))
    m2 = m1.next()
    d = m2.first
    day = lambda n: str(d + timedelta(days=n))  # noqa: E731
    # PHP: paid short by 5% withheld, plus 1,000.00 more than owed (a credit balance), 300.00 of it refunded
    withheld = php["total_minor"] * 5 // 100
    await receive(
        db,
        w.client["id"],
        "PHP",
        day(4),
        [(php["id"], php["total_minor"] - withheld, withheld)],
        extra_minor=100_000,
        reference="BDO-1",
    )
    await refund(db, w.client["id"], "PHP", day(20), 30_000)
    # what does not count: a post-dated cheque held, a voided payment
    await receive(db, w.client["id"], "PHP", day(6), [], extra_minor=999_900, status="held", method="cheque")
    await receive(db, w.client["id"], "PHP", day(7), [], extra_minor=777_700, status="void")
    # USD: a part payment
    await receive(db, w.client["id"], "USD", day(9), [(usd["id"], 40_000, 0)], method="card", reference="ch_1")
    cn = await finance.post(f"/v1/invoices/{usd['id']}/credit-notes", {"reason": "one seat unusable", "amount_minor": 1_000})

    first = await finance.get(f"/v1/clients/{w.client['id']}/statements/{m1}")
    st = await finance.get(f"/v1/clients/{w.client['id']}/statements/{m2}")
    secs = {s["currency"]: s for s in st["currencies"]}
    assert set(secs) == {"PHP", "USD"}
    for s in (*first["currencies"], *st["currencies"]):
        check_identity(s)
    # a month opens where the one before closed, per currency
    for s in first["currencies"]:
        if s["currency"] in secs:
            assert secs[s["currency"]]["opening_balance_minor"] == s["closing_balance_minor"]
    p = secs["PHP"]
    assert p["paid_minor"] == php["total_minor"] - withheld + 100_000  # held and void are not money received
    assert p["withheld_minor"] == withheld
    assert p["refunded_minor"] == 30_000
    (pay,) = p["payments"]
    assert pay["allocations"] == [
        {"invoice_number": php["number"], "amount_minor": php["total_minor"] - withheld, "withheld_minor": withheld}
    ]
    assert pay["unallocated_minor"] == 100_000
    assert (pay["method"], pay["reference"]) == ("bank_transfer", "BDO-1")
    assert [x["withheld_minor"] for x in p["withholdings"]] == [withheld]
    u = secs["USD"]
    assert u["paid_minor"] == 40_000
    assert u["withheld_minor"] == 0
    assert u["issuers"][0]["legal_name"] == "Seatlease Texas LLC"
    assert {i["legal_name"] for i in st["issuers"]} == {ISSUER["legal_name"], "Seatlease Texas LLC"}
    credited_m2 = sum(n["total_minor"] for n in u["credit_notes"])
    credited_m1 = sum(n["total_minor"] for s in first["currencies"] if s["currency"] == "USD" for n in s["credit_notes"])
    assert credited_m1 + credited_m2 == cn["total_minor"]  # dated in one of the two months, never both

    name = f"statement-{m2}-{slug(w.client['legal_name'])}"
    # CSV: major units, the currency on every row, the same figures
    r = await finance.call("GET", f"/v1/clients/{w.client['id']}/statements/{m2}", params={"format": "csv"})
    assert r.headers["content-disposition"] == f'attachment; filename="{name}.csv"'
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert all(row["currency"] in ("PHP", "USD") for row in rows)
    for cur, sec in secs.items():
        mine = [row for row in rows if row["currency"] == cur]
        major = lambda minor: f"{minor / 100:.2f}"  # noqa: E731
        assert mine[0]["section"] == "opening_balance"
        assert mine[0]["balance"] == major(sec["opening_balance_minor"])
        closing = next(row for row in mine if row["section"] == "closing_balance")
        assert closing["balance"] == major(sec["closing_balance_minor"])
        running = [row for row in mine if row["balance"] and row["section"] not in ("closing_balance",)]
        assert running[-1]["balance"] == closing["balance"]  # the running balance ends where the statement closes

        def total(section: str, rows_: list[dict[str, str]] = mine) -> int:
            return round(sum(float(row["total"]) for row in rows_ if row["section"] == section) * 100)

        assert total("invoice") == sec["invoiced_minor"]
        assert total("credit_note") == -sec["credited_minor"]
        assert total("payment") == -sec["paid_minor"]
        assert total("withholding") == -sec["withheld_minor"]
        assert total("refund") == sec["refunded_minor"]
        aging = {row["description"]: row["total"] for row in mine if row["section"] == "aging"}
        assert aging["current"] == major(sec["aging"]["current"])
    assert "," not in "".join(row["total"] + row["balance"] for row in rows)  # no grouping in a file a machine reads

    # PDF: the issuers, page numbers, the same figures as people read them
    r = await finance.call("GET", f"/v1/clients/{w.client['id']}/statements/{m2}", params={"format": "pdf"})
    assert r.headers["content-disposition"] == f'attachment; filename="{name}.pdf"'
    text = await pdf_text(r.content, tmp_path)
    pages = [pg for pg in text.split("\f") if pg.strip()]
    for i, pg in enumerate(pages, start=1):
        assert f"Page {i} of {len(pages)}" in pg
    flat = re.sub(r"\s+", " ", text)
    for part in (ISSUER["legal_name"], ISSUER["tax_id"], "Seatlease Texas LLC", "87-1234567", w.client["legal_name"]):
        assert part in flat, part
    for cur, sec in secs.items():
        figures = " ".join(format_amount(sec[k], cur) for k in ("opening_balance_minor", *COMPONENTS, "closing_balance_minor"))
        assert figures in flat, (figures, flat[:2000])
    assert (
        f"{php['number']} {format_amount(php['total_minor'] - withheld, 'PHP')} (withheld {format_amount(withheld, 'PHP')})"
        in flat
    )
    assert "unallocated" in flat

    # the admin's download and the client's own read carry the same name; another client gets 404
    own = await client_login(w.client["id"], "client_viewer")
    r = await own.call("GET", f"/v1/clients/{w.client['id']}/statements/{m2}", headers={"Accept": "application/pdf"})
    assert r.headers["content-disposition"] == f'attachment; filename="{name}.pdf"'
    assert (await own.get(f"/v1/clients/{w.client['id']}/statements/{m2}")) == st


async def test_a_payment_voided_after_its_month_stays_on_that_statement_and_returns_on_the_void_day(
    staff: Api, finance: Api, fresh_year: Callable[..., int]
) -> None:
    """A statement once sent never changes: a cheque that bounces after its month stays paid in that
    month's statement and aging, and the void's month shows it returned, owed again."""
    from tests.billing.payment_helpers import aging_total, billed, manila_today, pay

    w, (inv,) = await billed(staff, finance, fresh_year)
    cid = w.client["id"]
    paid_on = manila_today().replace(day=1) - timedelta(days=20)  # last month
    p = await pay(
        finance, cid, 1_500_000, [{"invoice_id": inv["id"], "amount_minor": 1_000_000}], method="cheque", paid_on=str(paid_on)
    )
    month = Month.of(paid_on)
    as_of = str(month.last)
    before = await finance.get(f"/v1/clients/{cid}/statements/{month}")
    aging_before = await aging_total(finance, cid, as_of)
    (sec,) = before["currencies"]
    assert sec["paid_minor"] == 1_500_000

    voided = (await finance.call("POST", f"/v1/payments/{p['id']}/void", json={"reason": "bounced"}, expect=200)).json()
    void_day = date.fromisoformat(voided["voided_on"])
    assert void_day > month.last

    # the month it cleared in reads as it was sent, its aging too
    assert await finance.get(f"/v1/clients/{cid}/statements/{month}") == before
    assert await aging_total(finance, cid, as_of) == aging_before
    # the void's month: the money is owed again, on the void's day
    void_month = Month.of(void_day)
    after = await finance.get(f"/v1/clients/{cid}/statements/{void_month}")
    (sec2,) = after["currencies"]
    check_identity(sec2)
    assert sec2["returned_minor"] == 1_500_000
    assert [(x["voided_on"], x["amount_minor"], x["method"]) for x in sec2["returns"]] == [(str(void_day), 1_500_000, "cheque")]
    assert void_month == month.next()  # paid last month, voided today
    assert sec2["opening_balance_minor"] == sec["closing_balance_minor"]
    r = await finance.call("GET", f"/v1/clients/{cid}/statements/{void_month}", params={"format": "csv"})
    returned = [row for row in csv.DictReader(io.StringIO(r.text)) if row["section"] == "payment_returned"]
    assert [(row["date"], row["total"]) for row in returned] == [(str(void_day), "15000.00")]
    assert "Payment returned (cheque" in returned[0]["description"]
