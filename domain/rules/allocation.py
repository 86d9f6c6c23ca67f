"""Seat allocation: the seats of one lease sit together (PRODUCT.md rule 2).

Preference, in order: fewest floors, then fewest zones, then, inside a zone, seats that
are neighbours (fewest rows, no gaps within a row).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class FreeSeat:
    id: Hashable
    floor: Hashable
    zone: str
    x: int
    y: int


def _compactness(seats: Sequence[FreeSeat]) -> tuple[int, int, int]:
    rows = sorted({s.y for s in seats})
    gaps = 0
    by_row: dict[int, list[int]] = defaultdict(list)
    for s in seats:
        by_row[s.y].append(s.x)
    for xs in by_row.values():
        xs.sort()
        gaps += sum(b - a - 1 for a, b in zip(xs, xs[1:], strict=False))
    return (len(rows), gaps, rows[-1] - rows[0] if rows else 0)


def _best_block(zone_seats: Sequence[FreeSeat], n: int) -> list[FreeSeat]:
    """The most compact n seats of one zone: the best window in row-major order."""
    ordered = sorted(zone_seats, key=lambda s: (s.y, s.x))
    if n >= len(ordered):
        return list(ordered)
    best = min(
        (ordered[i : i + n] for i in range(len(ordered) - n + 1)),
        key=lambda w: (_compactness(w), w[0].y, w[0].x),
    )
    return list(best)


def _zones_needed(zone_sizes: list[int], n: int) -> int | None:
    total = 0
    for count, size in enumerate(sorted(zone_sizes, reverse=True), start=1):
        total += size
        if total >= n:
            return count
    return None


def allocate_seats(free: Sequence[FreeSeat], n: int) -> list[FreeSeat] | None:
    """Pick n of the free seats, or None when fewer than n are free."""
    if n <= 0 or len(free) < n:
        return None
    zones: dict[tuple[Hashable, str], list[FreeSeat]] = defaultdict(list)
    for seat in free:
        zones[(seat.floor, seat.zone)].append(seat)
    floors: dict[Hashable, list[tuple[Hashable, str]]] = defaultdict(list)
    for key in zones:
        floors[key[0]].append(key)
    floor_free = {f: sum(len(zones[z]) for z in keys) for f, keys in floors.items()}

    # fewest floors: the largest floors first is optimal for the count; then among the
    # floor sets of that size, the one needing fewest zones
    sizes = sorted(floor_free.values(), reverse=True)
    k = next(i for i in range(1, len(sizes) + 1) if sum(sizes[:i]) >= n)
    best: tuple[tuple[int, int], tuple[Hashable, ...]] | None = None
    floor_ids = sorted(floors, key=lambda f: (-floor_free[f], str(f)))
    for combo in combinations(floor_ids, k):
        if sum(floor_free[f] for f in combo) < n:
            continue
        needed = _zones_needed([len(zones[z]) for f in combo for z in floors[f]], n)
        assert needed is not None
        cand = ((needed, -sum(floor_free[f] for f in combo)), combo)
        if best is None or cand[0] < best[0]:
            best = cand
    assert best is not None
    chosen_floors = best[1]
    zone_keys = sorted(
        (z for f in chosen_floors for z in floors[f]), key=lambda z: (-len(zones[z]), str(z))
    )
    m = best[0][0]
    # take the m-1 largest zones whole, then the smallest zone that still covers the rest
    # (a tighter fit leaves bigger zones whole for the next lease)
    picked: list[FreeSeat] = []
    for z in zone_keys[: m - 1]:
        picked.extend(sorted(zones[z], key=lambda s: (s.y, s.x)))
    if len(picked) >= n:
        return picked[:n]
    remaining = n - len(picked)
    rest = [z for z in zone_keys[m - 1 :] if len(zones[z]) >= remaining]
    last = min(rest, key=lambda z: (len(zones[z]), str(z)))
    # with fewer than m-1 full zones we might overshoot; trim the last full zone instead
    picked.extend(_best_block(zones[last], remaining))
    return picked
