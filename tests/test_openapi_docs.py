"""Issue 14: every operation of /openapi.json tells a client developer what it does and who may call
it, under a readable, unique operation id (service/openapi_docs.py). A route added without a
docstring, a role gate (or `openapi_extra=PUBLIC`) or with a clashing function name fails here."""

from __future__ import annotations

import re
from typing import Any

import pytest

from domain.models.user import ROLES
from service.openapi_docs import ROLES_HEADING

READABLE_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
METHOD_SUFFIX = re.compile(r"_(get|post|put|patch|delete|head|options)$")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    from service.app import create_app

    # an app that never touches its database: the schema is built from the code alone
    return create_app(database_url="postgresql+asyncpg://unused@127.0.0.1:9/unused").openapi()


def _operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict) and "responses" in op
    ]


def test_every_operation_has_summary_description_and_roles(schema: dict[str, Any]) -> None:
    faults = []
    ops = _operations(schema)
    assert len(ops) > 100
    for name, op in ops:
        if not (op.get("summary") or "").strip():
            faults.append(f"{name}: no summary")
        roles = op.get("x-roles")
        if not isinstance(roles, list) or any(r not in ROLES for r in roles):
            faults.append(f"{name}: no x-roles (depend on a role gate, or openapi_extra=PUBLIC): {roles!r}")
            continue
        description = op.get("description") or ""
        own, _, said = description.partition(ROLES_HEADING)
        if not own.strip():
            faults.append(f"{name}: no description (write the route's docstring)")
        if not said.strip():
            faults.append(f"{name}: the description does not say the roles")
    assert not faults, "\n".join(faults)


def test_operation_ids_are_readable_and_unique(schema: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    faults = []
    for name, op in _operations(schema):
        op_id = op.get("operationId", "")
        if not READABLE_ID.match(op_id) or "_v1_" in op_id or METHOD_SUFFIX.search(op_id):
            faults.append(f"{name}: unreadable operationId {op_id!r}")
        if op_id in seen:
            faults.append(f"{name}: operationId {op_id!r} is also {seen[op_id]} (rename one route function)")
        seen[op_id] = name
    assert not faults, "\n".join(faults)


def test_roles_are_the_gates_the_code_enforces(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    create = paths["/v1/leases"]["post"]
    assert create["operationId"] == "create_lease"
    assert create["x-roles"] == ["admin", "facility_staff", "client_admin"]
    assert create["description"].rstrip().endswith("**Roles:** admin, facility_staff, client_admin.")
    assert paths["/v1/leases/{lease_id}/approve"]["post"]["x-roles"] == ["admin", "finance"]
    assert paths["/v1/sites"]["get"]["x-roles"] == [str(r) for r in ROLES]  # any signed-in user
    token = paths["/v1/auth/token"]["post"]
    assert token["x-roles"] == []
    assert "no bearer token" in token["description"]


def test_no_two_models_share_a_name(schema: dict[str, Any]) -> None:
    """Two request or response models of one name make FastAPI qualify both with their module
    (`domain__leasing__schemas__Assignment`), and client generators then drop the operations that use
    them: every component keeps its plain name."""
    qualified = [name for name in schema["components"]["schemas"] if "__" in name]
    assert qualified == []
