"""The price preview of a booking: billing's quote (billing/quote.py), which the API's
``POST /v1/quotes`` and proposals use too, so the admin and the API show the same numbers."""

from __future__ import annotations

from billing.quote import Quote, first_invoice, price_preview

__all__ = ["Quote", "first_invoice", "price_preview"]
