"""Migration 0021_finance_schema: each existing payment becomes money received (a cleared Stripe payment)
with one allocation to the invoice it paid; lines keep the rate they were taxed at; the run's identity
(client, site, period) still holds for run invoices while a one-off invoice may stand beside one."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import MigrationDb

SEED = """
WITH s AS (INSERT INTO sites (code, name, timezone, currency, tax_rate)
           VALUES ('FIN', 'Finance site', 'Asia/Manila', 'PHP', 0.12) RETURNING id),
c AS (INSERT INTO clients (legal_name, billing_email, payment_terms_days)
      VALUES ('Finance client', 'ap@client-example.com', 30) RETURNING id),
i AS (INSERT INTO invoices (client_id, site_id, period, currency, status, number, number_label, issue_date, due_date,
                            subtotal_minor, tax_minor, total_minor)
      SELECT c.id, s.id, '2031-04', 'PHP', 'paid', 1, 'FIN-000001', '2031-04-01', '2031-05-01', 100000, 12000, 112000
      FROM s, c RETURNING id, client_id, site_id),
l AS (INSERT INTO invoice_lines (invoice_id, position, kind, description, quantity, unit_price_minor, amount_minor, tax_minor)
      SELECT id, 1, 'seat', 'Seat', 1, 100000, 100000, 12000 FROM i RETURNING id),
p AS (INSERT INTO payments (invoice_id, client_id, amount_minor, currency, paid_on, source_ref)
      SELECT id, client_id, 112000, 'PHP', '2031-04-20', 'stripe:in_1:112000' FROM i RETURNING id)
SELECT (SELECT id FROM i) AS invoice_id, (SELECT id FROM p) AS payment_id, (SELECT client_id FROM i) AS client_id,
       (SELECT site_id FROM i) AS site_id FROM l
"""


def test_existing_payments_become_one_allocation_each(migration_db: MigrationDb) -> None:
    migration_db.upgrade("0020_email_outbox")
    (ids,) = migration_db.sql(SEED)
    migration_db.upgrade("0021_finance_schema")
    (pay,) = migration_db.sql("SELECT id, method, status, amount_minor, paid_on, source_ref FROM payments")
    assert (pay["id"], pay["method"], pay["status"], pay["amount_minor"]) == (ids["payment_id"], "stripe", "cleared", 112000)
    (alloc,) = migration_db.sql(
        "SELECT payment_id, invoice_id, amount_minor, withheld_minor, allocated_on FROM payment_allocations"
    )
    assert (alloc["payment_id"], alloc["invoice_id"], alloc["amount_minor"], alloc["withheld_minor"]) == (
        ids["payment_id"],
        ids["invoice_id"],
        112000,
        0,
    )
    assert alloc["allocated_on"] == pay["paid_on"]
    (line,) = migration_db.sql("SELECT tax_treatment, tax_rate FROM invoice_lines")
    assert line["tax_treatment"] == "standard"
    assert str(line["tax_rate"]) == "0.1200"
    (inv,) = migration_db.sql("SELECT kind FROM invoices")
    assert inv["kind"] == "run"
    insert = (
        "INSERT INTO invoices (client_id, site_id, period, currency, kind, subtotal_minor, tax_minor, total_minor)"
        " VALUES ($1, $2, '2031-04', 'PHP', $3, 0, 0, 0)"
    )
    # a one-off stands beside the run's invoice of the same month; a second run invoice is refused
    migration_db.sql(insert, ids["client_id"], ids["site_id"], "one_off")
    with pytest.raises(asyncpg.UniqueViolationError):
        migration_db.sql(insert, ids["client_id"], ids["site_id"], "run")
    # and back: a payment that pays one invoice returns to it
    migration_db.sql("DELETE FROM invoices WHERE kind = 'one_off'")
    migration_db.downgrade("0020_email_outbox")
    (pay,) = migration_db.sql("SELECT invoice_id, amount_minor FROM payments")
    assert (pay["invoice_id"], pay["amount_minor"]) == (ids["invoice_id"], 112000)
    migration_db.upgrade("heads")
