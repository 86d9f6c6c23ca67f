"""Settings read from the environment, the same for every command (PRODUCT.md, CLI)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field
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

    # --- degrade, never break (database pool and timeouts) ---
    db_pool_size: int = Field(default=20, ge=1, alias="SEATLEASE_DB_POOL_SIZE")
    db_max_overflow: int = Field(default=20, ge=0, alias="SEATLEASE_DB_MAX_OVERFLOW")
    # how long a request waits for a pooled connection before answering 503
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0, alias="SEATLEASE_DB_POOL_TIMEOUT")
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, alias="SEATLEASE_DB_CONNECT_TIMEOUT")
    # PostgreSQL's statement_timeout / lock_timeout per connection, in milliseconds (0 = none)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0, alias="SEATLEASE_DB_STATEMENT_TIMEOUT_MS")
    db_lock_timeout_ms: int = Field(default=10_000, ge=0, alias="SEATLEASE_DB_LOCK_TIMEOUT_MS")
    # `Retry-After` of a 503 answered because the database is unavailable or busy
    db_retry_after_seconds: int = Field(default=5, ge=1, le=3600, alias="SEATLEASE_DB_RETRY_AFTER")


@lru_cache
def get_settings() -> Settings:
    return Settings()
