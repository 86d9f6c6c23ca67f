"""Credit notes (partial, whole, approval threshold), voids, tenant isolation, statements, AR aging, KPIs."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from billing.doc_kit import slug
from service.cli_billing import statements_export_command
from tests.billing.conftest import dated_as_if_issued_on, invoices_of, run_month
from tests.factories import Api, ClientLogin, World, lease_body, make_world


async def billed_world(staff: Api, finance: Api, y: int, **lease_kw: Any) -> tuple[World, dict[str, Any]]:
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=2, **lease_kw))
    await run_month(finance, f"{y}-01")
    await dated_as_if_issued_on(finance, f"{y}-01", date(y, 1, 1))
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    return w, inv


async def test_credit_notes_partial_whole_and_approval(staff: Api, finance: Api, fresh_year: Callable[..., int]) -> None:
    y = fresh_year()
    w, inv = await billed_world(staff, finance, y)
    assert inv["total_minor"] > 5_000_000  # above the approval threshold
    part = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "aircon outage", "amount_minor": 100_000})
    assert part["status"] == "issued"
    assert part["number"] == f"{w.site['code']}-CN-000001"
    assert (part["amount_minor"], part["tax_minor"], part["total_minor"]) == (100_000, 12_000, 112_000)
    too_much = await finance.call(
        "POST", f"/v1/invoices/{inv['id']}/credit-notes", json={"reason": "x", "amount_minor": inv["subtotal_minor"]}
    )
    assert too_much.status_code == 422
    assert "amount_minor" in too_much.text
    whole = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "wrong client"})
    assert whole["status"] == "pending_approval"
    assert whole["number"] is None
    assert whole["amount_minor"] == inv["subtotal_minor"] - 100_000
    assert whole["total_minor"] == inv["total_minor"] - 112_000
    approved = await finance.post(f"/v1/credit-notes/{whole['id']}/approve", expect=200)
    assert approved["status"] == "issued"
    assert approved["number"] == f"{w.site['code']}-CN-000002"
    await finance.post(f"/v1/credit-notes/{whole['id']}/approve", expect=409)
    nothing_left = await finance.call("POST", f"/v1/invoices/{inv['id']}/credit-notes", json={"reason": "again"})
    assert nothing_left.status_code == 422
    # an invoice with credit notes is not voided; the invoice itself never changed
    await finance.post(f"/v1/invoices/{inv['id']}/void", {"reason": "x"}, expect=409)
    assert (await finance.get(f"/v1/invoices/{inv['id']}")) == inv
    kpis = await finance.get("/v1/reports/kpis")
    assert kpis["billing"]["invoice_turnaround"]["invoices"] >= 1


async def test_void_keeps_the_number_and_next_run_rebills(staff: Api, finance: Api, fresh_year: Callable[..., int]) -> None:
    y = fresh_year()
    w, inv = await billed_world(staff, finance, y)
    voided = await finance.post(f"/v1/invoices/{inv['id']}/void", {"reason": "issued by mistake"}, expect=200)
    assert voided["status"] == "void"
    assert voided["number"] == inv["number"]
    await finance.post(f"/v1/invoices/{inv['id']}/void", {"reason": "again"}, expect=409)
    r = await finance.call("POST", f"/v1/invoices/{inv['id']}/credit-notes", json={"reason": "x"})
    assert r.status_code == 409
    # what the voided invoice charged is still owed by the lease: the next run bills it again, dated
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    assert feb["sequence"] == inv["sequence"] + 1
    jan_seats = sum(x["amount_minor"] for x in inv["lines"] if x["kind"] == "seat")
    assert [x["amount_minor"] for x in feb["lines"] if x["trueup"] and x["kind"] == "seat"] == [jan_seats]
    assert {x["kind"] for x in feb["lines"] if not x["trueup"]} >= {"seat", "setup_fee", "deposit"}


async def test_client_users_see_only_their_own_invoices_and_statements(
    staff: Api, finance: Api, fresh_year: Callable[..., int], client_login: ClientLogin
) -> None:
    y = fresh_year()
    wa, inv_a = await billed_world(staff, finance, y)
    wb = await make_world(staff)
    await staff.post("/v1/leases", lease_body(wb, start_date=f"{y}-01-05", seat_count=1))
    await run_month(finance, f"{y}-01")
    (inv_b,) = await invoices_of(finance, wb.client["id"], f"{y}-01")
    a = await client_login(wa.client["id"], "client_viewer")
    page = await a.get("/v1/invoices")
    assert {i["client_id"] for i in page["items"]} == {wa.client["id"]}
    assert (await a.get(f"/v1/invoices/{inv_a['id']}"))["id"] == inv_a["id"]
    await a.get(f"/v1/invoices/{inv_b['id']}", expect=404)
    await staff.get(f"/v1/invoices/{inv_a['id']}", expect=403)  # facility staff: not their business
    await a.get(f"/v1/clients/{wb.client['id']}/statements/{y}-01", expect=404)
    assert (await a.get("/v1/invoices", params={"client_id": wb.client["id"]}))["items"] == []
    assert (await a.get(f"/v1/clients/{wa.client['id']}/statements/{y}-01"))["client"]["id"] == wa.client["id"]
    await a.post(f"/v1/invoices/{inv_a['id']}/credit-notes", {"reason": "please"}, expect=403)
    await a.post(f"/v1/invoices/{inv_a['id']}/void", {"reason": "please"}, expect=403)


async def test_statement_json_csv_pdf(staff: Api, finance: Api, fresh_year: Callable[..., int], tmp_path: Path) -> None:
    y = fresh_year()
    w, jan = await billed_world(staff, finance, y, add_ons=[{"code": "extra_monitor", "quantity": 1}])
    await run_month(finance, f"{y}-02")
    await dated_as_if_issued_on(finance, f"{y}-02", date(y, 2, 1))
    await finance.post(f"/v1/invoices/{jan['id']}/credit-notes", {"reason": "goodwill", "amount_minor": 10_000})
    st = await finance.get(f"/v1/clients/{w.client['id']}/statements/{y}-02")
    (sec,) = st["currencies"]
    assert sec["currency"] == "PHP"
    # a credit note is dated no earlier than the invoice it corrects (here: January, the invoice's date)
    assert sec["opening_balance_minor"] == jan["total_minor"] - 11_200
    (feb,) = sec["invoices"]
    assert sec["invoiced_minor"] == feb["total_minor"]
    assert (
        sec["closing_balance_minor"]
        == sec["opening_balance_minor"] + sec["invoiced_minor"] - sec["credited_minor"] - sec["paid_minor"]
    )
    # aging at the end of February: January's invoice (due Jan 31) is 1-30 days late; February's is current
    assert sec["aging"]["1_30"] == jan["total_minor"] - 11_200
    assert sec["aging"]["current"] == feb["total_minor"]
    kinds = {ln["kind"] for ln in feb["lines"]}
    assert {"seat", "inclusion", "addon"} <= kinds

    r = await finance.call("GET", f"/v1/clients/{w.client['id']}/statements/{y}-02", headers={"Accept": "text/csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0]["section"] == "opening_balance"
    assert rows[0]["balance"] == f"{(jan['total_minor'] - 11_200) / 100:.2f}"
    closing = next(x for x in rows if x["section"] == "closing_balance")
    assert closing["balance"] == f"{sec['closing_balance_minor'] / 100:.2f}"
    assert any(x["section"] == "line" and x["days"] in ("28", "29") for x in rows)

    r = await finance.call("GET", f"/v1/clients/{w.client['id']}/statements/{y}-02", headers={"Accept": "application/pdf"})
    assert r.status_code == 200
    assert r.content.startswith(b"%PDF")
    pdf = tmp_path / "statement.pdf"
    await asyncio.to_thread(pdf.write_bytes, r.content)
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext, pdftoppm) not installed")
    done = await asyncio.to_thread(
        subprocess.run, ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    text = done.stdout
    assert w.client["legal_name"] in text
    assert feb["number"] in text
    assert "Aging" in text
    assert f"{sec['closing_balance_minor'] / 100:,.2f}".replace(",", "") in text.replace(",", "")
    await asyncio.to_thread(
        subprocess.run, ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True
    )
    assert await asyncio.to_thread(_first_page_size, tmp_path) > 5_000  # a rendered page with content, not a blank one


def _first_page_size(folder: Path) -> int:
    return next(folder.glob("page*.png")).stat().st_size


async def test_ar_aging_buckets(staff: Api, finance: Api, fresh_year: Callable[..., int]) -> None:
    y = fresh_year()
    w, inv = await billed_world(staff, finance, y)
    aging = await finance.get("/v1/reports/ar-aging", params={"as_of": f"{y}-03-15"})
    (mine,) = [c for c in aging["clients"] if c["client_id"] == w.client["id"]]
    assert mine["31_60"] == inv["total_minor"]
    assert mine["total"] == inv["total_minor"]
    aging = await finance.get("/v1/reports/ar-aging", params={"as_of": f"{y}-01-15"})
    (mine,) = [c for c in aging["clients"] if c["client_id"] == w.client["id"]]
    assert mine["current"] == inv["total_minor"]
    bad = await finance.call("GET", "/v1/reports/ar-aging", params={"as_of": "soon"})
    assert bad.status_code == 422
    assert "as_of" in bad.text


async def test_statements_export_writes_pdfs_csvs_and_a_balanced_journal(
    staff: Api, finance: Api, fresh_year: Callable[..., int], tmp_path: Path, database_url: str
) -> None:
    y = fresh_year()
    w, inv = await billed_world(staff, finance, y, discount_pct="5")
    await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "goodwill", "amount_minor": 50_000})
    out = tmp_path / "export"
    code = await asyncio.to_thread(statements_export_command, database_url, f"{y}-01", str(out))
    assert code == 0
    # named after the client and the period (the slug of its legal name), as the API's and the admin's downloads
    stem = f"statement-{y}-01-{slug(w.client['legal_name'])}"
    assert (await asyncio.to_thread((out / f"{stem}.pdf").read_bytes)).startswith(b"%PDF")
    assert (await asyncio.to_thread((out / f"{stem}.csv").read_text)).startswith("currency,section")
    rows = list(csv.DictReader(io.StringIO(await asyncio.to_thread((out / f"journal-{y}-01.csv").read_text))))
    assert rows
    for cur in {r["currency"] for r in rows}:
        mine = [r for r in rows if r["currency"] == cur]
        assert sum(int(r["debit_minor"]) for r in mine) == sum(int(r["credit_minor"]) for r in mine)
    accounts = {r["account"].split(":")[0] for r in rows if r["reference"] == inv["number"]}
    assert accounts == {"Accounts receivable", "Revenue", "Tax payable", "Deposits held"}
    deposits = [r for r in rows if r["account"] == f"Deposits held:{w.site['code']}" and r["reference"] == inv["number"]]
    assert [int(r["credit_minor"]) for r in deposits] == [3_000_000]
