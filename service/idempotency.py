"""`Idempotency-Key` on creating POSTs.

The key row is inserted in the request's own transaction before the work is done. A
concurrent request with the same key blocks on that row until the first commits, then
replays its stored answer; if the first fails and rolls back, the key is free again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from domain.models.audit import IdempotencyKey


class Idempotency:
    def __init__(self, request: Request, key: str | None) -> None:
        self.request = request
        self.key = key

    async def run(
        self,
        session: AsyncSession,
        principal_id: str,
        body: BaseModel | dict[str, Any] | None,
        make: Callable[[], Awaitable[Any]],
        *,
        status_code: int = 201,
    ) -> JSONResponse:
        if self.key is None:
            return JSONResponse(_encode(await make()), status_code=status_code)
        if len(self.key) > 200:
            raise ValidationFailed("Idempotency-Key is at most 200 characters", field="Idempotency-Key")
        payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        body_hash = hashlib.sha256(
            json.dumps({"path": self.request.url.path, "body": payload}, sort_keys=True, default=str).encode()
        ).hexdigest()
        claimed = await session.execute(
            insert(IdempotencyKey)
            .values(
                principal=principal_id,
                key=self.key,
                method=self.request.method,
                path=self.request.url.path,
                body_hash=body_hash,
            )
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.key)
        )
        if claimed.scalar_one_or_none() is None:
            first = (
                await session.execute(
                    select(IdempotencyKey).where(IdempotencyKey.principal == principal_id, IdempotencyKey.key == self.key)
                )
            ).scalar_one()
            if first.body_hash != body_hash:
                raise ValidationFailed("this Idempotency-Key was used with another request body", field="Idempotency-Key")
            return JSONResponse(
                first.response,
                status_code=first.status_code or status_code,
                headers={"Idempotent-Replayed": "true"},
            )
        result = _encode(await make())
        row = await session.get(IdempotencyKey, (principal_id, self.key))
        assert row is not None
        row.status_code = status_code
        row.response = result
        await session.flush()
        return JSONResponse(result, status_code=status_code)


def _encode(result: Any) -> Any:
    """JSON-ready data: a model dumps itself in one pass (what jsonable_encoder does for it, then
    walks the result again)."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(result)


def _idempotency(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="a unique key per distinct request (printable ASCII, no spaces)",
        ),
    ] = None,
) -> Idempotency:
    return Idempotency(request, idempotency_key)


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]
