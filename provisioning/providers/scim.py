"""Directory (workstation) accounts over SCIM 2.0 (RFC 7643/7644).

Users carry our credential id as `externalId` (so a retried create adopts what a timed-out
one made) and `active`; each user joins a Group per client and a Group per site.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import httpx

from provisioning.providers.base import ActualEntry, CredentialSpec, Exclusive, GrantResult, ProviderError

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LOGIN_PREFIX = "sl-"
SCIM_JSON = "application/scim+json"


@asynccontextmanager
async def _local_only(name: str) -> AsyncIterator[None]:
    yield


def _patch(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(ops)}


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class ScimDirectory:
    kind = "directory"
    needs_secret = True

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        exclusive: Exclusive | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 32,
    ) -> None:
        headers = {"Accept": SCIM_JSON, "Content-Type": SCIM_JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=timeout,
            transport=transport,
            # httpcore's pool does work per connection for every request: keep it to what runs at once
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )
        self.exclusive: Exclusive = exclusive or _local_only
        self._groups: dict[str, str] = {}
        self._group_locks: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200, 201, 204),
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        try:
            r = await self.client.request(method, path, json=json, params=params)
        except httpx.TimeoutException as exc:
            raise ProviderError(f"SCIM {method} {path.split('/')[0]}: timed out") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"SCIM {method} {path.split('/')[0]}: {type(exc).__name__}") from exc
        if r.status_code not in ok:
            detail = ""
            with suppress(ValueError):
                detail = str(r.json().get("detail") or "")[:200]
            raise ProviderError(f"SCIM {method} {path.split('/')[0]} answered {r.status_code} {detail}".strip())
        return r

    async def _find_user(self, credential_id: uuid.UUID) -> dict[str, Any] | None:
        r = await self._call("GET", "Users", params={"filter": f'externalId eq "{credential_id}"'})
        found = r.json().get("Resources") or []
        return found[0] if found else None

    async def _group_id(self, name: str) -> str:
        if name in self._groups:
            return self._groups[name]
        lock = self._group_locks.setdefault(name, asyncio.Lock())
        async with lock:
            if name in self._groups:
                return self._groups[name]
            # another worker may be creating the same group: one at a time, across workers
            async with self.exclusive(f"scim-group:{name}"):
                r = await self._call("GET", "Groups", params={"filter": f'displayName eq "{_quote(name)}"'})
                found = r.json().get("Resources") or []
                if found:
                    gid = str(found[0]["id"])
                else:
                    body = {"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": f"seatlease:{name}"}
                    gid = str((await self._call("POST", "Groups", json=body)).json()["id"])
            self._groups[name] = gid
            return gid

    @staticmethod
    def group_names(cred: CredentialSpec) -> list[str]:
        return [f"seatlease-client-{cred.client_id}", f"seatlease-site-{cred.site_code}"]

    async def grant(self, cred: CredentialSpec) -> GrantResult:
        user: dict[str, Any] | None = None
        if cred.external_id:
            r = await self._call("GET", f"Users/{cred.external_id}", ok=(200, 404))
            user = r.json() if r.status_code == 200 else None
        if user is None:
            # create first: userName is unique in the target, so a create repeated after a lost
            # answer (or a crash before our commit) gets 409 and adopts the account found by externalId
            body: dict[str, Any] = {
                "schemas": [USER_SCHEMA],
                "userName": cred.login,
                "externalId": str(cred.id),
                "active": True,
                "displayName": cred.member_name,
                "emails": [{"value": cred.member_email, "type": "work", "primary": True}],
            }
            if cred.secret:
                body["password"] = cred.secret
            r = await self._call("POST", "Users", json=body, ok=(201, 409))
            if r.status_code == 409:
                # a create that timed out on our side may have succeeded: adopt it
                user = await self._find_user(cred.id)
                if user is None:
                    raise ProviderError(f"SCIM userName {cred.login} is taken by another account")
            else:
                user = r.json()
        assert user is not None
        uid = str(user["id"])
        if not user.get("active", True):
            await self._call("PATCH", f"Users/{uid}", json=_patch({"op": "replace", "path": "active", "value": True}))
        ref = dict(cred.external_ref) if cred.external_id == uid else {}
        joined = set(ref.get("groups", []))
        for name in self.group_names(cred):
            gid = await self._group_id(name)
            if gid in joined:
                continue
            await self._call("PATCH", f"Groups/{gid}", json=_patch({"op": "add", "path": "members", "value": [{"value": uid}]}))
            joined.add(gid)
        ref["groups"] = sorted(joined)
        return GrantResult(external_id=uid, external_ref=ref)

    async def revoke(self, cred: CredentialSpec, *, delete: bool) -> None:
        uid = cred.external_id
        if uid is None:
            user = await self._find_user(cred.id)
            if user is None:
                return
            uid = str(user["id"])
        if not delete:
            await self._call(
                "PATCH", f"Users/{uid}", ok=(200, 204, 404), json=_patch({"op": "replace", "path": "active", "value": False})
            )
            return
        for gid in cred.external_ref.get("groups", []):
            await self._call(
                "PATCH",
                f"Groups/{gid}",
                ok=(200, 204, 400, 404),
                json=_patch({"op": "remove", "path": f'members[value eq "{uid}"]'}),
            )
        await self._call("DELETE", f"Users/{uid}", ok=(204, 200, 404))

    async def disable_external(self, external_id: str) -> None:
        """Disable an account we found active without a credential row behind it."""
        await self._call(
            "PATCH", f"Users/{external_id}", ok=(200, 204, 404), json=_patch({"op": "replace", "path": "active", "value": False})
        )

    async def read_actual(self) -> list[ActualEntry]:
        out: list[ActualEntry] = []
        start, page = 1, 500
        while True:
            r = await self._call(
                "GET",
                "Users",
                params={
                    "filter": f'userName sw "{LOGIN_PREFIX}"',
                    "startIndex": start,
                    "count": page,
                    "attributes": "userName,externalId,active",
                },
            )
            data = r.json()
            items = data.get("Resources") or []
            for u in items:
                try:
                    cid: uuid.UUID | None = uuid.UUID(str(u.get("externalId")))
                except ValueError:
                    cid = None
                out.append(
                    ActualEntry(
                        external_id=str(u["id"]),
                        credential_id=cid,
                        active=bool(u.get("active", True)),
                        login=str(u.get("userName", "")),
                    )
                )
            start += len(items)
            if not items or start > int(data.get("totalResults", 0)):
                return out
