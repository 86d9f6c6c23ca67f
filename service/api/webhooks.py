"""Outbound webhooks (issue 14): endpoints, their signing secrets and their delivery logs.

Who may call: a `client_admin` (its own client's endpoints; another tenant's are 404) and an `admin`
(any client's, and the facility's own: `facility: true`, every client's events). Others: 403. The
signing secret is returned once, by create and by rotate. README "Webhooks" says how a receiver
verifies a delivery.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from domain.errors import Forbidden, ValidationFailed
from domain.models.user import Role
from domain.schemas import Page
from domain.webhooks import endpoints as hooks
from domain.webhooks.schemas import (
    Delivery,
    DeliveryDetail,
    Endpoint,
    EndpointCreate,
    EndpointSecret,
    EndpointUpdate,
    EventTypeInfo,
)
from service.api.deps import Limit
from service.auth import AnyUser, Principal, require_roles
from service.db import SessionDep

router = APIRouter(prefix="/v1", tags=["webhooks"])

HookAdmin = Annotated[Principal, require_roles(Role.ADMIN, Role.CLIENT_ADMIN)]
_ROLES = " Roles: admin (any client's, and the facility's own), client_admin (its own client's; any other is 404)."
SeqCursor = Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$", description="`next_cursor` of the previous page")]


def _is_admin(user: Principal) -> bool:
    return user.role == Role.ADMIN


def _secret_view(row: object, secret: str) -> EndpointSecret:
    return EndpointSecret.model_validate({**Endpoint.model_validate(row).model_dump(), "secret": secret})


@router.get(
    "/webhook-event-types",
    response_model=list[EventTypeInfo],
    summary="List webhook event types",
    description="Every event type an endpoint may subscribe to, what it means, and whether anything emits it yet. "
    "Roles: any signed-in user.",
)
async def list_webhook_event_types(user: AnyUser) -> list[EventTypeInfo]:
    return hooks.event_types()


@router.get(
    "/webhook-endpoints",
    response_model=list[Endpoint],
    summary="List webhook endpoints",
    description="Endpoints with their state (active or paused, and why), oldest first. `facility=true`: the "
    "facility's own endpoints only (admins)." + _ROLES,
)
async def list_webhook_endpoints(
    user: HookAdmin, session: SessionDep, client_id: uuid.UUID | None = None, facility: bool | None = None
) -> list[Endpoint]:
    rows = await hooks.list_endpoints(
        session, tenant=user.client_id, staff=_is_admin(user), client_id=client_id, facility=facility
    )
    return [Endpoint.model_validate(r) for r in rows]


@router.post(
    "/webhook-endpoints",
    status_code=201,
    response_model=EndpointSecret,
    summary="Create a webhook endpoint",
    description="An https URL that receives the chosen event types, each POST signed with the endpoint's secret "
    "(`Seatlease-Signature: t=…,v1=…`). The secret is in this answer only. The URL must resolve to public "
    "addresses (no loopback, private or link-local targets). A client admin may leave `client_id` out; an "
    "admin sets `client_id`, or `facility: true` for the facility's own systems." + _ROLES,
)
async def create_webhook_endpoint(body: EndpointCreate, request: Request, user: HookAdmin, session: SessionDep) -> EndpointSecret:
    if body.facility and not _is_admin(user):
        raise Forbidden("only an admin makes the facility's own endpoints", field="facility")
    if body.facility and body.client_id is not None:
        raise ValidationFailed("a facility endpoint hears every client: leave client_id out", field="client_id")
    client_id = body.client_id if _is_admin(user) else body.client_id or user.client_id
    if not _is_admin(user) and client_id != user.client_id:
        user.require_client(client_id or uuid.UUID(int=0), "client")
    if _is_admin(user) and client_id is None and not body.facility:
        raise ValidationFailed("give the client_id, or facility: true for the facility's own systems", field="client_id")
    settings = request.app.state.settings
    config = settings.webhooks()
    row, secret = await hooks.create_endpoint(
        session,
        user,
        client_id=client_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        rules=config.rules,
        secret_key=config.secret_key,
    )
    return _secret_view(row, secret)


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    response_model=Endpoint,
    summary="Get a webhook endpoint",
    description="The endpoint and its state: paused endpoints say when and why." + _ROLES,
)
async def get_webhook_endpoint(endpoint_id: uuid.UUID, user: HookAdmin, session: SessionDep) -> Endpoint:
    return Endpoint.model_validate(await hooks.get_endpoint(session, endpoint_id, tenant=user.client_id, staff=_is_admin(user)))


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    response_model=Endpoint,
    summary="Change a webhook endpoint",
    description="Its URL (checked like a new one), event types or description; the secret stays." + _ROLES,
)
async def update_webhook_endpoint(
    endpoint_id: uuid.UUID, body: EndpointUpdate, request: Request, user: HookAdmin, session: SessionDep
) -> Endpoint:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=user.client_id, staff=_is_admin(user), lock=True)
    rules = request.app.state.settings.webhooks().rules
    row = await hooks.update_endpoint(
        session, user, row, url=body.url, event_types=body.event_types, description=body.description, rules=rules
    )
    return Endpoint.model_validate(row)


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=204,
    summary="Delete a webhook endpoint",
    description="Gone with its delivery log; what was still pending for it is not sent." + _ROLES,
)
async def delete_webhook_endpoint(endpoint_id: uuid.UUID, user: HookAdmin, session: SessionDep) -> Response:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=user.client_id, staff=_is_admin(user), lock=True)
    await hooks.delete_endpoint(session, user, row)
    return Response(status_code=204)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=EndpointSecret,
    summary="Rotate a webhook endpoint's secret",
    description="A new signing secret, in this answer only. For the overlap (SEATLEASE_WEBHOOK_ROTATION_OVERLAP_HOURS, "
    "24 h by default; `previous_secret_until` says until when) each delivery carries two `v1=` signatures, the new "
    "secret's and the old one's, so the receiver can swap secrets without rejecting an event." + _ROLES,
)
async def rotate_webhook_secret(endpoint_id: uuid.UUID, request: Request, user: HookAdmin, session: SessionDep) -> EndpointSecret:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=user.client_id, staff=_is_admin(user), lock=True)
    config = request.app.state.settings.webhooks()
    overlap = timedelta(seconds=config.rotation_overlap_seconds)
    secret = await hooks.rotate_secret(session, user, row, secret_key=config.secret_key, overlap=overlap)
    return _secret_view(row, secret)


@router.post(
    "/webhook-endpoints/{endpoint_id}/pause",
    response_model=Endpoint,
    summary="Pause a webhook endpoint",
    description="Deliveries are held (events keep queueing, none is dropped) until it is resumed." + _ROLES,
)
async def pause_webhook_endpoint(endpoint_id: uuid.UUID, user: HookAdmin, session: SessionDep) -> Endpoint:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=user.client_id, staff=_is_admin(user), lock=True)
    return Endpoint.model_validate(await hooks.pause_endpoint(session, user, row, f"paused by {user.label}"))


@router.post(
    "/webhook-endpoints/{endpoint_id}/resume",
    response_model=Endpoint,
    summary="Resume a webhook endpoint",
    description="Active again; what was held is delivered in the order of the changes on the worker's next pass." + _ROLES,
)
async def resume_webhook_endpoint(endpoint_id: uuid.UUID, user: HookAdmin, session: SessionDep) -> Endpoint:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=user.client_id, staff=_is_admin(user))
    await hooks.resume_endpoint(session, user, row)
    return Endpoint.model_validate(row)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=Page[Delivery],
    summary="List an endpoint's deliveries",
    description="The delivery log, newest event first: status (pending, held while paused, delivered), attempts, "
    "the last error and response code, and the next attempt." + _ROLES,
)
async def list_webhook_deliveries(
    endpoint_id: uuid.UUID,
    user: HookAdmin,
    session: SessionDep,
    status: Literal["pending", "held", "delivered"] | None = None,
    cursor: SeqCursor = None,
    limit: Limit = 50,
) -> Page[Delivery]:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=user.client_id, staff=_is_admin(user))
    items, nxt = await hooks.list_deliveries(session, row, status=status, before_seq=int(cursor) if cursor else None, limit=limit)
    return Page(items=items, next_cursor=nxt)


@router.get(
    "/webhook-deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    summary="Get a webhook delivery",
    description="The delivery, the body it sends and each attempt with the receiver's answer (truncated)." + _ROLES,
)
async def get_webhook_delivery(delivery_id: uuid.UUID, user: HookAdmin, session: SessionDep) -> DeliveryDetail:
    found = await hooks.get_delivery(session, delivery_id, tenant=user.client_id, staff=_is_admin(user))
    return await hooks.delivery_detail(session, found)


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    response_model=Delivery,
    summary="Redeliver a webhook event",
    description="A new attempt of the same event (the same `Seatlease-Event-Id`), due now (held while the endpoint "
    "is paused)." + _ROLES,
)
async def redeliver_webhook(delivery_id: uuid.UUID, user: HookAdmin, session: SessionDep) -> Delivery:
    found = await hooks.get_delivery(session, delivery_id, tenant=user.client_id, staff=_is_admin(user), lock=True)
    found = await hooks.redeliver(session, user, found)
    return await hooks.delivery_detail(session, found)
