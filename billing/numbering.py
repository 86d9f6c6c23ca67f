"""Gapless document numbers per issuing site: the counters a billing run and a single correction
(credit note, deposit refund) both take numbers from, so neither imports the other.

A counter row is locked by the transaction that issues documents for its site and written back
by the same transaction: a rolled-back issue gives its numbers back, and no two documents share
one. A run takes a whole batch's numbers with one lock and one write back, not one per invoice."""

from __future__ import annotations

import uuid
from typing import Any

# creates the counters it lacks and locks them all in one statement (DO UPDATE locks the row it
# meets, as FOR UPDATE would); the rows are met in site order, so two runs cannot deadlock
LOCK_SQL = """
INSERT INTO billing_number_sequences AS s (site_id, kind, next_number)
SELECT site_id, $2, 1 FROM unnest($1::uuid[]) AS u(site_id) ORDER BY site_id
ON CONFLICT (site_id, kind) DO UPDATE SET next_number = s.next_number
RETURNING site_id, next_number
"""

SAVE_SQL = """
UPDATE billing_number_sequences s SET next_number = u.next_number
FROM unnest($1::uuid[], $2::int[]) AS u(site_id, next_number)
WHERE s.site_id = u.site_id AND s.kind = $3
"""


async def next_numbers(conn: Any, site_ids: list[uuid.UUID], kind: str) -> dict[uuid.UUID, int]:
    """Lock the issuers' counters and return the next number of each."""
    rows = await conn.fetch(LOCK_SQL, sorted(set(site_ids)), kind)
    return {r["site_id"]: r["next_number"] for r in rows}


async def save_numbers(conn: Any, numbers: dict[uuid.UUID, int], kind: str) -> None:
    """Write back the next free number of each counter locked by `next_numbers`."""
    if numbers:
        await conn.execute(SAVE_SQL, list(numbers), list(numbers.values()), kind)
