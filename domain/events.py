"""Side effects that leave a use-case, in one place.

`leases_changed` wakes the provisioning reconciler (its workers LISTEN on `LEASES_CHANNEL`). The
notification is transactional: PostgreSQL delivers it when the use-case's transaction commits, and
drops it on rollback, so a wake-up never announces a change that did not happen.
"""

from __future__ import annotations

import re

from sqlalchemy import func, literal_column
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

LEASES_CHANNEL = "seatlease_leases"


def leases_changed_expr(payload: str = "") -> ColumnElement[object]:
    """The wake-up as a column expression, for a use-case that folds it into a query it runs anyway.

    Written as literals (the payload is one of our own words), so the statement stays the same text."""
    if not re.fullmatch(r"[a-z_]*", payload):
        raise ValueError("a wake-up payload is a lower-case word")
    return func.pg_notify(literal_column(f"'{LEASES_CHANNEL}'"), literal_column(f"'{payload}'"))


async def leases_changed(session: AsyncSession, payload: str = "") -> None:
    """Wake the provisioning reconciler once this transaction commits."""
    await session.execute(leases_changed_expr(payload).select())
