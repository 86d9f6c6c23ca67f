"""Door badges: signed webhooks to the facility's access-control system.

Each push says who holds which access groups and until when; `valid_until` is the lease's
end (or a short renewable window for an open-ended lease), so a revoke that never arrives
still expires by itself. Signature: header `X-Seatlease-Signature: t=<unix>,v1=<hex>` where
`v1 = HMAC-SHA256(secret, f"{t}.{raw_body}")`, as Stripe does; the receiver rejects old `t`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from provisioning.providers.base import ActualEntry, CredentialSpec, GrantResult, ProviderError

SIGNATURE_HEADER = "X-Seatlease-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance_seconds: int = 300, now: float | None = None) -> bool:
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


class BadgeWebhooks:
    kind = "badge"
    needs_secret = False

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.client = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _push(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body, int(time.time()))}
        try:
            r = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderError(f"badge webhook: {type(exc).__name__}") from exc
        if r.status_code >= 300:
            raise ProviderError(f"badge webhook answered {r.status_code}")

    def _payload(self, cred: CredentialSpec, action: str, groups: list[str], valid_until: datetime | None) -> dict[str, Any]:
        return {
            "event_id": str(uuid.uuid4()),
            "action": action,
            "holder_id": str(cred.id),
            "badge_login": cred.login,
            "name": cred.member_name,
            "email": cred.member_email,
            "employee_id": cred.employee_id,
            "access_groups": groups,
            "valid_until": valid_until.astimezone(UTC).isoformat() if valid_until else None,
            "sent_at": datetime.now(UTC).isoformat(),
        }

    async def grant(self, cred: CredentialSpec) -> GrantResult:
        await self._push(self._payload(cred, "grant", cred.access_groups, cred.valid_until))
        return GrantResult(
            external_id=str(cred.id), external_ref={"valid_until": cred.valid_until.isoformat() if cred.valid_until else None}
        )

    async def revoke(self, cred: CredentialSpec, *, delete: bool) -> None:
        await self._push(self._payload(cred, "delete" if delete else "revoke", [], datetime.now(UTC)))

    async def disable_external(self, external_id: str) -> None:
        payload = {
            "event_id": str(uuid.uuid4()),
            "action": "revoke",
            "holder_id": external_id,
            "access_groups": [],
            "valid_until": datetime.now(UTC).isoformat(),
            "sent_at": datetime.now(UTC).isoformat(),
        }
        await self._push(payload)

    async def read_actual(self) -> list[ActualEntry] | None:
        # push-only: the access-control system cannot be listed; validity end dates cover a lost revoke
        return None
