"""What provisioning shows: credential states (never a secret), a revealed secret, guards, KPIs.

Read-models built from ORM rows (`from_attributes`); the API returns them as they are and the admin
renders them, so both show the same figures."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.models import Credential

CredentialState = Literal["pending", "active", "revoking", "revoked", "failed"]
CredentialKind = Literal["directory", "badge", "wifi"]


class CredentialOut(BaseModel):
    """A credential's state; never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    lease_id: uuid.UUID
    member_id: uuid.UUID
    seat_id: uuid.UUID | None
    client_id: uuid.UUID
    login: str
    desired: bool
    state: str
    external_id: str | None
    access_groups: list[str]
    valid_until: datetime | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    first_granted_at: datetime | None
    disabled_at: datetime | None
    revoked_at: datetime | None
    secret_revealed_at: datetime | None
    secret_available: bool = False

    @classmethod
    def of(cls, row: Credential) -> CredentialOut:
        out = cls.model_validate(row)
        out.secret_available = row.secret_ciphertext is not None
        return out


class ShortageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seat_id: uuid.UUID
    device_kind: str
    missing: int
    created_at: datetime


class LeaseDeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    serial: str
    kind: str
    seat_id: uuid.UUID | None
    status: str
    return_due_at: datetime | None


class LeaseCredentials(BaseModel):
    items: list[CredentialOut]
    next_cursor: str | None = None
    devices: list[LeaseDeviceOut]
    device_shortages: list[ShortageOut]


class CredentialPage(BaseModel):
    items: list[CredentialOut]
    next_cursor: str | None = None


class RevealedSecret(BaseModel):
    credential_id: uuid.UUID
    kind: str
    login: str
    secret: str


class GuardOut(BaseModel):
    """A mass-revocation guard: how many active credentials it holds back (of how many), of which
    targets (`by_kind`), since when (`created_at`), and who decided (confirmed or rejected)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    would_revoke: int
    total_active: int
    created_at: datetime
    confirmed_at: datetime | None
    # --- integrations (issue 13) ---
    by_kind: dict[str, int] = {}
    confirmed_by: uuid.UUID | None = None
    rejected_by: uuid.UUID | None = None
    rejected_at: datetime | None = None
    reason: str | None = None


class GuardReject(BaseModel):
    """Why the held revocation is not intended (kept on the guard and in the audit log)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class DurationStats(BaseModel):
    """Percentiles of a duration over the credentials that have both ends, in seconds."""

    p50_seconds: float | None
    p99_seconds: float | None
    max_seconds: float | None
    count: int


class ProvisioningKpis(BaseModel):
    provisioning_lead_time: DurationStats
    revocation_lag: DurationStats
    credentials_active_without_lease: int
    credentials_failed: int
    credentials_pending_grant: int
    credentials_pending_revoke: int
    devices_out_for_return: int
    seats_short_of_devices: int
    mass_revocations_awaiting_confirmation: int
    # --- client SCIM (issue 14) ---
    # from a client identity provider's deactivate/delete call to the agent's last credential cut
    scim_deprovision_time: DurationStats = Field(
        default_factory=lambda: DurationStats(p50_seconds=None, p99_seconds=None, max_seconds=None, count=0)
    )
    scim_deprovisions_waiting: int = 0
