"""The renewal term rule against an obviously-correct oracle that walks the calendar."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.rules.renewal import renewal_window_starts, same_term_end, term_months

ONE = timedelta(days=1)


def walk_months(start: date, months: int) -> date:
    """The day `months` calendar months after `start` (clamped to that month's last day), by walking
    the calendar one day at a time and counting the months it enters."""
    day, entered = start, 0
    while entered < months:
        day += ONE
        if day.day == 1:
            entered += 1
    # `day` is the 1st of the target month: walk to the start's day-of-month, or the month's end
    while day.day < start.day and (day + ONE).month == day.month:
        day += ONE
    return day


def test_examples() -> None:
    assert same_term_end(date(2031, 1, 1), date(2031, 12, 31)) == date(2032, 12, 31)
    assert same_term_end(date(2031, 1, 16), date(2031, 7, 15)) == date(2032, 1, 15)
    assert same_term_end(date(2040, 7, 16), date(2041, 1, 15)) == date(2041, 7, 15)
    assert term_months(date(2031, 1, 16), date(2031, 7, 15)) == 6
    # not whole months: as many days again
    assert same_term_end(date(2031, 1, 1), date(2031, 1, 10)) == date(2031, 1, 20)
    assert term_months(date(2031, 1, 1), date(2031, 1, 10)) is None
    assert renewal_window_starts(date(2031, 3, 1), 60) == date(2030, 12, 31)


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2150, 12, 28)),
    months=st.integers(1, 60),
)
def test_a_whole_month_term_renews_for_as_many_months(start: date, months: int) -> None:
    following = walk_months(start, months)
    if following.day != start.day:
        return  # clamped (a 31st): not a whole-month term by this rule
    end = following - ONE
    assert term_months(start, end) == months
    new_end = same_term_end(start, end)
    assert new_end == walk_months(following, months) - ONE
    assert new_end > end


@given(start=st.dates(min_value=date(2000, 1, 1), max_value=date(2150, 1, 1)), days=st.integers(1, 1200))
def test_a_new_term_is_as_long_as_the_old_one(start: date, days: int) -> None:
    end = start + timedelta(days=days - 1)
    new_end = same_term_end(start, end)
    assert new_end > end
    if term_months(start, end) is None:
        assert (new_end - end).days == days
    else:  # whole months: the new term is as many whole months
        assert term_months(end + ONE, new_end) == term_months(start, end)
