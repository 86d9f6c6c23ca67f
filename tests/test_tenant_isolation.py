"""Tenant isolation (PRODUCT.md rule 8): walk EVERY route of the OpenAPI schema that takes an id with
a second tenant's client_admin token on the first tenant's ids. The answer must be 404 (or 403 where
the client role may never go); a route with an id that this walk does not know fails the test, so a
new route must be mapped here before it ships."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.billing.conftest import app_of, drive_runs
from tests.factories import Api, ClientLogin, World, lease_body, make_world, uniq

TENANT = "tenant"  # the client role may use it on its own objects: another tenant's answer is 404
NEVER = "never"  # the client role may never use it: 403 (404 is fine too)
SHARED = "shared"  # the facility's catalog, the same for every client: readable, holds no tenant data
# issue 14: no tenant's id in the path, the caller's own client by default: 200, nothing of tenant A
# (another tenant's `client_id` in the query is a 404: tests/test_api_polish.py)
OWN = "own"

# every (method, path) of the schema that takes a path parameter
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/v1/sites/{site_id}"): SHARED,
    ("PATCH", "/v1/sites/{site_id}"): NEVER,
    ("GET", "/v1/sites/{site_id}/floors"): SHARED,
    ("POST", "/v1/sites/{site_id}/floors"): NEVER,
    ("GET", "/v1/sites/{site_id}/shifts"): SHARED,
    ("POST", "/v1/sites/{site_id}/shifts"): NEVER,
    ("GET", "/v1/sites/{site_id}/seats"): SHARED,
    ("POST", "/v1/sites/{site_id}/seats"): NEVER,
    ("PATCH", "/v1/seats/{seat_id}"): NEVER,
    ("GET", "/v1/sites/{site_id}/availability"): SHARED,
    ("GET", "/v1/plans/{plan_id}"): SHARED,
    ("GET", "/v1/clients/{client_id}"): TENANT,
    ("PATCH", "/v1/clients/{client_id}"): NEVER,
    ("POST", "/v1/clients/{client_id}/users"): TENANT,
    ("GET", "/v1/clients/{client_id}/teams"): TENANT,
    ("POST", "/v1/clients/{client_id}/teams"): TENANT,
    ("GET", "/v1/teams/{team_id}/members"): TENANT,
    ("POST", "/v1/teams/{team_id}/members"): TENANT,
    ("DELETE", "/v1/members/{member_id}"): TENANT,
    ("GET", "/v1/leases/{lease_id}"): TENANT,
    ("POST", "/v1/leases/{lease_id}/seats"): TENANT,
    ("DELETE", "/v1/leases/{lease_id}/seats/{seat_id}"): TENANT,
    ("POST", "/v1/leases/{lease_id}/end"): TENANT,
    ("POST", "/v1/leases/{lease_id}/cancel"): TENANT,
    ("POST", "/v1/leases/{lease_id}/approve"): NEVER,
    ("GET", "/v1/leases/{lease_id}/assignments"): TENANT,
    ("GET", "/v1/leases/{lease_id}/charges"): TENANT,
    ("POST", "/v1/leases/{lease_id}/charges/{charge_id}/waive"): NEVER,
    ("PUT", "/v1/leases/{lease_id}/assignments"): TENANT,
    # notice, approvals, renewal (issue 11): staff and finance only
    ("POST", "/v1/leases/{lease_id}/reject"): NEVER,
    ("PUT", "/v1/leases/{lease_id}/notice"): NEVER,
    ("PUT", "/v1/leases/{lease_id}/renewal"): NEVER,
    ("POST", "/v1/leases/{lease_id}/renew"): NEVER,
    # terms (issue 11): a client reads its own lease's terms; prices and escalation are staff's
    ("GET", "/v1/leases/{lease_id}/terms"): TENANT,
    ("POST", "/v1/leases/{lease_id}/price-steps"): NEVER,
    ("DELETE", "/v1/leases/{lease_id}/price-steps/{effective_date}"): NEVER,
    ("PUT", "/v1/leases/{lease_id}/escalation"): NEVER,
    ("GET", "/v1/plans/{plan_id}/prices"): NEVER,
    ("POST", "/v1/plans/{plan_id}/prices"): NEVER,
    # changes during a term (issue 11)
    ("POST", "/v1/leases/{lease_id}/seat-moves"): TENANT,
    ("GET", "/v1/leases/{lease_id}/seat-moves"): TENANT,
    ("POST", "/v1/leases/{lease_id}/floor-moves"): NEVER,
    ("GET", "/v1/leases/{lease_id}/add-ons"): TENANT,
    ("PUT", "/v1/leases/{lease_id}/add-ons/{code}"): TENANT,
    ("DELETE", "/v1/leases/{lease_id}/add-ons/{code}"): TENANT,
    ("PATCH", "/v1/devices/{device_id}"): NEVER,
    ("PATCH", "/v1/users/{user_id}"): TENANT,
    # people and keys (issue 13): a client's admin resets its own logins and manages its own API credentials
    ("POST", "/v1/users/{user_id}/password-reset"): TENANT,
    ("POST", "/v1/api-credentials/{api_credential_id}/rotate"): TENANT,
    ("POST", "/v1/api-credentials/{api_credential_id}/revoke"): TENANT,
    # billing
    ("GET", "/v1/billing/runs/{run_id}"): NEVER,
    ("GET", "/v1/invoices/{invoice_id}"): TENANT,
    ("GET", "/v1/invoices/{invoice_id}/credit-notes"): TENANT,
    ("GET", "/v1/invoices/{invoice_id}/pdf"): TENANT,
    ("GET", "/v1/credit-notes/{credit_note_id}/pdf"): TENANT,
    ("POST", "/v1/invoices/{invoice_id}/credit-notes"): NEVER,
    ("POST", "/v1/credit-notes/{credit_note_id}/approve"): NEVER,
    ("POST", "/v1/credit-notes/{credit_note_id}/reject"): NEVER,  # --- approvals (issue 13) ---
    ("POST", "/v1/invoices/{invoice_id}/void"): NEVER,
    # --- drafts and one-off lines (issue 12): finance's ---
    ("POST", "/v1/invoices/{invoice_id}/lines"): NEVER,
    ("DELETE", "/v1/invoices/{invoice_id}/lines/{line_id}"): NEVER,
    ("DELETE", "/v1/invoices/{invoice_id}"): NEVER,
    ("GET", "/v1/clients/{client_id}/statements/{period}"): TENANT,
    # --- API polish (issue 14): the statement's documents as operations of their own ---
    ("GET", "/v1/clients/{client_id}/statements/{period}/csv"): TENANT,
    ("GET", "/v1/clients/{client_id}/statements/{period}/pdf"): TENANT,
    ("GET", "/v1/statements/{period}"): OWN,
    ("GET", "/v1/statements/{period}/csv"): OWN,
    ("GET", "/v1/statements/{period}/pdf"): OWN,
    # provisioning
    ("GET", "/v1/leases/{lease_id}/credentials"): TENANT,
    ("POST", "/v1/credentials/{credential_id}/reveal"): TENANT,
    ("POST", "/v1/provisioning/credentials/{credential_id}/retry"): NEVER,
    ("POST", "/v1/provisioning/guards/{guard_id}/confirm"): NEVER,
    ("POST", "/v1/provisioning/guards/{guard_id}/reject"): NEVER,  # --- integrations (issue 13) ---
    # proposals and holds
    ("GET", "/v1/proposals/{proposal_id}"): TENANT,
    ("GET", "/v1/proposals/{proposal_id}/pdf"): TENANT,
    ("POST", "/v1/proposals/{proposal_id}/accept"): TENANT,
    ("POST", "/v1/proposals/{proposal_id}/withdraw"): NEVER,
    # email: staff send a proposal; another client's is 404 (its own client's user: 403)
    ("POST", "/v1/proposals/{proposal_id}/send"): TENANT,
    # payments (issue 12): a client reads its own payments, balance, refunds and certificates; finance writes
    ("GET", "/v1/payments/{payment_id}"): TENANT,
    ("POST", "/v1/payments/{payment_id}/void"): NEVER,
    ("GET", "/v1/clients/{client_id}/balance"): TENANT,
    ("POST", "/v1/clients/{client_id}/credit/apply"): NEVER,
    ("GET", "/v1/clients/{client_id}/credit-refunds"): TENANT,
    ("POST", "/v1/clients/{client_id}/credit-refunds"): NEVER,
    ("GET", "/v1/clients/{client_id}/withholding-certificates"): TENANT,
    ("POST", "/v1/clients/{client_id}/withholding-certificates"): NEVER,
    # --- client SCIM (issue 14): the client's own SCIM token ---
    ("GET", "/v1/clients/{client_id}/scim-token"): TENANT,
    ("POST", "/v1/clients/{client_id}/scim-token"): TENANT,
    ("DELETE", "/v1/clients/{client_id}/scim-token"): TENANT,
    # --- set-up pages (issue 13): the catalog is shared to read, staff's to write ---
    ("PATCH", "/v1/floors/{floor_id}"): NEVER,
    ("GET", "/v1/floors/{floor_id}/zones"): SHARED,
    ("POST", "/v1/floors/{floor_id}/zones"): NEVER,
    ("PATCH", "/v1/zones/{zone_id}"): NEVER,
    ("PATCH", "/v1/shifts/{shift_id}"): NEVER,
    ("POST", "/v1/plans/{plan_id}/inclusions"): NEVER,
    ("PATCH", "/v1/plans/{plan_id}/inclusions/{code}"): NEVER,
    # --- floor-plan editor (issue 13): staff only ---
    ("POST", "/v1/floors/{floor_id}/seat-blocks"): NEVER,
    ("PUT", "/v1/floors/{floor_id}/layout"): NEVER,
    ("POST", "/v1/floors/{floor_id}/seats/zone"): NEVER,
    ("POST", "/v1/floors/{floor_id}/seats/status"): NEVER,
    ("POST", "/v1/floors/{floor_id}/seats/retire"): NEVER,
    ("PUT", "/v1/floors/{floor_id}/plan-image"): NEVER,
    ("GET", "/v1/floors/{floor_id}/plan-image"): NEVER,
    ("DELETE", "/v1/floors/{floor_id}/plan-image"): NEVER,
    # --- webhooks (issue 14): a client's admin manages its own endpoints and reads their deliveries ---
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): TENANT,
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): TENANT,
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): TENANT,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): TENANT,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/pause"): TENANT,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/resume"): TENANT,
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): TENANT,
    ("GET", "/v1/webhook-deliveries/{delivery_id}"): TENANT,
    ("POST", "/v1/webhook-deliveries/{delivery_id}/redeliver"): TENANT,
    # --- tickets (issue 15): a client reads and works its own tickets; assigning and re-classifying are staff's ---
    ("GET", "/v1/tickets/{ticket_id}"): TENANT,
    ("PATCH", "/v1/tickets/{ticket_id}"): NEVER,
    ("PUT", "/v1/tickets/{ticket_id}/assignee"): NEVER,
    ("POST", "/v1/tickets/{ticket_id}/status"): TENANT,
    ("GET", "/v1/tickets/{ticket_id}/comments"): TENANT,
    ("POST", "/v1/tickets/{ticket_id}/comments"): TENANT,
    ("GET", "/v1/tickets/{ticket_id}/attachments"): TENANT,
    ("POST", "/v1/tickets/{ticket_id}/attachments"): TENANT,
    ("GET", "/v1/tickets/{ticket_id}/attachments/{attachment_id}"): TENANT,
    ("GET", "/v1/tickets/{ticket_id}/events"): TENANT,
    # --- help desk: devices and money (issue 15): staff only (the client sees swaps on its ticket, credit notes as today) ---
    ("GET", "/v1/devices/{device_id}/history"): NEVER,
    ("POST", "/v1/tickets/{ticket_id}/device-swap"): NEVER,
    ("GET", "/v1/tickets/{ticket_id}/downtime-credits"): NEVER,
    ("POST", "/v1/tickets/{ticket_id}/downtime-credits"): NEVER,
    ("POST", "/v1/tickets/{ticket_id}/affected-seats"): NEVER,
    ("DELETE", "/v1/tickets/{ticket_id}/affected-seats/{seat_id}"): NEVER,
}

# request details that get a request past validation to the tenant check
QUERY: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/v1/sites/{site_id}/availability"): {"shift": "DAY", "start": "2031-01-01"},
    ("DELETE", "/v1/leases/{lease_id}/seats/{seat_id}"): {"effective": "2031-06-01"},
    ("DELETE", "/v1/leases/{lease_id}/add-ons/{code}"): {"effective": "2031-06-01"},
}


@dataclass
class TenantA:
    world: World
    ids: dict[str, str]  # path parameter name -> an object of tenant A
    real: set[str]  # the parameters whose id is a real object (not a stand-in)


def _bodies(a: TenantA) -> dict[tuple[str, str], Any]:
    return {
        ("POST", "/v1/clients/{client_id}/users"): {
            "email": f"u-{uniq().lower()}@tenant-example.com",
            "password": "long enough secret",
            "role": "client_viewer",
        },
        ("POST", "/v1/clients/{client_id}/teams"): {"name": uniq("Team ")},
        ("PATCH", "/v1/clients/{client_id}"): {"seat_cap": 1000},
        ("POST", "/v1/leases/{lease_id}/charges/{charge_id}/waive"): {"reason": "tenant walk"},
        ("POST", "/v1/teams/{team_id}/members"): {"name": "Intruder", "email": f"i-{uniq().lower()}@tenant-example.com"},
        ("POST", "/v1/leases/{lease_id}/seats"): {"seat_count": 1, "effective": "2031-06-01"},
        ("POST", "/v1/leases/{lease_id}/end"): {"end_date": "2031-06-30"},
        ("PUT", "/v1/leases/{lease_id}/assignments"): [{"seat_id": a.ids["seat_id"], "member_id": a.ids["member_id"]}],
        ("POST", "/v1/leases/{lease_id}/reject"): {"reason": "tenant walk"},
        ("PUT", "/v1/leases/{lease_id}/notice"): {"notice_days": 1},
        ("PUT", "/v1/leases/{lease_id}/renewal"): {"renewal_mode": "lapse"},
        ("POST", "/v1/leases/{lease_id}/renew"): {"end_date": "2032-12-31"},
        ("POST", "/v1/leases/{lease_id}/price-steps"): {"effective_date": "2031-06-01", "monthly_price_minor": 1},
        ("PUT", "/v1/leases/{lease_id}/escalation"): {"escalation_pct": "50"},
        ("POST", "/v1/plans/{plan_id}/prices"): {"effective_from": "2099-01-01", "monthly_price_minor": 1},
        ("POST", "/v1/leases/{lease_id}/seat-moves"): {
            "seat_id": a.ids["seat_id"],
            "to_seat_id": a.world.seats[-1]["id"],
            "effective": "2031-06-01",
        },
        ("POST", "/v1/leases/{lease_id}/floor-moves"): {"floor_id": a.world.floors[0]["id"], "effective": "2031-06-01"},
        ("PUT", "/v1/leases/{lease_id}/add-ons/{code}"): {"quantity": 1, "effective": "2031-06-01"},
        ("PATCH", "/v1/sites/{site_id}"): {"name": "taken over"},
        ("POST", "/v1/sites/{site_id}/floors"): {"name": uniq("F"), "level": 9},
        ("POST", "/v1/sites/{site_id}/shifts"): {"code": uniq("S"), "starts_at": "01:00", "ends_at": "02:00"},
        ("POST", "/v1/sites/{site_id}/seats"): {"floor_id": a.world.floors[0]["id"], "zone": "Z", "label": uniq("X")},
        ("PATCH", "/v1/seats/{seat_id}"): {"status": "retired"},
        # --- set-up pages (issue 13) ---
        ("PATCH", "/v1/floors/{floor_id}"): {"name": "taken over"},
        ("POST", "/v1/floors/{floor_id}/zones"): {"code": uniq("Z"), "name": "taken over"},
        ("PATCH", "/v1/zones/{zone_id}"): {"name": "taken over"},
        ("PATCH", "/v1/shifts/{shift_id}"): {"starts_at": "01:00"},
        ("POST", "/v1/plans/{plan_id}/inclusions"): {"code": uniq("I"), "name": "x", "kind": "facility"},
        ("PATCH", "/v1/plans/{plan_id}/inclusions/{code}"): {"name": "taken over"},
        # --- floor-plan editor (issue 13) ---
        ("POST", "/v1/floors/{floor_id}/seat-blocks"): {"zone": "Z", "prefix": uniq("T"), "columns": 2},
        ("PUT", "/v1/floors/{floor_id}/layout"): {"seats": [{"id": a.world.seats[-1]["id"], "x": 900, "y": 900}]},
        ("POST", "/v1/floors/{floor_id}/seats/zone"): {"seat_ids": [a.world.seats[-1]["id"]], "zone": "TAKEN"},
        ("POST", "/v1/floors/{floor_id}/seats/status"): {"seat_ids": [a.world.seats[-1]["id"]], "status": "maintenance"},
        ("POST", "/v1/floors/{floor_id}/seats/retire"): {"seat_ids": [a.world.seats[-1]["id"]]},
        ("PATCH", "/v1/devices/{device_id}"): {"status": "retired"},
        ("PATCH", "/v1/users/{user_id}"): {"active": False},
        ("POST", "/v1/users/{user_id}/password-reset"): {"method": "temporary_password"},  # people and keys (issue 13)
        ("POST", "/v1/invoices/{invoice_id}/credit-notes"): {"amount_minor": 1, "reason": "x"},
        ("POST", "/v1/invoices/{invoice_id}/void"): {"reason": "x"},
        ("POST", "/v1/credit-notes/{credit_note_id}/reject"): {"reason": "x"},  # issue 13
        # payments (issue 12)
        ("POST", "/v1/payments/{payment_id}/void"): {"reason": "x"},
        ("POST", "/v1/clients/{client_id}/credit/apply"): {"currency": "PHP"},
        ("POST", "/v1/clients/{client_id}/credit-refunds"): {"currency": "PHP", "amount_minor": 1},
        ("POST", "/v1/clients/{client_id}/withholding-certificates"): {"year": 2031, "quarter": 1, "received_on": "2031-04-01"},
        ("POST", "/v1/invoices/{invoice_id}/lines"): {"description": "x", "unit_price_minor": 1, "reason": "x"},
        ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): {"description": "taken over"},  # webhooks (issue 14)
        # --- tickets (issue 15) ---
        ("PATCH", "/v1/tickets/{ticket_id}"): {"priority": "low"},
        ("PUT", "/v1/tickets/{ticket_id}/assignee"): {"assignee_id": None},
        ("POST", "/v1/tickets/{ticket_id}/status"): {"status": "acknowledged"},
        ("POST", "/v1/tickets/{ticket_id}/comments"): {"body": "taken over"},
    }


async def _first_id(db: asyncpg.Pool, sql: str, *args: Any) -> str | None:
    try:
        value = await db.fetchval(sql, *args)
    except asyncpg.PostgresError:
        return None
    return str(value) if value is not None else None


@pytest.fixture
async def tenant_a(app: FastAPI, staff: Api, finance: Api, admin: Api, db: asyncpg.Pool) -> AsyncIterator[TenantA]:
    """One of each object for tenant A, made the way users make them."""
    w = await make_world(staff)
    # --- webhooks (issue 14): tenant A's endpoint (on localhost, allowed for this set-up only) hears its lease ---
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"webhook_allow_http": True, "webhook_allow_private_targets": True})
    try:
        endpoint = await admin.post(
            "/v1/webhook-endpoints",
            {"url": "http://127.0.0.1:9/hook", "event_types": ["lease.confirmed"], "client_id": w.client["id"]},
        )
    finally:
        app.state.settings = settings
    # --- end webhooks ---
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=2, start_date="2031-01-01", end_date="2031-12-31"))
    device = await staff.post("/v1/devices", {"serial": uniq("SN"), "kind": "pc", "site_id": w.site["id"]})
    client_id = uuid.UUID(w.client["id"])
    ids = {
        "site_id": w.site["id"],
        "plan_id": w.plan["id"],
        "effective_date": "2031-06-01",
        "client_id": w.client["id"],
        "team_id": w.team["id"],
        "member_id": w.members[0]["id"],
        "lease_id": lease["id"],
        "seat_id": lease["seats"][0]["id"],
        "device_id": device["id"],
        "period": "2031-01",
        "user_id": (
            await staff.post(
                f"/v1/clients/{w.client['id']}/users",
                {
                    "email": f"login-{uniq().lower()}@tenant-example.com",
                    "password": "long enough secret",
                    "role": "client_viewer",
                },
            )
        )["id"],
    }
    # proposals and holds: an open proposal to tenant A
    ids["proposal_id"] = (await staff.post("/v1/proposals", lease_body(w, seat_count=1, start_date="2031-02-01")))["id"]
    # payments (issue 12): money received from tenant A, kept as its credit
    ids["payment_id"] = (
        await finance.post(
            "/v1/payments",
            {"client_id": w.client["id"], "method": "cash", "amount_minor": 1000, "currency": "PHP", "paid_on": "2026-01-05",
             "allocations": []},
        )
    )["id"]  # fmt: skip
    # people and keys (issue 13): an API credential of tenant A
    ids["api_credential_id"] = (
        await admin.post("/v1/api-credentials", {"name": "tenant A sync", "role": "client_viewer", "client_id": w.client["id"]})
    )["id"]
    real = set(ids)

    # billing: a run for the month makes tenant A an invoice
    r = await finance.call("POST", "/v1/billing/runs", json={"period": "2031-01"})
    if r.status_code in (200, 201, 202):
        ids["run_id"] = r.json()["id"]
        real.add("run_id")
        await drive_runs(app_of(finance))  # the API queues the run; a worker bills it
    found = {
        "invoice_id": await _first_id(db, "SELECT id FROM invoices WHERE client_id = $1 LIMIT 1", client_id),
        "credit_note_id": await _first_id(
            db,
            "SELECT cn.id FROM credit_notes cn JOIN invoices i ON i.id = cn.invoice_id WHERE i.client_id = $1 LIMIT 1",
            client_id,
        ),
        "credential_id": await _first_id(db, "SELECT id FROM credentials WHERE client_id = $1 LIMIT 1", client_id),
        "guard_id": await _first_id(db, "SELECT id FROM revocation_guards LIMIT 1"),
        "charge_id": await _first_id(db, "SELECT id FROM one_off_charges WHERE client_id = $1 LIMIT 1", client_id),
        "line_id": await _first_id(
            db,
            "SELECT il.id FROM invoice_lines il JOIN invoices i ON i.id = il.invoice_id WHERE i.client_id = $1 LIMIT 1",
            client_id,
        ),
    }
    if found["invoice_id"] is not None and found["credit_note_id"] is None:
        r = await finance.call(
            "POST", f"/v1/invoices/{found['invoice_id']}/credit-notes", json={"reason": "tenant walk", "amount_minor": 1}
        )
        if r.status_code == 201:
            found["credit_note_id"] = r.json()["id"]
    if found["credential_id"] is None:
        found["credential_id"] = await _first_id(
            db,
            "INSERT INTO credentials (kind, lease_id, member_id, client_id, site_id, login) "
            "VALUES ('wifi', $1, $2, $3, $4, $5) RETURNING id",
            uuid.UUID(lease["id"]),
            uuid.UUID(w.members[0]["id"]),
            client_id,
            uuid.UUID(w.site["id"]),
            uniq("login-"),
        )
    for name, value in found.items():
        if value is not None:
            ids[name] = value
            real.add(name)
        else:
            ids[name] = str(uuid.uuid4())  # the route still must not answer anything but 404/403
    ids.setdefault("run_id", str(uuid.uuid4()))
    ids["code"] = "extra_monitor"  # an add-on code of tenant A's plan (not secret: plans are shared)
    real.add("code")
    # --- set-up pages (issue 13): tenant A's site's floor, its DAY shift, a named zone ---
    ids["floor_id"] = w.floors[0]["id"]
    ids["shift_id"] = w.shifts["DAY"]["id"]
    ids["zone_id"] = (await staff.post(f"/v1/floors/{w.floors[0]['id']}/zones", {"code": "A", "name": "A"}))["id"]
    real |= {"floor_id", "shift_id", "zone_id"}
    # --- webhooks (issue 14) ---
    ids["endpoint_id"] = endpoint["id"]
    ids["delivery_id"] = str(
        await db.fetchval("SELECT id FROM webhook_deliveries WHERE endpoint_id = $1", uuid.UUID(endpoint["id"]))
    )
    real |= {"endpoint_id", "delivery_id"}
    # --- tickets (issue 15): a ticket of tenant A, with a file ---
    ticket = await staff.post(
        "/v1/tickets", {"client_id": ids["client_id"], "site_id": w.site["id"], "category": "it", "subject": "tenant walk"}
    )
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    r = await staff.call("POST", f"/v1/tickets/{ticket['id']}/attachments", 201, files={"file": ("a.png", png, "image/png")})
    ids["ticket_id"], ids["attachment_id"] = ticket["id"], r.json()["id"]
    real |= {"ticket_id", "attachment_id"}
    yield TenantA(w, ids, real)
    await db.execute("DELETE FROM webhook_endpoints WHERE id = $1", uuid.UUID(endpoint["id"]))


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


async def test_every_route_with_an_id_refuses_another_tenant(
    http: httpx.AsyncClient,
    app: FastAPI,
    staff: Api,
    client_login: ClientLogin,
    tenant_a: TenantA,
) -> None:
    schema = (await http.get("/openapi.json")).json()
    walked = [
        (method.upper(), path)
        for path, ops in schema["paths"].items()
        if "{" in path
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    ]
    unmapped = sorted(set(walked) - set(ROUTES))
    assert not unmapped, f"routes with an id missing from the tenant walk (map them in ROUTES): {unmapped}"
    params = {m.group(1) for _, path in walked for m in re.finditer(r"\{(\w+)\}", path)}
    assert not params - set(tenant_a.ids), f"no tenant-A object for path parameters {params - set(tenant_a.ids)}"

    other = await make_world(staff)
    intruder = await client_login(other.client["id"], "client_admin")
    owner = await client_login(tenant_a.world.client["id"], "client_admin")
    secrets = {tenant_a.ids[k] for k in ("client_id", "team_id", "member_id", "lease_id")}
    secrets |= {m["email"] for m in tenant_a.world.members} | {tenant_a.world.client["legal_name"]}
    bodies = _bodies(tenant_a)
    failures = []
    for method, path in walked:
        kind = ROUTES[(method, path)]
        url = _fill(path, tenant_a.ids)
        r = await intruder.call(method, url, json=bodies.get((method, path)), params=QUERY.get((method, path)))
        leaked = [s for s in secrets if s in r.text]
        if kind in (SHARED, OWN):
            ok = r.status_code == 200 and not leaked
        elif kind == NEVER:
            ok = r.status_code in (403, 404) and not leaked
        else:
            ok = r.status_code == 404 and not leaked
        if ok and r.status_code >= 400:
            ok = r.headers["content-type"].startswith("application/problem+json")
        if not ok:
            failures.append((method, path, r.status_code, leaked, r.text[:200]))
    assert not failures, failures

    # the control: the ids are real, so tenant A's own admin reads its objects
    for method, path in walked:
        names = {m.group(1) for m in re.finditer(r"\{(\w+)\}", path)}
        if method == "GET" and ROUTES[(method, path)] == TENANT and names <= tenant_a.real:
            r = await owner.call(method, _fill(path, tenant_a.ids), params=QUERY.get((method, path)))
            assert r.status_code == 200, (path, r.status_code, r.text[:200])

    # and nothing of tenant A changed under the intruder's calls
    lease = await owner.get(f"/v1/leases/{tenant_a.ids['lease_id']}")
    assert lease["status"] == "confirmed"
    assert lease["end_date"] == "2031-12-31"
    assert len(lease["seats"]) == 2
    assert (lease["monthly_price_minor"], lease["escalation_pct"], lease["price_steps"]) == (1_500_000, None, [])
    teams = await owner.get(f"/v1/clients/{tenant_a.ids['client_id']}/teams")
    assert [t["id"] for t in teams["items"]] == [tenant_a.ids["team_id"]]
    members = await owner.get(f"/v1/teams/{tenant_a.ids['team_id']}/members")
    assert all(m["active"] for m in members["items"])
    assert len(members["items"]) == 3
    # people and keys (issue 13): tenant A's login and API credential are as they were
    creds = await owner.get("/v1/api-credentials")
    mine = [c for c in creds["items"] if c["id"] == tenant_a.ids["api_credential_id"]]
    assert len(mine) == 1
    assert (mine[0]["active"], mine[0]["rotated_at"]) == (True, None)
    logins = await owner.get("/v1/users", params={"active": "true", "limit": 500})
    assert tenant_a.ids["user_id"] in {u["id"] for u in logins["items"]}
    # webhooks (issue 14): tenant A's endpoint is as it was (not deleted, paused, renamed nor rotated)
    hook = await owner.get(f"/v1/webhook-endpoints/{tenant_a.ids['endpoint_id']}")
    assert (hook["status"], hook["description"], hook["previous_secret_until"]) == ("active", "", None)
    # tickets (issue 15): tenant A's ticket is as it was (not moved, re-classified, assigned nor commented)
    ticket = await owner.get(f"/v1/tickets/{tenant_a.ids['ticket_id']}")
    assert (ticket["status"], ticket["priority"]) == ("new", "normal")
    assert (await owner.get(f"/v1/tickets/{tenant_a.ids['ticket_id']}/comments"))["items"] == []
    assert len((await owner.get(f"/v1/tickets/{tenant_a.ids['ticket_id']}/attachments"))["items"]) == 1


async def test_lists_show_only_the_callers_own_objects(staff: Api, client_login: ClientLogin, tenant_a: TenantA) -> None:
    other = await make_world(staff)
    intruder = await client_login(other.client["id"], "client_admin")
    a_client = tenant_a.ids["client_id"]
    assert (await intruder.get("/v1/leases", params={"client_id": a_client}))["items"] == []
    assert all(x["client_id"] == other.client["id"] for x in (await intruder.get("/v1/leases"))["items"])
    assert [c["id"] for c in (await intruder.get("/v1/clients"))["items"]] == [other.client["id"]]
    r = await intruder.call("GET", "/v1/invoices", params={"client_id": a_client})
    assert r.status_code in (200, 403, 404)
    if r.status_code == 200:
        assert all(i["client_id"] != a_client for i in r.json()["items"])
    # people and keys (issue 13): logins and API credentials, listed or filtered by tenant A
    for path in ("/v1/users", "/v1/api-credentials"):
        assert (await intruder.get(path, params={"client_id": a_client}))["items"] == []
        assert all(x["client_id"] == other.client["id"] for x in (await intruder.get(path))["items"])
    # creating a lease for tenant A, or on tenant A's team, is refused as if A did not exist
    body = lease_body(tenant_a.world)
    assert (await intruder.call("POST", "/v1/leases", json=body)).status_code == 404
    mixed = lease_body(other, team_id=tenant_a.ids["team_id"])
    r = await intruder.call("POST", "/v1/leases", json=mixed)
    assert r.status_code == 422
    assert r.json()["field"] == "team_id"
