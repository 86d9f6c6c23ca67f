"""The webhook sender's settings, composed by service/settings.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.webhooks.targets import TargetRules


@dataclass(frozen=True)
class WebhookConfig:
    """The sender's settings (composed by service/settings.py from SEATLEASE_WEBHOOK_*)."""

    secret_key: str
    rules: TargetRules = field(default_factory=TargetRules)
    timeout_seconds: float = 5.0
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    jitter: float = 0.2  # each wait is the back-off ± this share, so that failing endpoints do not retry in step
    pause_after_failures: int = 10
    pause_after_seconds: float = 6 * 3600.0
    batch_size: int = 50
    response_body_limit: int = 500
    rotation_overlap_seconds: float = 24 * 3600.0
    # delivered deliveries (and events no delivery refers to) are kept this long
    retention_days: float = 30.0
    # a PEM bundle of CAs trusted besides the public ones (receivers on a private PKI)
    ca_file: str | None = None
