"""The one wrapper around the official `stripe` SDK (async calls).

Every call carries an idempotency key derived from our own ids, so a retry after a timeout or
a crash replays Stripe's first answer instead of creating a second customer, item or invoice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import stripe

RETRYABLE = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


def is_retryable(exc: BaseException) -> bool:
    """Network trouble, 429 and 5xx are retried with back-off; other refusals need a human."""
    if isinstance(exc, RETRYABLE):
        return True
    status = getattr(exc, "http_status", None)
    return isinstance(exc, stripe.StripeError) and status is not None and status >= 500


@dataclass(frozen=True)
class RemoteInvoice:
    """What Stripe says about an invoice now: the only basis for marking one of ours paid."""

    stripe_id: str
    status: str
    currency: str
    amount_due: int
    amount_paid: int
    seatlease_invoice_id: str | None
    # what was paid outside Stripe (marked paid out of band): part of amount_paid, but not Stripe's money
    amount_paid_off_stripe: int = 0

    @property
    def paid_through_stripe(self) -> int:
        """What Stripe itself collected: the only amount its webhook may record as a payment."""
        return max(0, self.amount_paid - max(0, self.amount_paid_off_stripe))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class FinalizedInvoice:
    stripe_id: str
    status: str
    amount_due: int
    # Stripe's page where the client pays the invoice online (the portal links to it)
    hosted_url: str | None = None


class StripeGateway:
    def __init__(self, api_key: str, api_base: str | None = None, *, timeout: float = 20.0) -> None:
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            # retries are ours (state rows with back-off), so that an outage never blocks the worker
            max_network_retries=0,
            http_client=stripe.HTTPXClient(timeout=timeout),
        )

    @staticmethod
    def _opts(key: str) -> Any:
        return {"idempotency_key": f"seatlease-{key}"}

    async def ensure_customer(self, client_id: uuid.UUID, name: str, email: str) -> str:
        customer = await self.client.v1.customers.create_async(
            {"name": name, "email": email, "metadata": {"seatlease_client_id": str(client_id)}},
            self._opts(f"customer-{client_id}"),
        )
        return str(customer.id)

    async def create_draft_invoice(
        self, invoice_id: uuid.UUID, customer: str, currency: str, days_until_due: int, number: str, period: str
    ) -> str:
        inv = await self.client.v1.invoices.create_async(
            {
                "customer": customer,
                "currency": currency.lower(),
                "collection_method": "send_invoice",
                "days_until_due": days_until_due,
                "auto_advance": False,
                "pending_invoice_items_behavior": "exclude",
                "description": f"Invoice {number} for {period}",
                "metadata": {"seatlease_invoice_id": str(invoice_id), "seatlease_number": number},
            },
            self._opts(f"invoice-{invoice_id}"),
        )
        return str(inv.id)

    async def add_item(
        self, key: str, customer: str, stripe_invoice: str, amount_minor: int, currency: str, description: str
    ) -> str:
        item = await self.client.v1.invoice_items.create_async(
            {
                "customer": customer,
                "invoice": stripe_invoice,
                "amount": amount_minor,
                "currency": currency.lower(),
                "description": description[:500],
            },
            self._opts(f"item-{key}"),
        )
        return str(item.id)

    async def finalize(self, invoice_id: uuid.UUID, stripe_invoice: str) -> FinalizedInvoice:
        inv = await self.client.v1.invoices.finalize_invoice_async(
            stripe_invoice, {"auto_advance": False}, self._opts(f"finalize-{invoice_id}")
        )
        hosted = getattr(inv, "hosted_invoice_url", None)
        return FinalizedInvoice(str(inv.id), str(inv.status), int(inv.amount_due), hosted if isinstance(hosted, str) else None)

    async def send(self, invoice_id: uuid.UUID, stripe_invoice: str) -> None:
        await self.client.v1.invoices.send_invoice_async(stripe_invoice, None, self._opts(f"send-{invoice_id}"))

    async def void(self, invoice_id: uuid.UUID, stripe_invoice: str) -> None:
        await self.client.v1.invoices.void_invoice_async(stripe_invoice, None, self._opts(f"void-{invoice_id}"))

    async def retrieve_invoice(self, stripe_invoice: str) -> Any:
        return await self.client.v1.invoices.retrieve_async(stripe_invoice)

    async def invoice_state(self, stripe_invoice: str) -> RemoteInvoice:
        data = (await self.retrieve_invoice(stripe_invoice)).to_dict()
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        ours = metadata.get("seatlease_invoice_id")
        return RemoteInvoice(
            stripe_id=str(data.get("id")),
            status=str(data.get("status") or ""),
            currency=str(data.get("currency") or "").upper(),
            amount_due=_int(data.get("amount_due")),
            amount_paid=_int(data.get("amount_paid")),
            seatlease_invoice_id=ours if isinstance(ours, str) else None,
            amount_paid_off_stripe=_int(data.get("amount_paid_off_stripe")),
        )

    async def pay_out_of_band(self, invoice_id: uuid.UUID, stripe_invoice: str) -> str:
        """Mark a Stripe invoice paid outside Stripe (money received here): no charge is made."""
        inv = await self.client.v1.invoices.pay_async(
            stripe_invoice, {"paid_out_of_band": True}, self._opts(f"pay-out-of-band-{invoice_id}")
        )
        return str(inv.status)

    async def credit_note(self, credit_note_id: uuid.UUID, stripe_invoice: str, amount_minor: int, memo: str) -> str:
        cn = await self.client.v1.credit_notes.create_async(
            {
                "invoice": stripe_invoice,
                "amount": amount_minor,
                "memo": memo[:500],
                "metadata": {"seatlease_credit_note_id": str(credit_note_id)},
            },
            self._opts(f"credit-note-{credit_note_id}"),
        )
        return str(cn.id)
