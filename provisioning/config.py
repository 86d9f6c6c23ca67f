"""What provisioning needs to know: targets and tuning of the reconciler. A plain typed model the service
builds from its settings (service/settings.py `Settings.provisioning()`); nothing here reads the environment."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ProvisioningConfig:
    secret_key: str
    scim_base_url: str | None = None
    scim_token: str | None = None
    radius_database_url: str | None = None
    badge_webhook_url: str | None = None
    badge_webhook_secret: str | None = None
    # back-off: base * 2^(attempt-1), at most `backoff_cap_seconds`; after `max_attempts` the
    # credential is `failed` and retried every `failed_retry_seconds`
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 300.0
    max_attempts: int = 8
    failed_retry_seconds: float = 900.0
    # a revoked credential is disabled at once and deleted after this grace period
    delete_grace_seconds: float = 7 * 86400.0
    # the drift guard: active credentials that leave the desired state with no business event behind
    # them (lease ended or cancelled, seat released, member removed, assignment changed) are held for
    # a confirmation when they are more than this share of the active credentials AND at least
    # `mass_revoke_min` of them; only those are held. A share of 1 or more turns the guard off.
    mass_revoke_share: float = 0.1
    mass_revoke_min: int = 20
    # a failed pass of the reconciler loop is retried after base * 2^(n-1) seconds, at most the cap
    pass_retry_base_seconds: float = 1.0
    pass_retry_cap_seconds: float = 60.0
    # every transaction of a pass: statements and lock waits give up after these
    statement_timeout_seconds: float = 60.0
    lock_timeout_seconds: float = 10.0
    # how often each worker compares what the targets hold with what they should
    sweep_interval_seconds: float = 60.0
    # rows one worker claims per transaction (FOR UPDATE SKIP LOCKED): smaller batches split the
    # work between workers more evenly at its tail, larger ones cost fewer round trips
    batch_size: int = 64
    # a worker has concurrency x parallel_batches target calls in flight at most, shared by
    # parallel_batches + 1 claimed batches, so that calls go on while one batch is written back
    concurrency: int = 8
    parallel_batches: int = 2
    http_timeout_seconds: float = 10.0
    # badges are valid until the lease ends, or this far ahead for an open-ended lease (renewed daily)
    badge_validity_days: int = 7
    badge_renew_before_days: int = 2
    # a worker's liveness row is deleted once it has not been written for this long (a worker gone)
    worker_prune_seconds: float = 86400.0
    extra: dict[str, str] = field(default_factory=dict)
    # --- provisioning speed ---
    # a claimed batch is held by its worker's open transaction; a worker that stops answering (a
    # frozen process, a lost network) has its session ended by PostgreSQL after this long without a
    # word (idle_in_transaction_session_timeout), which releases the rows to the other workers. A
    # working worker renews its claim every third of it, however long its target calls take.
    claim_expiry_seconds: float = 60.0

    @property
    def enabled_kinds(self) -> list[str]:
        kinds = []
        if self.scim_base_url:
            kinds.append("directory")
        if self.badge_webhook_url and self.badge_webhook_secret:
            kinds.append("badge")
        if self.radius_database_url:
            kinds.append("wifi")
        return kinds

    @property
    def in_flight(self) -> int:
        """Target calls one worker keeps in flight at most (and its HTTP connections per target)."""
        return max(1, self.concurrency) * max(1, self.parallel_batches)
