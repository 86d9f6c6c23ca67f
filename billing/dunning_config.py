"""What payment reminders (billing/dunning.py) need of their configuration, built by the service from
SEATLEASE_DUNNING_DAYS and the SMTP settings; nothing in billing reads the environment."""

from __future__ import annotations

from dataclasses import dataclass

SETTING = "SEATLEASE_DUNNING_DAYS"
MAX_STEPS = 12


@dataclass(frozen=True)
class DunningConfig:
    # days relative to the due date, ascending: -3 = three days before it, 7 = a week after
    steps: tuple[int, ...] = (-3, 7, 21)
    # without an SMTP host and From address nothing would be sent: no reminder is queued either, so
    # that setting one up later does not deliver a backlog of stale reminders
    mail_configured: bool = False
    # invoices looked at per transaction of a pass (each one's PDF is rendered in it)
    batch_size: int = 25

    @property
    def enabled(self) -> bool:
        return bool(self.steps) and self.mail_configured


def parse_dunning_days(raw: str | None) -> tuple[int, ...]:
    """ "-3,7,21" -> (-3, 7, 21); empty or "off" = no reminders. Raises ValueError naming the setting."""
    text = (raw or "").strip()
    if text.lower() in ("", "off", "none"):
        return ()
    steps: set[int] = set()
    for part in text.split(","):
        try:
            day = int(part.strip())
        except ValueError:
            raise ValueError(f"{SETTING}: {part.strip()!r} is not a whole number of days (e.g. -3,7,21)") from None
        if not -90 <= day <= 365:
            raise ValueError(f"{SETTING}: {day} is out of range (from -90, before the due date, to 365 after)")
        steps.add(day)
    if len(steps) > MAX_STEPS:
        raise ValueError(f"{SETTING}: at most {MAX_STEPS} reminder steps")
    return tuple(sorted(steps))
