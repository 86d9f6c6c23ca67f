"""The one rule "the seat an assignment's agent sits at on day D", for every reader.

A seat assignment names the agent's latest seat. A seat move (domain/leasing/moves.py) points the
assignment at the new seat as soon as it is made; until its date the agent still sits at the old
seat. So the seat on day D is the old seat of the move to the assigned seat that takes effect after
D, if there is one, else the assigned seat. A seat has at most one move to it still to come (the
use-case refuses a second one), so there is never more than one step back to take.

Readers: provisioning's desired state (the credentials and badge groups of the seat on the site's
today) and the lease read-models.
"""

from __future__ import annotations


def seat_on_sql(sa: str, day: str) -> str:
    """SQL: the seat the agent of the seat_assignments row ``sa`` sits at on ``day`` (an SQL date)."""
    return (
        f"COALESCE((SELECT mv.from_seat_id FROM lease_seat_moves mv WHERE mv.lease_id = {sa}.lease_id "
        f"AND mv.to_seat_id = {sa}.seat_id AND mv.effective_date > {day} ORDER BY mv.effective_date LIMIT 1), {sa}.seat_id)"
    )
