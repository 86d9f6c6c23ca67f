"""Provisioning: every credential follows its lease.

* `desired.py` derives, in one set-based pass, which credentials must exist now (an active
  lease, a seat it holds today on the site's calendar, an active member seated there) into
  `credentials.desired`; it also places devices (`providers/devices.py`) and holds a sweep that
  would revoke too much at once (the mass-revocation guard, `revocation_guards`).
* `reconciler.py` claims due rows (`next_attempt_at <= now()`) with FOR UPDATE SKIP LOCKED and
  converges each target through its provider: grant; or disable, then delete after the grace
  period; exponential back-off with a cap, then `failed` with the error and slow retries. Its
  sweep compares what each target lists with our rows: drift is re-granted, an account active
  without a lease is disabled and recorded as a `provisioning.incident` audit event.
* `providers/`: `scim.py` (directory accounts, SCIM 2.0), `radius.py` (Wi-Fi logins in
  FreeRADIUS's SQL tables), `badges.py` (HMAC-signed webhooks with validity end dates),
  `devices.py` (inventory).
* `worker.py`: `run_once` (each worker tick) and `run_forever` (LISTEN seatlease_leases). Nothing a
  pass raises ends `run_forever`: it is logged with its cause and retried after a capped back-off;
  `service/worker.py` supervises the task and restarts it should it end.
* `credentials.py`: what people do to provisioning, as use-cases the API and the admin both call:
  the one-time reveal of a secret (`reveal_secret`), a retry (`retry_credential`), confirming a
  held mass revocation (`confirm_guard`) or rejecting it (`reject_guard`: the credentials stay, the
  same drift is not asked about again); each audits and wakes the reconciler itself where there is
  work. Also the read-models of credentials (a lease's, the paged list, the admin's queue) and of guards.
* `integrations.py`: the directory, Wi-Fi and badge targets as the integrations page shows them
  (configured or not, by which settings; last success and error; pending and failed per kind), the
  reconciler's liveness and the standing guards; composed with billing's Stripe and the email outbox
  by `service/integrations.py`.
* `providers/radius_schema.py`: FreeRADIUS's PostgreSQL tables, which `seatlease up` lays out in the
  demo's `radius` database.
* `kpis.py`: lead time, revocation lag and the counts, typed (`schemas.ProvisioningKpis`), for
  /v1/provisioning/kpis, /metrics and the admin; `schemas.py` holds the read-models' shapes.
* `liveness.py`: each worker loop's row in `worker_liveness` (last completed pass, failed passes,
  last error, sites its last pass skipped), read by `/healthz` (200 ok; 200 "degraded" naming stale
  workers or skipped sites; 503 "down" when the database does not answer) and `/metrics`.
* Site isolation: the desired-state pass (and the lease-state pass in domain/leasing/worker_pass.py)
  works site by site in savepoints; a site whose data makes it fail is skipped and reported.
* The drift guard: revocations explained by a lease event (ended, cancelled, seat released, member
  removed or unassigned) go through at once; drift alone is held above SEATLEASE_PROV_DRIFT_GUARD_SHARE
  and SEATLEASE_PROV_DRIFT_GUARD_MIN, and holding it never holds anything else.

Settings: SCIM_BASE_URL, SCIM_TOKEN, RADIUS_DATABASE_URL, BADGE_WEBHOOK_URL,
BADGE_WEBHOOK_SECRET, SEATLEASE_SECRET_KEY (seals the secrets), the settings of the provisioning
block of service/settings.py (guard, pass retry, timeouts, liveness, and the other SEATLEASE_PROV_*
tuning variables), which the service hands down as a `config.ProvisioningConfig`. A target whose
setting is empty is not provisioned.
"""
