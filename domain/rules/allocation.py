"""Seat allocation: the seats of one lease sit together (PRODUCT.md rule 2).

Preference, in order: fewest floors, then fewest zones, then, inside a zone, seats that
are neighbours (fewest rows, no gaps within a row, fewest rows spanned), then the zone that
fits tightest (bigger zones stay whole for the next lease).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import accumulate, combinations

# above this many floor combinations, take the largest floors (still the fewest floors)
MAX_FLOOR_COMBINATIONS = 2000


@dataclass(frozen=True)
class FreeSeat:
    id: Hashable
    floor: Hashable
    zone: str
    x: int
    y: int


def _compactness(seats: Sequence[FreeSeat]) -> tuple[int, int, int]:
    """(rows used, empty places between seats of one row, rows spanned); smaller is tighter."""
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
    """The most compact n seats of one zone: the best window of n in row-major order.

    A run of n adjacent seats in one row is such a window, so it is found when one exists.
    Each window is scored in O(1) from prefix sums, so this is linear in the zone's size.
    """
    ordered = sorted(zone_seats, key=lambda s: (s.y, s.x))
    if n >= len(ordered):
        return list(ordered)
    ys = [s.y for s in ordered]
    row_rank = list(accumulate((1 if i and ys[i] != ys[i - 1] else 0) for i in range(len(ys))))
    pair_gaps = [
        (ordered[i + 1].x - ordered[i].x - 1) if ys[i + 1] == ys[i] else 0 for i in range(len(ordered) - 1)
    ]
    gap_prefix = [0, *accumulate(pair_gaps)]
    best_i, best_key = 0, None
    for i in range(len(ordered) - n + 1):
        j = i + n - 1
        key = (row_rank[j] - row_rank[i] + 1, gap_prefix[j] - gap_prefix[i], ys[j] - ys[i])
        if best_key is None or key < best_key:
            best_i, best_key = i, key
    return ordered[best_i : best_i + n]


def _zones_needed(zone_sizes: list[int], n: int) -> int | None:
    total = 0
    for count, size in enumerate(sorted(zone_sizes, reverse=True), start=1):
        total += size
        if total >= n:
            return count
    return None


def allocate_seats(free: Sequence[FreeSeat], n: int) -> list[FreeSeat] | None:
    """Pick n of the free seats, or None when fewer than n are free.

    The pick uses as few floors as possible, then as few zones as possible on those floors;
    a run of n neighbouring seats in one row is chosen whenever one exists."""
    if n <= 0 or len(free) < n:
        return None
    zones: dict[tuple[Hashable, str], list[FreeSeat]] = defaultdict(list)
    for seat in free:
        zones[(seat.floor, seat.zone)].append(seat)
    floors: dict[Hashable, list[tuple[Hashable, str]]] = defaultdict(list)
    for key in zones:
        floors[key[0]].append(key)
    floor_free = {f: sum(len(zones[z]) for z in keys) for f, keys in floors.items()}

    # fewest floors: taking the largest floors first gives the smallest count
    sizes = sorted(floor_free.values(), reverse=True)
    k = next(i for i in range(1, len(sizes) + 1) if sum(sizes[:i]) >= n)
    floor_ids = sorted(floors, key=lambda f: (-floor_free[f], str(f)))
    combos: Sequence[tuple[Hashable, ...]] | combinations[Hashable]
    if math.comb(len(floor_ids), k) > MAX_FLOOR_COMBINATIONS:
        combos = [tuple(floor_ids[:k])]
    else:
        combos = combinations(floor_ids, k)

    best: tuple[tuple[object, ...], list[tuple[Hashable, str]], list[FreeSeat]] | None = None
    for combo in combos:
        if sum(floor_free[f] for f in combo) < n:
            continue
        zone_keys = sorted((z for f in combo for z in floors[f]), key=lambda z: (-len(zones[z]), str(z)))
        m = _zones_needed([len(zones[z]) for z in zone_keys], n)
        assert m is not None
        if best is not None and m > best[0][0]:  # type: ignore[operator]
            continue
        # the m-1 largest zones whole, then the zone that holds the rest most compactly
        whole = zone_keys[: m - 1]
        remaining = n - sum(len(zones[z]) for z in whole)
        for last in zone_keys[m - 1 :]:
            if len(zones[last]) < remaining:
                break  # sorted by size: no later zone is big enough either
            block = _best_block(zones[last], remaining)
            score = (m, _compactness(block), len(zones[last]), -sum(floor_free[f] for f in combo), str(last))
            if best is None or score < best[0]:
                best = (score, whole, block)
    assert best is not None
    _score, whole, block = best
    picked: list[FreeSeat] = []
    for z in whole:
        picked.extend(sorted(zones[z], key=lambda s: (s.y, s.x)))
    picked.extend(block)
    return picked
