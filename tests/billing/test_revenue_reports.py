"""Revenue reports through the API, held to tests/billing/revenue_oracle.py over a small fixture: a
PHP site of two floors and a USD site; a new lease, an expansion by added seats, a contraction, a
churn, an escalation, a lease over two floors, a voided invoice and a manual credit note."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import pytest

from tests.billing import revenue_oracle as oracle
from tests.billing.conftest import run_month
from tests.billing.revenue_oracle import OLease, OSeat
from tests.factories import Api, ClientLogin, World, lease_body, make_world, uniq

PRICE = 1_500_000


@dataclass
class Fixture:
    year: int
    w: World
    usd_site: dict[str, Any]
    leases: dict[str, OLease]
    clients: dict[str, str]  # role in the story -> client id


async def _client(staff: Api) -> tuple[str, str]:
    c = await staff.post("/v1/clients", {"legal_name": f"Revenue {uniq()} Inc.", "billing_email": "ap@client-example.com"})
    t = await staff.post(f"/v1/clients/{c['id']}/teams", {"name": "Team"})
    return c["id"], t["id"]


async def _book(
    staff: Api,
    w: World,
    fx: dict[str, OLease],
    client: tuple[str, str],
    seats: list[dict[str, Any]],
    shift: str,
    start: date,
    **kw: Any,
) -> dict[str, Any]:
    body = lease_body(
        w,
        client_id=client[0],
        team_id=client[1],
        shift=shift,
        start_date=start.isoformat(),
        seat_ids=[s["id"] for s in seats],
        **kw,
    )
    body.pop("seat_count")
    lease = await staff.post("/v1/leases", body)
    fx[lease["id"]] = OLease(
        id=lease["id"],
        client=client[0],
        site=w.site["id"],
        currency=w.site["currency"],
        shift=shift,
        price=w.plan["monthly_price_minor"],
        start=start,
        discount=kw.get("discount_pct", "0"),
        pct=kw.get("escalation_pct"),
        seats=[OSeat(s["floor_id"], start, None) for s in seats],
        addons=[(50_000, a["quantity"], None, None) for a in kw.get("add_ons", [])],
    )
    return lease


@pytest.fixture
async def story(staff: Api, finance: Api, fresh_year: Callable[..., int]) -> Fixture:
    y = fresh_year()
    w = await make_world(staff, floors=2, zones=1, seats_per_zone=10)
    f1 = [s for s in w.seats if s["floor_id"] == w.floors[0]["id"]]
    f2 = [s for s in w.seats if s["floor_id"] == w.floors[1]["id"]]
    await staff.call("PATCH", f"/v1/seats/{f2[-1]['id']}", expect=200, json={"status": "maintenance"})
    usd = await make_world(staff, currency="USD", timezone="America/New_York", tax_rate="0.08", seats_per_zone=5)
    fx: dict[str, OLease] = {}
    new, grow, shrink, churn, esc = [await _client(staff) for _ in range(5)]
    jan = date(y, 1, 1)
    # the expansion: 3 NIGHT seats from January (two on 1F, one on 2F), two more on 2F from 15 March
    g = await _book(staff, w, fx, grow, [f1[0], f1[1], f2[0]], "NIGHT", jan)
    await staff.post(f"/v1/leases/{g['id']}/seats", {"seat_ids": [f2[1]["id"], f2[2]["id"]], "effective": f"{y}-03-15"})
    fx[g["id"]].seats += [OSeat(f2[1]["floor_id"], date(y, 3, 15), None), OSeat(f2[2]["floor_id"], date(y, 3, 15), None)]
    # the contraction: 4 FULL seats with 5% off and an extra monitor, one released from 20 March
    s = await _book(
        staff, w, fx, shrink, f1[2:6], "FULL", jan, discount_pct="5", add_ons=[{"code": "extra_monitor", "quantity": 1}]
    )
    await staff.call("DELETE", f"/v1/leases/{s['id']}/seats/{f1[5]['id']}", expect=200, params={"effective": f"{y}-03-20"})
    fx[s["id"]].seats[3].end = date(y, 3, 19)
    # the churn: one DAY seat, ended on 20 March
    c = await _book(staff, w, fx, churn, [f1[6]], "DAY", jan)
    await staff.post(f"/v1/leases/{c['id']}/end", {"end_date": f"{y}-03-20"}, expect=200)
    fx[c["id"]].end = fx[c["id"]].seats[0].end = date(y, 3, 20)
    # an escalation: booked a year before, 10% more from 10 February
    await _book(staff, w, fx, esc, [f1[7]], "DAY", date(y - 1, 2, 10), escalation_pct="10")
    # the new client: two DAY seats from 10 March here, and one seat in USD from February
    await _book(staff, w, fx, new, [f1[8], f1[9]], "DAY", date(y, 3, 10))
    usd_lease = await _book(staff, usd, fx, new, usd.seats[:1], "DAY", date(y, 2, 1))
    fx[usd_lease["id"]].price = usd.plan["monthly_price_minor"]
    # bill January to April; January of the escalating lease voided (re-billed as a true-up in February)
    for m in (1, 2, 3, 4):
        await run_month(finance, f"{y}-{m:02d}")
        if m == 1:
            inv = (await finance.get("/v1/invoices", params={"client_id": esc[0], "period": f"{y}-01"}))["items"][0]
            await finance.post(f"/v1/invoices/{inv['id']}/void", {"reason": "wrong entity"}, expect=200)
    inv = (await finance.get("/v1/invoices", params={"client_id": shrink[0], "period": f"{y}-02"}))["items"][0]
    await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "aircon out for a day", "amount_minor": 40_000})
    roles = {"new": new[0], "grow": grow[0], "shrink": shrink[0], "churn": churn[0], "esc": esc[0]}
    return Fixture(y, w, usd.site, fx, roles)


def _range(fx: Fixture) -> dict[str, str]:
    return {"from": f"{fx.year}-01", "to": f"{fx.year}-04"}


async def test_mrr_movement_matches_the_oracle_client_by_client(finance: Api, story: Fixture) -> None:
    fx, y = story, story.year
    months = [(y, m) for m in (1, 2, 3, 4)]
    php = [lease for lease in fx.leases.values() if lease.site == fx.w.site["id"]]
    want = oracle.mrr_movement(php, months)
    got = await finance.get("/v1/reports/mrr", params={**_range(fx), "site_id": fx.w.site["id"]})
    assert got["currencies"] == ["PHP"]
    keys = ("mrr_start", "new", "expansion", "contraction", "churn", "mrr_end")
    rows = {(r["month"], r["currency"]): {k: r[f"{k}_minor"] for k in keys} for r in got["items"]}
    assert rows == want
    march = rows[(f"{y}-03", "PHP")]
    # each movement of the story is there, and they add up
    assert march["new"] == 2 * PRICE  # the new client's two seats
    assert march["churn"] == PRICE  # the churned DAY seat
    assert march["expansion"] == 2 * PRICE  # two NIGHT seats added
    assert march["contraction"] == PRICE - oracle.rhu(PRICE * 5, 100)  # one FULL seat released, 5% off
    assert rows[(f"{y}-02", "PHP")]["expansion"] == oracle.rhu(PRICE * 110, 100) - PRICE  # the anniversary
    for r in rows.values():
        assert r["mrr_end"] == r["mrr_start"] + r["new"] + r["expansion"] - r["contraction"] - r["churn"]


async def test_two_currencies_are_never_added(finance: Api, story: Fixture) -> None:
    fx, y = story, story.year
    got = await finance.get("/v1/reports/mrr", params={**_range(fx), "client_id": fx.clients["new"]})
    assert got["currencies"] == ["PHP", "USD"]
    mine = [lease for lease in fx.leases.values() if lease.client == fx.clients["new"]]
    want = oracle.mrr_movement(mine, [(y, m) for m in (1, 2, 3, 4)])
    rows = {(r["month"], r["currency"]): r for r in got["items"]}
    for (month, cur), w in want.items():
        assert rows[(month, cur)]["mrr_end_minor"] == w["mrr_end"], (month, cur)
    assert rows[(f"{y}-02", "USD")]["new_minor"] == rows[(f"{y}-02", "USD")]["mrr_end_minor"] > 0
    assert rows[(f"{y}-03", "PHP")]["new_minor"] == 2 * PRICE  # new in PHP a month after USD: never one sum
    rev = await finance.get("/v1/reports/revenue", params={**_range(fx), "by": "client", "client_id": fx.clients["new"]})
    assert {(t["month"], t["currency"]) for t in rev["totals"]} >= {(f"{y}-02", "USD"), (f"{y}-03", "PHP"), (f"{y}-03", "USD")}


async def _stored(db: asyncpg.Pool, fx: Fixture) -> tuple[list[Any], list[Any]]:
    clients = list({lease.client for lease in fx.leases.values()})
    lines = await db.fetch(
        """SELECT i.status, i.client_id, i.site_id, i.currency, i.period, il.kind, il.lease_id, il.service_month,
                  il.service_start, il.amount_minor
           FROM invoice_lines il JOIN invoices i ON i.id = il.invoice_id WHERE i.client_id = ANY($1::uuid[])""",
        clients,
    )
    notes = await db.fetch(
        """SELECT cn.status, cn.kind, cn.client_id, cn.site_id, cn.currency, cn.amount_minor, i.period, i.status AS invoice_status
           FROM credit_notes cn JOIN invoices i ON i.id = cn.invoice_id WHERE cn.client_id = ANY($1::uuid[])""",
        clients,
    )
    return list(lines), list(notes)


async def test_revenue_by_site_floor_shift_and_client_matches_the_oracle(finance: Api, story: Fixture, db: asyncpg.Pool) -> None:
    fx, y = story, story.year
    lines, notes = await _stored(db, fx)
    assert any(r["status"] == "void" for r in lines)  # the voided January is in the data, and left out below
    want = oracle.revenue(lines, notes, fx.leases)
    site = fx.w.site["id"]
    in_range = {k: v for k, v in want.items() if f"{y}-01" <= k[0] <= f"{y}-04" and k[2] == site}
    params = {**_range(fx), "site_id": site}
    for by, keep, key in (
        ("site", (0, 1, 2), lambda r: (r["month"], r["currency"], str(r["site_id"]))),
        ("floor", (0, 1, 3), lambda r: (r["month"], r["currency"], r["floor_id"])),
        ("shift", (0, 1, 4), lambda r: (r["month"], r["currency"], r["shift"])),
        ("client", (0, 1, 5), lambda r: (r["month"], r["currency"], r["client_id"])),
    ):
        got = await finance.get("/v1/reports/revenue", params={**params, "by": by})
        expected = {k: v for k, v in oracle.fold(in_range, keep).items()}
        assert {key(r): r["amount_minor"] for r in got["items"]} == expected, by
    # the manual credit note comes off February, unattributed to a floor
    floors = await finance.get("/v1/reports/revenue", params={**params, "by": "floor"})
    assert any(r["floor_id"] is None and r["amount_minor"] == -40_000 for r in floors["items"] if r["month"] == f"{y}-02")
    # the lease over two floors is split by seat-days, and every split adds up to the site's total
    by_site = {
        (r["month"]): r["amount_minor"]
        for r in (await finance.get("/v1/reports/revenue", params={**params, "by": "site"}))["items"]
    }
    for m, total in by_site.items():
        assert sum(r["amount_minor"] for r in floors["items"] if r["month"] == m) == total


async def test_occupancy_and_revpass_match_the_oracle(finance: Api, story: Fixture, db: asyncpg.Pool) -> None:
    fx, y = story, story.year
    site = fx.w.site["id"]
    php = [lease for lease in fx.leases.values() if lease.site == site]
    floor_seats = {fx.w.floors[0]["id"]: 10, fx.w.floors[1]["id"]: 9}  # one seat of 2F in maintenance
    occ = await finance.get("/v1/reports/occupancy/monthly", params={**_range(fx), "site_id": site})
    lines, notes = await _stored(db, fx)
    rev = oracle.revenue(lines, notes, fx.leases)
    revpass = await finance.get("/v1/reports/revpass", params={**_range(fx), "site_id": site})
    for m in (1, 2, 3, 4):
        month = f"{y}-{m:02d}"
        want = oracle.occupancy(php, floor_seats, 2, y, m)  # DAY and NIGHT (FULL sells both)
        rows = [r for r in occ["items"] if r["month"] == month]
        assert {r["floor_id"]: (r["available_seat_shifts"], r["leased_seat_shifts"]) for r in rows if r["floor_id"]} == want
        site_row = next(r for r in rows if r["floor_id"] is None)
        assert site_row["leased_seat_shifts"] == sum(u for _, u in want.values())
        assert site_row["occupancy_rate"] == round(site_row["leased_seat_shifts"] / site_row["available_seat_shifts"], 4)
        # RevPASS: the site's revenue over 19 active seats x 2 shifts x days; per shift, FULL split evenly
        days = len(oracle.month_days(y, m))
        site_rev = sum(v for k, v in rev.items() if k[0] == month and k[2] == site)
        rp = {r["shift"]: r for r in revpass["items"] if r["month"] == month}
        assert rp[None]["revenue_minor"] == site_rev
        assert rp[None]["available_seat_shifts"] == 19 * 2 * days
        assert rp[None]["revpass_minor"] == oracle.rhu(site_rev, 19 * 2 * days)
        per = oracle.fold({k: v for k, v in rev.items() if k[0] == month and k[2] == site}, (4,))
        full = per.get(("FULL",), 0)
        for k, code in enumerate(("DAY", "NIGHT")):
            share = oracle.rhu(full * (k + 1), 2) - oracle.rhu(full * k, 2)
            amount = per.get((code,), 0) + share
            assert (rp[code]["revenue_minor"], rp[code]["available_seat_shifts"]) == (amount, 19 * days)
            assert rp[code]["revpass_minor"] == oracle.rhu(amount, 19 * days)
        assert rp[None]["currency"] == "PHP"


async def test_csv_exports_are_the_json_in_major_units(finance: Api, story: Fixture) -> None:
    fx = story
    params = {**_range(fx), "client_id": fx.clients["new"]}
    for path, extra in (("mrr", {}), ("revenue", {"by": "client"}), ("occupancy/monthly", {}), ("revpass", {})):
        p = {**_range(fx), "site_id": fx.w.site["id"]} if path in ("occupancy/monthly", "revpass") else {**params, **extra}
        r = await finance.call("GET", f"/v1/reports/{path}", 200, params=p, headers={"Accept": "text/csv"})
        assert r.headers["content-type"].startswith("text/csv")
        assert f"-{fx.year}-01-{fx.year}-04.csv" in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text)))
        data = await finance.get(f"/v1/reports/{path}", params=p)
        assert len(rows) == len(data["items"]) > 0, path
    mrr_rows = list(
        csv.DictReader(
            io.StringIO((await finance.call("GET", "/v1/reports/mrr", 200, params=params, headers={"Accept": "text/csv"})).text)
        )
    )
    data = await finance.get("/v1/reports/mrr", params=params)
    for row, item in zip(mrr_rows, data["items"], strict=True):
        assert row["currency"] == item["currency"]
        assert row["mrr_end"] == f"{item['mrr_end_minor'] / 100:.2f}"  # PHP and USD: two decimals, no separators


async def test_bad_ranges_name_the_field_and_roles_are_checked(
    finance: Api, admin: Api, staff: Api, client_login: ClientLogin
) -> None:
    for params, field in (
        ({"from": "2031-13", "to": "2031-12"}, "from"),
        ({"from": "2031-01", "to": "31-12"}, "to"),
        ({"to": "2031-12"}, "from"),
        ({"from": "2031-05", "to": "2031-04"}, "to"),
        ({"from": "2031-01", "to": "2034-01"}, "to"),  # 37 months
    ):
        for path in ("mrr", "revenue", "occupancy/monthly", "revpass"):
            r = await finance.call("GET", f"/v1/reports/{path}", 422, params=params)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["field"] == field, (path, params, r.json())
    r = await finance.call("GET", "/v1/reports/revenue", 422, params={"from": "2031-01", "to": "2031-02", "by": "desk"})
    assert r.json()["field"] == "by"
    ok = {"from": "2031-01", "to": "2033-12"}  # 36 months is the most
    await admin.get("/v1/reports/mrr", params=ok)
    await staff.call("GET", "/v1/reports/mrr", 403, params=ok)
    client, _ = await _client(staff)
    for role in ("client_admin", "client_viewer"):
        api = await client_login(client, role)
        for path in ("mrr", "revenue", "occupancy/monthly", "revpass"):
            await api.call("GET", f"/v1/reports/{path}", 403, params=ok)
