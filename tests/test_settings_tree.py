"""The parts' settings come from the service's one settings tree, under the variable names they
always had: the SEATLEASE_PROV_* tuning and the billing run's batch and pause."""

from __future__ import annotations

import pytest

from billing.config import BillingSettings
from provisioning.config import ProvisioningConfig
from service.settings import Settings

KEY = "k" * 48


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STRIPE_API_BASE", "SEATLEASE_CREDIT_APPROVAL_MINOR", "BADGE_WEBHOOK_URL", "RADIUS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_provisioning_tuning_is_read_under_its_old_names(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "SEATLEASE_PROV_BACKOFF_BASE": "3.5",
        "SEATLEASE_PROV_BACKOFF_CAP": "30",
        "SEATLEASE_PROV_MAX_ATTEMPTS": "4",
        "SEATLEASE_PROV_FAILED_RETRY": "60",
        "SEATLEASE_PROV_DELETE_GRACE": "120",
        "SEATLEASE_PROV_SWEEP_INTERVAL": "7",
        "SEATLEASE_PROV_BATCH": "16",
        "SEATLEASE_PROV_CONCURRENCY": "3",
        "SEATLEASE_PROV_PARALLEL_BATCHES": "5",
        "SEATLEASE_PROV_DRIFT_GUARD_MIN": "9",
        "SCIM_BASE_URL": "http://scim.invalid/v2",
    }.items():
        monkeypatch.setenv(name, value)
    config = Settings(SEATLEASE_SECRET_KEY=KEY).provisioning()
    assert isinstance(config, ProvisioningConfig)
    assert (config.backoff_base_seconds, config.backoff_cap_seconds, config.max_attempts) == (3.5, 30.0, 4)
    assert (config.failed_retry_seconds, config.delete_grace_seconds, config.sweep_interval_seconds) == (60.0, 120.0, 7.0)
    assert (config.batch_size, config.concurrency, config.parallel_batches, config.mass_revoke_min) == (16, 3, 5, 9)
    assert config.secret_key == KEY
    assert config.enabled_kinds == ["directory"]


def test_an_empty_provisioning_variable_means_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATLEASE_PROV_BATCH", "")
    monkeypatch.setenv("SEATLEASE_PROV_BACKOFF_CAP", "")
    config = Settings(SEATLEASE_SECRET_KEY=KEY).provisioning()
    defaults = ProvisioningConfig(secret_key=KEY)
    assert (config.batch_size, config.backoff_cap_seconds) == (defaults.batch_size, defaults.backoff_cap_seconds) == (64, 300.0)


def test_billing_settings_come_from_the_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATLEASE_BILLING_BATCH", "2")
    monkeypatch.setenv("SEATLEASE_BILLING_PAUSE", "0.4")
    monkeypatch.setenv("SEATLEASE_BILLING_ADVANCE_DAYS", "3")
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_x")
    billing = Settings().billing()
    assert billing == BillingSettings(
        advance_days=3,
        credit_note_approval_threshold_minor=5_000_000,
        stripe_api_key="sk_test_x",
        stripe_api_base=None,
        run_batch_size=2,
        run_pause_seconds=0.4,
    )
    monkeypatch.delenv("SEATLEASE_BILLING_BATCH")
    monkeypatch.delenv("SEATLEASE_BILLING_PAUSE")
    assert (Settings().billing().run_batch_size, Settings().billing().run_pause_seconds) == (250, 0.0)
