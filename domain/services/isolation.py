"""Per-site isolation of the worker's passes: which failures one site's data can cause.

A pass works site by site, each in a savepoint. A failure that one site's records can cause (an
invalid time zone stored before it was validated, a bad row) rolls back that site's savepoint and
is reported; the other sites go on. A failure of the database itself (unreachable, a lock or
statement timeout, a serialization failure, a pool that gives no connection) fails the whole pass,
which the loop retries: skipping every site and calling the pass complete would hide it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

# SQLSTATE classes that say the database, not the data, is the problem
_SYSTEM_CLASSES = ("08", "40", "53", "54", "55", "57", "58", "XX")


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None), exc):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def site_local(exc: BaseException) -> bool:
    """True when `exc` may come from one site's data and the pass should go on with the others."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return False
        code = _sqlstate(exc)
        return code is None or code[:2] not in _SYSTEM_CLASSES
    if isinstance(exc, SQLAlchemyError | OSError | TimeoutError):
        return False
    return isinstance(exc, Exception)


def failure(site_id: Any, code: str, pass_name: str, exc: BaseException) -> dict[str, Any]:
    """How a site's failure is reported in a pass result (and in /healthz through the worker's liveness row)."""
    return {
        "site_id": str(site_id),
        "code": code,
        "pass": pass_name,
        "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300],
    }
