"""The small protocol every target system is reached through: grant, revoke, read actual state."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class ProviderError(Exception):
    """A call to a target system failed; the reconciler retries it with back-off.

    The message is stored on the credential and shown to staff, so it never holds a secret.
    """


@dataclass
class CredentialSpec:
    """What a provider needs to know about one credential (never an ORM object)."""

    id: uuid.UUID
    kind: str
    login: str
    member_name: str
    member_email: str
    employee_id: str
    client_id: uuid.UUID
    site_code: str
    shift_code: str
    access_groups: list[str]
    valid_until: datetime | None
    external_id: str | None
    external_ref: dict[str, Any]
    # the initial password / Wi-Fi key in clear, only while granting and only when still sealed
    secret: str | None = None


@dataclass
class GrantResult:
    external_id: str
    external_ref: dict[str, Any] = field(default_factory=dict)


@dataclass
class ActualEntry:
    """One account as the target system holds it."""

    external_id: str
    credential_id: uuid.UUID | None
    active: bool
    login: str = ""


# a factory of cross-worker exclusive sections, keyed by name (a PostgreSQL advisory lock)
Exclusive = Callable[[str], AbstractAsyncContextManager[None]]


class Provider(Protocol):
    kind: str
    # whether a grant needs the credential's secret (a password the target checks)
    needs_secret: bool

    async def grant(self, cred: CredentialSpec) -> GrantResult:
        """Make the credential exist and be enabled; idempotent (may adopt what already exists)."""
        ...

    async def revoke(self, cred: CredentialSpec, *, delete: bool) -> None:
        """Disable the credential (`delete=False`) or remove it entirely; absent is success."""
        ...

    async def read_actual(self) -> list[ActualEntry] | None:
        """Every credential this system holds for us, or None when it cannot be listed."""
        ...

    async def disable_external(self, external_id: str) -> None:
        """Disable an account found in the target with no credential of ours behind it."""
        ...

    async def aclose(self) -> None: ...
