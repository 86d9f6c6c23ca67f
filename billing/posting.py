"""When a payment counts: the one rule the journal, statements and aging share.

A payment is posted on the day it cleared (``paid_on``). A cleared payment voided later (a cheque
that bounces) stays posted in its own month, so an exported month never changes, and is reversed
on the day it was voided (``voided_on``). A payment voided before it ever cleared (a held
post-dated cheque) was never posted. The SQL below reads a ``payments`` row aliased ``p``.
"""

from __future__ import annotations

POSTED = "(p.status = 'cleared' OR (p.status = 'void' AND p.voided_from = 'cleared'))"

# posted, and voided later: reversed on p.voided_on
REVERSED = "(p.status = 'void' AND p.voided_from = 'cleared')"


def standing_on(day: str) -> str:
    """Posted and not yet reversed at the end of ``day`` (an SQL expression or parameter)."""
    return f"({POSTED} AND (p.voided_on IS NULL OR p.voided_on > {day}))"
