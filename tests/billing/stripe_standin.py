"""A local stand-in for Stripe's HTTP API, for the endpoints seatlease calls.

It answers over real HTTP on localhost with objects of the shape the `stripe` SDK's typed
resources declare (every field of `stripe.Invoice`, `stripe.Customer`, …; see stripe_shapes.py,
which also checks the answers against those types), keeps state
(customers, invoices, invoice items, credit notes), honours idempotency keys the way Stripe
does (same key + same parameters → the first answer again; same key + other parameters →
an `idempotency_error`), fails on demand (timeouts, 500s, 429s) and signs webhook events. Issue 12:
it marks an invoice paid out of band (`POST /v1/invoices/{id}/pay`), takes card payments in full or
in part (`card_payment`), and queues the `invoice.paid`/`invoice.updated` events those produce in its
`outbox` for the test to deliver (`take_outbox`: signed, in order)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import stripe

from tests.billing.stripe_shapes import blank


def _unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[key]=v`) back into nested dicts."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


class StripeStandIn:
    def __init__(self, webhook_secret: str = "whsec_standin") -> None:
        self.webhook_secret = webhook_secret
        self.lock = threading.Lock()
        self.customers: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.credit_notes: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, tuple[str, int, bytes]] = {}
        self.failures: list[str] = []
        self.sent: set[str] = set()
        self.requests: list[tuple[str, str, str | None]] = []
        self.amount_due_skew = 0
        self.timeout_seconds = 2.0
        # events of Stripe's own making (an invoice paid out of band, a card payment), for the test to deliver
        self.outbox: list[dict[str, Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> StripeStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, *kinds: str) -> None:
        """Queue failures for the next requests: 'timeout' (no answer), 'lost' (done, but the answer
        never arrives), '500' or '429'."""
        with self.lock:
            self.failures.extend(kinds)

    # ---- objects in Stripe's shapes ------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    def _customer(self, p: dict[str, Any]) -> dict[str, Any]:
        obj = blank(stripe.Customer)
        obj.update(
            id=self._new_id("cus"),
            livemode=False,
            invoice_prefix=secrets.token_hex(4).upper(),
            preferred_locales=[],
            name=p.get("name"),
            email=p.get("email"),
            metadata=p.get("metadata", {}),
            created=int(time.time()),
            discount=None,
        )
        self.customers[obj["id"]] = obj
        return obj

    def _invoice(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if p.get("customer") not in self.customers:
            return 400, self._error("invalid_request_error", "No such customer", "customer")
        obj = blank(stripe.Invoice)
        obj.update(
            id=self._new_id("in"),
            customer=p["customer"],
            currency=p.get("currency", "usd"),
            collection_method=p.get("collection_method", "charge_automatically"),
            auto_advance=p.get("auto_advance") == "true",
            description=p.get("description"),
            metadata=p.get("metadata", {}),
            status="draft",
            number=None,
            created=int(time.time()),
            amount_due=0,
            amount_paid=0,
            amount_remaining=0,
            subtotal=0,
            total=0,
            subtotal_excluding_tax=0,
            total_excluding_tax=0,
            last_finalization_error=None,
            from_invoice=None,
        )
        obj["days_until_due"] = int(p["days_until_due"]) if "days_until_due" in p else None
        obj["lines"] = {"data": [], "has_more": False, "object": "list", "url": f"/v1/invoices/{obj['id']}/lines"}
        self.invoices[obj["id"]] = obj
        return 200, obj

    def _item(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        inv = self.invoices.get(p.get("invoice", ""))
        if inv is None:
            return 400, self._error("invalid_request_error", "No such invoice", "invoice")
        if inv["status"] != "draft":
            return 400, self._error("invalid_request_error", "The invoice is not a draft", "invoice")
        obj = blank(stripe.InvoiceItem)
        amount = int(p["amount"])
        obj.update(
            id=self._new_id("ii"),
            amount=amount,
            currency=p.get("currency"),
            customer=p.get("customer"),
            description=p.get("description"),
            invoice=inv["id"],
            date=int(time.time()),
            metadata={},
            parent=None,
            net_amount=amount,
            quantity_decimal="1",
        )
        self.items[obj["id"]] = obj
        line = blank(stripe.InvoiceLineItem)
        line.update(
            quantity=1,
            id=self._new_id("il"),
            amount=amount,
            currency=obj["currency"],
            description=obj["description"],
            invoice=inv["id"],
            subtotal=amount,
        )
        inv["lines"]["data"].append(line)
        total = sum(x["amount"] for x in inv["lines"]["data"])
        inv.update(subtotal=total, total=total, subtotal_excluding_tax=total, total_excluding_tax=total)
        return 200, obj

    def _finalize(self, inv: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if inv["status"] != "draft":
            return 400, self._error("invalid_request_error", "This invoice is already finalized", None)
        due = max(0, inv["total"]) + self.amount_due_skew
        inv.update(status="open", number=f"STANDIN-{len(self.invoices):04d}", amount_due=due, amount_remaining=due)
        # as Stripe does at finalization: the page where the customer pays it (served below, no API key)
        inv["hosted_invoice_url"] = f"{self.base_url}/i/{inv['id']}"
        return 200, inv

    def _credit_note(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        inv = self.invoices.get(p.get("invoice", ""))
        if inv is None or inv["status"] not in ("open", "paid"):
            return 400, self._error("invalid_request_error", "Invoice cannot be credited", "invoice")
        obj = blank(stripe.CreditNote)
        amount = int(p["amount"])
        obj.update(
            id=self._new_id("cn"),
            amount=amount,
            total=amount,
            subtotal=amount,
            invoice=inv["id"],
            customer=inv["customer"],
            currency=inv["currency"],
            memo=p.get("memo"),
            metadata=p.get("metadata", {}),
            status="issued",
            created=int(time.time()),
        )
        obj["lines"] = {"data": [], "has_more": False, "object": "list", "url": f"/v1/credit_notes/{obj['id']}/lines"}
        self.credit_notes[obj["id"]] = obj
        return 200, obj

    def _pay(self, inv: dict[str, Any], p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """`POST /v1/invoices/{id}/pay`: only `paid_out_of_band=true` (seatlease never charges a card
        itself). As Stripe does, the amount left counts in `amount_paid` and in `amount_paid_off_stripe`,
        and the invoice's `invoice.paid` event is queued in the outbox (delivered by the test)."""
        if p.get("paid_out_of_band") != "true":
            return 400, self._error("invalid_request_error", "The stand-in only pays out of band", "paid_out_of_band")
        if inv["status"] == "paid":
            return 400, self._error("invalid_request_error", "Invoice is already paid", None)
        if inv["status"] not in ("open", "uncollectible"):
            return 400, self._error("invalid_request_error", f"You cannot pay an invoice that is {inv['status']}", None)
        left = inv["amount_remaining"]
        inv.update(
            status="paid",
            amount_paid=inv["amount_paid"] + left,
            amount_paid_off_stripe=(inv.get("amount_paid_off_stripe") or 0) + left,
            amount_remaining=0,
        )
        self.outbox.append(self.event("invoice.paid", copy.deepcopy(inv)))
        return 200, inv

    def card_payment(self, invoice_id: str, amount: int | None = None) -> dict[str, Any]:
        """The client pays (part of) an invoice by card in Stripe: Stripe's own money. Queues the
        `invoice.paid` (all paid) or `invoice.updated` event in the outbox; returns the invoice."""
        with self.lock:
            inv = self.invoices[invoice_id]
            amount = inv["amount_remaining"] if amount is None else amount
            inv.update(amount_paid=inv["amount_paid"] + amount, amount_remaining=inv["amount_remaining"] - amount)
            if inv["amount_remaining"] <= 0:
                inv.update(status="paid", amount_remaining=0)
            self.outbox.append(self.event("invoice.paid" if inv["status"] == "paid" else "invoice.updated", copy.deepcopy(inv)))
            return copy.deepcopy(inv)

    def take_outbox(self) -> list[tuple[bytes, str]]:
        """The events the stand-in's own actions produced, signed, in order; the outbox is emptied."""
        with self.lock:
            events, self.outbox = self.outbox, []
        return [(payload, self.sign(payload)) for payload in (json.dumps(e).encode() for e in events)]

    @staticmethod
    def _error(kind: str, message: str, param: str | None) -> dict[str, Any]:
        return {"error": {"type": kind, "message": message, "param": param}}

    def _invoice_action(
        self, method: str, inv: dict[str, Any], action: str | None, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        """GET an invoice or POST one of its actions; None for anything else (a 404)."""
        if method == "GET" and action is None:
            return 200, inv
        if method == "POST" and action == "finalize":
            return self._finalize(inv)
        if method == "POST" and action == "send":
            if inv["status"] != "open":
                return 400, self._error("invalid_request_error", "Only open invoices can be sent", None)
            self.sent.add(inv["id"])
            return 200, inv
        if method == "POST" and action == "pay":
            return self._pay(inv, params)
        if method == "POST" and action == "void":
            if inv["status"] not in ("open", "uncollectible"):
                return 400, self._error("invalid_request_error", "Only open invoices can be voided", None)
            inv["status"] = "void"
            return 200, inv
        return None

    def route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if method == "POST" and path == "/v1/customers":
                return 200, self._customer(params)
            if method == "POST" and path == "/v1/invoices":
                return self._invoice(params)
            if method == "POST" and path == "/v1/invoiceitems":
                return self._item(params)
            if method == "POST" and path == "/v1/credit_notes":
                return self._credit_note(params)
            m = re.fullmatch(r"/v1/invoices/(in_\w+)(?:/(finalize|send|void|pay))?", path)
            if m and m.group(1) in self.invoices:
                answer = self._invoice_action(method, self.invoices[m.group(1)], m.group(2), params)
                if answer is not None:
                    return answer
            m = re.fullmatch(r"/v1/customers/(cus_\w+)", path)
            if method == "GET" and m and m.group(1) in self.customers:
                return 200, self.customers[m.group(1)]
            return 404, self._error("invalid_request_error", f"Unrecognized request URL ({method}: {path})", None)

    # ---- webhooks ---------------------------------------------------------------------

    def event(self, kind: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
        ev = blank(stripe.Event)
        ev.update(
            api_version=stripe.api_version,
            request={"id": None, "idempotency_key": None},
            id=self._new_id("evt"),
            type=kind,
            created=created or int(time.time()),
            data={"object": obj},
        )
        return ev

    def sign(self, payload: bytes, *, timestamp: int | None = None, secret: str | None = None) -> str:
        t = timestamp or int(time.time())
        mac = hmac.new((secret or self.webhook_secret).encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
        return f"t={t},v1={mac}"

    def signed_event(self, kind: str, obj: dict[str, Any], **kw: Any) -> tuple[bytes, str]:
        payload = json.dumps(self.event(kind, obj)).encode()
        return payload, self.sign(payload, **kw)

    def pay(self, invoice_id: str) -> dict[str, Any]:
        with self.lock:
            inv = self.invoices[invoice_id]
            inv.update(status="paid", amount_paid=inv["amount_due"], amount_remaining=0)
            return copy.deepcopy(inv)

    # ---- HTTP ---------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"standin": self})


class _Handler(BaseHTTPRequestHandler):
    """Stripe's HTTP API over the stand-in of the subclass `StripeStandIn._handler` makes."""

    standin: StripeStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes, replayed: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", f"req_{secrets.token_hex(8)}")
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, method: str) -> None:
        standin = self.standin
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        path, _, query = self.path.partition("?")
        params = _unflatten(parse_qsl(raw or query, keep_blank_values=True))
        key = self.headers.get("Idempotency-Key")
        with standin.lock:
            standin.requests.append((method, path, key))
            failure = standin.failures.pop(0) if standin.failures else None
        if self._failed_or_refused(failure):
            return
        fingerprint = hashlib.sha256(f"{method} {path} {json.dumps(params, sort_keys=True)}".encode()).hexdigest()
        if key and method == "POST" and self._replayed(key, fingerprint):
            return
        status, obj = standin.route(method, path, params)
        body = json.dumps(obj).encode()
        if key and method == "POST" and status < 500:
            with standin.lock:
                standin.idempotency[key] = (fingerprint, status, body)
        if failure == "lost":
            time.sleep(standin.timeout_seconds)
            self.close_connection = True
            return
        self._answer(status, body)

    def _failed_or_refused(self, failure: str | None) -> bool:
        """Answer an injected failure before the request is handled, or a missing API key; True if answered."""
        standin = self.standin
        if failure == "timeout":
            time.sleep(standin.timeout_seconds)
            self.close_connection = True
            return True
        if failure in ("500", "429"):
            status = int(failure)
            kind = "api_error" if status == 500 else "rate_limit_error"
            self._answer(status, json.dumps(standin._error(kind, f"stand-in {failure}", None)).encode())
            return True
        if not (self.headers.get("Authorization") or "").startswith("Bearer sk_"):
            self._answer(401, json.dumps(standin._error("invalid_request_error", "Invalid API Key", None)).encode())
            return True
        return False

    def _replayed(self, key: str, fingerprint: str) -> bool:
        """Stripe's idempotency: the first answer again for the same key and parameters, an error for
        other parameters; True if answered."""
        with self.standin.lock:
            first = self.standin.idempotency.get(key)
        if first is None:
            return False
        if first[0] != fingerprint:
            error = self.standin._error(
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first "
                f"used with. Try using a key other than '{key}' if you meant to execute a different "
                "request.",
                None,
            )
            self._answer(400, json.dumps(error).encode())
            return True
        self._answer(first[1], first[2], replayed=True)
        return True

    def _hosted_page(self, method: str) -> bool:
        """Stripe's hosted invoice page (`hosted_invoice_url`, public: no API key): the amount due and a
        Pay button, which pays it by card as `card_payment` does (the events go to the outbox)."""
        m = re.fullmatch(r"/i/(in_\w+)(/pay)?", self.path.partition("?")[0])
        if m is None or m.group(1) not in self.standin.invoices:
            return False
        if method == "POST" and m.group(2):
            self.standin.card_payment(m.group(1))
        inv = self.standin.invoices[m.group(1)]
        state = "Paid" if inv["status"] == "paid" else f"Amount due: {inv['amount_remaining']} {inv['currency'].upper()}"
        button = (
            ""
            if inv["status"] == "paid"
            else f'<form method="post" action="/i/{inv["id"]}/pay"><button id="pay">Pay</button></form>'
        )
        body = (
            f"<!doctype html><title>Stripe stand-in: invoice {inv['number']}</title>"
            f"<h1>Invoice {inv['number']}</h1><p id='state'>{state}</p>{button}"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    def do_GET(self) -> None:
        if not self._hosted_page("GET"):
            self._serve("GET")

    def do_POST(self) -> None:
        if self.path.startswith("/i/"):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self._hosted_page("POST"):
            self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")
