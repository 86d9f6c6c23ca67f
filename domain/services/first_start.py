"""What a database already holds when `seatlease up` starts (issue 13): so `--no-demo` on a data
folder with data says so, and whether that data is the demo's."""

from __future__ import annotations

import uuid
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Client, Lease, Site, User
from domain.models.user import Role
from domain.services.audit import system_actor_wrote

DEMO_ACTOR = "demo-seed"  # the audit label service/demo.py writes its rows under


class DataSummary(NamedTuple):
    sites: int
    clients: int
    leases: int
    demo: bool  # the demo's rows are there (its audit events say so)

    @property
    def empty(self) -> bool:
        return not (self.sites or self.clients or self.leases)


async def holds_demo_data(session: AsyncSession) -> bool:
    """Whether this database was filled by the demo's seed (now or on an earlier start): the one
    rule for `up --no-demo`'s message and for starting the demo's Wi-Fi and directory targets."""
    return await system_actor_wrote(session, DEMO_ACTOR)


async def data_summary(session: AsyncSession) -> DataSummary:
    count = lambda model: select(func.count()).select_from(model).scalar_subquery()  # noqa: E731
    sites, clients, leases = (await session.execute(select(count(Site), count(Client), count(Lease)))).one()
    return DataSummary(int(sites), int(clients), int(leases), await holds_demo_data(session))


async def demo_portal_client(session: AsyncSession) -> tuple[uuid.UUID, str, bool] | None:
    """The demo's first client (by name), its email domain, and whether it has a client_admin
    login yet: `up` makes one so the client portal can be looked at from the first start."""
    client = await session.scalar(select(Client).order_by(Client.legal_name).limit(1))
    if client is None:
        return None
    has_login = await session.scalar(
        select(func.count()).select_from(User).where(User.client_id == client.id, User.role == Role.CLIENT_ADMIN)
    )
    return client.id, client.billing_email.rsplit("@", 1)[-1], bool(has_login)
