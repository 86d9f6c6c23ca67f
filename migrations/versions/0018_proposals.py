"""proposals and holds: a lease may be `proposed` (its seats held until hold_expires_at), with
the times it was proposed and accepted

Revision ID: 0018_proposals
Revises: 0017_lease_renewal
Create Date: 2026-11-30
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_proposals"
down_revision: str | Sequence[str] | None = "0017_lease_renewal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("hold_expires_at", "proposed_at", "accepted_at")


def _statuses() -> list[str]:
    # read what the constraint allows now, so that statuses other revisions add are kept
    text = op.get_bind().scalar(sa.text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_leases_status'"))
    return re.findall(r"'([a-z_]+)'", str(text))


def _set_statuses(values: list[str]) -> None:
    op.drop_constraint(op.f("ck_leases_status"), "leases", type_="check")
    op.create_check_constraint(op.f("ck_leases_status"), "leases", "status IN (" + ",".join(f"'{v}'" for v in values) + ")")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("leases", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    values = _statuses()
    if "proposed" not in values:
        _set_statuses([*values, "proposed"])


def downgrade() -> None:
    op.execute("UPDATE lease_seats SET voided = true WHERE lease_id IN (SELECT id FROM leases WHERE status = 'proposed')")
    op.execute("UPDATE leases SET status = 'cancelled', cancelled_at = now() WHERE status = 'proposed'")
    _set_statuses([v for v in _statuses() if v != "proposed"])
    for name in reversed(COLUMNS):
        op.drop_column("leases", name)
