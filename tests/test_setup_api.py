"""Issue 13, set-up on the API: sites (code and currency while nothing depends on them, the issuing
entity named at creation), floors renamed, zones named per floor, shifts edited without moving booked
hours, a plan's inclusions and add-ons added and edited without changing what booked leases got."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from tests.factories import Api, ClientLogin, lease_body, make_world, uniq


async def _patch(api: Api, path: str, body: dict[str, Any], expect: int = 200) -> Any:
    return (await api.call("PATCH", path, expect, json=body)).json()


async def test_a_site_is_created_with_its_issuing_entity_and_a_bad_time_zone_names_its_field(staff: Api) -> None:
    code = uniq("S")
    body = {"code": code, "name": "Cebu IT Park", "timezone": "Asia/Cebu", "currency": "PHP", "tax_rate": "0.12"}
    bad = await staff.post("/v1/sites", body, expect=422)
    assert bad["field"] == "timezone", bad
    site = await staff.post(
        "/v1/sites",
        {**body, "timezone": "Asia/Manila", "legal_name": "Cebu Seats Inc.", "tax_id": "123-456-789-000", "tax_label": "VAT"},
    )
    assert (site["legal_name"], site["tax_id"], site["timezone"]) == ("Cebu Seats Inc.", "123-456-789-000", "Asia/Manila")


async def test_a_sites_code_and_currency_change_only_while_nothing_depends_on_them(staff: Api) -> None:
    w = await make_world(staff)
    sid = w.site["id"]
    # a plan is priced in the site's currency
    r = await _patch(staff, f"/v1/sites/{sid}", {"currency": "USD"}, expect=409)
    assert r["field"] == "currency", r
    other = await staff.post(
        "/v1/sites", {"code": uniq("S"), "name": "Other", "timezone": "Asia/Manila", "currency": "PHP", "tax_rate": "0.12"}
    )
    r = await _patch(staff, f"/v1/sites/{sid}", {"code": other["code"]}, expect=409)
    assert r["field"] == "code", r
    # no lease yet: the code may be fixed
    new_code = uniq("S")
    assert (await _patch(staff, f"/v1/sites/{sid}", {"code": new_code}))["code"] == new_code
    assert (await _patch(staff, f"/v1/sites/{other['id']}", {"currency": "USD"}))["currency"] == "USD"
    await staff.post("/v1/leases", lease_body(w))
    r = await _patch(staff, f"/v1/sites/{sid}", {"code": uniq("S")}, expect=409)
    assert r["field"] == "code", r
    assert (await staff.get(f"/v1/sites/{sid}"))["code"] == new_code


async def test_a_floor_is_renamed_and_its_level_changed(staff: Api) -> None:
    w = await make_world(staff, floors=2, zones=1, seats_per_zone=1)
    f1, f2 = w.floors
    r = await _patch(staff, f"/v1/floors/{f1['id']}", {"name": f2["name"]}, expect=409)
    assert r["field"] == "name", r
    r = await _patch(staff, f"/v1/floors/{f1['id']}", {"level": "three"}, expect=422)
    assert r["field"] == "level", r
    out = await _patch(staff, f"/v1/floors/{f1['id']}", {"name": "Ground", "level": 0})
    assert (out["name"], out["level"]) == ("Ground", 0)
    floors = (await staff.get(f"/v1/sites/{w.site['id']}/floors"))["items"]
    assert [f["name"] for f in floors] == ["Ground", f2["name"]]
    await _patch(staff, "/v1/floors/00000000-0000-0000-0000-000000000000", {"name": "X"}, expect=404)


async def test_zones_are_named_per_floor_before_and_after_seats_carry_them(
    staff: Api, client_login: ClientLogin, db: asyncpg.Pool
) -> None:
    w = await make_world(staff, zones=2, seats_per_zone=3)
    fid = w.floors[0]["id"]
    zones = (await staff.get(f"/v1/floors/{fid}/zones"))["items"]
    # seats made through the seat API carry A and B; nobody has named them yet
    assert [(z["code"], z["id"], z["name"], z["seats"]) for z in zones] == [("A", None, "A", 3), ("B", None, "B", 3)]
    a = await staff.post(f"/v1/floors/{fid}/zones", {"code": "A", "name": "A — Inbound voice"})
    assert (a["code"], a["name"], a["seats"]) == ("A", "A — Inbound voice", 3)
    # a zone named before any seat is drawn
    c = await staff.post(f"/v1/floors/{fid}/zones", {"code": "C", "name": "C — Chat"})
    assert c["seats"] == 0
    dup = await staff.post(f"/v1/floors/{fid}/zones", {"code": "C", "name": "again"}, expect=409)
    assert dup["field"] == "code", dup
    bad = await staff.post(f"/v1/floors/{fid}/zones", {"code": "C D", "name": "x"}, expect=422)
    assert bad["field"] == "code", bad
    renamed = await _patch(staff, f"/v1/zones/{c['id']}", {"name": "C — Chat and email"})
    assert renamed["name"] == "C — Chat and email"
    # the code is not a zone's editable field: the seats carry it
    r = await _patch(staff, f"/v1/zones/{c['id']}", {"code": "D", "name": "x"}, expect=422)
    assert r["field"] == "code", r
    zones = (await staff.get(f"/v1/floors/{fid}/zones"))["items"]
    assert [(z["code"], z["name"]) for z in zones] == [("A", "A — Inbound voice"), ("B", "B"), ("C", "C — Chat and email")]
    # the seats still carry their codes: the map and availability read them as before
    assert {s["zone"] for s in (await staff.get(f"/v1/sites/{w.site['id']}/seats"))["items"]} == {"A", "B"}
    assert await db.fetchval("SELECT count(*) FROM audit_events WHERE object_id = $1", c["id"]) == 2
    # a client reads the floor's zones (as it reads floors) but cannot name one
    client = await client_login(w.client["id"])
    assert len((await client.get(f"/v1/floors/{fid}/zones"))["items"]) == 3
    await client.post(f"/v1/floors/{fid}/zones", {"code": "E", "name": "E"}, expect=403)


async def test_a_shifts_hours_change_until_a_lease_books_them(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    day, night, full = w.shifts["DAY"], w.shifts["NIGHT"], w.shifts["FULL"]
    out = await _patch(staff, f"/v1/shifts/{day['id']}", {"name": "Day (PH)", "starts_at": "07:00", "ends_at": "16:00"})
    assert (out["name"], out["starts_at"], out["ends_at"]) == ("Day (PH)", "07:00", "16:00")
    # a night shift crosses midnight: legal
    out = await _patch(staff, f"/v1/shifts/{night['id']}", {"starts_at": "22:00", "ends_at": "07:00"})
    assert (out["starts_at"], out["ends_at"]) == ("22:00", "07:00")
    r = await _patch(staff, f"/v1/shifts/{night['id']}", {"ends_at": "22:00"}, expect=422)
    assert r["field"] == "ends_at", r
    r = await _patch(staff, f"/v1/shifts/{full['id']}", {"starts_at": "06:00"}, expect=422)
    assert r["field"] == "starts_at", r
    r = await _patch(staff, f"/v1/shifts/{day['id']}", {"starts_at": "25:00"}, expect=422)
    assert r["field"] == "starts_at", r
    r = await _patch(staff, f"/v1/shifts/{day['id']}", {"code": "DAWN"}, expect=422)
    assert r["field"] == "code", r
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=1))
    r = await _patch(staff, f"/v1/shifts/{day['id']}", {"ends_at": "17:00"}, expect=409)
    assert r["field"] == "ends_at", r
    assert "add a new shift" in r["detail"]
    # nothing moved: the shift and the lease's seats keep the hours it was booked with
    shift = next(s for s in (await staff.get(f"/v1/sites/{w.site['id']}/shifts"))["items"] if s["code"] == "DAY")
    assert (shift["starts_at"], shift["ends_at"]) == ("07:00", "16:00")
    assert await db.fetchrow(
        "SELECT window_start_min, window_end_min FROM lease_seats WHERE lease_id = $1::uuid", lease["id"]
    ) == (7 * 60, 16 * 60)
    # its name still changes
    assert (await _patch(staff, f"/v1/shifts/{day['id']}", {"name": "Day"}))["name"] == "Day"


async def test_a_plans_inclusions_and_add_ons_are_added_and_edited_without_moving_booked_leases(staff: Api) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    pid = w.plan["id"]
    # a plan with no lease: anything may be added and edited
    fresh = await staff.post(
        "/v1/plans", {"site_id": w.site["id"], "name": "Lite", "monthly_price_minor": 900_000, "inclusions": []}
    )
    power = await staff.post(f"/v1/plans/{fresh['id']}/inclusions", {"code": "power", "name": "Power", "kind": "power"})
    assert power["billing"] == "included"
    out = await _patch(staff, f"/v1/plans/{fresh['id']}/inclusions/power", {"name": "Power with UPS", "quantity_per_seat": 2})
    assert (out["name"], out["quantity_per_seat"]) == ("Power with UPS", 2)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=1))
    # with a live lease: an add-on joins, an included item would change what the lease got
    wifi = await staff.post(
        f"/v1/plans/{pid}/inclusions",
        {"code": "line", "name": "Dedicated line", "kind": "internet", "billing": "monthly", "unit_price_minor": 300_000},
    )
    assert wifi["unit_price_minor"] == 300_000
    r = await staff.post(f"/v1/plans/{pid}/inclusions", {"code": "coffee", "name": "Coffee", "kind": "facility"}, expect=409)
    assert r["field"] == "billing", r
    r = await staff.post(f"/v1/plans/{pid}/inclusions", {"code": "pc", "name": "PC again", "kind": "device"}, expect=409)
    assert r["field"] == "code", r
    r = await _patch(staff, f"/v1/plans/{pid}/inclusions/headset", {"quantity_per_seat": 2}, expect=409)
    assert r["field"] == "quantity_per_seat", r
    r = await _patch(staff, f"/v1/plans/{pid}/inclusions/extra_monitor", {"unit_price_minor": 1}, expect=422)
    assert r["field"] == "unit_price_minor", r
    assert (await _patch(staff, f"/v1/plans/{pid}/inclusions/headset", {"name": "USB headset"}))["name"] == "USB headset"
    await _patch(staff, f"/v1/plans/{pid}/inclusions/nope", {"name": "x"}, expect=404)
    plan = await staff.get(f"/v1/plans/{pid}")
    headset = next(i for i in plan["inclusions"] if i["code"] == "headset")
    assert (headset["name"], headset["quantity_per_seat"]) == ("USB headset", 1)
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["monthly_price_minor"] == 1_500_000


async def test_two_people_naming_the_same_zone_at_once_get_one_zone(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=1)
    fid = w.floors[0]["id"]
    answers = await asyncio.gather(
        *(staff.call("POST", f"/v1/floors/{fid}/zones", json={"code": "Q", "name": f"Q {i}"}) for i in range(4))
    )
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    assert all(r.json()["field"] == "code" for r in answers if r.status_code == 409)
    assert await db.fetchval("SELECT count(*) FROM zones WHERE floor_id = $1 AND code = 'Q'", uuid.UUID(fid)) == 1


async def test_a_booking_during_an_hours_edit_waits_and_copies_the_new_hours(staff: Api, db: asyncpg.Pool) -> None:
    """The race the hours lock closes: an edit of a shift's hours holds the shift's row lock (as
    update_shift does) and commits while a booking of that shift is in flight. The booking waits for
    it and its seats carry the new window, never the old one."""
    w = await make_world(staff, zones=1, seats_per_zone=2)
    day = w.shifts["DAY"]
    async with db.acquire() as conn:
        edit = conn.transaction()
        await edit.start()
        await conn.execute("SELECT 1 FROM shifts WHERE id = $1::uuid FOR UPDATE", day["id"])
        await conn.execute("UPDATE shifts SET starts_at = '08:00', ends_at = '17:00' WHERE id = $1::uuid", day["id"])
        booking = asyncio.create_task(staff.post("/v1/leases", lease_body(w, seat_count=1)))
        await asyncio.sleep(0.5)
        assert not booking.done()  # it waits for the edit to finish
        await edit.commit()
    lease = await booking
    assert await db.fetchrow(
        "SELECT window_start_min, window_end_min FROM lease_seats WHERE lease_id = $1::uuid", lease["id"]
    ) == (8 * 60, 17 * 60)
