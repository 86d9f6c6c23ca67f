"""What a database already holds when `seatlease up` starts (issue 13): so `--no-demo` on a data
folder with data says so, and whether that data is the demo's."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Client, Lease, Site
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
