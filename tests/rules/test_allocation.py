"""Seat allocation against a brute-force oracle on small maps (PRODUCT.md rule 2)."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.rules.allocation import FreeSeat, ZonePlan, allocate_seats, longest_runs


@st.composite
def small_maps(draw: st.DrawFn) -> tuple[list[FreeSeat], int]:
    places = draw(
        st.lists(
            st.tuples(st.integers(0, 2), st.sampled_from("AB"), st.integers(0, 4), st.integers(0, 1)),
            min_size=1,
            max_size=10,
            unique=True,
        )
    )
    seats = [FreeSeat(id=i, floor=f, zone=z, x=x, y=y) for i, (f, z, x, y) in enumerate(places)]
    n = draw(st.integers(1, min(5, len(seats))))
    return seats, n


def _floors(seats: list[FreeSeat] | tuple[FreeSeat, ...]) -> int:
    return len({s.floor for s in seats})


def _zones(seats: list[FreeSeat] | tuple[FreeSeat, ...]) -> int:
    return len({(s.floor, s.zone) for s in seats})


def _oracle(free: list[FreeSeat], n: int) -> tuple[int, int]:
    """The best (floors, zones) over every n-subset: the slow, obviously correct answer."""
    return min((_floors(c), _zones(c)) for c in combinations(free, n))


def _has_run(seats: list[FreeSeat] | tuple[FreeSeat, ...], n: int) -> bool:
    rows: dict[tuple[object, str, int], set[int]] = {}
    for s in seats:
        rows.setdefault((s.floor, s.zone, s.y), set()).add(s.x)
    return any(all(x + i in xs for i in range(n)) for xs in rows.values() for x in xs)


def _is_run(seats: list[FreeSeat], n: int) -> bool:
    if len({(s.floor, s.zone, s.y) for s in seats}) != 1:
        return False
    xs = sorted(s.x for s in seats)
    return xs == list(range(xs[0], xs[0] + n))


@settings(max_examples=400, deadline=None)
@given(small_maps())
def test_fewest_floors_then_fewest_zones(case: tuple[list[FreeSeat], int]) -> None:
    free, n = case
    picked = allocate_seats(free, n)
    assert picked is not None
    assert len(picked) == n
    assert len({s.id for s in picked}) == n, "a seat picked twice"
    assert set(picked) <= set(free)
    assert (_floors(picked), _zones(picked)) == _oracle(free, n)


@settings(max_examples=400, deadline=None)
@given(small_maps())
def test_a_run_of_neighbours_is_chosen_when_one_exists(case: tuple[list[FreeSeat], int]) -> None:
    free, n = case
    picked = allocate_seats(free, n)
    assert picked is not None
    if _has_run(free, n):
        assert _is_run(picked, n), f"free {free} had a run of {n}, picked {picked}"


def test_a_run_in_a_bigger_zone_beats_a_scattered_tight_fit() -> None:
    scattered = [FreeSeat(f"a{x}", "F1", "A", x, 0) for x in (0, 2, 4)]
    row = [FreeSeat(f"b{x}", "F1", "B", x, 0) for x in range(6)]
    other_floor = [FreeSeat(f"c{x}", "F2", "C", x * 2, 0) for x in range(3)]
    picked = allocate_seats(scattered + row + other_floor, 3)
    assert picked is not None
    assert [s.id for s in picked] == ["b0", "b1", "b2"]


def test_too_few_free_seats_or_nothing_asked() -> None:
    free = [FreeSeat(i, "F1", "A", i, 0) for i in range(3)]
    assert allocate_seats(free, 4) is None
    assert allocate_seats(free, 0) is None
    assert allocate_seats([], 1) is None


def test_many_floors_stay_fast_and_use_the_fewest_floors() -> None:
    free = [FreeSeat((f, i), f, "A", i % 10, i // 10) for f in range(40) for i in range(50)]
    picked = allocate_seats(free, 180)
    assert picked is not None
    assert len(picked) == 180
    assert _floors(picked) == 4


def _plan_pick(free: list[FreeSeat], n: int, *, with_runs: bool = True) -> tuple[list[FreeSeat] | None, list[tuple[object, str]]]:
    """ZonePlan as the booking service drives it: counts (and longest runs) per zone, then the
    seats of only the zones it asks for. Returns the pick and the zones it read."""
    zones: dict[tuple[object, str], list[FreeSeat]] = {}
    for s in free:
        zones.setdefault((s.floor, s.zone), []).append(s)
    plan = ZonePlan({z: len(v) for z, v in zones.items()}, n, runs=longest_runs(free) if with_runs else None)
    read: list[tuple[object, str]] = []
    while wanted := plan.wanted():
        assert not set(wanted) & set(read), "a zone read twice"
        read.extend(wanted)
        plan.add({z: zones[z] for z in wanted})
    return plan.result(), read


@settings(max_examples=400, deadline=None)
@given(small_maps())
def test_the_zone_plan_picks_what_allocate_seats_picks_reading_one_zone_when_a_run_fits(
    case: tuple[list[FreeSeat], int],
) -> None:
    free, n = case
    picked, read = _plan_pick(free, n)
    expected = allocate_seats(free, n)
    assert expected is not None
    assert picked is not None
    assert [s.id for s in picked] == [s.id for s in expected]
    if _has_run(free, n):
        assert len(read) == 1, f"read {read} although a run of {n} was free"
    # from the counts alone, reading zones in tie-break order: the same pick
    counted, _read = _plan_pick(free, n, with_runs=False)
    assert counted is not None
    assert [s.id for s in counted] == [s.id for s in expected]


def test_the_zone_plan_trusts_the_seats_over_stale_counts() -> None:
    # the counts and runs say zone A (the tightest) has a run of 3; by the time it is read
    # its seats are scattered, so the plan goes on to zone B's run
    a = [FreeSeat(f"a{x}", "F1", "A", x, 0) for x in (0, 2, 4)]
    b = [FreeSeat(f"b{x}", "F1", "B", x, 0) for x in range(6)]
    plan = ZonePlan({("F1", "A"): 3, ("F1", "B"): 6}, 3, runs={("F1", "A"): 3, ("F1", "B"): 6})
    assert plan.wanted() == [("F1", "A")]
    plan.add({("F1", "A"): a})
    assert plan.wanted() == [("F1", "B")]
    plan.add({("F1", "B"): b})
    picked = plan.result()
    assert picked is not None
    assert [s.id for s in picked] == ["b0", "b1", "b2"]
