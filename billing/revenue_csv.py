"""The revenue reports as CSV: amounts in major units with the currency beside them, as the
statement CSV writes them (billing/statement_render.py `major`), one row per JSON item."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from billing.revenue_schemas import MrrReport, OccupancyReport, ReportRange, RevenueReport, RevpassReport
from billing.statement_render import major


def filename(stem: str, rng: ReportRange) -> str:
    """`revenue-by-site-2031-01-2031-12.csv`: what, and the months it covers."""
    return f"{stem}-{rng.first}-{rng.last}.csv"


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


def mrr_csv(rep: MrrReport) -> str:
    return _csv(
        [
            "month",
            "currency",
            "mrr_start",
            "new",
            "expansion",
            "contraction",
            "churn",
            "mrr_end",
            "clients_end",
            "new_clients",
            "churned_clients",
        ],
        (
            [
                r.month,
                r.currency,
                *(
                    major(v, r.currency)
                    for v in (
                        r.mrr_start_minor,
                        r.new_minor,
                        r.expansion_minor,
                        r.contraction_minor,
                        r.churn_minor,
                        r.mrr_end_minor,
                    )
                ),
                r.clients_end,
                r.new_clients,
                r.churned_clients,
            ]
            for r in rep.items
        ),
    )


def revenue_csv(rep: RevenueReport) -> str:
    return _csv(
        ["month", "currency", "site", "floor", "shift", "client", "amount"],
        (
            [r.month, r.currency, r.site_code, r.floor_name, r.shift, r.client_name, major(r.amount_minor, r.currency)]
            for r in rep.items
        ),
    )


def occupancy_csv(rep: OccupancyReport) -> str:
    return _csv(
        ["month", "site", "floor", "available_seat_shifts", "leased_seat_shifts", "occupancy_rate"],
        (
            [r.month, r.site_code, r.floor_name, r.available_seat_shifts, r.leased_seat_shifts, f"{r.occupancy_rate:.4f}"]
            for r in rep.items
        ),
    )


def revpass_csv(rep: RevpassReport) -> str:
    return _csv(
        ["month", "site", "currency", "shift", "revenue", "available_seat_shifts", "revpass"],
        (
            [
                r.month,
                r.site_code,
                r.currency,
                r.shift,
                major(r.revenue_minor, r.currency),
                r.available_seat_shifts,
                major(r.revpass_minor, r.currency),
            ]
            for r in rep.items
        ),
    )
