"""Issue 12 through the API: invoices dated the day they are issued on the site's calendar, a run's
drafts under draft review (one-off lines, bulk issue under concurrent double clicks), one-off
invoices outside the run, and tax treatment per client and line."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI

from billing.worker import CLAIM_INVOICE
from domain.rules.timezones import local_day
from service.settings import Settings
from tests.billing import oracle
from tests.billing.conftest import invoices_of, run_month, site_today
from tests.factories import Api, ClientLogin, lease_body, make_world

# the push's claim, for one invoice: would the worker send it to Stripe now?
CLAIM_ONE = CLAIM_INVOICE.replace("WHERE i.stripe_state", "WHERE i.id = $1 AND i.stripe_state")
HEADSET = {
    "description": "Replacement headset (damaged)",
    "quantity": 2,
    "unit_price_minor": 150_000,
    "reason": "returned broken",
}


def zone_off_utc() -> str:
    """A real zone whose calendar day is not UTC's at this moment (UTC+14 late in the UTC day, UTC-11 early)."""
    return "Pacific/Kiritimati" if datetime.now(UTC).hour >= 10 else "Pacific/Pago_Pago"


@pytest.fixture
def draft_review(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.state.settings, "billing_draft_review", True)


def test_the_issue_day_is_the_sites_calendar_day() -> None:
    # issued at 18:00 UTC on 27 November: in Manila it is already the 28th (and the month billed is December)
    assert local_day(datetime(2026, 11, 27, 18, 0, tzinfo=UTC), "Asia/Manila") == date(2026, 11, 28)
    assert local_day(datetime(2026, 11, 28, 3, 0, tzinfo=UTC), "America/New_York") == date(2026, 11, 27)
    with pytest.raises(ValueError, match="offset"):
        local_day(datetime(2026, 11, 28, 3, 0), "Asia/Manila")


async def test_a_run_dates_invoices_the_day_they_are_issued_in_the_sites_zone(
    staff: Api, finance: Api, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    zone = zone_off_utc()
    w = await make_world(staff, timezone=zone)
    await staff.call("PATCH", f"/v1/clients/{w.client['id']}", expect=200, json={"payment_terms_days": 15})
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-03-01", seat_count=1))
    before = site_today(w.site)
    await run_month(finance, f"{y}-03")
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-03")
    issued = date.fromisoformat(inv["issue_date"])
    assert issued in (before, site_today(w.site))
    assert issued != datetime.now(UTC).date() or site_today(w.site) == datetime.now(UTC).date()  # the site's day, not UTC's
    assert date.fromisoformat(inv["due_date"]) == issued + timedelta(days=15)
    # it still covers its service period
    assert inv["period"] == f"{y}-03"
    (seat,) = [x for x in inv["lines"] if x["kind"] == "seat"]
    assert (seat["service_start"], seat["service_end"]) == (f"{y}-03-01", f"{y}-03-31")


async def test_draft_review_one_off_lines_and_bulk_issue_once_under_double_clicks(
    staff: Api, finance: Api, db: asyncpg.Pool, client_login: ClientLogin, fresh_year: Callable[..., int], draft_review: None
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=2))
    run = await run_month(finance, f"{y}-01")
    (draft,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    assert (draft["status"], draft["number"], draft["issue_date"], draft["due_date"]) == ("draft", None, None, None)
    assert draft["billing_run_id"] == run["id"]
    # never pushed to Stripe, never shown to the client
    assert await db.fetchrow(CLAIM_ONE, draft["id"]) is None
    me = await client_login(w.client["id"])
    await me.get(f"/v1/invoices/{draft['id']}", expect=404)
    assert (await me.get("/v1/invoices", params={"status": "draft"}))["items"] == []
    assert (await me.get("/v1/invoices"))["items"] == []
    # a re-run of the period writes no second draft
    await run_month(finance, f"{y}-01")
    assert [i["id"] for i in await invoices_of(finance, w.client["id"], f"{y}-01")] == [draft["id"]]

    listed = await finance.get("/v1/billing/drafts", params={"run_id": run["id"]})
    (row,) = [r for r in listed["items"] if r["id"] == draft["id"]]
    assert (row["total_minor"], row["one_off_lines"]) == (draft["total_minor"], 0)
    # totals per currency (the run also drafts other tests' rolling leases, maybe in other currencies)
    (php,) = [t for t in listed["totals"] if t["currency"] == "PHP"]
    php_items = [r for r in listed["items"] if r["currency"] == "PHP"]
    assert (php["drafts"], php["total_minor"]) == (len(php_items), sum(r["total_minor"] for r in php_items))

    # a one-off line with its reason, taxed by the client's (standard) treatment
    with_line = await finance.post(f"/v1/invoices/{draft['id']}/lines", {**HEADSET, "lease_id": lease["id"]})
    (one_off,) = [x for x in with_line["lines"] if x["kind"] == "one_off"]
    assert (one_off["amount_minor"], one_off["tax_minor"]) == (300_000, oracle.tax(300_000, "0.12"))
    assert (one_off["reason"], one_off["tax_treatment"], Decimal(one_off["tax_rate"])) == (
        "returned broken",
        "standard",
        Decimal("0.12"),
    )
    assert one_off["created_by"] is not None
    assert with_line["total_minor"] == draft["total_minor"] + 300_000 + oracle.tax(300_000, "0.12")
    # the run's own lines stay; a one-off line comes off
    seat = next(x for x in with_line["lines"] if x["kind"] == "seat")
    await finance.call("DELETE", f"/v1/invoices/{draft['id']}/lines/{seat['id']}", expect=409)
    without = (await finance.call("DELETE", f"/v1/invoices/{draft['id']}/lines/{one_off['id']}", expect=200)).json()
    assert without["total_minor"] == draft["total_minor"]
    again = await finance.post(f"/v1/invoices/{draft['id']}/lines", HEADSET)
    bad = await finance.call("POST", f"/v1/invoices/{draft['id']}/lines", json={**HEADSET, "reason": ""})
    assert bad.status_code == 422
    assert "reason" in bad.text

    # three clicks at once: issued once, one number, one audit event
    before = site_today(w.site)
    answers = await asyncio.gather(
        *(finance.call("POST", "/v1/billing/drafts/issue", json={"invoice_ids": [draft["id"]]}) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [200] * 3
    numbers = {a.json()[0]["number"] for a in answers}
    assert numbers == {f"{w.site['code']}-000001"}
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'invoice.issue' AND object_id = $1", draft["id"]) == 1
    )
    issued = await finance.get(f"/v1/invoices/{draft['id']}")
    assert issued["status"] == "issued"
    assert date.fromisoformat(issued["issue_date"]) in (before, site_today(w.site))
    assert date.fromisoformat(issued["due_date"]) == date.fromisoformat(issued["issue_date"]) + timedelta(days=30)
    assert issued["total_minor"] == again["total_minor"]
    assert await db.fetchrow(CLAIM_ONE, draft["id"]) is not None  # now the worker pushes it
    await finance.call("POST", f"/v1/invoices/{draft['id']}/lines", json=HEADSET, expect=409)
    assert (await me.get(f"/v1/invoices/{draft['id']}"))["number"] == issued["number"]

    # the next month's run bills the lease as ever: one-off lines are not what the lease owes
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    assert not [x for x in feb["lines"] if x["trueup"]]
    assert not [x for x in feb["lines"] if x["kind"] == "one_off"]


async def test_bulk_issue_numbers_in_issue_order(
    staff: Api, finance: Api, fresh_year: Callable[..., int], draft_review: None
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=1))
    await run_month(finance, f"{y}-01")
    (run_draft,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    # a one-off invoice issued at once, before the run's draft, takes the site's first number
    first = await finance.post(
        "/v1/invoices", {"client_id": w.client["id"], "site_id": w.site["id"], "lines": [HEADSET], "issue": True}
    )
    kept = await finance.post(
        "/v1/invoices", {"client_id": w.client["id"], "site_id": w.site["id"], "lines": [HEADSET], "issue": False}
    )
    assert (first["kind"], first["status"], first["number"]) == ("one_off", "issued", f"{w.site['code']}-000001")
    assert (kept["status"], kept["number"]) == ("draft", None)
    await finance.call("DELETE", f"/v1/invoices/{run_draft['id']}", expect=409)  # what the leases owe stays
    out = await finance.post("/v1/billing/drafts/issue", {"invoice_ids": [kept["id"], run_draft["id"]]}, expect=200)
    assert sorted(i["number"] for i in out) == [f"{w.site['code']}-000002", f"{w.site['code']}-000003"]
    unknown = await finance.call(
        "POST", "/v1/billing/drafts/issue", json={"invoice_ids": ["00000000-0000-0000-0000-000000000001"]}
    )
    assert unknown.status_code == 404
    assert "invoice_ids" in unknown.text


async def test_one_off_invoice_outside_the_run(
    staff: Api, finance: Api, db: asyncpg.Pool, client_login: ClientLogin, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    other = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=1))
    foreign = await staff.post("/v1/leases", lease_body(other, start_date=f"{y}-01-01", seat_count=1))
    body: dict[str, Any] = {
        "client_id": w.client["id"],
        "site_id": w.site["id"],
        "lines": [
            {**HEADSET, "lease_id": lease["id"]},
            {"description": "After-hours aircon", "unit_price_minor": 80_000, "reason": "requested by the client"},
        ],
    }
    inv = await finance.post("/v1/invoices", body)
    assert (inv["kind"], inv["status"], inv["billing_run_id"]) == ("one_off", "issued", None)
    assert inv["issue_date"] == site_today(w.site).isoformat()
    assert date.fromisoformat(inv["due_date"]) == site_today(w.site) + timedelta(days=30)
    assert [(x["kind"], x["amount_minor"], x["reason"]) for x in inv["lines"]] == [
        ("one_off", 300_000, "returned broken"),
        ("one_off", 80_000, "requested by the client"),
    ]
    assert inv["subtotal_minor"] == 380_000
    assert inv["tax_minor"] == oracle.tax(300_000, "0.12") + oracle.tax(80_000, "0.12")
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'invoice.issue' AND object_id = $1", inv["id"]) == 1
    )
    # the client reads it; another client does not see it exists
    assert (await (await client_login(w.client["id"])).get(f"/v1/invoices/{inv['id']}"))["number"] == inv["number"]
    await (await client_login(other.client["id"])).get(f"/v1/invoices/{inv['id']}", expect=404)
    # bad input names the field; facility staff may not raise invoices
    for bad, field, status in (
        ({**body, "lines": [{**HEADSET, "lease_id": foreign["id"]}]}, "lease_id", 404),
        ({**body, "lines": [{**HEADSET, "unit_price_minor": -5}]}, "unit_price_minor", 422),
        ({**body, "lines": []}, "lines", 422),
        ({**body, "client_id": "00000000-0000-0000-0000-000000000002"}, "client_id", 404),
        ({**body, "lines": [{**HEADSET, "tax_treatment": "half"}]}, "tax_treatment", 422),
    ):
        r = await finance.call("POST", "/v1/invoices", json=bad)
        assert r.status_code == status, r.text
        assert field in r.text
    await staff.call("POST", "/v1/invoices", json=body, expect=403)
    # the run of the month bills the lease in full beside it
    await run_month(finance, f"{y}-01")
    (run_inv,) = [i for i in await invoices_of(finance, w.client["id"], f"{y}-01") if i["kind"] == "run"]
    assert any(x["kind"] == "seat" for x in run_inv["lines"])


async def test_tax_treatment_per_client_and_line(
    staff: Api, finance: Api, db: asyncpg.Pool, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    path = f"/v1/clients/{w.client['id']}"
    r = await finance.call("PATCH", path, json={"tax_treatment": "exempt"})
    assert r.status_code == 422
    assert "tax_exemption_reason" in r.text
    r = await finance.call("PATCH", path, json={"tax_treatment": "exempt", "tax_exemption_reason": "PEZA-registered"})
    assert r.status_code == 422
    assert "tax_certificate_ref" in r.text
    await finance.call("PATCH", path, json={"legal_name": "Renamed by finance"}, expect=403)
    exempt = {"tax_treatment": "exempt", "tax_exemption_reason": "PEZA-registered", "tax_certificate_ref": "PEZA-2026-0042"}
    client = (await finance.call("PATCH", path, json=exempt, expect=200)).json()
    assert {k: client[k] for k in exempt} == exempt
    audit = await db.fetchval(
        "SELECT after->>'tax_treatment' FROM audit_events WHERE action = 'client.update' AND object_id = $1"
        " ORDER BY id DESC LIMIT 1",
        w.client["id"],
    )
    assert audit == "exempt"

    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=1))
    await run_month(finance, f"{y}-01")
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    assert inv["tax_minor"] == 0
    assert {(x["tax_treatment"], Decimal(x["tax_rate"]), x["tax_minor"]) for x in inv["lines"]} == {("exempt", Decimal(0), 0)}
    # a one-off line may say otherwise
    one_off = await finance.post(
        "/v1/invoices",
        {
            "client_id": w.client["id"],
            "site_id": w.site["id"],
            "lines": [HEADSET, {**HEADSET, "tax_treatment": "standard"}],
        },
    )
    assert [(x["tax_treatment"], x["tax_minor"]) for x in one_off["lines"]] == [
        ("exempt", 0),
        ("standard", oracle.tax(300_000, "0.12")),
    ]

    # back to standard: the reason and certificate go, and the next month is taxed at the site's rate
    back = (await staff.call("PATCH", path, json={"tax_treatment": "standard"}, expect=200)).json()
    assert (back["tax_exemption_reason"], back["tax_certificate_ref"]) == ("", "")
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    seat = next(x for x in feb["lines"] if x["kind"] == "seat")
    assert (seat["tax_treatment"], Decimal(seat["tax_rate"]), seat["tax_minor"]) == (
        "standard",
        Decimal("0.12"),
        oracle.tax(seat["amount_minor"], "0.12"),
    )

    # the site's rate changes: a credit of February follows February's own rate, not today's
    await staff.call("PATCH", f"/v1/sites/{w.site['id']}", json={"tax_rate": "0.2"}, expect=200)
    cn = await finance.post(f"/v1/invoices/{feb['id']}/credit-notes", {"reason": "aircon outage", "amount_minor": 100_000})
    assert cn["tax_minor"] == oracle.tax(100_000, "0.12")
    # and a credit of the exempt January carries no tax
    cn = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "goodwill", "amount_minor": 100_000})
    assert cn["tax_minor"] == 0


def test_draft_review_is_a_setting_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEATLEASE_BILLING_DRAFT_REVIEW", raising=False)
    assert Settings().billing().draft_review is False
    monkeypatch.setenv("SEATLEASE_BILLING_DRAFT_REVIEW", "true")
    assert Settings().billing().draft_review is True


async def test_thousands_of_drafts_do_not_stand_in_the_pushs_way(
    staff: Api, finance: Api, db: asyncpg.Pool, fresh_year: Callable[..., int], draft_review: None
) -> None:
    """A draft is parked after every due invoice: the worker's claim, ordered by due time, meets the
    issued invoices first."""
    y = fresh_year()
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=1))
    await run_month(finance, f"{y}-01")
    (draft,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    parked = await db.fetchval("SELECT stripe_next_attempt_at FROM invoices WHERE id = $1", draft["id"])
    assert parked.year == 9999
    (issued,) = await finance.post("/v1/billing/drafts/issue", {"invoice_ids": [draft["id"]]}, expect=200)
    due = await db.fetchval("SELECT stripe_next_attempt_at FROM invoices WHERE id = $1", issued["id"])
    assert due <= datetime.now(UTC)


async def test_a_draft_whose_trueup_credit_exceeds_its_charges_carries_it_when_issued(
    staff: Api, finance: Api, app: FastAPI, fresh_year: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under draft review the excess true-up credit leaves the invoice at issue, as a run issuing at once
    does: the issued invoice is at zero, a credit note (dated the issue day) corrects January."""
    y = fresh_year()
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=1))
    big = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=6))
    await run_month(finance, f"{y}-01")
    (jan,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    await staff.post(f"/v1/leases/{big['id']}/end", {"end_date": f"{y}-01-05"}, expect=200)
    monkeypatch.setattr(app.state.settings, "billing_draft_review", True)
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    assert feb["status"] == "draft"
    assert feb["total_minor"] < 0  # a draft may be negative; an issued invoice never is
    assert not [x for x in feb["lines"] if x["kind"] == "credit_transfer"]

    (issued,) = await finance.post("/v1/billing/drafts/issue", {"invoice_ids": [feb["id"]]}, expect=200)
    assert (issued["status"], issued["total_minor"]) == ("issued", 0)
    got = await finance.get(f"/v1/invoices/{feb['id']}")
    (transfer,) = [x for x in got["lines"] if x["kind"] == "credit_transfer"]
    notes = [n for n in await finance.get(f"/v1/invoices/{jan['id']}/credit-notes") if n["kind"] == "trueup"]
    (note,) = notes
    assert note["total_minor"] == transfer["amount_minor"] + transfer["tax_minor"] == -feb["total_minor"]
    assert note["issue_date"] == issued["issue_date"]
    assert got["number"] in note["reason"]
