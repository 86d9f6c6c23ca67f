"""Outages, concurrency, drift and incidents: delayed, never lost, never applied twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from provisioning.config import ProvisioningConfig
from provisioning.reconciler import Reconciler
from tests.factories import Api, make_world
from tests.provisioning.helpers import seated_lease, site_today
from tests.provisioning.servers import FlakyScim


async def _creds(db: asyncpg.Pool, lease_ids: list[str]) -> list[asyncpg.Record]:
    return await db.fetch("SELECT * FROM credentials WHERE lease_id = ANY($1::uuid[])", lease_ids)


async def _run_until(
    recs: list[Reconciler],
    check: Callable[[], Awaitable[bool]],
    timeout: float = 60.0,  # noqa: ASYNC109 - see below
) -> None:
    # the deadline is checked between passes of the workers, never cancelling one half-way as asyncio.timeout would
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("did not converge")
        await asyncio.gather(*(r.run_once(sweep=False) for r in recs))
        await asyncio.sleep(0.05)


async def test_flaky_scim_two_workers_converge_and_lose_nothing(
    staff: Api, db: asyncpg.Pool, scim: tuple[FlakyScim, str], reconcilers: Callable[..., Reconciler]
) -> None:
    server, url = scim
    # two workers side by side, short client timeouts so a held answer times out
    recs = [reconcilers(badge_webhook_url=None, radius_database_url=None, http_timeout_seconds=1.0) for _ in range(2)]
    leases = []
    for _ in range(3):
        w = await make_world(staff)
        leases.append(await seated_lease(staff, w))
    ids = [lease["id"] for lease in leases]
    before_failures = sum(server.failures.values())
    server.fail_next = 45  # 503s, answers that never arrive after the change was applied, conflicts

    async def all_active() -> bool:
        rows = await _creds(db, ids)
        return len(rows) == 9 and all(r["state"] == "active" for r in rows)

    await _run_until(recs, all_active)
    assert server.fail_next == 0
    assert sum(server.failures.values()) - before_failures == 45
    assert server.failures["timeout"] > 0
    assert server.failures["503"] > 0
    assert server.failures["conflict"] > 0
    rows = await _creds(db, ids)
    async with httpx.AsyncClient() as c:
        for r in rows:
            found = (await c.get(f"{url}/Users", params={"filter": f'externalId eq "{r["id"]}"'})).json()["Resources"]
            assert len(found) == 1, "exactly one account per credential, even after timeouts and retries"
            assert found[0]["id"] == r["external_id"]
            assert found[0]["active"] is True
            assert server.creates[str(r["id"])] == 1, "created once"
    # each grant recorded once although two workers ran at the same time
    granted = await db.fetch(
        "SELECT object_id, count(*) AS n FROM audit_events WHERE action = 'credential.granted' "
        "AND object_id = ANY($1::text[]) GROUP BY object_id",
        [str(r["id"]) for r in rows],
    )
    assert len(granted) == 9
    assert all(g["n"] == 1 for g in granted)

    # now the revocations, through a second outage
    yesterday = (site_today() - timedelta(days=1)).isoformat()
    for lease in leases:
        await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": yesterday}, expect=200)
    failures_before = sum(server.failures.values())
    server.fail_next = 30

    async def all_disabled() -> bool:
        rows = await _creds(db, ids)
        return all(r["state"] == "revoking" and r["disabled_at"] is not None for r in rows)

    await _run_until(recs, all_disabled)
    assert sum(server.failures.values()) > failures_before
    server.fail_next = 0
    async with httpx.AsyncClient() as c:
        for r in await _creds(db, ids):
            user = (await c.get(f"{url}/Users/{r['external_id']}")).json()
            assert user["active"] is False
    disabled = await db.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'credential.disabled' AND object_id = ANY($1::text[])",
        [str(r["id"]) for r in rows],
    )
    assert disabled == 9


async def test_failed_after_cap_then_retry_recovers(
    staff: Api, db: asyncpg.Pool, scim: tuple[FlakyScim, str], reconcilers: Callable[..., Reconciler]
) -> None:
    # nothing listens on this port: every call fails
    dead = reconcilers(
        scim_base_url="http://127.0.0.1:9/v2",
        badge_webhook_url=None,
        radius_database_url=None,
        max_attempts=3,
        failed_retry_seconds=3600,
    )
    w = await make_world(staff)
    lease = await seated_lease(staff, w, seats=1)
    for _ in range(40):
        await dead.run_once(sweep=False)
        row = await db.fetchrow("SELECT * FROM credentials WHERE lease_id = $1 AND kind = 'directory'", uuid.UUID(lease["id"]))
        if row and row["state"] == "failed":
            break
        await asyncio.sleep(0.15)
    assert row["state"] == "failed"
    assert row["attempts"] == 3
    assert "SCIM" in row["last_error"]
    wait = (row["next_attempt_at"] - row["updated_at"]).total_seconds()
    assert wait > 3000, "after the cap, it keeps retrying but less often"
    listed = await staff.get("/v1/provisioning/credentials", params={"state": "failed", "kind": "directory"})
    assert str(row["id"]) in {c["id"] for c in listed["items"]}

    out = await staff.post(f"/v1/provisioning/credentials/{row['id']}/retry", None, expect=200)
    assert out["state"] == "pending"
    assert out["attempts"] == 0
    healthy = reconcilers(badge_webhook_url=None, radius_database_url=None)
    for _ in range(20):
        await healthy.run_once(sweep=False)
        state = await db.fetchval("SELECT state FROM credentials WHERE id = $1", row["id"])
        if state == "active":
            break
        await asyncio.sleep(0.1)
    assert state == "active"
    assert (await staff.call("POST", f"/v1/provisioning/credentials/{uuid.uuid4()}/retry")).status_code == 404


async def test_backoff_grows_and_is_capped(prov_config: Callable[..., ProvisioningConfig]) -> None:
    from provisioning.reconciler import backoff_seconds

    cfg = prov_config(backoff_base_seconds=1, backoff_cap_seconds=30, max_attempts=10, failed_retry_seconds=600)
    delays = [backoff_seconds(cfg, n) for n in range(1, 12)]
    assert 0.8 <= delays[0] <= 1.2
    assert 1.6 <= delays[1] <= 2.4
    assert all(d <= 36 for d in delays[:9])
    assert delays[-1] == 600


async def test_sweep_finds_incidents_and_drift(
    staff: Api, db: asyncpg.Pool, scim: tuple[FlakyScim, str], reconcilers: Callable[..., Reconciler]
) -> None:
    _, url = scim
    rec = reconcilers(badge_webhook_url=None, radius_database_url=None)
    w = await make_world(staff)
    lease = await seated_lease(staff, w, seats=2)
    for _ in range(20):
        await rec.run_once(sweep=False)
        rows = await db.fetch("SELECT * FROM credentials WHERE lease_id = $1", uuid.UUID(lease["id"]))
        if rows and all(r["state"] == "active" for r in rows):
            break
    kept, ended = rows[0], rows[1]
    # the member behind `ended` leaves: their account is disabled the normal way
    await staff.call("DELETE", f"/v1/members/{ended['member_id']}", 200)
    for _ in range(20):
        await rec.run_once(sweep=False)
        if await db.fetchval("SELECT disabled_at FROM credentials WHERE id = $1", ended["id"]):
            break
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}
    async with httpx.AsyncClient(headers={"Content-Type": "application/scim+json"}) as c:
        # an account someone created by hand in our namespace, with no lease behind it
        rogue = (
            await c.post(
                f"{url}/Users",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": f"sl-rogue-{uuid.uuid4().hex[:6]}",
                    "active": True,
                },
            )
        ).json()
        # a granted account switched off by hand (drift), a revoked one switched back on (incident)
        await c.patch(
            f"{url}/Users/{kept['external_id']}",
            json={**patch, "Operations": [{"op": "replace", "path": "active", "value": False}]},
        )
        await c.patch(
            f"{url}/Users/{ended['external_id']}",
            json={**patch, "Operations": [{"op": "replace", "path": "active", "value": True}]},
        )

    report = await rec.sweep()
    assert report["directory"]["incidents"] == 2
    assert report["directory"]["requeued"] >= 1
    await rec.run_once(sweep=False)
    async with httpx.AsyncClient() as c:
        assert (await c.get(f"{url}/Users/{rogue['id']}")).json()["active"] is False
        assert (await c.get(f"{url}/Users/{ended['external_id']}")).json()["active"] is False
        assert (await c.get(f"{url}/Users/{kept['external_id']}")).json()["active"] is True, "drift repaired"
    incidents = await db.fetch(
        "SELECT * FROM audit_events WHERE action = 'provisioning.incident' AND (object_id = $1 OR object_id = $2)",
        f"directory:{rogue['id']}",
        str(ended["id"]),
    )
    assert len(incidents) == 2
    assert all(i["actor"] == "provisioning" for i in incidents)


async def test_mass_revocation_guard_waits_for_confirmation(
    staff: Api, db: asyncpg.Pool, scim: tuple[FlakyScim, str], reconcilers: Callable[..., Reconciler]
) -> None:
    rec = reconcilers(badge_webhook_url=None, radius_database_url=None)
    w = await make_world(staff)
    lease = await seated_lease(staff, w)
    for _ in range(20):
        await rec.run_once(sweep=False)
        rows = await db.fetch("SELECT state FROM credentials WHERE lease_id = $1", uuid.UUID(lease["id"]))
        if rows and all(r["state"] == "active" for r in rows):
            break
    guarded = reconcilers(badge_webhook_url=None, radius_database_url=None, mass_revoke_share=0.000001, mass_revoke_min=1)
    # the lease's seat rows vanish with no lease end or release behind it: drift, held for a human
    await db.execute("DELETE FROM lease_seats WHERE lease_id = $1", uuid.UUID(lease["id"]))
    out = await guarded.run_once(sweep=False)
    assert out["derive"]["guard_held"] >= 3
    states = await db.fetch("SELECT desired, state FROM credentials WHERE lease_id = $1", uuid.UUID(lease["id"]))
    assert all(r["desired"] and r["state"] == "active" for r in states), "nothing revoked before confirmation"
    guards = await staff.get("/v1/provisioning/guards", params={"status": "pending"})
    assert guards
    assert guards[0]["would_revoke"] >= 3
    assert (await staff.get("/v1/provisioning/kpis"))["mass_revocations_awaiting_confirmation"] >= 1
    confirmed = await staff.post(f"/v1/provisioning/guards/{guards[0]['id']}/confirm", None, expect=200)
    assert confirmed["status"] == "confirmed"
    await staff.call("POST", f"/v1/provisioning/guards/{guards[0]['id']}/confirm", 409)
    out = await guarded.run_once(sweep=False)
    assert out["derive"]["revoked"] >= 3
    states = await db.fetch("SELECT desired, state FROM credentials WHERE lease_id = $1", uuid.UUID(lease["id"]))
    assert all(not r["desired"] and r["state"] == "revoking" for r in states)


async def test_a_stale_sweep_never_cuts_the_grace_period_short(
    staff: Api,
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    scim: tuple[FlakyScim, str],
    reconcilers: Callable[..., Reconciler],
) -> None:
    """The sweep reads our rows, then lists the target; a worker may disable a credential in
    between. Seeing it 'active, not yet disabled' then must not make its delete due at once."""
    from sqlalchemy import select

    from domain.models import Credential

    rec = reconcilers(badge_webhook_url=None, radius_database_url=None)
    w = await make_world(staff)
    lease = await seated_lease(staff, w, seats=1)
    for _ in range(20):
        await rec.run_once(sweep=False)
        if await db.fetchval("SELECT state FROM credentials WHERE lease_id = $1", uuid.UUID(lease["id"])) == "active":
            break
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": (site_today() - timedelta(days=1)).isoformat()}, expect=200)
    await rec.derive()
    async with maker() as session:
        stale = list(
            (
                await session.execute(
                    select(
                        Credential.id,
                        Credential.login,
                        Credential.external_id,
                        Credential.desired,
                        Credential.state,
                        Credential.disabled_at,
                        Credential.lease_id,
                        Credential.client_id,
                    ).where(Credential.lease_id == uuid.UUID(lease["id"]))
                )
            ).all()
        )
    provider = rec.providers["directory"]
    actual = await provider.read_actual()  # still active there
    assert actual is not None  # the directory can be listed
    assert stale[0].disabled_at is None
    await rec.run_once(sweep=False)  # a worker disables it meanwhile, deleting only after the grace period
    row = await db.fetchrow("SELECT * FROM credentials WHERE lease_id = $1", uuid.UUID(lease["id"]))
    assert row["disabled_at"] is not None
    async with maker() as session, session.begin():
        await rec._compare(session, "directory", provider, stale, actual)
    after = await db.fetchrow("SELECT * FROM credentials WHERE id = $1", row["id"])
    assert after["next_attempt_at"] == row["next_attempt_at"], "the scheduled delete stands"
    await rec.run_once(sweep=False)
    assert await db.fetchval("SELECT state FROM credentials WHERE id = $1", row["id"]) == "revoking"
