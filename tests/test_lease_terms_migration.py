"""Migration 0016_lease_terms: existing leases take their plan's current prices and their add-ons the
inclusion's unit price (what they were billed at so far); then the plan's rows no longer price them."""

from __future__ import annotations

from tests.conftest import MigrationDb

SEED = """
WITH s AS (INSERT INTO sites (code, name, timezone, currency, tax_rate)
           VALUES ('MIG', 'Migration site', 'Asia/Manila', 'PHP', 0.12) RETURNING id),
c AS (INSERT INTO clients (legal_name, billing_email, payment_terms_days)
      VALUES ('Migration client', 'ap@client-example.com', 30) RETURNING id),
t AS (INSERT INTO teams (client_id, name) SELECT id, 'Days' FROM c RETURNING id, client_id),
p AS (INSERT INTO plans (site_id, name, monthly_price_minor, setup_fee_minor, deposit_months)
      SELECT id, 'Seat', 1500000, 250000, 2 FROM s RETURNING id, site_id),
i AS (INSERT INTO inclusions (plan_id, code, name, kind, billing, unit_price_minor, quantity_per_seat)
      SELECT id, 'monitor', 'Monitor', 'device', 'monthly', 50000, 1 FROM p RETURNING id),
sh AS (INSERT INTO shifts (site_id, code, name, starts_at, ends_at) SELECT id, 'DAY', 'Day', '06:00', '15:00' FROM s
       RETURNING id, site_id),
l AS (INSERT INTO leases (client_id, team_id, site_id, plan_id, shift_id, shift_code, start_date, status)
      SELECT t.client_id, t.id, p.site_id, p.id, sh.id, 'DAY', '2031-04-01', 'confirmed' FROM t, p, sh RETURNING id),
a AS (INSERT INTO lease_add_ons (lease_id, inclusion_id, quantity) SELECT l.id, i.id, 2 FROM l, i RETURNING lease_id)
SELECT l.id AS lease_id, (SELECT id FROM p) AS plan_id FROM l
"""


def test_existing_leases_keep_the_prices_they_were_billed_at(migration_db: MigrationDb) -> None:
    migration_db.upgrade("0015_provisioning_speed")
    (ids,) = migration_db.sql(SEED)
    migration_db.upgrade("0016_lease_terms")
    (lease,) = migration_db.sql(
        "SELECT monthly_price_minor, setup_fee_minor, deposit_months, escalation_pct, notice_days FROM leases"
    )
    assert tuple(lease) == (1_500_000, 250_000, 2, None, 30)
    (addon,) = migration_db.sql("SELECT unit_price_minor FROM lease_add_ons")
    assert addon["unit_price_minor"] == 50_000
    (plan,) = migration_db.sql("SELECT notice_days FROM plans")
    assert plan["notice_days"] == 30
    # a later edit of the plan's rows leaves the lease's own terms alone
    migration_db.sql("UPDATE plans SET monthly_price_minor = 1 WHERE id = $1", ids["plan_id"])
    (lease,) = migration_db.sql("SELECT monthly_price_minor FROM leases")
    assert lease["monthly_price_minor"] == 1_500_000
    migration_db.downgrade("0015_provisioning_speed")
    migration_db.upgrade("heads")
