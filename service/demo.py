"""Demo data for `seatlease up` on an empty database: two sites, a few hundred seats, two clients."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.leasing import booking, lifecycle, views
from domain.leasing.schemas import AddOnIn, LeaseCreate
from domain.models import Device, Lease
from domain.services import catalog, clients, site_setup
from domain.services.audit import SystemActor
from domain.services.catalog import site_today
from domain.services.catalog_schemas import FloorCreate, PlanCreate, SeatCreate, ShiftCreate, SiteCreate, SiteUpdate
from domain.services.client_schemas import ClientCreate, ClientUpdate, MemberCreate, TeamCreate
from domain.services.first_start import DEMO_ACTOR
from domain.services.setup_schemas import ZoneCreate
from service.demo_tickets import seed_demo_tickets

SITES: list[dict[str, Any]] = [
    {
        "site": {
            "code": "MNL-1",
            "name": "Manila Ortigas Tower",
            "address": "ADB Ave, Ortigas Center, Pasig",
            "timezone": "Asia/Manila",
            "currency": "PHP",
            "tax_rate": Decimal("0.12"),
        },
        # the issuing entity every invoice, credit note and statement of the site names (issue 12)
        "issuer": {
            "legal_name": "Seatlease Workspaces Philippines Inc.",
            "tax_id": "010-555-321-000",
            "invoice_footer": "Pay by bank transfer to BDO 0012-3456-7890 quoting the invoice number. "
            "Clients withholding tax: please send BIR Form 2307 each quarter.",
        },
        "floors": [("12F", 12), ("14F", 14), ("15F", 15)],
        "zones": ["A", "B", "C"],
        "seats_per_zone": 24,
        "plan": ("Voice seat", 1_450_000, 500_000, 1),
        "premium": ("Premium voice seat", 1_850_000, 500_000, 1),
        "monitor": 65_000,
        "line": 400_000,
    },
    {
        "site": {
            "code": "AUS-1",
            "name": "Austin Domain Center",
            "address": "11501 Alterra Pkwy, Austin TX",
            "timezone": "America/Chicago",
            "currency": "USD",
            "tax_rate": Decimal("0.0825"),
        },
        "issuer": {
            "legal_name": "Seatlease Workspaces US LLC",
            "tax_id": "87-1234567",
            "invoice_footer": "Pay by ACH to account 000123456789 (routing 111000025) quoting the invoice number.",
            "tax_label": "Sales tax",
        },
        "floors": [("2F", 2), ("3F", 3)],
        "zones": ["A", "B"],
        "seats_per_zone": 20,
        "plan": ("Standard seat", 42_000, 15_000, 1),
        "premium": ("Premium seat", 55_000, 15_000, 1),
        "monitor": 2_500,
        "line": 12_000,
    },
]

# --- set-up pages (issue 13): what the demo floors' zones are called ---
DEMO_ZONE_NAMES = {"A": "A — Inbound voice", "B": "B — Outbound sales", "C": "C — Chat and email"}

# how each demo client is taxed and pays (issue 12): Northwind withholds 5% expanded withholding tax on
# rent; Bluepeak is a PEZA-registered ecozone enterprise, zero-rated
CLIENT_FINANCE: list[dict[str, Any]] = [
    {"withholding_rate": "0.05"},
    {
        "tax_treatment": "zero_rated",
        "tax_exemption_reason": "PEZA-registered ecozone IT enterprise",
        "tax_certificate_ref": "PEZA-2026-00123",
    },
]

CLIENTS = [
    (
        "Northwind Contact Solutions Inc.",
        "ap@northwind-contact.com",
        "009-876-543-000",
        30,
        [("Voice support - days", "DAY"), ("Voice support - nights", "NIGHT")],
    ),
    (
        "Bluepeak Support BPO Corp.",
        "billing@bluepeak-bpo.com",
        "008-123-456-000",
        15,
        [("Chat and email", "DAY"), ("Back office", "FULL")],
    ),
]


async def seed_demo(session: AsyncSession) -> dict[str, int]:
    """Fill an empty database; does nothing when a site exists."""
    sites, _ = await catalog.list_sites(session, cursor=None, limit=1)
    if sites:
        return {}
    actor = SystemActor(DEMO_ACTOR)
    counts = {"sites": 0, "seats": 0, "clients": 0, "leases": 0, "devices": 0}
    running: list[Lease] = []  # the running leases, the first client's first (its day and night teams)
    made: list[dict[str, Any]] = []
    for spec in SITES:
        site = await catalog.create_site(session, actor, SiteCreate.model_validate(spec["site"]))
        site = await catalog.update_site(session, actor, site, SiteUpdate.model_validate(spec["issuer"]))
        counts["sites"] += 1
        for code, starts, ends in (("DAY", time(6), time(15)), ("MID", time(14), time(23)), ("NIGHT", time(21), time(6))):
            await catalog.create_shift(
                session, actor, site, ShiftCreate(code=code, name=code.title(), starts_at=starts, ends_at=ends)
            )
        seats = []
        for fname, level in spec["floors"]:
            floor = await catalog.create_floor(session, actor, site, FloorCreate(name=fname, level=level))
            for zi, zone in enumerate(spec["zones"]):
                # --- set-up pages (issue 13): the floor's zones are named, as a facility manager would ---
                await site_setup.create_zone(session, actor, floor, ZoneCreate(code=zone, name=DEMO_ZONE_NAMES[zone]))
                labels = [f"{fname}-{zone}-{i:03d}" for i in range(1, spec["seats_per_zone"] + 1)]
                rows = await catalog.create_seats(
                    # zones side by side on the floor, an aisle between them
                    session,
                    actor,
                    site,
                    floor,
                    SeatCreate(floor_id=floor.id, zone=zone, labels=labels, columns=8, x=zi * 10, y=0),
                )
                seats.extend(rows)
        seats[5].status = "maintenance"
        counts["seats"] += len(seats)
        plans = []
        for name, price, setup, deposit in (spec["plan"], spec["premium"]):
            plans.append(
                await catalog.create_plan(
                    session,
                    actor,
                    site,
                    PlanCreate.model_validate(
                        {
                            "site_id": site.id,
                            "name": name,
                            "monthly_price_minor": price,
                            "setup_fee_minor": setup,
                            "deposit_months": deposit,
                            "inclusions": [
                                {
                                    "code": "power",
                                    "name": "Power with UPS and generator backup",
                                    "kind": "power",
                                    "billing": "included",
                                    "unit_price_minor": 0,
                                    "device_kind": None,
                                    "quantity_per_seat": 1,
                                },
                                {
                                    "code": "internet",
                                    "name": "Shared fibre internet",
                                    "kind": "internet",
                                    "billing": "included",
                                    "unit_price_minor": 0,
                                    "device_kind": None,
                                    "quantity_per_seat": 1,
                                },
                                {
                                    "code": "pc",
                                    "name": "Desktop PC",
                                    "kind": "device",
                                    "billing": "included",
                                    "unit_price_minor": 0,
                                    "device_kind": "pc",
                                    "quantity_per_seat": 1,
                                },
                                {
                                    "code": "headset",
                                    "name": "Noise-cancelling headset",
                                    "kind": "device",
                                    "billing": "included",
                                    "unit_price_minor": 0,
                                    "device_kind": "headset",
                                    "quantity_per_seat": 1,
                                },
                                {
                                    "code": "extra_monitor",
                                    "name": "Extra monitor",
                                    "kind": "device",
                                    "billing": "monthly",
                                    "unit_price_minor": spec["monitor"],
                                    "device_kind": "monitor",
                                    "quantity_per_seat": 1,
                                },
                                {
                                    "code": "dedicated_line",
                                    "name": "Dedicated 100 Mbps line",
                                    "kind": "internet",
                                    "billing": "monthly",
                                    "unit_price_minor": spec["line"],
                                    "device_kind": None,
                                    "quantity_per_seat": 1,
                                },
                            ],
                        }
                    ),
                )
            )
        for kind, n in (("pc", 60), ("headset", 60), ("monitor", 20)):
            for i in range(n):
                session.add(
                    Device(
                        serial=f"{site.code}-{kind.upper()}-{i:04d}",
                        kind=kind,
                        model={"pc": "Dell OptiPlex 7010", "headset": "Jabra Evolve2 40", "monitor": "Dell P2422H"}[kind],
                        site_id=site.id,
                    )
                )
                counts["devices"] += 1
        made.append({"site": site, "plans": plans})
    await session.flush()

    for ci, (legal, email, tax_id, terms, team_specs) in enumerate(CLIENTS):
        client = await clients.create_client(
            session, actor, ClientCreate(legal_name=legal, billing_email=email, tax_id=tax_id, payment_terms_days=terms)
        )
        client = await clients.update_client(session, actor, client, ClientUpdate.model_validate(CLIENT_FINANCE[ci]))
        counts["clients"] += 1
        for ti, (team_name, shift) in enumerate(team_specs):
            team = await clients.create_team(session, actor, client, TeamCreate(name=team_name))
            members = [
                await clients.create_member(
                    session,
                    actor,
                    team,
                    MemberCreate(
                        name=f"{first} {last}",
                        email=f"{first.lower()}.{last.lower()}{ti}{i}@{email.split('@')[1]}",
                        employee_id=f"{legal[:2].upper()}{ti}{i:03d}",
                    ),
                )
                for i, (first, last) in enumerate(_names(ci * 2 + ti))
            ]
            site = made[ti % 2]["site"] if ci == 0 else made[0]["site"]
            plan = made[ti % 2 if ci == 0 else 0]["plans"][ti % 2]
            today = site_today(site)
            start = (today.replace(day=1) - timedelta(days=45)).replace(day=1)
            lease = await booking.create_lease(
                session,
                actor,
                LeaseCreate(
                    client_id=client.id,
                    team_id=team.id,
                    site_id=site.id,
                    plan_id=plan.id,
                    shift=shift,
                    start_date=start,
                    end_date=None,
                    seat_count=6 + 2 * ti,
                    seat_ids=None,
                    add_ons=[AddOnIn(code="extra_monitor", quantity=2)],
                    discount_pct=Decimal("5"),
                ),
                is_staff=True,
                discount_threshold_pct=Decimal("10"),
            )
            counts["leases"] += 1
            running.append(lease)
            held = (await views.lease_views(session, [lease]))[0].seats
            await lifecycle.set_assignments(session, actor, lease, [(s.id, m.id) for s, m in zip(held, members, strict=False)])
        # a lease starting next month and one waiting for a discount approval
        site = made[0]["site"]
        first_next = _first_of_next_month(site_today(site))
        for discount, count in ((Decimal("0"), 4), (Decimal("15"), 10)):
            await booking.create_lease(
                session,
                actor,
                LeaseCreate(
                    client_id=client.id,
                    team_id=team.id,
                    site_id=site.id,
                    plan_id=made[0]["plans"][0].id,
                    shift="NIGHT" if ci == 0 else "DAY",
                    start_date=first_next + timedelta(days=14 * ci),
                    end_date=first_next + timedelta(days=364),
                    seat_count=count,
                    seat_ids=None,
                    add_ons=[],
                    discount_pct=discount,
                ),
                is_staff=True,
                discount_threshold_pct=Decimal("10"),
            )
            counts["leases"] += 1
    await session.flush()
    counts["tickets"] = await seed_demo_tickets(session, running)
    return counts


def _first_of_next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


_FIRST = ["Maria", "Jose", "Ana", "Mark", "Grace", "Paolo", "Kim", "Liza", "Carlo", "Joy", "Rhea", "Miguel"]
_LAST = ["Santos", "Reyes", "Cruz", "Bautista", "Garcia", "Mendoza", "Torres", "Flores", "Ramos", "Aquino"]


def _names(seed: int) -> list[tuple[str, str]]:
    return [(_FIRST[(seed * 3 + i) % len(_FIRST)], _LAST[(seed + i * 7) % len(_LAST)]) for i in range(8)]
