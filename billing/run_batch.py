"""One batch of a billing run: one transaction that bills a slice of the clients.

It locks the batch's number counters, skips the clients another run already billed (what exists
once the counters are locked is final: no other run can be issuing for these sites), computes
every invoice in memory, then writes them in bulk: the invoices, their lines and their audit
events by COPY, the counters written back once, all in the transaction that also records the
run's progress. A crash loses the open batch and nothing else; no number is taken by an invoice
that was not committed."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billing import calc, charges
from billing.facts import Line, Month
from billing.invoices import insert_deposit_refund
from billing.numbering import next_numbers, save_numbers
from billing.run_facts import SITES_SQL, Prepared
from billing.settlement import settle_many
from domain.rules.timezones import local_day
from domain.services.audit import AuditEntry, SystemActor, record_many

# the author of what a run issues (the run itself was created, and audited, by whoever queued it)
RUN_ACTOR = SystemActor("billing-run")

INVOICE_COLUMNS = (
    "id",
    "client_id",
    "site_id",
    "period",
    "currency",
    "status",
    "number",
    "number_label",
    "issue_date",
    "due_date",
    "subtotal_minor",
    "tax_minor",
    "total_minor",
    "billing_run_id",
    "issued_at",
    "stripe_next_attempt_at",
)
# --- drafts (issue 12): a draft is never due for the push to Stripe; parked after every due row, so the
# worker's claim (ordered by the due time) meets the issued invoices first however many drafts wait
DRAFT_PUSH_PARKED = datetime(9999, 1, 1, tzinfo=UTC)
# no id: the database draws it (gen_random_uuid), cheaper than a uuid4 per line in Python
LINE_COLUMNS = (
    "invoice_id",
    "position",
    "kind",
    "trueup",
    "lease_id",
    "service_month",
    "service_start",
    "service_end",
    "description",
    "quantity",
    "unit_price_minor",
    "days",
    "period_days",
    "amount_minor",
    "tax_minor",
    "units",
    "tax_treatment",
    "tax_rate",
)


@dataclass
class Batch:
    """What a batch computed and is about to write."""

    run_id: uuid.UUID
    month: Month
    issued_at: Any
    invoices: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    audits: list[AuditEntry] = field(default_factory=list)
    notes: list[tuple[Any, ...]] = field(default_factory=list)
    note_numbers: dict[uuid.UUID, int] = field(default_factory=dict)
    invoice_ids: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = field(default_factory=dict)
    # draft review (issue 12): the run writes drafts, without numbers or dates, that finance issues
    draft: bool = False


async def bill_batch(
    session: AsyncSession,
    conn: Any,
    run_id: uuid.UUID,
    month: Month,
    prep: Prepared,
    credit_threshold: int,
    *,
    draft: bool = False,
) -> tuple[int, int]:
    """Issue the prepared batch's invoices (or, under draft review, write them as drafts that take
    their numbers and dates when finance issues them: billing/drafts.py); returns (invoices, credit
    notes) created."""
    # The statements of a batch are planned for the tables as they are now. A plan cached while
    # `invoices` was nearly empty (the first batch of a first run: the foreign-key check of every
    # invoice line is one) would scan it whole for each line of every later batch: a run would
    # grow with the square of its clients.
    await conn.execute("DISCARD PLANS")
    fees = await charges.pending_charges(conn, prep.client_ids, month)  # locked until the batch commits
    sites = dict(prep.sites)
    missing = sorted({c["site_id"] for c in fees} - set(sites))
    if missing:
        sites.update((r["id"], r) for r in await conn.fetch(SITES_SQL, missing))
    site_ids = sorted({site for _, site in prep.per_invoice} | {c["site_id"] for c in fees})

    numbers = await next_numbers(conn, site_ids, "invoice")
    # counters are locked: a concurrent run cannot be issuing for these sites, so what exists now is
    # final; now() is the transaction's time, when every invoice of the batch is issued
    state = await conn.fetchrow(
        "SELECT now() AS now, ARRAY(SELECT DISTINCT client_id FROM invoices WHERE period = $1 AND client_id = ANY($2::uuid[])"
        " AND kind = 'run') AS done",
        str(month),
        prep.client_ids,
    )
    done = set(state["done"])
    per_invoice = {key: list(lines) for key, lines in prep.per_invoice.items() if key[0] not in done}
    refunds = [(r, amount) for r, amount in prep.refunds if r["client_id"] not in done]
    fees = [c for c in fees if c["client_id"] not in done]
    for c in fees:
        key = (c["client_id"], c["site_id"])
        per_invoice.setdefault(key, []).extend(
            calc.with_tax([charges.charge_line(c)], Decimal(sites[key[1]]["tax_rate"]), prep.treatments[key[0]])
        )

    batch = Batch(run_id, month, state["now"], draft=draft)
    for (client_id, site_id), lines in sorted(per_invoice.items(), key=lambda kv: (str(kv[0][1]), str(kv[0][0]))):
        site = sites[site_id]
        number = numbers[site_id]
        if not draft:
            numbers[site_id] = number + 1
        await _invoice(conn, batch, client_id, site, number, prep.terms[client_id], lines)

    if batch.invoices:
        await conn.copy_records_to_table("invoices", records=batch.invoices, columns=list(INVOICE_COLUMNS))
        await conn.copy_records_to_table("invoice_lines", records=batch.lines, columns=list(LINE_COLUMNS))
        await charges.mark_billed(conn, fees, batch.invoice_ids)
    await save_numbers(conn, numbers, "invoice")
    created_notes = await write_notes(conn, batch)
    await record_many(session, RUN_ACTOR, batch.audits)
    # --- payments (issue 12): an invoice a true-up credits settles again (a paid one gives the excess back) ---
    await settle_many(conn, RUN_ACTOR, [note[1] for note in batch.notes])
    for r, amount in refunds:
        created_notes += await insert_deposit_refund(conn, r, amount, month, credit_threshold)
    return len(batch.invoices), created_notes


async def write_notes(conn: Any, batch: Batch) -> int:
    """The true-up credit notes the batch's invoices carried their excess credit to, and their numbers."""
    if not batch.notes:
        return 0
    await conn.executemany(
        """INSERT INTO credit_notes (id, invoice_id, client_id, site_id, currency, kind, status, number, number_label,
                                     reason, amount_minor, tax_minor, total_minor, issue_date, issued_at, dedupe_key)
           VALUES ($1, $2, $3, $4, $5, 'trueup', 'issued', $6, $7, $8, $9, $10, $11, $12, now(), $13)""",
        batch.notes,
    )
    await save_numbers(conn, batch.note_numbers, "credit_note")
    return len(batch.notes)


async def carry_excess_if_any(
    conn: Any, batch: Batch, inv_id: uuid.UUID, label: str, client_id: uuid.UUID, site: Any, lines: list[Line], issue: date
) -> calc.Totals:
    """An invoice whose true-up credits exceed its charges gets its `credit_transfer` line (appended to
    `lines`) and the credit notes it carries the excess to, dated `issue`; returns its totals."""
    t = calc.totals(lines)
    excess = calc.excess_credit(t)
    if excess is None:
        return t
    if site["id"] not in batch.note_numbers:
        batch.note_numbers.update(await next_numbers(conn, [site["id"]], "credit_note"))
    lines.append(await _carry_excess(conn, batch, inv_id, label, client_id, site, lines, excess, issue))
    return calc.totals(lines)


async def _invoice(
    conn: Any, batch: Batch, client_id: uuid.UUID, site: Any, number: int, terms_days: int, lines: list[Line]
) -> None:
    """One invoice of the batch (its lines taxed), its lines and its audit event, in memory. Issued, it
    is dated the day the batch's transaction runs on its site's calendar, due that day plus the
    client's terms; a draft carries neither (nor a number) until finance issues it."""
    site_id, month = site["id"], batch.month
    taxed = lines
    inv_id = batch.invoice_ids[(client_id, site_id)] = uuid.uuid4()
    if batch.draft:
        # the excess credit of a draft is carried when it is issued (billing/drafts.py)
        t = calc.totals(taxed)
        label, issue, due, issued_at, status, num = None, None, None, None, "draft", None
    else:
        label = f"{site['code']}-{number:06d}"
        issue = local_day(batch.issued_at, site["timezone"])
        due, issued_at, status, num = issue + timedelta(days=terms_days), batch.issued_at, "issued", number
        t = await carry_excess_if_any(conn, batch, inv_id, label, client_id, site, taxed, issue)
    batch.invoices.append(
        (
            inv_id,
            client_id,
            site_id,
            str(month),
            site["currency"],
            status,
            num,
            label,
            issue,
            due,
            t.subtotal_minor,
            t.tax_minor,
            t.total_minor,
            batch.run_id,
            issued_at,
            DRAFT_PUSH_PARKED if batch.draft else batch.issued_at,
        )
    )
    batch.lines.extend(
        (
            inv_id,
            pos,
            x.kind,
            x.trueup,
            x.lease_id,
            x.service_month,
            x.service_start,
            x.service_end,
            x.description[:500],
            x.quantity,
            x.unit_price_minor,
            x.days,
            x.period_days,
            x.amount_minor,
            x.tax_minor,
            x.units,
            x.tax_treatment,
            x.tax_rate,
        )
        for pos, x in enumerate(taxed, start=1)
    )
    batch.audits.append(
        AuditEntry(
            "invoice.draft" if batch.draft else "invoice.issue",
            "invoice",
            inv_id,
            client_id=client_id,
            after={
                "number": label,
                "period": str(month),
                "issue_date": issue.isoformat() if issue else None,
                "total_minor": t.total_minor,
                "currency": site["currency"],
            },
        )
    )


CORRECTED_SQL = """
SELECT DISTINCT ON (il.lease_id, il.service_month) il.lease_id, il.service_month, i.id, i.number_label
FROM invoice_lines il JOIN invoices i ON i.id = il.invoice_id
WHERE i.status NOT IN ('void', 'draft') AND il.kind <> 'one_off' AND i.client_id = $1 AND i.site_id = $2
  AND (il.lease_id, il.service_month) IN (SELECT * FROM unnest($3::uuid[], $4::date[]))
ORDER BY il.lease_id, il.service_month, il.trueup, i.issue_date, i.number
"""


async def _carry_excess(
    conn: Any,
    batch: Batch,
    inv_id: uuid.UUID,
    inv_label: str,
    client_id: uuid.UUID,
    site: Any,
    lines: list[Line],
    excess: calc.Excess,
    issue: date,
) -> Line:
    """An invoice whose true-up credits exceed its charges is issued at zero: the excess leaves it
    on a `credit_transfer` line and becomes credit notes against the invoices that billed the
    months being trued up. These credit notes are issued at once, whatever the approval threshold:
    they are the arithmetic of lease changes already made and audited, and the invoice they
    balance is issued in the same transaction, so it never points at an unissued document."""
    month, note_numbers = batch.month, batch.note_numbers
    credits = [x for x in lines if x.trueup and x.amount_minor + x.tax_minor < 0 and x.lease_id and x.service_month]
    found = {
        (r["lease_id"], r["service_month"]): (r["id"], r["number_label"])
        for r in await conn.fetch(
            CORRECTED_SQL, client_id, site["id"], [x.lease_id for x in credits], [x.service_month for x in credits]
        )
    }
    weights: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
    for x in credits:
        if (x.lease_id, x.service_month) in found:
            weights[found[(x.lease_id, x.service_month)]] -= x.amount_minor + x.tax_minor
    if not weights:  # cannot happen (a credit true-up undoes a charge some invoice made); never go negative
        raise RuntimeError(f"invoice {inv_label}: true-up credit without the invoice it corrects")
    corrected = sorted(weights.items(), key=lambda kv: (-kv[1], str(kv[0][1])))
    parts = calc.split_excess(excess, [w for _, w in corrected])
    labels = []
    for ((target, target_label), _), part in zip(corrected, parts, strict=True):
        if part.total_minor == 0:
            continue
        n = note_numbers[site["id"]]
        note_numbers[site["id"]] = n + 1
        note_id, note_label = uuid.uuid4(), f"{site['code']}-CN-{n:06d}"
        labels.append(note_label)
        batch.notes.append(
            (
                note_id,
                target,
                client_id,
                site["id"],
                site["currency"],
                n,
                note_label,
                f"True-up credit in excess of invoice {inv_label} ({month}), correcting {target_label}",
                part.amount_minor,
                part.tax_minor,
                part.total_minor,
                issue,
                f"trueup:{inv_id}:{target}",
            )
        )
        batch.audits.append(
            AuditEntry(
                "credit_note.issue",
                "credit_note",
                note_id,
                client_id=client_id,
                after={
                    "number": note_label,
                    "kind": "trueup",
                    "invoice": target_label,
                    "from_invoice": inv_label,
                    "total_minor": part.total_minor,
                },
            )
        )
    return Line(
        kind="credit_transfer",
        description=f"Credit in excess of this invoice's charges, carried to credit note "
        f"{', '.join(labels)} against {', '.join(lbl for (_, lbl), _ in corrected)}",
        quantity=1,
        unit_price_minor=excess.amount_minor,
        amount_minor=excess.amount_minor,
        tax_minor=excess.tax_minor,
    )
