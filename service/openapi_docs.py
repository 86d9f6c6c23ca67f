"""Every operation of /openapi.json documented the same way, from the code itself (issue 14).

- **operationId** is the route function's name (`create_lease`): :func:`operation_id`, given to
  FastAPI as ``generate_unique_id_function``. Two routes with one name clash: rename one.
- **summary** is FastAPI's: the route's ``summary=`` or its name as a title ("Create Lease").
- **description** is the route's ``description=`` or its docstring (what a client developer needs:
  what it does, its refusals).
- **roles** come from the route's dependencies: the role gate it depends on (``service.auth``
  ``require_roles``/``role_gate`` record theirs in ``GATE_ROLES``) or ``openapi_extra=PUBLIC`` for a
  route needing no token. :func:`install` adds them as the ``x-roles`` extension and as a last
  paragraph of the description.

tests/test_openapi_docs.py walks every operation and fails on a missing piece.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from service.auth import GATE_ROLES

ROLES_HEADING = "**Roles:**"


def operation_id(route: Any) -> str:
    """A readable, stable operationId: the route function's name."""
    return str(route.name)


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def route_roles(dependant: Dependant | None) -> tuple[str, ...] | None:
    """The roles a route lets through: those of every gate it depends on (a role gate wraps the
    any-signed-in-user gate, so the narrowest wins); None when it depends on no gate."""
    if dependant is None:
        return None
    allowed: tuple[str, ...] | None = None
    for call in _calls(dependant):
        roles = GATE_ROLES.get(call)
        if roles is not None:
            allowed = roles if allowed is None else tuple(r for r in allowed if r in roles)
    return allowed


def roles_paragraph(roles: list[str]) -> str:
    if not roles:
        return f"{ROLES_HEADING} none: no bearer token is needed."
    return f"{ROLES_HEADING} {', '.join(str(r) for r in roles)}."


def _roles_by_operation(app: FastAPI) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for context in iter_route_contexts(app.routes):
        route: Any = context.route
        roles = route_roles(getattr(route, "dependant", None))
        if roles is not None and getattr(route, "name", None):
            found[getattr(route, "operation_id", None) or operation_id(route)] = roles
    return found


def install(app: FastAPI) -> None:
    """Add every operation's roles to /openapi.json (the `x-roles` extension and the description)."""
    build = app.openapi
    documented: list[int] = []  # the schema already done (FastAPI caches it)

    def openapi() -> dict[str, Any]:
        schema = build()
        if documented and documented[0] == id(schema):
            return schema
        roles = _roles_by_operation(app)
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                if "x-roles" not in op and op["operationId"] in roles:
                    op["x-roles"] = [str(r) for r in roles[op["operationId"]]]
                if "x-roles" in op:
                    text = (op.get("description") or "").rstrip()
                    op["description"] = f"{text}\n\n{roles_paragraph(op['x-roles'])}".lstrip()
        documented[:] = [id(schema)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
