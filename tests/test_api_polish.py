"""Issue 14, "an API a client's developer enjoys": a client token's own client by default, shift codes
in any case (an unknown one lists the site's), a 409 naming the seats taken, and messages without
pydantic's validator prefixes."""

from __future__ import annotations

from typing import Any

from tests.factories import Api, ClientLogin, lease_body, make_world

PREFIXES = ("Value error", "Assertion failed")


def _no_prefix(problem: dict[str, Any], field: str) -> None:
    assert problem["field"] == field, problem
    messages = [problem["detail"], *(e["message"] for e in problem.get("errors", []))]
    for message in messages:
        assert not any(p in message for p in PREFIXES), problem


async def test_a_client_token_books_and_quotes_for_its_own_client_by_default(staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff)
    own = await client_login(w.client["id"])
    body = lease_body(w, start_date="2033-03-01", seat_count=1)
    del body["client_id"]
    quote = (await own.call("POST", "/v1/quotes", 200, json=body)).json()
    assert quote["currency"] == w.site["currency"]
    lease = await own.post("/v1/leases", body)
    assert lease["client_id"] == w.client["id"]
    # a staff token must name the client: 422 naming the field, nothing booked
    r = await staff.call("POST", "/v1/leases", 422, json=body)
    assert r.json()["field"] == "client_id"
    assert "client_id" in r.json()["detail"]
    r = await staff.call("POST", "/v1/quotes", 422, json=body)
    assert r.json()["field"] == "client_id"
    # another tenant's id stays a 404
    other = await make_world(staff)
    r = await own.call("POST", "/v1/leases", 404, json={**body, "client_id": other.client["id"]})
    assert r.json()["status"] == 404


async def test_shift_codes_are_case_insensitive_and_an_unknown_one_lists_the_valid_codes(
    staff: Api, client_login: ClientLogin
) -> None:
    w = await make_world(staff)
    site = w.site["id"]
    upper = await staff.get(f"/v1/sites/{site}/availability", params={"shift": "NIGHT", "start": "2033-04-01"})
    lower = await staff.get(f"/v1/sites/{site}/availability", params={"shift": "night", "start": "2033-04-01"})
    assert lower == upper
    own = await client_login(w.client["id"])
    lease = await own.post("/v1/leases", lease_body(w, shift="night", start_date="2033-04-01", seat_count=1))
    assert lease["shift"] == "NIGHT"
    quote = (await own.call("POST", "/v1/quotes", 200, json=lease_body(w, shift="Day", start_date="2033-04-01"))).json()
    assert quote["currency"] == w.site["currency"]
    # a code in use, in another case, is a conflict
    r = await staff.call("POST", f"/v1/sites/{site}/shifts", 409, json={"code": "day", "starts_at": "07:00", "ends_at": "16:00"})
    assert r.json()["field"] == "code"
    valid = ["DAY", "FULL", "NIGHT"]
    for r in (
        await staff.call("GET", f"/v1/sites/{site}/availability", 422, params={"shift": "EVENING", "start": "2033-04-01"}),
        await own.call("POST", "/v1/leases", 422, json=lease_body(w, shift="evening", start_date="2033-04-01")),
        await own.call("POST", "/v1/quotes", 422, json=lease_body(w, shift="evening", start_date="2033-04-01")),
    ):
        problem = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert problem["field"] == "shift"
        assert problem["valid_shifts"] == valid
        assert "DAY, FULL, NIGHT" in problem["detail"]


async def test_a_409_names_the_seats_that_are_taken(staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff)
    seats = [s for s in w.seats if s["zone"] == "A"][:3]
    await staff.post(
        "/v1/leases", lease_body(w, seat_count=None, seat_ids=[seats[0]["id"], seats[2]["id"]], start_date="2033-05-01")
    )
    own = await client_login(w.client["id"])
    r = await own.call(
        "POST",
        "/v1/leases",
        409,
        json=lease_body(w, seat_count=None, seat_ids=[s["id"] for s in seats], start_date="2033-06-01"),
    )
    problem = r.json()
    taken = sorted([seats[0]["label"], seats[2]["label"]])
    assert problem["type"].endswith("seats-unavailable")
    assert problem["field"] == "seat_ids"
    assert problem["taken_seats"] == taken
    assert all(label in problem["detail"] for label in taken)
    assert seats[1]["label"] not in problem["detail"]


async def test_a_409_for_a_longer_term_names_the_seats_taken_after_it(staff: Api) -> None:
    """Ending a lease later than booked: the 409 names the seat another lease holds after the old end."""
    w = await make_world(staff)
    seat = w.seats[0]
    body = lease_body(w, seat_count=None, seat_ids=[seat["id"]], start_date="2034-01-01", end_date="2034-03-31")
    lease = await staff.post("/v1/leases", body)
    await staff.post("/v1/leases", {**body, "start_date": "2034-05-01", "end_date": None})
    r = await staff.call("POST", f"/v1/leases/{lease['id']}/end", 409, json={"end_date": "2034-06-30"})
    problem = r.json()
    assert (problem["field"], problem["taken_seats"]) == ("end_date", [seat["label"]])
    assert seat["label"] in problem["detail"]
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["end_date"] == "2034-03-31"


async def test_problem_messages_carry_no_validator_prefixes(staff: Api) -> None:
    w = await make_world(staff)
    r = await staff.call("POST", "/v1/leases", 422, json=lease_body(w, start_date="2033-05-10", end_date="2033-05-01"))
    _no_prefix(r.json(), "end_date")
    assert r.json()["detail"] == "end_date: end_date is before start_date"
    r = await staff.call("POST", "/v1/leases", 422, json=lease_body(w, seat_ids=[w.seats[0]["id"]]))
    _no_prefix(r.json(), "seat_count")
    r = await staff.call("POST", "/v1/quotes", 422, json=lease_body(w, start_date="2033-5-1"))
    _no_prefix(r.json(), "start_date")
    r = await staff.call("GET", f"/v1/sites/{w.site['id']}/availability", 422, params={"shift": "DAY", "start": "2033/05/01"})
    _no_prefix(r.json(), "start")
    r = await staff.call(
        "POST", "/v1/sites", 422, json={"code": "X1", "name": "X", "timezone": "Asia/Manila", "currency": "PHP", "tax_rate": 0.12}
    )
    _no_prefix(r.json(), "tax_rate")


async def test_a_client_token_reads_its_own_statement_by_default(staff: Api, finance: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff)
    await finance.post(
        "/v1/invoices",
        {
            "client_id": w.client["id"],
            "site_id": w.site["id"],
            "lines": [{"description": "Replacement headset", "unit_price_minor": 150_000, "reason": "damaged"}],
        },
    )
    invoice = (await finance.get("/v1/invoices", params={"client_id": w.client["id"]}))["items"][0]
    period = invoice["issue_date"][:7]
    own = await client_login(w.client["id"], "client_viewer")
    mine = await own.call("GET", f"/v1/statements/{period}/csv", 200)
    assert invoice["number"] in mine.text
    assert mine.text == (await own.call("GET", f"/v1/clients/{w.client['id']}/statements/{period}/csv", 200)).text
    assert (await own.call("GET", f"/v1/statements/{period}/pdf", 200)).content.startswith(b"%PDF-")
    as_json = await own.get(f"/v1/statements/{period}")
    assert invoice["number"] in str(as_json)
    # staff name the client (422 naming it); another tenant's id is a 404
    r = await finance.call("GET", f"/v1/statements/{period}/csv", 422)
    assert r.json()["field"] == "client_id"
    named = await finance.call("GET", f"/v1/statements/{period}/csv", 200, params={"client_id": w.client["id"]})
    assert named.text == mine.text
    other = await make_world(staff)
    r = await own.call("GET", f"/v1/statements/{period}", 404, params={"client_id": other.client["id"]})
    assert r.headers["content-type"].startswith("application/problem+json")
