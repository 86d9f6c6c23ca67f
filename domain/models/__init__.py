"""All ORM models; importing this module registers every table on Base.metadata."""

import domain.models.invoice  # noqa: F401  (billing tables)
from domain.models.audit import AuditEvent, IdempotencyKey
from domain.models.base import Base
from domain.models.charge import ChargeKind, OneOffCharge
from domain.models.client import Client, Member, Team
from domain.models.credential import (  # noqa: F401
    Credential,
    CredentialKind,
    CredentialState,
    DeviceShortage,
    GuardStatus,
    RevocationGuard,
)
from domain.models.device import Device, DeviceStatus
from domain.models.floor_image import FloorImage  # noqa: F401  (issue 13: a floor's plan drawing)
from domain.models.lease import (
    Lease,
    LeaseAddOn,
    LeaseAmendment,
    LeaseSeat,
    LeaseSeatMove,
    LeaseSeatSegment,
    LeaseStatus,
    RenewalMode,
    SeatAssignment,
)
from domain.models.mail import EmailAttachment, EmailOutbox
from domain.models.payment_sync import PaymentSyncState, StripePaymentSync  # noqa: F401  (issue 12: payments)
from domain.models.plan import Inclusion, InclusionBilling, InclusionKind, Plan
from domain.models.scim import ScimDeprovision, ScimToken  # noqa: F401  (issue 14: client SCIM)
from domain.models.site import Floor, Seat, SeatStatus, Shift, Site, Zone
from domain.models.sla import SlaPolicy  # noqa: F401  (issue 15: SLA targets)
from domain.models.terms import LeasePriceStep, PlanPrice
from domain.models.ticket import (  # noqa: F401  (issue 15: the help desk)
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketComment,
    TicketEvent,
    TicketPriority,
    TicketStatus,
)
from domain.models.user import ApiClient, PasswordReset, Role, User
from domain.models.webhook import (  # noqa: F401  (issue 14: outbound webhooks)
    InvoiceOverdueMark,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from domain.models.worker import WorkerLiveness

__all__ = [
    "ApiClient",
    "AuditEvent",
    "Base",
    "ChargeKind",
    "Client",
    "CredentialKind",
    "CredentialState",
    "Device",
    "DeviceStatus",
    "EmailAttachment",
    "EmailOutbox",
    "Floor",
    "GuardStatus",
    "IdempotencyKey",
    "Inclusion",
    "InclusionBilling",
    "InclusionKind",
    "Lease",
    "LeaseAddOn",
    "LeaseAmendment",
    "LeasePriceStep",
    "LeaseSeat",
    "LeaseSeatMove",
    "LeaseSeatSegment",
    "LeaseStatus",
    "Member",
    "OneOffCharge",
    "PasswordReset",
    "Plan",
    "PlanPrice",
    "RenewalMode",
    "Role",
    "Seat",
    "SeatAssignment",
    "SeatStatus",
    "Shift",
    "Site",
    "Team",
    "User",
    "WorkerLiveness",
    "Zone",
]
