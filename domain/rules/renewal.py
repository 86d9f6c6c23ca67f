"""Renewal dates of a fixed-term lease: the same term again, and when a term is up for renewal.

Pure functions over dates (tested against an obviously-correct day-walking oracle)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, clamped to the month's last day (Jan 31 + 1 = Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def term_months(term_start: date, term_end: date) -> int | None:
    """The term's length in whole calendar months (a 12-month term runs Jan 16 → Jan 15), else None."""
    following = term_end + ONE_DAY
    months = (following.year - term_start.year) * 12 + following.month - term_start.month
    return months if months >= 1 and add_months(term_start, months) == following else None


def same_term_end(term_start: date, term_end: date) -> date:
    """The last day of a new term as long as this one, starting the day after it ends: as many whole
    months when the term is whole months (contracts are written so), else as many days."""
    following = term_end + ONE_DAY
    months = term_months(term_start, term_end)
    if months is not None:
        return add_months(following, months) - ONE_DAY
    return term_end + (term_end - term_start + ONE_DAY)


def renewal_window_starts(term_end: date, window_days: int) -> date:
    """The first day a term ending on `term_end` shows as up for renewal."""
    return term_end - timedelta(days=window_days)
