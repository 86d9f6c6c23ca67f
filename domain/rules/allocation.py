"""Seat allocation: the seats of one lease sit together (PRODUCT.md rule 2).

Preference, in order: fewest floors, then fewest zones, then, inside a zone, seats that
are neighbours (fewest rows, no gaps within a row, fewest rows spanned), then the zone that
fits tightest (bigger zones stay whole for the next lease).

The choice of floors and zones needs only the number of free seats per zone; ``ZonePlan``
makes it from those counts and asks for the seats of just the zones it must score.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, combinations, pairwise

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
        gaps += sum(b - a - 1 for a, b in pairwise(xs))
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
    pair_gaps = [(ordered[i + 1].x - ordered[i].x - 1) if ys[i + 1] == ys[i] else 0 for i in range(len(ordered) - 1)]
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


ZoneKey = tuple[Hashable, str]
# the most compact block there is: one row, no gaps (a run of neighbours)
_PERFECT = (1, 0, 0)


@dataclass(frozen=True)
class _Candidate:
    whole: tuple[ZoneKey, ...]  # zones taken whole (the m-1 largest of the floors chosen)
    last: ZoneKey  # the zone that holds the rest
    remaining: int
    order: tuple[int, int, str, int]  # the tie-break after compactness: tightest zone, fullest floors, name, first


def _candidates(sizes: Mapping[ZoneKey, int], n: int) -> list[_Candidate]:
    """Every (floors, whole zones, last zone) pick with the fewest floors, then the fewest zones,
    in tie-break order. Only counts are needed: the seats matter only for compactness."""
    floors: dict[Hashable, list[ZoneKey]] = defaultdict(list)
    for key, size in sizes.items():
        if size > 0:
            floors[key[0]].append(key)
    floor_free = {f: sum(sizes[z] for z in keys) for f, keys in floors.items()}
    if n <= 0 or sum(floor_free.values()) < n:
        return []

    # fewest floors: taking the largest floors first gives the smallest count
    ordered_sizes = sorted(floor_free.values(), reverse=True)
    k = next(i for i in range(1, len(ordered_sizes) + 1) if sum(ordered_sizes[:i]) >= n)
    floor_ids = sorted(floors, key=lambda f: (-floor_free[f], str(f)))
    combos: Sequence[tuple[Hashable, ...]] | combinations[Hashable]
    combos = [tuple(floor_ids[:k])] if math.comb(len(floor_ids), k) > MAX_FLOOR_COMBINATIONS else combinations(floor_ids, k)

    found: list[tuple[int, _Candidate]] = []
    best_m: int | None = None
    for combo in combos:
        combo_free = sum(floor_free[f] for f in combo)
        if combo_free < n:
            continue
        zone_keys = sorted((z for f in combo for z in floors[f]), key=lambda z: (-sizes[z], str(z)))
        m = _zones_needed([sizes[z] for z in zone_keys], n)
        assert m is not None
        if best_m is not None and m > best_m:
            continue
        best_m = m if best_m is None else min(best_m, m)
        whole = tuple(zone_keys[: m - 1])
        remaining = n - sum(sizes[z] for z in whole)
        for last in zone_keys[m - 1 :]:
            if sizes[last] < remaining:
                break  # sorted by size: no later zone is big enough either
            order = (sizes[last], -combo_free, str(last), len(found))
            found.append((m, _Candidate(whole, last, remaining, order)))
    return sorted((c for m, c in found if m == best_m), key=lambda c: c.order)


class ZonePlan:
    """The allocation of n seats from the number of free seats per (floor, zone), reading the
    seats of only the zones it must look at.

        plan = ZonePlan(counts, n, runs=longest_runs)
        while wanted := plan.wanted():
            plan.add({zone: free seats of zone for zone in wanted})
        picked = plan.result()

    Floors and zones are chosen from the counts alone; among the zones that could hold the
    rest, the most compact block wins, then the tie-break order (tightest zone first). A run of
    neighbours in one row is the most compact block there is, so with ``runs`` (the longest run
    of neighbouring free seats in one row of each zone) the first zone in tie-break order with
    a long enough run wins, and only its seats are read; zones without ``runs`` are read (1, 2,
    4, ... zones a read, in tie-break order) before they can be passed over. The seats given
    for a zone are its truth: when they differ from the counts or runs (which were read a
    moment earlier), the plan is made again from them."""

    def __init__(
        self,
        counts: Mapping[ZoneKey, int],
        n: int,
        *,
        runs: Mapping[ZoneKey, int] | None = None,
        known: Mapping[ZoneKey, Sequence[FreeSeat]] | None = None,
    ) -> None:
        """``known``: zones whose free seats were read already (they override counts and runs)."""
        self.n = n
        self.sizes = {k: v for k, v in counts.items() if v > 0}
        self.runs = dict(runs or {})
        self.seats: dict[ZoneKey, list[FreeSeat]] = {}
        self._blocks: dict[tuple[ZoneKey, int], tuple[tuple[int, int, int], list[FreeSeat]]] = {}
        self._decided: tuple[_Candidate | None, list[ZoneKey]] | None = None
        # zones without runs are read in tie-break order, 1, 2, 4, ... at a time
        self._batch = 1
        self.add(known or {})
        self._batch = 1

    @property
    def free_count(self) -> int:
        return sum(self.sizes.values())

    def add(self, zone_seats: Mapping[ZoneKey, Sequence[FreeSeat]]) -> None:
        if zone_seats:
            self._batch *= 2
        for key, seats in zone_seats.items():
            self.seats[key] = list(seats)
            if seats:
                self.sizes[key] = len(seats)
            else:
                self.sizes.pop(key, None)
        self._decided = None

    def _block(self, zone: ZoneKey, remaining: int) -> tuple[tuple[int, int, int], list[FreeSeat]]:
        got = self._blocks.get((zone, remaining))
        if got is None:
            block = _best_block(self.seats[zone], remaining)
            got = self._blocks[zone, remaining] = (_compactness(block), block)
        return got

    def _decide(self) -> tuple[_Candidate | None, list[ZoneKey]]:  # noqa: C901 — the allocation decision is a ranked list of cases, each tested by the Hypothesis oracle
        if self._decided is not None:
            return self._decided
        cands = _candidates(self.sizes, self.n)
        unread: list[ZoneKey] = []  # zones ahead of the winner whose compactness is not known
        winner: _Candidate | None = None
        for cand in cands:
            if cand.last in self.seats:
                if self._block(cand.last, cand.remaining)[0] == _PERFECT:
                    winner = cand
                    break  # later candidates lose the tie-break even with a run of their own
            elif cand.last in self.runs:
                if self.runs[cand.last] >= cand.remaining:
                    winner = cand  # a run: the most compact block, found by _best_block once read
                    break
            elif cand.last not in unread:
                unread.append(cand.last)
                if len(unread) >= self._batch:
                    break  # read these first: one of them may hold a run
        if unread:
            self._decided = (None, unread)
        elif winner is not None:
            wanted = [z for z in (winner.last, *winner.whole) if z not in self.seats]
            self._decided = (None if wanted else winner, wanted)
        else:
            # no run anywhere: every candidate's block is scored
            missing = list(dict.fromkeys(c.last for c in cands if c.last not in self.seats))
            if missing:
                self._decided = (None, missing)
            elif not cands:
                self._decided = (None, [])
            else:
                best = min(cands, key=lambda c: (self._block(c.last, c.remaining)[0], c.order))
                wanted = [z for z in best.whole if z not in self.seats]
                self._decided = (None if wanted else best, wanted)
        return self._decided

    def wanted(self) -> list[ZoneKey]:
        """The zones whose free seats must be read next; empty when the pick is decided."""
        return self._decide()[1]

    def result(self) -> list[FreeSeat] | None:
        """The pick (whole zones in row order, then the block), or None when fewer than n are free."""
        cand, wanted = self._decide()
        assert not wanted, "read the wanted zones first"
        if cand is None:
            return None
        picked: list[FreeSeat] = []
        for z in cand.whole:
            picked.extend(sorted(self.seats[z], key=lambda s: (s.y, s.x)))
        picked.extend(self._block(cand.last, cand.remaining)[1])
        return picked


def longest_runs(seats: Sequence[FreeSeat]) -> dict[ZoneKey, int]:
    """The longest run of neighbouring seats (one row, consecutive x) in each zone."""
    rows: dict[tuple[Hashable, str, int], set[int]] = defaultdict(set)
    for s in seats:
        rows[(s.floor, s.zone, s.y)].add(s.x)
    out: dict[ZoneKey, int] = {}
    for (floor, zone, _y), xs in rows.items():
        longest = 0
        for x in xs:
            if x - 1 not in xs:
                end = x
                while end + 1 in xs:
                    end += 1
                longest = max(longest, end - x + 1)
        out[(floor, zone)] = max(out.get((floor, zone), 0), longest)
    return out


def allocate_seats(free: Sequence[FreeSeat], n: int) -> list[FreeSeat] | None:
    """Pick n of the free seats, or None when fewer than n are free.

    The pick uses as few floors as possible, then as few zones as possible on those floors;
    a run of n neighbouring seats in one row is chosen whenever one exists."""
    if n <= 0 or len(free) < n:
        return None
    zones: dict[ZoneKey, list[FreeSeat]] = defaultdict(list)
    for seat in free:
        zones[(seat.floor, seat.zone)].append(seat)
    plan = ZonePlan({k: len(v) for k, v in zones.items()}, n, known=zones)
    assert not plan.wanted()
    return plan.result()
