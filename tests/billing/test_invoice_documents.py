"""An invoice's own PDF and a credit note's own PDF, through the API: the issuing entity, the client and
its tax treatment, number and dates, service period, lines with their tax, page numbers on every page,
thousands separators, totals per tax rate, the amount due after payments, withholding and credits;
meaningful file names; a client reads only its own."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import asyncpg

from domain.rules.money import format_amount
from tests.billing.conftest import invoices_of, run_month
from tests.billing.docs_helpers import ISSUER, add_lines, pdf_text, receive, set_client_tax, set_issuer
from tests.factories import Api, ClientLogin, lease_body, make_world


async def test_invoice_pdf_carries_what_an_auditor_reads(
    staff: Api,
    finance: Api,
    db: asyncpg.Pool,
    fresh_year: Callable[..., int],
    client_login: ClientLogin,
    tmp_path: Path,
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    site = await set_issuer(staff, w.site["id"])
    assert site["legal_name"] == ISSUER["legal_name"]
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=2))
    await run_month(finance, f"{y}-01")
    # registered after the month was billed: the run's seat lines stay at the standard rate, the lines
    # added below carry their own treatment, and the document names the client's registration
    await set_client_tax(db, w.client["id"], "zero_rated", "PEZA-registered enterprise", "PEZA-2031-0412")
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    # a long month: 40 standard lines at 12%, 20 zero-rated, 20 exempt (one above a million, to see its separators)
    extra: list[tuple[str, str, int, int | None]] = [
        (f"Standard item {i:02d}", "standard", 1_000_000 + i, (1_000_000 + i) * 12 // 100) for i in range(40)
    ]
    extra += [(f"Zero-rated item {i:02d}", "zero_rated", 500_000, 0) for i in range(20)]
    extra += [(f"Exempt item {i:02d}", "exempt", 250_000, 0) for i in range(19)]
    extra += [("Exempt training room, a big one", "exempt", 123_456_789, 0)]
    await add_lines(db, inv["id"], extra)
    inv = await finance.get(f"/v1/invoices/{inv['id']}")
    cn = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "aircon outage", "amount_minor": 100_000})
    assert cn["status"] == "issued"
    # cleared money: 5,000,000.00 less 20,000.00 the client withheld; a post-dated cheque held does not count
    await receive(db, w.client["id"], "PHP", f"{y}-01-20", [(inv["id"], 500_000_000, 2_000_000)], reference="BDO-778812")
    await receive(db, w.client["id"], "PHP", f"{y}-03-01", [(inv["id"], 1_000_000, 0)], status="held", method="cheque")

    r = await finance.call("GET", f"/v1/invoices/{inv['id']}/pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="invoice-{inv["number"]}.pdf"'
    text = await pdf_text(r.content, tmp_path)
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 3
    for i, page in enumerate(pages, start=1):
        assert f"Page {i} of {len(pages)}" in page, page[-300:]
        assert f"Invoice {inv['number']}" in page  # every page says whose page it is
    flat = re.sub(r"\s+", " ", text)
    for part in (
        ISSUER["legal_name"],
        "12F Tower One, Ayala Avenue",
        "Makati City 1226",
        ISSUER["tax_id"],
        "BIR Permit No. 0420-116-00042",
    ):
        assert part in flat, part
    assert w.client["legal_name"] in flat
    assert w.client["billing_email"] in flat
    assert "123-456-789" in flat  # the client's tax id
    assert "Zero-rated — PEZA-registered enterprise (certificate PEZA-2031-0412)" in flat
    assert inv["number"] in flat
    assert f"Issue date {inv['issue_date']}" in flat
    assert f"Due date {inv['due_date']}" in flat
    assert f"Service period {y}-01-01 to {y}-01-31" in flat
    assert "1,234,567.89" in flat  # thousands separators in the currency's format
    # totals per tax rate
    zero_sales = 20 * 500_000
    exempt_sales = 19 * 250_000 + 123_456_789
    deposits = sum(x["amount_minor"] for x in inv["lines"] if x["kind"] == "deposit")
    assert deposits > 0
    vat_sales = inv["subtotal_minor"] - zero_sales - exempt_sales - deposits
    assert f"VATable sales (12%) {format_amount(vat_sales, 'PHP')}" in flat
    assert f"VAT (12%) {format_amount(inv['tax_minor'], 'PHP')}" in flat
    assert f"Zero-rated sales {format_amount(zero_sales, 'PHP')}" in flat
    assert f"Exempt sales {format_amount(exempt_sales, 'PHP')}" in flat
    assert f"Security deposits (not a sale) {format_amount(deposits, 'PHP')}" in flat  # a liability, not a taxable sale
    assert f"Invoice total {format_amount(inv['total_minor'], 'PHP')}" in flat
    assert f"Less credit note {cn['number']}" in flat
    assert "BDO-778812" in flat
    assert f"Less tax withheld by the client ({y}-01-20) -20,000.00" in flat
    due = inv["total_minor"] - cn["total_minor"] - 500_000_000 - 2_000_000
    assert f"Amount due {format_amount(due, 'PHP')}" in flat
    assert "cheque" not in flat  # held: not money yet

    # the credit note's own document
    r = await finance.call("GET", f"/v1/credit-notes/{cn['id']}/pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == f'attachment; filename="credit-note-{cn["number"]}.pdf"'
    flat = re.sub(r"\s+", " ", await pdf_text(r.content, tmp_path))
    for part in (ISSUER["legal_name"], ISSUER["tax_id"], cn["number"], inv["number"], "aircon outage", "Page 1 of 1"):
        assert part in flat, part
    assert "Credit before tax 1,000.00" in flat
    # a credit against mixed rates is taxed in proportion to what the invoice taxed (billing/calc.py credit_tax)
    assert 0 < cn["tax_minor"] < 12_000
    assert f"VAT credited {format_amount(cn['tax_minor'], 'PHP')}" in flat
    assert f"Total credited {format_amount(cn['total_minor'], 'PHP')}" in flat

    # who reads them: the client its own; another client 404; facility staff 403
    own = await client_login(w.client["id"], "client_viewer")
    assert (await own.call("GET", f"/v1/invoices/{inv['id']}/pdf")).status_code == 200
    assert (await own.call("GET", f"/v1/credit-notes/{cn['id']}/pdf")).status_code == 200
    other_world = await make_world(staff)
    other = await client_login(other_world.client["id"], "client_admin")
    assert (await other.call("GET", f"/v1/invoices/{inv['id']}/pdf")).status_code == 404
    assert (await other.call("GET", f"/v1/credit-notes/{cn['id']}/pdf")).status_code == 404
    assert (await staff.call("GET", f"/v1/invoices/{inv['id']}/pdf")).status_code == 403
    missing = await finance.call("GET", "/v1/invoices/00000000-0000-0000-0000-000000000000/pdf")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_pending_credit_note_is_not_the_clients_to_read(
    staff: Api, finance: Api, fresh_year: Callable[..., int], client_login: ClientLogin, tmp_path: Path
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=2))
    await run_month(finance, f"{y}-01")
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    whole = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "wrong client"})
    assert whole["status"] == "pending_approval"
    r = await finance.call("GET", f"/v1/credit-notes/{whole['id']}/pdf")
    assert r.status_code == 200
    assert f'filename="credit-note-pending_approval-{whole["id"]}.pdf"' in r.headers["content-disposition"]
    assert "not issued" in await pdf_text(r.content, tmp_path)
    own = await client_login(w.client["id"], "client_viewer")
    assert (await own.call("GET", f"/v1/credit-notes/{whole['id']}/pdf")).status_code == 404
    # no issuing entity set yet: the site's own name stands in, and the missing tax id says so
    text = re.sub(r"\s+", " ", await pdf_text((await finance.call("GET", f"/v1/invoices/{inv['id']}/pdf")).content, tmp_path))
    assert w.site["name"] in text
    assert "Tax id: (not set)" in text
    # what the tax is called is the site's: a US site's "Sales tax"
    r = await staff.call("PATCH", f"/v1/sites/{w.site['id']}", json={"tax_label": "Sales tax"})
    assert r.status_code == 200, r.text
    text = re.sub(r"\s+", " ", await pdf_text((await finance.call("GET", f"/v1/invoices/{inv['id']}/pdf")).content, tmp_path))
    deposits = sum(x["amount_minor"] for x in inv["lines"] if x["kind"] == "deposit")
    assert f"Taxable sales (Sales tax 12%) {format_amount(inv['subtotal_minor'] - deposits, 'PHP')}" in text
    assert f"Sales tax (12%) {format_amount(inv['tax_minor'], 'PHP')}" in text
    assert "VAT" not in text


async def test_openapi_declares_the_pdfs(finance: Api) -> None:
    spec = await finance.get("/openapi.json")
    for path in ("/v1/invoices/{invoice_id}/pdf", "/v1/credit-notes/{credit_note_id}/pdf"):
        op = spec["paths"][path]["get"]
        assert "application/pdf" in op["responses"]["200"]["content"]
        assert op["summary"]
        assert "client" in op["description"]
