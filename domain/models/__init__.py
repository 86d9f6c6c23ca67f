"""All ORM models; importing this module registers every table on Base.metadata."""

import domain.models.invoice  # noqa: F401  (billing tables)
from domain.models.audit import AuditEvent, IdempotencyKey
from domain.models.base import Base
from domain.models.charge import OneOffCharge
from domain.models.client import Client, Member, Team
from domain.models.credential import Credential, DeviceShortage, RevocationGuard  # noqa: F401
from domain.models.device import Device
from domain.models.lease import Lease, LeaseAddOn, LeaseAmendment, LeaseSeat, LeaseSeatSegment, SeatAssignment
from domain.models.plan import Inclusion, Plan
from domain.models.site import Floor, Seat, Shift, Site
from domain.models.user import ApiClient, User
from domain.models.worker import WorkerLiveness

__all__ = [
    "ApiClient",
    "AuditEvent",
    "Base",
    "Client",
    "Device",
    "Floor",
    "IdempotencyKey",
    "Inclusion",
    "Lease",
    "LeaseAddOn",
    "LeaseAmendment",
    "LeaseSeat",
    "LeaseSeatSegment",
    "Member",
    "OneOffCharge",
    "Plan",
    "Seat",
    "SeatAssignment",
    "Shift",
    "Site",
    "Team",
    "User",
    "WorkerLiveness",
]
