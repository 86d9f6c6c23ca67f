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
* `worker.py`: `run_once` (each worker tick) and `run_forever` (LISTEN seatlease_leases).

Settings: SCIM_BASE_URL, SCIM_TOKEN, RADIUS_DATABASE_URL, BADGE_WEBHOOK_URL,
BADGE_WEBHOOK_SECRET, SEATLEASE_SECRET_KEY (seals the secrets), and the SEATLEASE_PROV_*
tuning variables read in `config.py`. A target whose setting is empty is not provisioned.
"""
