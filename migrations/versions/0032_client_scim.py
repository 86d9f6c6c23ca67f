"""a SCIM 2.0 endpoint per client

(Stub: filled in by the part of issue 14 that owns it; empty until then.)

Revision ID: 0032_client_scim
Revises: 0031_api_polish
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0032_client_scim"
down_revision: str | Sequence[str] | None = "0031_api_polish"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
