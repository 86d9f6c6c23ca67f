"""Which time zones a site can be in: real IANA zones, not the host's aliases and copies."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# names in PostgreSQL's and Python's time zone databases that are not IANA zones a site can be in
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_NOT_ZONE_PREFIXES = ("posix/", "right/", "SystemV/")


@cache
def site_timezones() -> tuple[str, ...]:
    """Every zone Python knows that a site can be in, sorted (the API schema's enum)."""
    return tuple(sorted(z for z in available_timezones() if z not in _NOT_ZONES and not z.startswith(_NOT_ZONE_PREFIXES)))


def is_site_timezone(name: str) -> bool:
    """Python's half of the rule (domain/services/catalog.py ``check_timezone`` adds PostgreSQL's)."""
    if name not in frozenset(site_timezones()):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# --- invoices dated as issued (issue 12) ---
def local_day(instant: datetime, zone: str) -> date:
    """The calendar day an instant falls on at a site: an invoice issued at 18:00 UTC on the 27th in
    Manila (UTC+8) is dated the 28th."""
    if instant.tzinfo is None:
        raise ValueError("an instant carries its offset")
    return instant.astimezone(ZoneInfo(zone)).date()
