"""Settings read from the environment, the same for every command (PRODUCT.md, CLI)."""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("seatlease")), alias="SEATLEASE_DATA_DIR"
    )
    secret_key: str = Field(default="dev-insecure-change-me-" + "0" * 16, alias="SEATLEASE_SECRET_KEY")
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
    discount_approval_threshold_pct: Decimal = Field(
        default=Decimal("10"), alias="SEATLEASE_DISCOUNT_APPROVAL_PCT"
    )
    # A credit note above this amount (minor units) waits for finance approval (rule 7).
    credit_note_approval_threshold_minor: int = Field(
        default=5_000_000, alias="SEATLEASE_CREDIT_APPROVAL_MINOR"
    )
    worker_interval_seconds: float = Field(default=5.0, alias="SEATLEASE_WORKER_INTERVAL")
    cookie_secure: bool = Field(default=False, alias="SEATLEASE_COOKIE_SECURE")

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


@lru_cache
def get_settings() -> Settings:
    return Settings()
