from tests.factories import Api, lease_body, make_world


async def test_book_a_lease_end_to_end(staff: Api) -> None:
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=3))
    assert lease["status"] == "confirmed"
    assert len(lease["seats"]) == 3
    assert len({s["zone"] for s in lease["seats"]}) == 1
    avail = await staff.get(
        f"/v1/sites/{w.site['id']}/availability", params={"shift": "DAY", "start": "2031-01-01", "end": "2031-01-31"}
    )
    assert avail["free_count"] == len(w.seats) - 3
