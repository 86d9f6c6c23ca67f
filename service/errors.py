"""One place that renders every error as application/problem+json (RFC 9457)."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from domain.errors import DomainError

logger = logging.getLogger("seatlease.errors")
PROBLEM = "application/problem+json"
TYPE_BASE = "https://seatlease.dev/problems/"


def problem(
    status: int, title: str, detail: str, *, type_: str = "about:blank", headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers or None)


# ---- "the database is not there, busy or too slow": 503 + Retry-After, never 500 --------------

# SQLSTATEs of an unavailable, overloaded or timed-out server: connection exceptions (08),
# insufficient resources (53: too many connections, out of memory, disk full), operator
# intervention (57: query_canceled by statement_timeout, admin/crash shutdown, cannot connect now),
# lock_not_available (55P03, lock_timeout), system errors (58).
_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
_UNAVAILABLE_CODES = ("55P03",)


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return code if isinstance(code, str) else None


def database_unavailable(exc: BaseException) -> bool:
    """Whether a failure means "the database cannot serve this now" (retrying later may work), not a
    bug nor bad input. The one place that decides it, for every route."""
    import asyncpg

    from service.db import NETWORK_ERRORS

    if isinstance(exc, PoolTimeoutError):  # no pooled connection within the pool timeout
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        code = _sqlstate(exc)
        if code is not None:
            return code[:2] in _UNAVAILABLE_CLASSES or code in _UNAVAILABLE_CODES
        orig = exc.orig
        return (
            isinstance(orig, NETWORK_ERRORS)
            or isinstance(getattr(orig, "__cause__", None), (asyncpg.exceptions.InterfaceError, *NETWORK_ERRORS))
            or type(orig).__name__ in ("InterfaceError", "OperationalError")
        )
    # raised below SQLAlchemy's translation (kept as a safety net: never a 500 for these)
    if isinstance(exc, (asyncpg.exceptions.InterfaceError, asyncpg.exceptions.PostgresConnectionError)):
        return True
    if isinstance(exc, asyncpg.exceptions.PostgresError):
        code = getattr(exc, "sqlstate", None) or ""
        return code[:2] in _UNAVAILABLE_CLASSES or code in _UNAVAILABLE_CODES
    return isinstance(exc, (ConnectionError, TimeoutError, EOFError))


def unavailable_problem(request: Request) -> JSONResponse:
    settings = getattr(request.app.state, "settings", None)
    retry_after = int(getattr(settings, "db_retry_after_seconds", 5))
    return problem(
        503,
        "Service unavailable",
        "the database is unavailable or busy; nothing was changed, try again shortly",
        type_=TYPE_BASE + "unavailable",
        headers={"Retry-After": str(retry_after)},
    )


def _loc_to_field(loc: tuple[Any, ...] | list[Any], error: dict[str, Any] | None = None) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    # a model-level check names its field through the exception it raised (schemas.FieldError)
    cause = ((error or {}).get("ctx") or {}).get("error")
    if isinstance(getattr(cause, "field", None), str):
        parts.append(cause.field)  # type: ignore[union-attr]
    return ".".join(parts) or (str(loc[0]) if loc else "")


# pydantic words a check raised in a validator as "Value error, <what the check said>" (and an
# `assert` as "Assertion failed, …"): a client reads only what the check said
_VALIDATOR_PREFIX = re.compile(r"^(?:Value error|Assertion failed), ")


def clean_message(msg: Any) -> str:
    """A validation message as a person reads it: without pydantic's validator prefix."""
    return _VALIDATOR_PREFIX.sub("", str(msg)) or "invalid"


def validation_problem(errors: list[dict[str, Any]]) -> JSONResponse:
    fields = [{"field": _loc_to_field(e.get("loc", ()), e), "message": clean_message(e.get("msg", "invalid"))} for e in errors]
    first = fields[0] if fields else {"field": "", "message": "invalid"}
    return problem(
        422,
        "Validation failed",
        f"{first['field']}: {first['message']}" if first["field"] else first["message"],
        type_=TYPE_BASE + "validation",
        field=first["field"],
        errors=fields,
    )


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `field` names the input at fault.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
    "additionalProperties": True,
}


def _document_problems(app: FastAPI) -> None:
    """Every error answer is problem+json: say so in the OpenAPI schema (422 and a default response)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem_content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                responses = op["responses"]
                if "422" in responses:
                    responses["422"] = {"description": "Validation failed", "content": problem_content}
                responses.setdefault("default", {"description": "Problem", "content": problem_content})
        for name in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    extra = dict(exc.extra)
    if exc.field:
        extra["field"] = exc.field
        extra.setdefault("errors", [{"field": exc.field, "message": exc.detail}])
    return problem(exc.status, exc.title, exc.detail, type_=TYPE_BASE + exc.type_suffix, **extra)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_problem(list(exc.errors()))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized", 403: "Forbidden"}.get(exc.status_code, "Error")
    # keep what the exception carries: `WWW-Authenticate`, `Retry-After`, `Allow` on 405
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem(exc.status_code, title, str(exc.detail), headers=headers)


async def _integrity(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IntegrityError)
    code = _sqlstate(exc)
    if code == "23P01":
        return problem(409, "Seats unavailable", "the seats are not free for that window", type_=TYPE_BASE + "seats-unavailable")
    if code == "23505":
        return problem(409, "Conflict", "an object with these unique values already exists", type_=TYPE_BASE + "conflict")
    if code == "23503":
        return problem(422, "Validation failed", "a referenced object does not exist", type_=TYPE_BASE + "validation")
    logger.warning("integrity error %s", code)
    return problem(409, "Conflict", "the change conflicts with existing data", type_=TYPE_BASE + "conflict")


async def _dbapi(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    code = _sqlstate(exc)
    if code and code.startswith("22"):  # data exception: out of range, bad format
        return problem(422, "Validation failed", "a value is out of range", type_=TYPE_BASE + "validation")
    if code in ("40001", "40P01"):  # serialization failure, deadlock: a lost race, nothing changed
        return problem(409, "Conflict", "a concurrent change got there first; try again", type_=TYPE_BASE + "conflict")
    return _unavailable_or_bug(request, exc)


def _unavailable_or_bug(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        logger.warning(
            "database unavailable on %s %s: %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
            str(exc).splitlines()[0] if str(exc) else "",
        )
        return unavailable_problem(request)
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _internal()


async def _below(request: Request, exc: Exception) -> JSONResponse:
    """The pool's wait timed out; a socket or the driver failed below SQLAlchemy's translation."""
    return _unavailable_or_bug(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):  # e.g. wrapped by a library in an exception of its own
        return unavailable_problem(request)
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return _internal()


def install_error_handlers(app: FastAPI) -> None:
    import asyncpg

    _document_problems(app)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DBAPIError, _dbapi)
    for exc_type in (PoolTimeoutError, OSError, EOFError, asyncpg.exceptions.InterfaceError, asyncpg.exceptions.PostgresError):
        app.add_exception_handler(exc_type, _below)
    app.add_exception_handler(Exception, _unexpected)


def _allowed_methods(request: Request) -> str:
    """Every method of the resource (RFC 9110 §10.2.1): Starlette names only the first route's.
    Asks the router which methods fully match this path (routers may be nested)."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def _internal() -> JSONResponse:
    return problem(500, "Internal server error", "an unexpected error occurred; it has been logged")
