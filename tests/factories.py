"""Test data made through the public API, the way a user would make it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


class Api:
    """An authenticated API caller that asserts the expected status."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, expect: int | None = None, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        r = await self.http.request(method, path, headers=headers, **kw)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path} -> {r.status_code}: {r.text}"
        return r

    async def get(self, path: str, expect: int | None = 200, **kw: Any) -> Any:
        return (await self.call("GET", path, expect, **kw)).json()

    async def post(self, path: str, json: Any = None, expect: int | None = 201, **kw: Any) -> Any:
        return (await self.call("POST", path, expect, json=json, **kw)).json()


class ClientLogin(Protocol):
    """The `client_login` fixture: a logged-in API for a new user of the given client."""

    async def __call__(self, client_id: str, role: str = "client_admin") -> Api: ...


def uniq(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:8].upper()


@dataclass
class World:
    """A site with floors, zones, seats, shifts and a plan; a client with a team and members."""

    site: dict[str, Any]
    floors: list[dict[str, Any]]
    seats: list[dict[str, Any]]
    shifts: dict[str, dict[str, Any]]
    plan: dict[str, Any]
    client: dict[str, Any]
    team: dict[str, Any]
    members: list[dict[str, Any]] = field(default_factory=list)


async def make_site(
    staff: Api,
    *,
    timezone: str = "Asia/Manila",
    currency: str = "PHP",
    tax_rate: str = "0.12",
    floors: int = 1,
    zones: int = 2,
    seats_per_zone: int = 10,
    columns: int = 5,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    code = uniq("S")
    site = await staff.post(
        "/v1/sites", {"code": code, "name": f"Site {code}", "timezone": timezone, "currency": currency, "tax_rate": tax_rate}
    )
    floor_rows, seat_rows = [], []
    for f in range(floors):
        floor = await staff.post(f"/v1/sites/{site['id']}/floors", {"name": f"{f + 1}F", "level": f + 1})
        floor_rows.append(floor)
        for z in range(zones):
            zone = chr(ord("A") + z)
            labels = [f"{f + 1}F-{zone}-{i:03d}" for i in range(1, seats_per_zone + 1)]
            page = await staff.post(
                f"/v1/sites/{site['id']}/seats", {"floor_id": floor["id"], "zone": zone, "labels": labels, "columns": columns}
            )
            seat_rows.extend(page["items"])
    shifts = {s["code"]: s for s in (await staff.get(f"/v1/sites/{site['id']}/shifts"))["items"]}
    for code_, start, end in (("DAY", "06:00", "15:00"), ("NIGHT", "21:00", "06:00")):
        shifts[code_] = await staff.post(f"/v1/sites/{site['id']}/shifts", {"code": code_, "starts_at": start, "ends_at": end})
    return site, floor_rows, seat_rows, shifts


async def make_world(staff: Api, **site_kw: Any) -> World:
    site, floors, seats, shifts = await make_site(staff, **site_kw)
    plan = await staff.post(
        "/v1/plans",
        {
            "site_id": site["id"],
            "name": "Standard seat",
            "monthly_price_minor": 1_500_000,
            "setup_fee_minor": 250_000,
            "deposit_months": 1,
            "inclusions": [
                {"code": "power", "name": "Power with UPS", "kind": "power"},
                {"code": "internet", "name": "Shared 1 Gbps internet", "kind": "internet"},
                {"code": "pc", "name": "Desktop PC", "kind": "device", "device_kind": "pc"},
                {"code": "headset", "name": "Headset", "kind": "device", "device_kind": "headset"},
                {
                    "code": "extra_monitor",
                    "name": "Extra monitor",
                    "kind": "device",
                    "billing": "monthly",
                    "unit_price_minor": 50_000,
                    "device_kind": "monitor",
                },
            ],
        },
    )
    client = await staff.post(
        "/v1/clients",
        {
            "legal_name": f"Client {uniq()} Inc.",
            "billing_email": f"ap-{uniq().lower()}@client-example.com",
            "tax_id": "123-456-789",
            "payment_terms_days": 30,
        },
    )
    team = await staff.post(f"/v1/clients/{client['id']}/teams", {"name": "Voice support - nights"})
    members = [
        await staff.post(
            f"/v1/teams/{team['id']}/members",
            {"name": f"Agent {i}", "email": f"agent{i}-{uniq().lower()}@client-example.com", "employee_id": f"E{i:04d}"},
        )
        for i in range(3)
    ]
    return World(site, floors, seats, shifts, plan, client, team, members)


def lease_body(w: World, **kw: Any) -> dict[str, Any]:
    body = {
        "client_id": w.client["id"],
        "team_id": w.team["id"],
        "site_id": w.site["id"],
        "plan_id": w.plan["id"],
        "shift": "DAY",
        "start_date": "2031-01-01",
        "seat_count": 2,
    }
    body.update(kw)
    return body


async def clients_with_one_seat(staff: Api, w: World, n: int, start: str, *, name: str = "Client") -> list[str]:
    """``n`` new clients of the world's site, each with a team and one FULL seat leased from ``start``."""
    ids = []
    for _ in range(n):
        c = await staff.post("/v1/clients", {"legal_name": f"{name} {uniq()}", "billing_email": "ap@client-example.com"})
        t = await staff.post(f"/v1/clients/{c['id']}/teams", {"name": "Team"})
        await staff.post(
            "/v1/leases",
            lease_body(w, client_id=c["id"], team_id=t["id"], shift="FULL", start_date=start, seat_count=1),
        )
        ids.append(c["id"])
    return ids
