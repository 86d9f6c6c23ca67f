"""Settings read from the environment, the same for every command (PRODUCT.md, CLI)."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from billing.chart import ChartOfAccounts, parse_chart
from billing.config import DEFAULT_BATCH, BillingSettings
from billing.downtime_rule import DowntimeRule  # --- downtime credits (issue 15) ---
from billing.dunning_config import DunningConfig, parse_dunning_days
from domain.helpdesk.config import DEFAULT_ATTACHMENT_TYPES, TicketConfig  # --- tickets ---
from domain.rules.ticket_flow import DEFAULT_REOPEN_DAYS  # --- tickets ---
from domain.services.mail import MailConfig
from domain.webhooks.config import WebhookConfig  # --- webhooks ---
from domain.webhooks.targets import TargetRules  # --- webhooks ---
from provisioning.config import ProvisioningConfig

MIN_SECRET_KEY_BYTES = 32
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


class SecretKeyMissing(RuntimeError):
    """No usable SEATLEASE_SECRET_KEY: a server must not sign with a key anyone could know."""

    def __str__(self) -> str:
        return f"{self.args[0]}; make one with:  {MAKE_A_KEY}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("seatlease")), alias="SEATLEASE_DATA_DIR")
    # No default: read it through `secret_key`, which refuses a missing or short key.
    configured_secret_key: str | None = Field(default=None, alias="SEATLEASE_SECRET_KEY")

    @property
    def secret_key(self) -> str:
        """The key that signs tokens and sessions and seals credential secrets; never a known one."""
        key = self.configured_secret_key
        if not key:
            raise SecretKeyMissing("SEATLEASE_SECRET_KEY is not set")
        if len(key.encode()) < MIN_SECRET_KEY_BYTES:
            raise SecretKeyMissing(f"SEATLEASE_SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes")
        return key

    def with_secret_key(self, key: str) -> Settings:
        return self.model_copy(update={"configured_secret_key": key})

    stripe_api_key: str | None = Field(default=None, alias="STRIPE_API_KEY")
    stripe_webhook_secret: str | None = Field(default=None, alias="STRIPE_WEBHOOK_SECRET")
    stripe_api_base: str | None = Field(default=None, alias="STRIPE_API_BASE")
    scim_base_url: str | None = Field(default=None, alias="SCIM_BASE_URL")
    scim_token: str | None = Field(default=None, alias="SCIM_TOKEN")
    radius_database_url: str | None = Field(default=None, alias="RADIUS_DATABASE_URL")
    badge_webhook_url: str | None = Field(default=None, alias="BADGE_WEBHOOK_URL")
    badge_webhook_secret: str | None = Field(default=None, alias="BADGE_WEBHOOK_SECRET")

    token_ttl_seconds: int = Field(default=900, alias="SEATLEASE_TOKEN_TTL")
    jwt_issuer: str = "seatlease"
    jwt_audience: str = "seatlease-api"
    # A lease discount above this percentage waits for finance approval (rule 7).
    discount_approval_threshold_pct: Decimal = Field(default=Decimal("10"), alias="SEATLEASE_DISCOUNT_APPROVAL_PCT")
    # A credit note above this amount (minor units) waits for finance approval (rule 7).
    credit_note_approval_threshold_minor: int = Field(default=5_000_000, alias="SEATLEASE_CREDIT_APPROVAL_MINOR")
    worker_interval_seconds: float = Field(default=5.0, alias="SEATLEASE_WORKER_INTERVAL")
    cookie_secure: bool = Field(default=False, alias="SEATLEASE_COOKIE_SECURE")

    # --- billing ---
    # Seats are billed in advance: a run for a month is accepted from this many days before the
    # month starts (on the UTC calendar, as one run bills every site), and for any past month.
    billing_advance_days: int = Field(default=10, ge=0, alias="SEATLEASE_BILLING_ADVANCE_DAYS")
    # clients billed per transaction of `seatlease billing run`, and its pause between batches
    billing_batch_size: int = Field(default=DEFAULT_BATCH, alias="SEATLEASE_BILLING_BATCH")
    billing_pause_seconds: float = Field(default=0.0, alias="SEATLEASE_BILLING_PAUSE")

    # --- provisioning: liveness, supervision, the drift guard ---
    # /healthz says "degraded" (HTTP 200) when a worker's last completed pass is older than this
    worker_stale_seconds: float = Field(default=180.0, gt=0, alias="SEATLEASE_WORKER_STALE_SECONDS")
    # a worker's liveness row is deleted once it has not been written for this long (a worker gone)
    worker_prune_seconds: float = Field(default=86400.0, gt=0, alias="SEATLEASE_WORKER_PRUNE_SECONDS")
    # /healthz answers 503 when the database does not answer within this time
    healthz_timeout_seconds: float = Field(default=2.0, gt=0, alias="SEATLEASE_HEALTHZ_TIMEOUT")
    # a failed reconciler pass is retried after base * 2^(n-1) seconds, at most the cap
    prov_pass_retry_base_seconds: float = Field(default=1.0, gt=0, alias="SEATLEASE_PROV_PASS_RETRY_BASE")
    prov_pass_retry_cap_seconds: float = Field(default=60.0, gt=0, alias="SEATLEASE_PROV_PASS_RETRY_CAP")
    # every statement of a reconciler pass gives up after these (a held lock fails the pass, which is retried)
    prov_statement_timeout_seconds: float = Field(default=60.0, gt=0, alias="SEATLEASE_PROV_STATEMENT_TIMEOUT")
    prov_lock_timeout_seconds: float = Field(default=10.0, gt=0, alias="SEATLEASE_PROV_LOCK_TIMEOUT")
    # drift (active credentials leaving the desired state with no lease end, cancellation, seat release,
    # member removal or assignment change behind it) is held for confirmation when it is more than this
    # share of the active credentials AND at least this many; a share of 1 or more turns the guard off
    prov_drift_guard_share: float = Field(default=0.1, ge=0, alias="SEATLEASE_PROV_DRIFT_GUARD_SHARE")
    prov_drift_guard_min: int = Field(default=20, ge=1, alias="SEATLEASE_PROV_DRIFT_GUARD_MIN")
    # a credential's grant or revoke is retried after base * 2^(attempt-1) seconds, at most the cap; after
    # max attempts it is `failed` and retried every `failed retry` seconds
    prov_backoff_base_seconds: float = Field(default=2.0, alias="SEATLEASE_PROV_BACKOFF_BASE")
    prov_backoff_cap_seconds: float = Field(default=300.0, alias="SEATLEASE_PROV_BACKOFF_CAP")
    prov_max_attempts: int = Field(default=8, alias="SEATLEASE_PROV_MAX_ATTEMPTS")
    prov_failed_retry_seconds: float = Field(default=900.0, alias="SEATLEASE_PROV_FAILED_RETRY")
    # a revoked credential is disabled at once and deleted after this grace period
    prov_delete_grace_seconds: float = Field(default=7 * 86400.0, alias="SEATLEASE_PROV_DELETE_GRACE")
    # how often each worker compares what the targets hold with what they should
    prov_sweep_interval_seconds: float = Field(default=60.0, alias="SEATLEASE_PROV_SWEEP_INTERVAL")
    prov_batch_size: int = Field(default=64, alias="SEATLEASE_PROV_BATCH")
    prov_concurrency: int = Field(default=8, alias="SEATLEASE_PROV_CONCURRENCY")
    prov_parallel_batches: int = Field(default=2, alias="SEATLEASE_PROV_PARALLEL_BATCHES")

    @field_validator(
        "prov_backoff_base_seconds",
        "prov_backoff_cap_seconds",
        "prov_max_attempts",
        "prov_failed_retry_seconds",
        "prov_delete_grace_seconds",
        "prov_sweep_interval_seconds",
        "prov_batch_size",
        "prov_concurrency",
        "prov_parallel_batches",
        mode="before",
    )
    @classmethod
    def _blank_is_default(cls, value: object, info: ValidationInfo) -> object:
        # these were read by provisioning itself, which took an empty variable for "unset"; still so
        if value == "" and info.field_name is not None:
            return cls.model_fields[info.field_name].default
        return value

    # --- leasing (trust issue: seat caps, cancellation fees) ---
    # The most seats a client's own bookings may hold when the client has no seat_cap of its own.
    client_seat_cap_default: int = Field(default=200, ge=0, alias="SEATLEASE_CLIENT_SEAT_CAP")
    # A client cancelling this many days or fewer before the start owes a cancellation fee ...
    cancellation_fee_window_days: int = Field(default=14, ge=0, alias="SEATLEASE_CANCELLATION_FEE_DAYS")
    # ... of this many months of the lease's seat price (after its discount) times its seats.
    cancellation_fee_months: Decimal = Field(default=Decimal("1"), ge=0, le=12, alias="SEATLEASE_CANCELLATION_FEE_MONTHS")

    # --- sessions and logins (trust issue: only the right people get in) ---
    # Password hashes (Argon2, 64 MiB each) computed at once in this process; the rest wait in line.
    login_hash_concurrency: int = Field(
        default_factory=lambda: os.cpu_count() or 2, ge=1, le=256, alias="SEATLEASE_LOGIN_HASH_CONCURRENCY"
    )
    # Sign-in bookkeeping transactions at once (the rest of the pool stays for ordinary requests).
    login_db_concurrency: int = Field(default=4, ge=1, le=64, alias="SEATLEASE_LOGIN_DB_CONCURRENCY")
    # Password attempts not followed by a success, per account name and per address, in one window.
    login_account_max_failures: int = Field(default=5, ge=1, alias="SEATLEASE_LOGIN_ACCOUNT_MAX_FAILURES")
    login_address_max_failures: int = Field(default=20, ge=1, alias="SEATLEASE_LOGIN_ADDRESS_MAX_FAILURES")
    login_failure_window_seconds: int = Field(default=900, ge=1, alias="SEATLEASE_LOGIN_FAILURE_WINDOW")
    # A password login takes as long as this many hash checks (padded by waiting, not hashing), so
    # the number of accounts sharing an email cannot be timed.
    login_timing_candidates: int = Field(default=3, ge=1, le=20, alias="SEATLEASE_LOGIN_TIMING_CANDIDATES")
    # A bearer token that may read /metrics (a Prometheus scraper), besides staff tokens.
    metrics_token: SecretStr | None = Field(default=None, alias="SEATLEASE_METRICS_TOKEN")

    # --- degrade, never break (database pool and timeouts) ---
    db_pool_size: int = Field(default=20, ge=1, alias="SEATLEASE_DB_POOL_SIZE")
    db_max_overflow: int = Field(default=20, ge=0, alias="SEATLEASE_DB_MAX_OVERFLOW")
    # how long a request waits for a pooled connection before answering 503
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0, alias="SEATLEASE_DB_POOL_TIMEOUT")
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, alias="SEATLEASE_DB_CONNECT_TIMEOUT")
    # a pooled connection idle this long is pinged before use (0 = before every use); see service/db.py
    db_ping_idle_seconds: float = Field(default=1.0, ge=0, alias="SEATLEASE_DB_PING_IDLE_SECONDS")
    # PostgreSQL's statement_timeout / lock_timeout per connection, in milliseconds (0 = none)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0, alias="SEATLEASE_DB_STATEMENT_TIMEOUT_MS")
    db_lock_timeout_ms: int = Field(default=10_000, ge=0, alias="SEATLEASE_DB_LOCK_TIMEOUT_MS")
    # `Retry-After` of a 503 answered because the database is unavailable or busy
    db_retry_after_seconds: int = Field(default=5, ge=1, le=3600, alias="SEATLEASE_DB_RETRY_AFTER")

    # --- production database: pools per kind of process (README "Production") ---
    # The API's pool is db_pool_size + db_max_overflow above; a worker's is this (its LISTEN
    # connection is one more), a CLI command's (billing run, statements export, user create) this.
    worker_db_pool_size: int = Field(default=5, ge=1, alias="SEATLEASE_WORKER_DB_POOL_SIZE")
    worker_db_max_overflow: int = Field(default=5, ge=0, alias="SEATLEASE_WORKER_DB_MAX_OVERFLOW")
    cli_db_pool_size: int = Field(default=2, ge=1, alias="SEATLEASE_CLI_DB_POOL_SIZE")
    cli_db_max_overflow: int = Field(default=2, ge=0, alias="SEATLEASE_CLI_DB_MAX_OVERFLOW")

    # --- provisioning speed ---
    # a reconciler's claimed batch goes to the other workers after this long without a word from its
    # worker (a frozen process, a lost network; a killed one releases it at once); a working worker
    # renews its claim however long its calls take. Batch size, calls in flight: SEATLEASE_PROV_BATCH,
    # SEATLEASE_PROV_CONCURRENCY x SEATLEASE_PROV_PARALLEL_BATCHES above.
    prov_claim_expiry_seconds: float = Field(default=60.0, gt=0, alias="SEATLEASE_PROV_CLAIM_EXPIRY")

    # --- renewal (issue 11: notice, early termination, approvals, renewal) ---
    # A fixed-term lease shows "up for renewal" from this many days before its term ends.
    renewal_window_days: int = Field(default=60, ge=0, le=730, alias="SEATLEASE_RENEWAL_WINDOW_DAYS")

    # --- proposals and holds (issue 11) ---
    # A pending approval holds its seats this many hours after booking (or after a proposal's
    # acceptance), then the worker releases it; a proposal holds them until its own expiry, by
    # default this many days after it is made.
    pending_hold_hours: float = Field(default=72.0, gt=0, alias="SEATLEASE_PENDING_HOLD_HOURS")
    proposal_hold_days: float = Field(default=14.0, gt=0, le=180, alias="SEATLEASE_PROPOSAL_HOLD_DAYS")

    @property
    def pending_hold(self) -> timedelta:
        return timedelta(hours=self.pending_hold_hours)

    @property
    def proposal_hold(self) -> timedelta:
        return timedelta(days=self.proposal_hold_days)

    # --- email (SMTP outbox: domain/services/mail.py, mail_send.py) ---
    # No host: nothing is sent; queued messages stay pending until one is set.
    smtp_host: str | None = Field(default=None, alias="SEATLEASE_SMTP_HOST")
    # default by mode: 587 (starttls), 465 (tls), 25 (none)
    smtp_port: int | None = Field(default=None, ge=1, le=65535, alias="SEATLEASE_SMTP_PORT")
    smtp_username: str | None = Field(default=None, alias="SEATLEASE_SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(default=None, alias="SEATLEASE_SMTP_PASSWORD")
    # starttls: plain connection upgraded with STARTTLS (required); tls: TLS from the first byte; none: no TLS
    smtp_security: Literal["starttls", "tls", "none"] = Field(default="starttls", alias="SEATLEASE_SMTP_SECURITY")
    smtp_from: str | None = Field(default=None, alias="SEATLEASE_SMTP_FROM")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, alias="SEATLEASE_SMTP_TIMEOUT")
    # a PEM bundle of the CA that signed a private relay's certificate (the system's CAs are used too)
    smtp_ca_file: str | None = Field(default=None, alias="SEATLEASE_SMTP_CA_FILE")
    # a message the server refuses for now (4xx, no connection) is retried after base * 2^(n-1)
    # seconds, at most the cap; after max attempts (or at once on a 5xx answer) it is `failed`
    mail_max_attempts: int = Field(default=8, ge=1, alias="SEATLEASE_MAIL_MAX_ATTEMPTS")
    mail_backoff_base_seconds: float = Field(default=60.0, ge=0, alias="SEATLEASE_MAIL_BACKOFF_BASE")
    mail_backoff_cap_seconds: float = Field(default=3600.0, ge=0, alias="SEATLEASE_MAIL_BACKOFF_CAP")
    mail_batch_size: int = Field(default=50, ge=1, alias="SEATLEASE_MAIL_BATCH")

    def mail(self) -> MailConfig:
        return MailConfig(
            host=self.smtp_host or None,
            port=self.smtp_port,
            username=self.smtp_username or None,
            password=self.smtp_password,
            security=self.smtp_security,
            from_addr=self.smtp_from or None,
            timeout_seconds=self.smtp_timeout_seconds,
            max_attempts=self.mail_max_attempts,
            backoff_base_seconds=self.mail_backoff_base_seconds,
            backoff_cap_seconds=self.mail_backoff_cap_seconds,
            batch_size=self.mail_batch_size,
            ca_file=self.smtp_ca_file or None,
        )

    # --- end email ---

    # --- collections (issue 12: the journal's chart of accounts, payment reminders) ---
    # role -> ledger account of the journal export: JSON, or the path of a JSON file (billing/chart.py)
    chart_of_accounts_raw: str | None = Field(default=None, alias="SEATLEASE_CHART_OF_ACCOUNTS")
    # reminder steps in days relative to an invoice's due date: "-3,7,21" = 3 days before, 7 and 21 after
    dunning_days_raw: str = Field(default="-3,7,21", alias="SEATLEASE_DUNNING_DAYS")

    @field_validator("chart_of_accounts_raw")
    @classmethod
    def _chart_parses(cls, value: str | None) -> str | None:
        parse_chart(value)  # a bad chart stops the start, naming the role at fault
        return value

    @field_validator("dunning_days_raw")
    @classmethod
    def _dunning_days_parse(cls, value: str) -> str:
        parse_dunning_days(value)
        return value

    def chart_of_accounts(self) -> ChartOfAccounts:
        return parse_chart(self.chart_of_accounts_raw)

    def dunning(self) -> DunningConfig:
        mail = self.mail()
        return DunningConfig(steps=parse_dunning_days(self.dunning_days_raw), mail_configured=bool(mail.host and mail.from_addr))

    # --- end collections ---
    # --- invoices dated as issued, drafts and one-off invoices (issue 12) ---
    # on: a run writes drafts that finance reviews, adjusts (one-off lines) and issues in bulk; off: a run issues at once
    billing_draft_review: bool = Field(default=False, alias="SEATLEASE_BILLING_DRAFT_REVIEW")

    # --- the parts' own typed settings, composed here (nothing below service reads the environment) ---
    def billing(self) -> BillingSettings:
        return BillingSettings(
            advance_days=self.billing_advance_days,
            credit_note_approval_threshold_minor=self.credit_note_approval_threshold_minor,
            stripe_api_key=self.stripe_api_key,
            stripe_api_base=self.stripe_api_base,
            run_batch_size=self.billing_batch_size,
            run_pause_seconds=self.billing_pause_seconds,
            draft_review=self.billing_draft_review,
        )

    def provisioning(self) -> ProvisioningConfig:
        """Raises SecretKeyMissing without a usable key: it seals the credentials' secrets."""
        return ProvisioningConfig(
            secret_key=self.secret_key,
            scim_base_url=self.scim_base_url,
            scim_token=self.scim_token,
            radius_database_url=self.radius_database_url,
            badge_webhook_url=self.badge_webhook_url,
            badge_webhook_secret=self.badge_webhook_secret,
            backoff_base_seconds=self.prov_backoff_base_seconds,
            backoff_cap_seconds=self.prov_backoff_cap_seconds,
            max_attempts=self.prov_max_attempts,
            failed_retry_seconds=self.prov_failed_retry_seconds,
            delete_grace_seconds=self.prov_delete_grace_seconds,
            mass_revoke_share=self.prov_drift_guard_share,
            mass_revoke_min=self.prov_drift_guard_min,
            pass_retry_base_seconds=self.prov_pass_retry_base_seconds,
            pass_retry_cap_seconds=self.prov_pass_retry_cap_seconds,
            statement_timeout_seconds=self.prov_statement_timeout_seconds,
            lock_timeout_seconds=self.prov_lock_timeout_seconds,
            sweep_interval_seconds=self.prov_sweep_interval_seconds,
            batch_size=self.prov_batch_size,
            concurrency=self.prov_concurrency,
            parallel_batches=self.prov_parallel_batches,
            worker_prune_seconds=self.worker_prune_seconds,
            claim_expiry_seconds=self.prov_claim_expiry_seconds,
        )

    # --- integrations (issue 13: provisioning visible from the first start) ---
    # the targets `seatlease up` started for its demo ("wifi", "directory"): set by `up` itself, never
    # read from the environment; the integrations page says which targets are the demo's
    demo_targets: tuple[str, ...] = Field(default=(), exclude=True, alias="SEATLEASE_INTERNAL_DEMO_TARGETS")

    @field_validator("demo_targets", mode="before")
    @classmethod
    def _demo_targets_are_not_configured(cls, value: object) -> tuple[str, ...]:
        return ()  # only `up` sets them (model_copy skips validators); an environment variable cannot

    # --- end integrations ---

    # --- webhooks (issue 14: signed outbound webhooks, domain/webhooks/) ---
    # plain http and private/loopback/link-local targets are refused unless allowed (tests, a demo on one machine)
    webhook_allow_http: bool = Field(default=False, alias="SEATLEASE_WEBHOOK_ALLOW_HTTP")
    webhook_allow_private_targets: bool = Field(default=False, alias="SEATLEASE_WEBHOOK_ALLOW_PRIVATE_TARGETS")
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60, alias="SEATLEASE_WEBHOOK_TIMEOUT")
    # a failed delivery is retried after base * 2^(n-1) seconds (± jitter), at most the cap
    webhook_backoff_base_seconds: float = Field(default=30.0, ge=0, alias="SEATLEASE_WEBHOOK_BACKOFF_BASE")
    webhook_backoff_cap_seconds: float = Field(default=3600.0, ge=0, alias="SEATLEASE_WEBHOOK_BACKOFF_CAP")
    webhook_jitter: float = Field(default=0.2, ge=0, le=1, alias="SEATLEASE_WEBHOOK_JITTER")
    # an endpoint failing this many times in a row, for at least this many hours, is paused (its events held)
    webhook_pause_after_failures: int = Field(default=10, ge=1, alias="SEATLEASE_WEBHOOK_PAUSE_AFTER_FAILURES")
    webhook_pause_after_hours: float = Field(default=6.0, ge=0, alias="SEATLEASE_WEBHOOK_PAUSE_AFTER_HOURS")
    webhook_batch_size: int = Field(default=50, ge=1, alias="SEATLEASE_WEBHOOK_BATCH")
    # after a rotation the old secret also signs for this long (0: it ends at once)
    webhook_rotation_overlap_hours: float = Field(default=24.0, ge=0, le=720, alias="SEATLEASE_WEBHOOK_ROTATION_OVERLAP_HOURS")
    # the delivery log keeps delivered deliveries (and events no delivery refers to) this long
    webhook_retention_days: float = Field(default=30.0, gt=0, alias="SEATLEASE_WEBHOOK_RETENTION_DAYS")
    # a PEM bundle of CAs trusted besides the public ones, for receivers with a private CA's certificate
    webhook_ca_file: str | None = Field(default=None, alias="SEATLEASE_WEBHOOK_CA_FILE")

    def webhooks(self) -> WebhookConfig:
        """Raises SecretKeyMissing without a usable key: it seals the endpoints' signing secrets."""
        return WebhookConfig(
            secret_key=self.secret_key,
            rules=TargetRules(allow_http=self.webhook_allow_http, allow_private=self.webhook_allow_private_targets),
            timeout_seconds=self.webhook_timeout_seconds,
            backoff_base_seconds=self.webhook_backoff_base_seconds,
            backoff_cap_seconds=self.webhook_backoff_cap_seconds,
            jitter=self.webhook_jitter,
            pause_after_failures=self.webhook_pause_after_failures,
            pause_after_seconds=self.webhook_pause_after_hours * 3600,
            batch_size=self.webhook_batch_size,
            rotation_overlap_seconds=self.webhook_rotation_overlap_hours * 3600,
            ca_file=self.webhook_ca_file or None,
            retention_days=self.webhook_retention_days,
        )

    # --- end webhooks ---

    # --- tickets (issue 15: the help desk's workflow, attachments; domain/helpdesk/) ---
    # a client may reopen its resolved ticket this many days; after them the worker closes it
    ticket_reopen_days: int = Field(default=DEFAULT_REOPEN_DAYS, ge=0, le=365, alias="SEATLEASE_TICKET_REOPEN_DAYS")
    ticket_attachment_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, le=100 * 1024 * 1024, alias="SEATLEASE_TICKET_ATTACHMENT_MAX_BYTES"
    )
    # comma-separated content types accepted as attachments (their bytes are checked too)
    ticket_attachment_types: str = Field(default=",".join(DEFAULT_ATTACHMENT_TYPES), alias="SEATLEASE_TICKET_ATTACHMENT_TYPES")
    # unset: attachments are kept in the database; a folder: there, each file named by its SHA-256
    ticket_attachment_dir: Path | None = Field(default=None, alias="SEATLEASE_TICKET_ATTACHMENT_DIR")

    def tickets(self) -> TicketConfig:
        return TicketConfig(
            reopen_days=self.ticket_reopen_days,
            attachment_max_bytes=self.ticket_attachment_max_bytes,
            attachment_types=tuple(t.strip().lower() for t in self.ticket_attachment_types.split(",") if t.strip()),
            attachment_dir=self.ticket_attachment_dir,
        )

    # --- end tickets ---

    # --- downtime credits (issue 15: billing/downtime.py; the rule is in the README) ---
    # a seat's credit = its monthly price (the lease's, after discount) x hours lost / the hours the
    # seat is leased that month x this multiplier (1: pro rata; 2: double the lost time's value)
    downtime_credit_multiplier: Decimal = Field(default=Decimal("1"), ge=0, le=100, alias="SEATLEASE_DOWNTIME_CREDIT_MULTIPLIER")
    # a seat whose leased time lost is shorter than this earns nothing (a blip is not an outage)
    downtime_credit_min_minutes: int = Field(default=30, ge=0, alias="SEATLEASE_DOWNTIME_CREDIT_MIN_MINUTES")
    # the ticket categories that are outages (comma-separated)
    downtime_credit_categories: str = Field(default="power,network", alias="SEATLEASE_DOWNTIME_CREDIT_CATEGORIES")
    # the worker proposes credits for outage tickets resolved within this many days
    downtime_credit_lookback_days: int = Field(default=30, ge=1, le=400, alias="SEATLEASE_DOWNTIME_CREDIT_LOOKBACK_DAYS")

    def downtime_credits(self) -> DowntimeRule:
        return DowntimeRule(
            multiplier=self.downtime_credit_multiplier,
            min_minutes=self.downtime_credit_min_minutes,
            categories=tuple(c.strip() for c in self.downtime_credit_categories.split(",") if c.strip()),
            lookback_days=self.downtime_credit_lookback_days,
            approval_threshold_minor=self.credit_note_approval_threshold_minor,
        )

    # --- end downtime credits ---
    # --- help desk KPIs (issue 15: domain/helpdesk/kpis.py) ---
    # a device or seat with more tickets than this in 90 days is listed as a problematic asset
    helpdesk_problem_tickets: int = Field(default=3, ge=1, le=1000, alias="SEATLEASE_HELPDESK_PROBLEM_TICKETS")
    # --- end help desk KPIs ---


_current: Settings | None = None


class SettingsInvalid(RuntimeError):
    """A setting the process cannot start with: one line per setting at fault, naming it."""


def load_settings() -> Settings:
    """Settings from the environment; raises SettingsInvalid (naming each setting at fault) instead
    of pydantic's report."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err.get("loc", ())) or "settings"
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            lines.append(msg if msg.startswith(key) else f"{key}: {msg}")
        raise SettingsInvalid("; ".join(lines)) from None


def get_settings() -> Settings:
    global _current
    if _current is None:
        _current = load_settings()
    return _current


def use_settings(settings: Settings) -> None:
    """Make ``settings`` what get_settings() returns in this process (`seatlease up`'s generated key)."""
    global _current
    _current = settings


def require_secret_key(settings: Settings) -> str:
    """The entry points' check: raises SecretKeyMissing (one line: what is wrong, how to make a key)."""
    return settings.secret_key
