"""The ticket workflow's rules, against an obviously-correct table of who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.rules import ticket_flow as flow

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
statuses = st.sampled_from(flow.STATUSES)
# the workflow written out as people say it: the oracle the rules are checked against
STAFF_MOVES = {
    ("new", "acknowledged"), ("new", "in_progress"), ("new", "waiting_on_client"), ("new", "resolved"),
    ("acknowledged", "in_progress"), ("acknowledged", "waiting_on_client"), ("acknowledged", "resolved"),
    ("in_progress", "waiting_on_client"), ("in_progress", "resolved"),
    ("waiting_on_client", "in_progress"), ("waiting_on_client", "resolved"),
    ("resolved", "in_progress"), ("resolved", "closed"),
}  # fmt: skip
CLIENT_MOVES = {("resolved", "in_progress"), ("resolved", "closed")}


@given(statuses, statuses, st.booleans(), st.integers(min_value=0, max_value=30), st.integers(min_value=-5, max_value=60))
def test_a_move_is_allowed_exactly_when_the_table_says(frm: str, to: str, staff: bool, days: int, age_days: int) -> None:
    resolved_at = T0 if frm == "resolved" else None
    now = T0 + timedelta(days=age_days, seconds=1)
    verdict = flow.refusal(frm, to, staff=staff, resolved_at=resolved_at, now=now, reopen_days=days)
    in_window = resolved_at is not None and now <= resolved_at + timedelta(days=days)
    expected = (frm, to) in STAFF_MOVES if staff else (frm, to) in CLIENT_MOVES and (to != "in_progress" or in_window)
    assert (verdict is None) == expected
    if verdict is not None and (frm, to) not in STAFF_MOVES:
        assert verdict.kind == "invalid"
    if verdict is not None and not staff and (frm, to) in STAFF_MOVES - CLIENT_MOVES:
        assert verdict.kind == "forbidden"


def test_closed_is_final_for_everyone() -> None:
    for to in flow.STATUSES:
        assert flow.refusal("closed", to, staff=True, resolved_at=T0, now=T0, reopen_days=7) is not None
    assert flow.staff_targets("closed") == []
    assert not flow.accepts_comments("closed")


def test_a_client_reopens_within_the_window_and_not_one_second_later() -> None:
    deadline = flow.reopen_deadline(T0, 7)
    assert deadline == T0 + timedelta(days=7)
    assert flow.refusal("resolved", "in_progress", staff=False, resolved_at=T0, now=deadline, reopen_days=7) is None
    late = flow.refusal(
        "resolved", "in_progress", staff=False, resolved_at=T0, now=deadline + timedelta(seconds=1), reopen_days=7
    )
    assert late is not None
    assert late.kind == "expired"
    # staff reopen a resolved ticket at any time, confirm is allowed to the client after the window too
    assert (
        flow.refusal("resolved", "in_progress", staff=True, resolved_at=T0, now=deadline + timedelta(days=30), reopen_days=7)
        is None
    )
    assert (
        flow.refusal("resolved", "closed", staff=False, resolved_at=T0, now=deadline + timedelta(days=1), reopen_days=7) is None
    )
    assert flow.is_reopen("resolved", "in_progress")
    assert not flow.is_reopen("waiting_on_client", "in_progress")


@given(st.integers(min_value=0, max_value=30), st.integers(min_value=-100, max_value=100_000))
def test_auto_close_comes_exactly_after_the_reopen_window(days: int, minutes_after: int) -> None:
    now = flow.reopen_deadline(T0, days) + timedelta(minutes=minutes_after)
    assert flow.due_for_auto_close("resolved", T0, now, days) == (minutes_after > 0)
    # a client can no longer reopen what the worker may close, and could up to then
    assert flow.within_reopen_window(T0, now, days) == (minutes_after <= 0)
    for other in set(flow.STATUSES) - {"resolved"}:
        assert not flow.due_for_auto_close(other, T0, now, days)


def test_the_client_buttons_and_its_answer() -> None:
    assert flow.client_targets("resolved", T0, T0 + timedelta(days=1), 7) == ["in_progress", "closed"]
    assert flow.client_targets("resolved", T0, T0 + timedelta(days=8), 7) == ["closed"]
    assert flow.client_targets("in_progress", None, T0, 7) == []
    assert flow.client_answer_moves("waiting_on_client") == "in_progress"
    assert flow.client_answer_moves("in_progress") is None
    assert flow.counts_as_response(staff=True, public=True)
    assert not flow.counts_as_response(staff=True, public=False)
    assert not flow.counts_as_response(staff=False, public=True)
