"""The edge of a client's SCIM endpoint: ``/scim/v2/clients/{client_id}/…``.

It authenticates the bearer token (the client's SCIM token, only for its own client's URL: any other
token, a missing one or an unknown client is 401 with ``WWW-Authenticate``; never a hint whether the
client exists), hands the request to scim2-server's protocol handling over ``ClientStorage``, and
commits the request's one transaction unless the answer is an error. The token is never logged.
An address that presents wrong tokens more than ``SEATLEASE_LOGIN_ADDRESS_MAX_FAILURES`` times within
``SEATLEASE_LOGIN_FAILURE_WINDOW`` is answered 429 with ``Retry-After`` until the window ends (the
sign-in throttle's limits; counted per address, so a stranger cannot lock the client's own identity
provider out from elsewhere).
"""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Request, Response
from scim2_models import Error, SCIMException, UnauthorizedException
from scim2_server.handler import AsyncScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.services import scim_tokens
from service.auth import client_address
from service.scim.resources import service
from service.scim.storage import ClientStorage

router = APIRouter()
PREFIX = "/scim/v2/clients"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CHALLENGE = 'Bearer realm="seatlease SCIM", error="invalid_token"'


def _render(scim: ScimResponse) -> Response:
    body = b"" if scim.body is None else json.dumps(scim.body).encode()
    return Response(content=body, status_code=int(scim.status), headers=scim.headers)


def _error(exc: SCIMException) -> Response:
    response = _render(service().error_response(exc))
    if isinstance(exc, UnauthorizedException):
        response.headers["WWW-Authenticate"] = CHALLENGE
    response.headers["Cache-Control"] = "no-store"
    return response


def _throttled(wait: int) -> Response:
    """429 (RFC 6585) in SCIM's error shape: SCIM's own ``tooMany`` is a 400 about result sizes."""
    error = Error(status=429, detail="too many requests with a wrong token from this address; try again later")
    body = json.dumps(error.model_dump()).encode()
    headers = {"Content-Type": "application/scim+json", "Retry-After": str(wait), "Cache-Control": "no-store"}
    return Response(content=body, status_code=429, headers=headers)


async def _serve(request: Request, client_id: str, path: str) -> Response:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    try:
        tenant = uuid.UUID(client_id)
    except ValueError:
        tenant = uuid.UUID(int=0)  # no client: the token check below fails as for any unknown client
    base_url = str(request.base_url).rstrip("/") + f"{PREFIX}/{tenant}"
    scim_request = ScimRequest(
        method=request.method,
        base_url=base_url,
        path="/" + path.removesuffix(".scim").strip("/"),
        query=dict(request.query_params),
        headers=list(request.headers.items()),
        body=await request.body(),
    )
    settings = request.app.state.settings
    address = client_address(request)
    async with maker() as session:
        wait = await scim_tokens.address_retry_after(
            session, address, settings.login_address_max_failures, settings.login_failure_window_seconds
        )
        if wait:
            await session.rollback()
            return _throttled(wait)
        if scheme.lower() != "bearer" or not await scim_tokens.authenticate(session, tenant, token.strip()):
            await scim_tokens.address_failed(session, address, settings.login_failure_window_seconds)
            await session.commit()
            return _error(UnauthorizedException(detail="a valid SCIM bearer token for this endpoint is required"))
        await session.commit()  # the token's last use, apart from the request's own work
        writing = request.method in ("PUT", "PATCH", "DELETE")
        handler = AsyncScimHandler(service(), ClientStorage(session, tenant, writing=writing))
        try:
            answer = await handler.handle(scim_request)
        except SCIMException as exc:
            await session.rollback()
            return _error(exc)
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
    answer.headers.setdefault("Location", scim_request.url)
    answer.headers["Cache-Control"] = "no-store"
    return _render(answer)


@router.api_route(PREFIX + "/{client_id}/{path:path}", methods=METHODS, include_in_schema=False)
async def scim_endpoint(request: Request, client_id: str, path: str) -> Response:
    """A client's SCIM 2.0 service provider (RFC 7643/7644): Users (agents), Groups (teams)."""
    return await _serve(request, client_id, path)


def install(app: object) -> None:
    from fastapi import FastAPI

    assert isinstance(app, FastAPI)
    app.include_router(router)
