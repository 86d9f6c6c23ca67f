"""Payments (issue 12): money received and what it pays, voids, a client's balance and credit (applied
or refunded), withholding certificates and the report of the missing ones."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from billing import payment_queries as q
from billing import payments as svc
from billing.db import driver
from billing.payment_schemas import (
    AllocationOut,
    CertificateCreate,
    CertificateOut,
    ClientBalanceOut,
    CreditApply,
    MissingCertificates,
    PaymentCreate,
    PaymentOut,
    PaymentPage,
    PaymentVoid,
    RefundCreate,
    RefundOut,
)
from domain.errors import Forbidden, NotFound
from domain.models import Client
from domain.rules.money import minor_unit_exponent
from domain.services.lookup import get_or_404
from service.api.deps import CSV_CONTENT, Cursor, Limit
from service.auth import FinanceUser, TenantReader
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1", tags=["payments"])


def _no_facility_staff(user: Any) -> None:
    if user.role == "facility_staff":
        raise Forbidden("payments are read by finance and by the client")


async def _payment_out(session: Any, payment_id: uuid.UUID) -> PaymentOut:
    row = await q.payment(await driver(session), payment_id)
    if row is None:
        raise NotFound("payment not found")
    return PaymentOut.model_validate(row)


@router.post("/payments", status_code=201, response_model=PaymentOut, summary="Record a payment received")
async def record_payment(body: PaymentCreate, user: FinanceUser, session: SessionDep, idem: IdempotencyDep) -> JSONResponse:
    """Money received from a client (bank transfer, cheque, cash, card), with the day it counts and a
    reference, allocated to its open invoices of the payment's currency in full or in part:
    `allocations` as given, or left out for oldest due first, or `[]` to keep it all as credit. An
    allocation never exceeds what its invoice still owes, never names another client's invoice (404)
    or another currency (422), and together they never exceed the amount (422 naming the field).
    A client that withholds tax settles an invoice with a payment short by exactly the withheld
    amount (its rate × the invoice's amount before tax): `withheld_minor` is recorded. A cheque dated
    after today is `held`: it settles nothing until the worker clears it on its date. What is not
    allocated is the client's credit balance.
    Roles: finance and admin."""
    await get_or_404(session, Client, body.client_id, "client")

    async def make() -> PaymentOut:
        return await _payment_out(session, await svc.record_payment(session, user, body))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/payments", response_model=PaymentPage, summary="List payments")
async def list_payments(
    user: TenantReader,
    session: SessionDep,
    client_id: uuid.UUID | None = None,
    invoice_id: uuid.UUID | None = None,
    status: Literal["held", "cleared", "void"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> PaymentPage:
    """Payments with their allocations, filtered by client, invoice paid or status.
    Roles: finance and admin; a client (client_admin, client_viewer) reads its own (another client's is 404)."""
    _no_facility_staff(user)
    if user.is_client:
        if client_id is not None and client_id != user.client_id:
            return PaymentPage(items=[])
        client_id = user.client_id
    rows, nxt = await q.payments_page(
        await driver(session),
        client_id=client_id,
        status=status,
        invoice_id=invoice_id,
        cursor=uuid.UUID(cursor) if cursor else None,
        limit=limit,
    )
    return PaymentPage(items=[PaymentOut.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/payments/{payment_id}", response_model=PaymentOut, summary="Get a payment")
async def get_payment(payment_id: uuid.UUID, user: TenantReader, session: SessionDep) -> PaymentOut:
    """A payment with its allocations.
    Roles: finance and admin; a client (client_admin, client_viewer) reads its own (another client's is 404)."""
    _no_facility_staff(user)
    owner = await q.payment_client(await driver(session), payment_id)
    if owner is None:
        raise NotFound("payment not found")
    user.require_client(owner, "payment")
    return await _payment_out(session, payment_id)


@router.post("/payments/{payment_id}/void", response_model=PaymentOut, summary="Void a payment (a bounced cheque)")
async def void_payment(payment_id: uuid.UUID, body: PaymentVoid, user: FinanceUser, session: SessionDep) -> PaymentOut:
    """A bounced cheque or a payment recorded by mistake stops counting: its allocations let go of the
    invoices they paid (back to issued or partially paid) and its credit goes. A Stripe payment is
    refunded in Stripe instead (409). Audited.
    Roles: finance and admin."""
    await svc.void_payment(session, user, payment_id, body.reason)
    return await _payment_out(session, payment_id)


@router.get("/clients/{client_id}/balance", response_model=ClientBalanceOut, summary="A client's balance and credit")
async def client_balance(client_id: uuid.UUID, user: TenantReader, session: SessionDep) -> ClientBalanceOut:
    """Per currency: what its invoices still ask for, its credit balance (received and not allocated,
    less refunds), post-dated cheques held, tax withheld, and the balance (outstanding − credit).
    Roles: finance and admin; a client (client_admin, client_viewer) reads its own (another client's is 404)."""
    _no_facility_staff(user)
    user.require_client(client_id, "client")
    await get_or_404(session, Client, client_id, "client")
    rows = await q.client_balance(await driver(session), client_id)
    return ClientBalanceOut.model_validate({"client_id": client_id, "currencies": rows})


@router.post("/clients/{client_id}/credit/apply", response_model=list[AllocationOut], summary="Apply a client's credit")
async def apply_credit(client_id: uuid.UUID, body: CreditApply, user: FinanceUser, session: SessionDep) -> list[AllocationOut]:
    """The client's credit balance of a currency applied to the invoices given, or to its open invoices
    oldest due first. (The worker also applies credit to open invoices on its own, oldest due first.)
    Returns the allocations made.
    Roles: finance and admin."""
    await get_or_404(session, Client, client_id, "client")
    plan = await svc.apply_credit(session, user, client_id, body)
    rows = await q.applied_today(await driver(session), client_id) if plan else []
    return [AllocationOut.model_validate(r) for r in rows]


@router.post("/clients/{client_id}/credit-refunds", status_code=201, response_model=RefundOut, summary="Refund credit")
async def refund_credit(
    client_id: uuid.UUID, body: RefundCreate, user: FinanceUser, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    """Pay part of the client's credit balance back, never more than the balance (409 naming
    `amount_minor`), even when refunds are asked for at once. Audited.
    Roles: finance and admin."""
    await get_or_404(session, Client, client_id, "client")

    async def make() -> RefundOut:
        refund_id = await svc.refund_credit(session, user, client_id, body)
        (row,) = [r for r in await q.refunds(await driver(session), client_id) if r["id"] == refund_id]
        return RefundOut.model_validate(row)

    return await idem.run(session, str(user.subject), body, make)


@router.get("/clients/{client_id}/credit-refunds", response_model=list[RefundOut], summary="A client's refunds")
async def list_refunds(client_id: uuid.UUID, user: TenantReader, session: SessionDep) -> list[RefundOut]:
    """Refunds of the client's credit, latest first.
    Roles: finance and admin; a client (client_admin, client_viewer) reads its own (another client's is 404)."""
    _no_facility_staff(user)
    user.require_client(client_id, "client")
    await get_or_404(session, Client, client_id, "client")
    return [RefundOut.model_validate(r) for r in await q.refunds(await driver(session), client_id)]


@router.post(
    "/clients/{client_id}/withholding-certificates",
    status_code=201,
    response_model=CertificateOut,
    summary="Mark a withholding certificate received",
)
async def record_certificate(
    client_id: uuid.UUID, body: CertificateCreate, user: FinanceUser, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    """The client's certificate of tax withheld for a quarter (BIR Form 2307) is in: once per client and
    quarter (409 for a second). Audited.
    Roles: finance and admin."""
    await get_or_404(session, Client, client_id, "client")

    async def make() -> CertificateOut:
        cert_id = await svc.record_certificate(session, user, client_id, body)
        (row,) = [r for r in await q.certificates(await driver(session), client_id) if r["id"] == cert_id]
        return CertificateOut.model_validate(row)

    return await idem.run(session, str(user.subject), body, make)


@router.get(
    "/clients/{client_id}/withholding-certificates", response_model=list[CertificateOut], summary="A client's certificates"
)
async def list_certificates(client_id: uuid.UUID, user: TenantReader, session: SessionDep) -> list[CertificateOut]:
    """Withholding certificates received, latest quarter first.
    Roles: finance and admin; a client (client_admin, client_viewer) reads its own (another client's is 404)."""
    _no_facility_staff(user)
    user.require_client(client_id, "client")
    await get_or_404(session, Client, client_id, "client")
    return [CertificateOut.model_validate(r) for r in await q.certificates(await driver(session), client_id)]


@router.get(
    "/reports/withholding-certificates/missing",
    response_model=MissingCertificates,
    responses={200: {"content": {"application/json": {}, **CSV_CONTENT}}},
    summary="Withholding certificates still missing",
)
async def missing_certificates(
    user: FinanceUser,
    session: SessionDep,
    client_id: uuid.UUID | None = None,
    accept: Annotated[str | None, Header()] = None,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
) -> Response:
    """Clients and quarters (of the day each payment counts) with tax withheld and no certificate yet,
    with the amounts per currency; JSON in minor units, or CSV (`Accept: text/csv` or `?format=csv`) in
    major units with the currency column.
    Roles: finance and admin."""
    rows = await q.missing_certificates(await driver(session), client_id)
    if (format or ("csv" if "text/csv" in (accept or "").lower() else "json")) == "csv":
        return Response(
            q.missing_certificates_csv(rows, minor_unit_exponent),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="withholding-certificates-missing.csv"'},
        )
    return JSONResponse(jsonable_encoder(MissingCertificates.model_validate({"items": rows})))


def install(app: FastAPI) -> None:
    app.include_router(router)
