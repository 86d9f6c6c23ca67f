"""The one rule "the seat an assignment's agent sits at on day D", for every reader.

A seat assignment names the agent's latest seat. A seat move (domain/leasing/moves.py) points the
assignment at the new seat as soon as it is made; until its date the agent still sits at the old
seat. So the seat on day D is found by walking back from the assigned seat: the latest move into it
(before the step already taken) that takes effect after D brought the agent there from its old seat,
and so on; the walk stops at the first seat the agent already sat at on D. The use-case keeps the
moves of a seat going forward in time (a seat's next move takes effect after its last one), so each
step goes back in time and the walk ends.

Readers: provisioning's desired state (the credentials and badge groups of the seat on the site's
today).
"""

from __future__ import annotations


def seat_on_sql(sa: str, day: str) -> str:
    """SQL: the seat the agent of the seat_assignments row ``sa`` sits at on ``day`` (an SQL date)."""
    # the walk only for an assignment with a move into its seat after the day (an index probe on
    # (lease_id, to_seat_id)); every other assignment is at its seat, at no more cost than that probe
    return f"""CASE WHEN NOT EXISTS (SELECT 1 FROM lease_seat_moves mv0 WHERE mv0.lease_id = {sa}.lease_id
                     AND mv0.to_seat_id = {sa}.seat_id AND mv0.effective_date > {day}) THEN {sa}.seat_id
    ELSE (WITH RECURSIVE back(seat, since) AS (
      SELECT {sa}.seat_id, 'infinity'::date
      UNION ALL
      SELECT prev.from_seat_id, prev.effective_date FROM back
      CROSS JOIN LATERAL (SELECT mv.from_seat_id, mv.effective_date FROM lease_seat_moves mv
                          WHERE mv.lease_id = {sa}.lease_id AND mv.to_seat_id = back.seat AND mv.effective_date < back.since
                          ORDER BY mv.effective_date DESC LIMIT 1) prev
      WHERE prev.effective_date > {day}
    ) SELECT seat FROM back ORDER BY since LIMIT 1) END"""
