"""What billing needs to know of its configuration: a plain typed model the service builds from its
settings (service/settings.py `Settings.billing()`); nothing in billing reads the environment."""

from __future__ import annotations

from dataclasses import dataclass

# clients billed per transaction of a run (service: SEATLEASE_BILLING_BATCH)
DEFAULT_BATCH = 250


@dataclass(frozen=True)
class BillingSettings:
    # a run for a month is accepted from this many days before the month starts (rule 4)
    advance_days: int = 10
    # a credit note above this amount (minor units) waits for finance approval (rule 7)
    credit_note_approval_threshold_minor: int = 5_000_000
    # no key: invoices stay internal, nothing is pushed to Stripe
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    run_batch_size: int = DEFAULT_BATCH
    # a pause between batches of a run lets a busy database breathe (and lets tests stop a run half-way)
    run_pause_seconds: float = 0.0
    # --- invoices dated as issued, drafts (issue 12) ---
    # a run writes drafts that finance reviews and issues in bulk, instead of issuing at once
    draft_review: bool = False
