"""finance month-end: the shared schema of issue 12

- ``invoices.kind`` (``run`` or ``one_off``): the (client, site, period) identity that makes a run
  idempotent now holds for run invoices only (a partial unique index), so finance can raise one-off
  invoices beside them; the status gains ``partially_paid``.
- ``invoice_lines``: how each line was taxed (``tax_treatment``, ``tax_rate``), and the ``reason``
  and author of a one-off line (kind ``one_off``).
- ``payments`` become money received (method, status — a post-dated cheque is ``held`` —, reference,
  who recorded it); what a payment pays is in ``payment_allocations`` (one per invoice, with the tax
  the client withheld on it). Existing payments move to one allocation each. What is not allocated
  is the client's credit balance; ``credit_refunds`` pay part of it back.
- ``withholding_certificates``: a client's certificate per quarter (BIR Form 2307).
- ``clients``: tax treatment (with the reason and certificate of a zero-rated or exempt client),
  the withholding rate, an exclusion from payment reminders.
- ``sites``: the issuing entity (legal name, tax id, invoice footer; the address exists).

Revision ID: 0021_finance_schema
Revises: 0020_email_outbox
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_finance_schema"
down_revision: str | Sequence[str] | None = "0020_email_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METHODS = "method IN ('bank_transfer','cheque','cash','card','stripe')"


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _created() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    # invoices: kind, partially_paid, the run identity for run invoices only
    op.add_column("invoices", sa.Column("kind", sa.String(length=16), server_default="run", nullable=False))
    op.create_check_constraint("kind", "invoices", "kind IN ('run','one_off')")
    op.drop_constraint(op.f("ck_invoices_status"), "invoices", type_="check")
    op.create_check_constraint("status", "invoices", "status IN ('draft','issued','partially_paid','paid','void')")
    op.drop_constraint(op.f("uq_invoices_client_id_site_id_period"), "invoices", type_="unique")
    op.create_index(
        "uq_invoices_client_id_site_id_period",
        "invoices",
        ["client_id", "site_id", "period"],
        unique=True,
        postgresql_where=sa.text("kind = 'run'"),
    )

    # invoice lines: tax treatment and rate, one-off lines
    op.add_column("invoice_lines", sa.Column("tax_treatment", sa.String(length=16), server_default="standard", nullable=False))
    op.add_column("invoice_lines", sa.Column("tax_rate", sa.Numeric(6, 4), nullable=True))
    op.add_column("invoice_lines", sa.Column("reason", sa.String(length=500), nullable=True))
    op.add_column("invoice_lines", sa.Column("created_by", sa.UUID(), nullable=True))
    op.create_check_constraint("tax_treatment", "invoice_lines", "tax_treatment IN ('standard','zero_rated','exempt')")
    op.drop_constraint(op.f("ck_invoice_lines_kind"), "invoice_lines", type_="check")
    op.create_check_constraint(
        "kind",
        "invoice_lines",
        "kind IN ('seat','addon','addon_one_time','inclusion','setup_fee','deposit','discount','cancellation_fee',"
        "'credit_transfer','termination_fee','one_off')",
    )
    # the rate each existing line was taxed at: its site's
    op.execute(
        "UPDATE invoice_lines l SET tax_rate = s.tax_rate FROM invoices i JOIN sites s ON s.id = i.site_id"
        " WHERE i.id = l.invoice_id"
    )

    # payments: money received; allocations say what it pays
    op.create_table(
        "payment_allocations",
        _id(),
        _created(),
        sa.Column("payment_id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("withheld_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("allocated_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "amount_minor >= 0 AND withheld_minor >= 0 AND amount_minor + withheld_minor > 0",
            name=op.f("ck_payment_allocations_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_allocations_payment_id_payments"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_payment_allocations_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_allocations")),
    )
    op.create_index(op.f("ix_payment_allocations_payment_id"), "payment_allocations", ["payment_id"])
    op.create_index(op.f("ix_payment_allocations_invoice_id"), "payment_allocations", ["invoice_id"])
    op.execute(
        "INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor, allocated_on, created_at)"
        " SELECT id, invoice_id, amount_minor, paid_on, created_at FROM payments"
    )
    op.drop_index(op.f("ix_payments_invoice_id"), table_name="payments")
    op.drop_constraint(op.f("fk_payments_invoice_id_invoices"), "payments", type_="foreignkey")
    op.drop_column("payments", "invoice_id")
    op.add_column("payments", sa.Column("method", sa.String(length=16), server_default="stripe", nullable=False))
    op.add_column("payments", sa.Column("status", sa.String(length=16), server_default="cleared", nullable=False))
    op.add_column("payments", sa.Column("reference", sa.String(length=255), server_default="", nullable=False))
    op.add_column("payments", sa.Column("received_on", sa.Date(), nullable=True))
    op.add_column("payments", sa.Column("recorded_by", sa.UUID(), nullable=True))
    op.alter_column("payments", "source_ref", existing_type=sa.String(length=255), nullable=True)
    op.create_check_constraint("method", "payments", METHODS)
    op.create_check_constraint("status", "payments", "status IN ('held','cleared','void')")
    op.create_check_constraint("positive", "payments", "amount_minor > 0")

    op.create_table(
        "credit_refunds",
        _id(),
        _created(),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=255), server_default="", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_credit_refunds_positive")),
        sa.CheckConstraint(METHODS, name=op.f("ck_credit_refunds_method")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_credit_refunds_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_refunds")),
    )
    op.create_index(op.f("ix_credit_refunds_client_id"), "credit_refunds", ["client_id"])

    op.create_table(
        "withholding_certificates",
        _id(),
        _created(),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=255), server_default="", nullable=False),
        sa.Column("recorded_by", sa.UUID(), nullable=True),
        sa.CheckConstraint("quarter BETWEEN 1 AND 4", name=op.f("ck_withholding_certificates_quarter")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_withholding_certificates_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withholding_certificates")),
        sa.UniqueConstraint("client_id", "year", "quarter", name=op.f("uq_withholding_certificates_client_id_year_quarter")),
    )
    op.create_index(op.f("ix_withholding_certificates_client_id"), "withholding_certificates", ["client_id"])

    # clients: tax treatment, withholding, reminders
    op.add_column("clients", sa.Column("tax_treatment", sa.String(length=16), server_default="standard", nullable=False))
    op.add_column("clients", sa.Column("tax_exemption_reason", sa.String(length=300), server_default="", nullable=False))
    op.add_column("clients", sa.Column("tax_certificate_ref", sa.String(length=100), server_default="", nullable=False))
    op.add_column("clients", sa.Column("withholding_rate", sa.Numeric(5, 4), server_default="0", nullable=False))
    op.add_column("clients", sa.Column("dunning_excluded", sa.Boolean(), server_default="false", nullable=False))
    op.create_check_constraint("tax_treatment", "clients", "tax_treatment IN ('standard','zero_rated','exempt')")
    op.create_check_constraint("withholding_rate", "clients", "withholding_rate >= 0 AND withholding_rate < 1")

    # sites: the issuing entity
    op.add_column("sites", sa.Column("legal_name", sa.String(length=300), server_default="", nullable=False))
    op.add_column("sites", sa.Column("tax_id", sa.String(length=64), server_default="", nullable=False))
    op.add_column("sites", sa.Column("invoice_footer", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    # a payment goes back to paying one invoice: refused while any pays several or none
    op.execute(
        """DO $$ BEGIN
             IF EXISTS (SELECT 1 FROM payments p WHERE (SELECT count(*) FROM payment_allocations a
                                                       WHERE a.payment_id = p.id) <> 1) THEN
               RAISE EXCEPTION 'payments allocated to several invoices (or none) cannot go back to 0020';
             END IF;
           END $$"""
    )
    op.drop_column("sites", "invoice_footer")
    op.drop_column("sites", "tax_id")
    op.drop_column("sites", "legal_name")
    op.drop_constraint(op.f("ck_clients_withholding_rate"), "clients", type_="check")
    op.drop_constraint(op.f("ck_clients_tax_treatment"), "clients", type_="check")
    for col in ("dunning_excluded", "withholding_rate", "tax_certificate_ref", "tax_exemption_reason", "tax_treatment"):
        op.drop_column("clients", col)
    op.drop_table("withholding_certificates")
    op.drop_table("credit_refunds")
    op.add_column("payments", sa.Column("invoice_id", sa.UUID(), nullable=True))
    op.execute("UPDATE payments p SET invoice_id = a.invoice_id FROM payment_allocations a WHERE a.payment_id = p.id")
    op.execute("DELETE FROM payments WHERE source_ref IS NULL")
    op.alter_column("payments", "invoice_id", nullable=False)
    op.alter_column("payments", "source_ref", existing_type=sa.String(length=255), nullable=False)
    op.create_foreign_key(op.f("fk_payments_invoice_id_invoices"), "payments", "invoices", ["invoice_id"], ["id"])
    op.create_index(op.f("ix_payments_invoice_id"), "payments", ["invoice_id"])
    for name in ("positive", "status", "method"):
        op.drop_constraint(op.f(f"ck_payments_{name}"), "payments", type_="check")
    for col in ("recorded_by", "received_on", "reference", "status", "method"):
        op.drop_column("payments", col)
    op.drop_table("payment_allocations")
    op.drop_constraint(op.f("ck_invoice_lines_kind"), "invoice_lines", type_="check")
    op.create_check_constraint(
        "kind",
        "invoice_lines",
        "kind IN ('seat','addon','addon_one_time','inclusion','setup_fee','deposit','discount','cancellation_fee',"
        "'credit_transfer','termination_fee')",
    )
    op.drop_constraint(op.f("ck_invoice_lines_tax_treatment"), "invoice_lines", type_="check")
    for col in ("created_by", "reason", "tax_rate", "tax_treatment"):
        op.drop_column("invoice_lines", col)
    op.drop_index("uq_invoices_client_id_site_id_period", table_name="invoices")
    op.create_unique_constraint(op.f("uq_invoices_client_id_site_id_period"), "invoices", ["client_id", "site_id", "period"])
    op.drop_constraint(op.f("ck_invoices_status"), "invoices", type_="check")
    op.create_check_constraint("status", "invoices", "status IN ('draft','issued','paid','void')")
    op.drop_constraint(op.f("ck_invoices_kind"), "invoices", type_="check")
    op.drop_column("invoices", "kind")
