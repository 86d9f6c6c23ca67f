"""Issue 15, the help desk's SLA targets. Edges only: parse, call the use-case, render."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from domain.helpdesk.sla_policies import SlaPoliciesUpdate, SlaPolicyList, SlaPolicyView, list_policies, update_policies
from domain.models.sla import SlaPolicy
from service.auth import AdminUser, StaffUser
from service.db import SessionDep

router = APIRouter(prefix="/v1", tags=["help desk"])


def _page(rows: list[SlaPolicy]) -> SlaPolicyList:
    return SlaPolicyList(items=[SlaPolicyView.model_validate(r) for r in rows])


@router.get(
    "/sla-policies",
    response_model=SlaPolicyList,
    summary="The SLA targets",
    description="""Roles: admin, facility_staff. One target per priority and category (24), most urgent first:
minutes of SLA time to the first answer and to the resolution, and from what share of the target left a
ticket is flagged "due soon". SLA time is the time the ticket's seat is leased, in the site's time zone
(a ticket without a seat: its lease's seats; without either: every hour of the calendar); it stands
still while the ticket waits on the client.""",
)
async def list_sla_policies(user: StaffUser, session: SessionDep) -> SlaPolicyList:
    return _page(await list_policies(session))


@router.put(
    "/sla-policies",
    response_model=SlaPolicyList,
    summary="Set SLA targets",
    description="""Roles: admin. Sets the targets of the (priority, category) pairs given in `items`; fields left
out keep theirs; answers with all 24. Minutes between 1 and a year; `due_soon_percent` 1 to 90; a pair
twice: **422**; a first-answer target longer than the resolution's: **422** naming
`items[i].response_minutes` (or `resolution_minutes`, whichever was sent). All or nothing; each changed
target audited (`sla_policy.update`). A new target times tickets opened, re-prioritised or
re-categorised after it; open tickets keep their due instants until then.""",
)
async def set_sla_policies(body: SlaPoliciesUpdate, user: AdminUser, session: SessionDep) -> SlaPolicyList:
    return _page(await update_policies(session, user, body, datetime.now(UTC)))
