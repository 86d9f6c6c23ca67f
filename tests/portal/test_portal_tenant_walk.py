"""The tenant walk (issue 14): a second client sees none of the first client's data on any portal
page, and changes nothing of it with any portal action.

Client A gets data of every kind the portal shows (a lease, its seats, a team with a named agent,
an invoice, a credit note, a payment, logins, an API credential …); client B, with data of its own,
signs in as its client_admin. Then, for EVERY route of the app under /portal (read from
``app.routes``: a route another area adds is walked without anyone editing this file):

- each path parameter is filled with one of A's objects (``FILLERS``, by parameter name); a route
  whose parameter has no filler FAILS the test, naming the route, so no route is ever skipped;
- GET: a parameter naming one of A's own objects (``owned``) answers 404 (or 403); every page B
  gets (lists, PDFs, CSVs included) holds none of A's strings (its legal name, invoice and credit
  note numbers, ids, agents' names and emails, logins, credential names and keys, references …);
- POST (and any other method; B's CSRF token, a generic form): an owned parameter answers 404 (or
  403), and A's rows — every row of every table that names one of A's objects — are the same before
  and after. So a handler looks its object up under the tenant first, then reads the form (a 422 for
  someone else's object fails the walk).
Then a browser pass: B clicks every menu entry and every /portal link on those pages; no page shows
any of A's strings.

**Adding your area's objects.** Register a filler for each path parameter your routes use::

    @filler("endpoint_id")  # owned=True: one of A's objects, so B must get a 404
    async def _endpoint(walk: Walk) -> str:
        row = await walk.staff.post(f"/v1/clients/{walk.a.client_id}/webhook-endpoints", {...})
        walk.secret(row["url"])  # a string of A's that must never show to B
        return str(row["id"])

``walk`` holds the APIs (``staff``, ``finance``, ``admin``), ``db``, client A (``walk.a``, a
PortalClient: ``world`` with its site, team, members, client) and ``walk.lease`` (A's lease). A
filler's value is made once per walk. ``owned=False`` is for what is not a tenant's (a site, a
month): B may get a page, never A's data on it. Names already registered: see ``FILLERS`` below.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from playwright.async_api import Page

from provisioning.secrets import seal
from tests.admin.test_admin_invoices import bill, invoice_of
from tests.billing.conftest import app_of
from tests.billing.docs_helpers import pdf_text
from tests.billing.payment_helpers import pay
from tests.browser import shot
from tests.factories import Api, lease_body, uniq
from tests.portal.conftest import PortalClient, csrf_of, login, make_portal_client

WALK_YEAR = 2170  # the walk's own billing month (other portal tests bill from 2150)


@dataclass
class Walk:
    staff: Api
    finance: Api
    admin: Api
    db: asyncpg.Pool
    a: PortalClient
    year: int = WALK_YEAR  # the walk's billing year
    lease: dict[str, Any] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    made: dict[str, str] = field(default_factory=dict)

    def secret(self, *values: Any) -> None:
        """Strings of A's that must appear on no page B gets."""
        self.secrets.update(str(v) for v in values if v)

    async def fill(self, name: str) -> str:
        if name not in self.made:
            self.made[name] = await FILLERS[name].make(self)
        return self.made[name]


@dataclass(frozen=True)
class Filler:
    make: Callable[[Walk], Awaitable[str]]
    owned: bool = True  # one of A's objects: B gets 404/403; False: shared (a site, a month)


FILLERS: dict[str, Filler] = {}


def filler(name: str, *, owned: bool = True) -> Callable[[Callable[[Walk], Awaitable[str]]], Callable[[Walk], Awaitable[str]]]:
    def register(fn: Callable[[Walk], Awaitable[str]]) -> Callable[[Walk], Awaitable[str]]:
        FILLERS[name] = Filler(fn, owned)
        return fn

    return register


# ---- A's objects, by the path parameter that names them --------------------------------------


@filler("lease_id")
async def _lease(walk: Walk) -> str:
    return str(walk.lease["id"])


@filler("team_id")
async def _team(walk: Walk) -> str:
    return str(walk.a.world.team["id"])


@filler("member_id")
async def _member(walk: Walk) -> str:
    return str(walk.a.world.members[0]["id"])


@filler("seat_id", owned=False)  # other tenants' seats may be shown as taken, never who holds them
async def _seat(walk: Walk) -> str:
    return str(walk.lease["seats"][0]["id"])


@filler("site_id", owned=False)
async def _site(walk: Walk) -> str:
    return str(walk.a.world.site["id"])


@filler("period", owned=False)  # a month: B's own statement of it
async def _period(walk: Walk) -> str:
    return date.today().strftime("%Y-%m")


async def _invoice(walk: Walk) -> dict[str, Any]:
    if "invoice" not in walk.made:
        await bill(walk.finance, f"{walk.year}-01")
        inv = await invoice_of(walk.finance, walk.a.world, f"{walk.year}-01")
        walk.secret(inv["id"], inv["number"])
        walk.made["invoice"] = inv["id"]
        walk.made["invoice_number"] = inv["number"]
    return {"id": walk.made["invoice"], "number": walk.made["invoice_number"]}


@filler("invoice_id")
async def _invoice_id(walk: Walk) -> str:
    return str((await _invoice(walk))["id"])


@filler("credit_note_id")
async def _credit_note(walk: Walk) -> str:
    inv = await _invoice(walk)
    cn = await walk.finance.post(
        f"/v1/invoices/{inv['id']}/credit-notes", {"reason": f"walk credit {uniq()}", "amount_minor": 10_000}
    )
    walk.secret(cn["id"], cn["number"], cn["reason"])
    return str(cn["id"])


@filler("payment_id")
async def _payment(walk: Walk) -> str:
    inv = await _invoice(walk)
    ref = f"WALK-{uniq()}"
    p = await pay(walk.finance, walk.a.client_id, 20_000, [{"invoice_id": inv["id"], "amount_minor": 20_000}], reference=ref)
    walk.secret(p["id"], ref)
    return str(p["id"])


@filler("user_id")
async def _user(walk: Walk) -> str:
    return str(await walk.db.fetchval("SELECT id FROM users WHERE email = $1", walk.a.viewer_email))


@filler("api_credential_id")
async def _api_credential(walk: Walk) -> str:
    name = f"A's HRIS {uniq()}"
    row = await walk.admin.post("/v1/api-credentials", {"name": name, "role": "client_viewer", "client_id": walk.a.client_id})
    walk.secret(row["id"], name, row["client_key"])
    return str(row["id"])


@filler("credential_id")
async def _credential(walk: Walk) -> str:
    """A facility credential of A's agent with a secret still to reveal (as the reconciler leaves one:
    its row written here, so the walk needs none of the provisioning peers)."""
    row_id, login_name = uuid.uuid4(), f"a-walk-{uniq().lower()}"
    await walk.db.execute(
        """INSERT INTO credentials (id, kind, lease_id, member_id, seat_id, client_id, site_id, login, state,
                                    secret_ciphertext, desired_since, first_granted_at)
           VALUES ($1, 'directory', $2, $3, $4, $5, $6, $7, 'active', $8, now(), now())""",
        row_id,
        uuid.UUID(walk.lease["id"]),
        uuid.UUID(walk.a.world.members[0]["id"]),
        uuid.UUID(walk.lease["seats"][0]["id"]),
        uuid.UUID(walk.a.client_id),
        uuid.UUID(walk.a.world.site["id"]),
        login_name,
        seal(os.environ["SEATLEASE_SECRET_KEY"], "a-walk-secret-never-shown"),
    )
    walk.secret(row_id, login_name, "a-walk-secret-never-shown")
    return str(row_id)


@filler("endpoint_id")
async def _endpoint(walk: Walk) -> str:
    """A's webhook endpoint (for the lease events, so that a lease of A's makes a delivery to it)."""
    url = f"http://127.0.0.1:9/a-walk-{uniq().lower()}"
    body = {"url": url, "event_types": ["lease.confirmed"], "description": f"A's walk {uniq()}", "client_id": walk.a.client_id}
    app = app_of(walk.admin)
    before = app.state.settings  # a receiver on this machine, as the webhooks tests allow it
    app.state.settings = before.model_copy(update={"webhook_allow_http": True, "webhook_allow_private_targets": True})
    try:
        row = await walk.admin.post("/v1/webhook-endpoints", body)
    finally:
        app.state.settings = before
    walk.secret(row["id"], url, body["description"])
    return str(row["id"])


@filler("delivery_id")
async def _delivery(walk: Walk) -> str:
    """A delivery to A's endpoint: a lease of A's confirmed (the event and its deliveries are written
    with the lease's audit row)."""
    endpoint = await walk.fill("endpoint_id")
    await walk.staff.post("/v1/leases", lease_body(walk.a.world, seat_count=1, start_date=f"{walk.year}-06-01"))
    found = await walk.db.fetchval("SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 LIMIT 1", uuid.UUID(endpoint))
    assert found is not None, "a confirmed lease of A's made no delivery to A's endpoint"
    walk.secret(found)
    return str(found)


# --- portal: tickets (issue 15): A's ticket (about its leased seat) with a public comment and a file ---
async def _ticket(walk: Walk) -> tuple[str, str]:
    """(ticket id, attachment id): made once per walk."""
    if "ticket" not in walk.made:
        subject = f"A's walk ticket {uniq()}"
        t = await walk.staff.post(
            "/v1/tickets",
            {"client_id": walk.a.client_id, "site_id": walk.a.world.site["id"], "category": "it", "subject": subject},
        )
        note = f"A's walk comment {uniq()}"
        await walk.staff.post(f"/v1/tickets/{t['id']}/comments", {"body": note})
        name = f"a-walk-{uniq().lower()}.txt"
        r = await walk.staff.call(
            "POST", f"/v1/tickets/{t['id']}/attachments", 201, files={"file": (name, b"A's log", "text/plain")}
        )
        walk.secret(subject, note, name, t["reference"], t["id"])
        walk.made["ticket"], walk.made["ticket_attachment"] = str(t["id"]), str(r.json()["id"])
    return walk.made["ticket"], walk.made["ticket_attachment"]


@filler("ticket_id")
async def _ticket_id(walk: Walk) -> str:
    return (await _ticket(walk))[0]


@filler("attachment_id")
async def _attachment_id(walk: Walk) -> str:
    return (await _ticket(walk))[1]


# --- end portal: tickets ---


# ---- the walk ---------------------------------------------------------------------------------------


def all_routes(routes: list[Any]) -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every route the app serves. FastAPI >= 0.16x keeps an included router as one
    entry that expands its routes lazily (``effective_route_contexts``); older ones copy them in."""
    for r in routes:
        contexts = getattr(r, "effective_route_contexts", None)
        if contexts is not None:
            for c in contexts():
                yield str(c.path), set(getattr(c.original_route, "methods", None) or ())
        elif isinstance(r, APIRoute):
            yield r.path, set(r.methods or ())


def portal_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every /portal route the app serves; signing out comes last."""
    out = {
        (m, path)
        for path, methods in all_routes(app.routes)
        if path == "/portal" or path.startswith("/portal/")
        for m in methods - {"HEAD", "OPTIONS"}
    }
    return sorted(out, key=lambda t: (t[1] == "/portal/logout", t[0], t[1]))


def params_of(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::\w+)?}", path)


# what B posts to every action: enough for any form to act, were the lookup not refused
GENERIC_FORM = {"active": "false", "method": "temporary_password", "name": "walk", "role": "client_viewer"}

# a column naming one of A's objects → the table of those objects (its rows carry A's client_id);
# a table an area adds joins in by its column name (absent tables are skipped)
SNAPSHOT_KEYS = {
    "client_id": "clients",
    "team_id": "teams",
    "member_id": "members",
    "lease_id": "leases",
    "invoice_id": "invoices",
    "payment_id": "payments",
    "user_id": "users",
    "credit_note_id": "credit_notes",
    "credential_id": "credentials",
    "endpoint_id": "webhook_endpoints",
}


async def snapshot(db: asyncpg.Pool, client_id: str) -> dict[str, list[str]]:
    """Every row of every table that names one of A's objects (its client, teams, agents, leases,
    invoices, payments, logins, credit notes, credentials, webhook endpoints …), and those objects'
    own rows, as text: what no action of B's may change."""
    cid = uuid.UUID(client_id)
    ids: dict[str, list[uuid.UUID]] = {"clients": [cid]}
    for table in sorted({*SNAPSHOT_KEYS.values(), "api_clients"} - {"clients"}):
        if not await db.fetchval("SELECT to_regclass($1) IS NOT NULL", f"public.{table}"):
            continue
        if table == "members":  # an agent belongs to a team of the client
            sql = "SELECT m.id FROM members m JOIN teams t ON t.id = m.team_id WHERE t.client_id = $1"
        else:
            sql = f"SELECT id FROM {table} WHERE client_id = $1"
        ids[table] = [r["id"] for r in await db.fetch(sql, cid)]
    columns = await db.fetch(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name = ANY($1::text[]) ORDER BY table_name, column_name",
        list(SNAPSHOT_KEYS),
    )
    out: dict[str, list[str]] = {}
    for c in columns:
        owners = ids.get(SNAPSHOT_KEYS[c["column_name"]])
        if owners is None:
            continue
        rows = await db.fetch(
            f'SELECT t::text AS row FROM "{c["table_name"]}" t WHERE "{c["column_name"]}" = ANY($1::uuid[]) ORDER BY 1',
            owners,
        )
        out[f"{c['table_name']}.{c['column_name']}"] = [r["row"] for r in rows]
    for table, owners in ids.items():
        rows = await db.fetch(f"SELECT t::text AS row FROM {table} t WHERE id = ANY($1::uuid[]) ORDER BY 1", owners)
        out[table] = [r["row"] for r in rows]
    return out


async def text_of_answer(r: httpx.Response, tmp_path: Path) -> str:
    kind = r.headers.get("content-type", "")
    if kind.startswith("application/pdf"):
        return await pdf_text(r.content, tmp_path)
    return r.text


def leaked(text: str, secrets: set[str]) -> list[str]:
    return sorted(s for s in secrets if s in text)


BASELINE = {"lease_id", "team_id", "member_id", "invoice_id", "credit_note_id", "payment_id", "user_id", "api_credential_id"}


def route_params(app: FastAPI) -> set[str]:
    return {n for _, path in portal_routes(app) for n in params_of(path)}


async def make_a(staff: Api, finance: Api, admin: Api, db: asyncpg.Pool, names: set[str], year: int = WALK_YEAR) -> Walk:
    a = await make_portal_client(staff, db)
    walk = Walk(staff, finance, admin, db, a, year=year)
    agent = await staff.post(
        f"/v1/teams/{a.world.team['id']}/members",
        {"name": f"Zelda Walkerton {uniq()}", "email": f"zelda-{uniq().lower()}@a-example.com", "employee_id": "A-9001"},
    )
    a.world.members.insert(0, agent)
    walk.lease = await staff.post("/v1/leases", lease_body(a.world, seat_count=2, start_date=f"{year}-01-01"))
    walk.secret(a.world.client["legal_name"], a.client_id, walk.lease["id"], a.admin_email, a.viewer_email)
    walk.secret(a.world.client["billing_email"])
    for m in a.world.members:
        walk.secret(m["email"], m["id"])
    walk.secret(agent["name"])
    # A's objects of every kind, whether a route names them or not (lists show them), and whatever
    # else the app's routes name, made up front so that their strings are known before the walk
    for name in sorted(BASELINE | {n for n in names if n in FILLERS}):
        await walk.fill(name)
    return walk


async def b_session(live_server: str, staff: Api, finance: Api, db: asyncpg.Pool) -> tuple[PortalClient, httpx.AsyncClient]:
    b = await make_portal_client(staff, db)
    await staff.post("/v1/leases", lease_body(b.world, seat_count=1, start_date=f"{WALK_YEAR}-01-01"))
    http = httpx.AsyncClient(base_url=live_server, follow_redirects=False, timeout=30)
    page = await http.get("/portal/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = await http.post(
        "/portal/login", data={"csrf_token": token.group(1), "email": b.admin_email, "password": "correct horse battery"}
    )
    assert r.status_code == 303, r.text
    return b, http


async def test_a_second_client_sees_and_changes_nothing_of_the_first_on_any_portal_route(
    app: FastAPI, live_server: str, staff: Api, finance: Api, admin: Api, db: asyncpg.Pool, tmp_path: Path
) -> None:
    _, http = await b_session(live_server, staff, finance, db)  # B first: the walk's billing run bills it too
    routes = portal_routes(app)
    unfillable = [f"{m} {p} ({name})" for m, p in routes for name in params_of(p) if name not in FILLERS]
    assert not unfillable, f"the tenant walk cannot fill these routes' parameters; register a filler: {unfillable}"
    walk = await make_a(staff, finance, admin, db, route_params(app))
    assert len(routes) >= 20, routes  # the walk really walked the portal

    before = await snapshot(db, walk.a.client_id)
    for table in ("clients", "users", "api_clients", "teams", "leases", "invoices", "credit_notes", "payments"):
        assert before[table], f"A has no {table} to protect: the walk would prove nothing"
    walked: list[str] = []
    try:
        token = csrf_of((await http.get("/portal/")).text)
        for method, path in routes:
            names = params_of(path)
            url = path
            for name in names:
                url = url.replace("{" + name + "}", await walk.fill(name))
            owned = any(FILLERS[n].owned for n in names)
            if method == "GET":
                r = await http.get(url)
            else:  # a form's POST, or htmx's PUT/PATCH/DELETE: B's own CSRF token both ways
                r = await http.request(method, url, data={"csrf_token": token, **GENERIC_FORM}, headers={"X-CSRF-Token": token})
            where = f"{method} {path} -> {url}: {r.status_code}"
            assert r.status_code < 500, where
            if owned:
                assert r.status_code in (403, 404), where
            assert not leaked(await text_of_answer(r, tmp_path), walk.secrets), (where, leaked(r.text, walk.secrets))
            if method != "GET":
                assert await snapshot(db, walk.a.client_id) == before, f"{where} changed A's data"
            walked.append(where)
    finally:
        await http.aclose()
    assert await snapshot(db, walk.a.client_id) == before
    assert any("/portal/invoices/{invoice_id}" in w for w in walked)


async def test_a_second_client_clicks_through_every_portal_page_and_sees_none_of_the_first(
    page: Page, app: FastAPI, live_server: str, staff: Api, finance: Api, admin: Api, db: asyncpg.Pool
) -> None:
    b = await make_portal_client(staff, db)
    await staff.post("/v1/leases", lease_body(b.world, seat_count=1, start_date=f"{WALK_YEAR + 1}-01-01"))
    walk = await make_a(staff, finance, admin, db, route_params(app) & set(FILLERS), year=WALK_YEAR + 1)
    await login(page, b.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    nav = [await a.get_attribute("href") or "" for a in await page.locator("#side-nav a").all()]
    assert "/portal/invoices" in nav
    assert "/portal/users" in nav
    queue, seen = list(nav), set[str]()
    while queue and len(seen) < 80:
        href = queue.pop(0).split("#")[0]
        if href in seen or not href.startswith("/portal") or href.endswith(("/pdf", "/csv")):
            continue
        seen.add(href)
        await page.goto(href)
        content = await page.content()
        assert not leaked(content, walk.secrets), (href, leaked(content, walk.secrets))
        for link in await page.locator("main a[href^='/portal']").all():
            queue.append(await link.get_attribute("href") or "")
    assert {"/portal/invoices", "/portal/payments", "/portal/statements", "/portal/users", "/portal/api-credentials"} <= seen
    assert any(re.fullmatch(r"/portal/invoices/[0-9a-f-]{36}", h) for h in seen), seen  # B's own invoice, opened
    await page.goto("/portal/invoices")
    await shot(page, "portal-tenant-walk-b-invoices")
