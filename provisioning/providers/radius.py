"""Wi-Fi logins in FreeRADIUS's SQL tables (`radcheck`, `radusergroup`), in the database the
operator points RADIUS_DATABASE_URL at (the one rlm_sql reads).

Only a salted hash (`SSHA2-256-Password`) is written; a disabled login keeps its rows but gets
`Auth-Type := Reject`, so re-enabling needs no secret.
"""

from __future__ import annotations

import asyncpg

from provisioning.providers.base import ActualEntry, CredentialSpec, GrantResult, ProviderError
from provisioning.secrets import ssha256

LOGIN_PREFIX = "sl-"
PASSWORD_ATTRIBUTE = "SSHA2-256-Password"


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class RadiusSql:
    kind = "wifi"
    needs_secret = True

    def __init__(self, database_url: str) -> None:
        self.database_url = _plain(database_url)
        self._pool: asyncpg.Pool | None = None

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            try:
                self._pool = await asyncpg.create_pool(self.database_url, min_size=0, max_size=8)
            except (OSError, asyncpg.PostgresError) as exc:
                raise ProviderError(f"RADIUS database unreachable: {type(exc).__name__}") from exc
        return self._pool

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _run(self, fn_name: str, sql: list[tuple[str, tuple[object, ...]]]) -> None:
        pool = await self.pool()
        try:
            async with pool.acquire() as conn, conn.transaction():
                for statement, args in sql:
                    await conn.execute(statement, *args)
        except (OSError, asyncpg.PostgresError) as exc:
            raise ProviderError(f"RADIUS {fn_name} failed: {type(exc).__name__}") from exc

    @staticmethod
    def group_names(cred: CredentialSpec) -> list[str]:
        return [f"site-{cred.site_code}", f"client-{cred.client_id}"]

    async def grant(self, cred: CredentialSpec) -> GrantResult:
        pw_hash = ssha256(cred.secret) if cred.secret else cred.external_ref.get("hash")
        if not pw_hash:
            raise ProviderError("no Wi-Fi key to set: the secret was destroyed before the first grant")
        user = cred.login
        sql: list[tuple[str, tuple[object, ...]]] = [
            ("DELETE FROM radcheck WHERE username = $1", (user,)),
            (
                "INSERT INTO radcheck (username, attribute, op, value) VALUES ($1, $2, ':=', $3)",
                (user, PASSWORD_ATTRIBUTE, pw_hash),
            ),
            ("DELETE FROM radusergroup WHERE username = $1", (user,)),
        ]
        for priority, group in enumerate(self.group_names(cred), start=1):
            sql.append(("INSERT INTO radusergroup (username, groupname, priority) VALUES ($1, $2, $3)", (user, group, priority)))
        await self._run("grant", sql)
        return GrantResult(external_id=user, external_ref={"hash": pw_hash})

    async def revoke(self, cred: CredentialSpec, *, delete: bool) -> None:
        await self._disable_or_delete(cred.external_id or cred.login, delete=delete)

    async def _disable_or_delete(self, user: str, *, delete: bool) -> None:
        if delete:
            await self._run(
                "delete",
                [
                    ("DELETE FROM radcheck WHERE username = $1", (user,)),
                    ("DELETE FROM radusergroup WHERE username = $1", (user,)),
                ],
            )
            return
        await self._run(
            "disable",
            [
                ("DELETE FROM radcheck WHERE username = $1", (user,)),
                ("INSERT INTO radcheck (username, attribute, op, value) VALUES ($1, 'Auth-Type', ':=', 'Reject')", (user,)),
            ],
        )

    async def disable_external(self, external_id: str) -> None:
        await self._disable_or_delete(external_id, delete=False)

    async def read_actual(self) -> list[ActualEntry]:
        pool = await self.pool()
        try:
            rows = await pool.fetch(
                "SELECT username, bool_or(attribute = 'Auth-Type' AND value = 'Reject') AS rejected "
                "FROM radcheck WHERE username LIKE $1 GROUP BY username",
                LOGIN_PREFIX + "%",
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise ProviderError(f"RADIUS read failed: {type(exc).__name__}") from exc
        return [
            ActualEntry(external_id=r["username"], credential_id=None, active=not r["rejected"], login=r["username"])
            for r in rows
        ]
