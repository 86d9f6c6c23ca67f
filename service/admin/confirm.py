"""Destructive actions ask first (issue 13): ending a lease, releasing a seat, cancelling a lease,
withdrawing a proposal, voiding a payment. The action's form posts once without `confirmed=yes`:
the input is checked and the change tried in a savepoint that is always rolled back (a dry run),
and a server-rendered page says what will happen and asks for the effective date where one applies.
Only its own form, posted with `confirmed=yes`, does it. No script is needed, so no browser makes
a one-click destruction; the API, whose callers are explicit, is unchanged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError
from service.admin.web import render

CONFIRMED = "confirmed"


def is_confirmed(form: dict[str, Any]) -> bool:
    return str(form.get(CONFIRMED) or "") == "yes"


class _DryRun(Exception):
    """Raised inside the savepoint to roll back what the tried change wrote."""


async def dry_run(session: AsyncSession, work: Callable[[], Awaitable[Any]]) -> DomainError | None:
    """The domain error the change would meet now, or None; nothing it writes stays (a savepoint,
    rolled back; notifications queued inside it are dropped with it by PostgreSQL)."""
    try:
        async with session.begin_nested():
            await work()
            raise _DryRun
    except _DryRun:
        return None
    except DomainError as exc:
        return exc
    finally:
        session.expire_all()  # objects read in the savepoint may hold its values: read them again


@dataclass(frozen=True)
class AskField:
    """A field the confirmation asks for (the effective date, a reason), filled with a default."""

    name: str
    label: str
    value: str
    kind: str = "text"  # "date" or "text"
    help: str = ""
    maxlength: int = 500


def confirm_page(
    request: Request,
    *,
    title: str,
    question: str,
    consequences: Sequence[str],
    action: str,
    back: str,
    button: str,
    ask: Sequence[AskField] = (),
    carry: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    renderer: Callable[..., HTMLResponse] | None = None,
    template: str = "confirm.html",
) -> HTMLResponse:
    """The confirmation: what will happen, the fields asked, the other fields of the first form
    carried as hidden inputs, a button that does it and a link back that does nothing. The client
    portal passes its own ``renderer`` and ``template`` (the same form, in its own frame)."""
    asked = {f.name for f in ask}
    hidden = {
        k: str(v) for k, v in (carry or {}).items() if k not in asked and k not in (CONFIRMED, "csrf_token") and v is not None
    }
    return (renderer or render)(
        request,
        template,
        {
            "title": title,
            "question": question,
            "consequences": consequences,
            "action": action,
            "back": back,
            "button": button,
            "ask": ask,
            "hidden": hidden,
            "errors": errors or {},
        },
        status_code=status_code,
    )
