"""The client's floor map (issue 14): ``tenant_view`` keeps only the client's own holders, so nothing
drawn from it can name another tenant, and says "taken" where another tenant holds a seat."""

from __future__ import annotations

import uuid
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from domain.leasing.floor_map import FloorMap, Holder, SeatView, tenant_view
from domain.models import Floor, Site

ME, THEM, OTHERS = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def _holder(client_id: uuid.UUID) -> Holder:
    return Holder(uuid.uuid4(), "DAY", f"Name of {client_id}", "active", date(2031, 1, 1), None, (360, 900), client_id)


seat_specs = st.lists(
    st.tuples(st.sampled_from(["active", "maintenance", "retired"]), st.lists(st.sampled_from([ME, THEM, OTHERS]), max_size=3)),
    max_size=12,
)


@given(seat_specs)
def test_only_the_clients_own_holders_survive(specs: list[tuple[str, list[uuid.UUID]]]) -> None:
    seats = [
        SeatView(uuid.uuid4(), f"A-{i:02d}", "A", i, 0, status, [_holder(c) for c in holders], "leased" if holders else "free")
        for i, (status, holders) in enumerate(specs)
    ]
    fm = FloorMap(Site(code="S"), Floor(name="1F"), date(2031, 1, 1), None, seats)
    view = tenant_view(fm, ME)
    assert [s.id for s in view.seats] == [s.id for s in seats]
    for before, after in zip(seats, view.seats, strict=True):
        assert all(h.client_id == ME for h in after.holders)
        mine = any(h.client_id == ME for h in before.holders)
        if before.status != "active":
            assert after.state == before.status
        elif mine:
            assert after.state == "mine"
        elif before.holders:
            assert (after.state, after.holders) == ("taken", [])
        else:
            assert after.state == "free"
