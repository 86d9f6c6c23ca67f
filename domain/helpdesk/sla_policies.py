"""The SLA targets (issue 15): read by staff, edited by the admin. Targets are minutes of SLA time
(the seat's leased hours); an edit applies to tickets opened, re-prioritised or re-categorised after
it (a ticket keeps the due instants it was given until its next SLA change)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from domain.models import TicketCategory, TicketPriority
from domain.models.sla import SlaPolicy
from domain.schemas import FieldError, Omittable, Out, Strict
from domain.services import audit
from domain.services.audit import Actor

YEAR_MINUTES = 366 * 24 * 60
PRIORITY_ORDER = tuple(TicketPriority)
CATEGORY_ORDER = tuple(TicketCategory)


class SlaPolicyView(Out):
    priority: TicketPriority
    category: TicketCategory
    response_minutes: int = Field(description="Minutes of SLA time (the seat's leased hours) to the first answer.")
    resolution_minutes: int = Field(description="Minutes of SLA time to the resolution.")
    due_soon_percent: int = Field(description='A clock is "due soon" when this share of its target is left.')
    updated_at: datetime
    updated_by: str


class SlaPolicyList(BaseModel):
    items: list[SlaPolicyView]


class SlaPolicyEdit(Strict):
    priority: TicketPriority
    category: TicketCategory
    response_minutes: Omittable[int] = Field(default=None, ge=1, le=YEAR_MINUTES)
    resolution_minutes: Omittable[int] = Field(default=None, ge=1, le=YEAR_MINUTES)
    due_soon_percent: Omittable[int] = Field(default=None, ge=1, le=90)


class SlaPoliciesUpdate(Strict):
    items: list[SlaPolicyEdit] = Field(min_length=1, max_length=len(PRIORITY_ORDER) * len(CATEGORY_ORDER))

    @model_validator(mode="after")
    def _each_once(self) -> SlaPoliciesUpdate:
        seen: set[tuple[str, str]] = set()
        for i, item in enumerate(self.items):
            key = (item.priority, item.category)
            if key in seen:
                raise FieldError(f"items[{i}].category", f"{item.priority}/{item.category} is given twice")
            seen.add(key)
        return self


async def list_policies(session: AsyncSession) -> list[SlaPolicy]:
    """Most urgent first, then by category as the enum lists them."""
    rows = await session.scalars(
        select(SlaPolicy).order_by(
            case({p.value: i for i, p in enumerate(PRIORITY_ORDER)}, value=SlaPolicy.priority),
            case({c.value: i for i, c in enumerate(CATEGORY_ORDER)}, value=SlaPolicy.category),
        )
    )
    return list(rows)


def _state(p: SlaPolicy) -> dict[str, int]:
    return {
        "response_minutes": p.response_minutes,
        "resolution_minutes": p.resolution_minutes,
        "due_soon_percent": p.due_soon_percent,
    }


async def update_policies(session: AsyncSession, actor: Actor, body: SlaPoliciesUpdate, now: datetime) -> list[SlaPolicy]:
    """Set the given targets (fields left out keep theirs); all or nothing, each change audited.
    A response target longer than the resolution's: 422 naming `items[i].response_minutes`."""
    rows = {
        (p.priority, p.category): p for p in await session.scalars(select(SlaPolicy).order_by(SlaPolicy.id).with_for_update())
    }
    for i, item in enumerate(body.items):
        row = rows[(item.priority, item.category)]  # the migration seeds every pair
        before = _state(row)
        response = item.response_minutes if item.response_minutes is not None else row.response_minutes
        resolution = item.resolution_minutes if item.resolution_minutes is not None else row.resolution_minutes
        if response > resolution:
            named = "response_minutes" if item.response_minutes is not None else "resolution_minutes"
            raise ValidationFailed(
                f"{item.priority}/{item.category}: the first answer ({response} min) cannot be due after the "
                f"resolution ({resolution} min)",
                field=f"items[{i}].{named}",
            )
        row.response_minutes, row.resolution_minutes = response, resolution
        if item.due_soon_percent is not None:
            row.due_soon_percent = item.due_soon_percent
        after = _state(row)
        if after != before:
            row.updated_at, row.updated_by, row.updated_by_id = now, actor.label, actor.subject
            await audit.record(
                session, actor, "sla_policy.update", "sla_policy", row.id, before=before | _key(row), after=after | _key(row)
            )
    await session.flush()
    return await list_policies(session)


def _key(p: SlaPolicy) -> dict[str, int]:
    return {"priority": p.priority, "category": p.category}  # type: ignore[dict-item]
