"""Gapless document numbers per issuing site: the counters a billing run and a single correction
(credit note, deposit refund) both take numbers from, so neither imports the other."""

from __future__ import annotations

import uuid
from typing import Any


async def next_numbers(conn: Any, site_ids: list[uuid.UUID], kind: str) -> dict[uuid.UUID, int]:
    """Lock the issuers' counters (in a fixed order, so two runs cannot deadlock)."""
    site_ids = sorted(set(site_ids))
    await conn.executemany(
        "INSERT INTO billing_number_sequences (site_id, kind, next_number) VALUES ($1, $2, 1) ON CONFLICT DO NOTHING",
        [(s, kind) for s in site_ids],
    )
    rows = await conn.fetch(
        "SELECT site_id, next_number FROM billing_number_sequences WHERE kind = $2 AND site_id = ANY($1::uuid[]) "
        "ORDER BY site_id FOR UPDATE",
        site_ids,
        kind,
    )
    return {r["site_id"]: r["next_number"] for r in rows}


async def save_numbers(conn: Any, numbers: dict[uuid.UUID, int], kind: str) -> None:
    await conn.executemany(
        "UPDATE billing_number_sequences SET next_number = $2 WHERE site_id = $1 AND kind = $3",
        [(s, n, kind) for s, n in numbers.items()],
    )
