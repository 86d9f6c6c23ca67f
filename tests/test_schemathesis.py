"""Schemathesis over the whole OpenAPI schema, authenticated as admin: no input makes the API answer
500, and every answer matches the schema (errors are problem+json as documented)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.factories import Api, lease_body, make_world, uniq


@pytest.fixture(scope="session")
def fuzz_app(database_url: str) -> Iterator[Any]:
    """An app of its own: schemathesis calls it from its own event loop, one request at a time."""
    from service.app import create_app

    return create_app(database_url=database_url)


def _schema() -> Any:
    """The schema, loaded at collection from an app that never touches a database (the lazy
    fixture loader of schemathesis does not work with pytest 9); the calls go to `fuzz_app`."""
    from service.app import create_app

    return schemathesis.openapi.from_asgi("/openapi.json", create_app(database_url="postgresql+asyncpg://unused@127.0.0.1:9/unused"))


schema = _schema()


@pytest.fixture(scope="session")
async def fuzz_ids(admin: Api) -> dict[str, str]:
    """Real objects, so that well-formed ids reach the business rules instead of a 404."""
    w = await make_world(admin)
    lease = await admin.post("/v1/leases", lease_body(w, seat_count=2))
    device = await admin.post("/v1/devices", {"serial": uniq("FZ"), "kind": "pc", "site_id": w.site["id"]})
    return {"site_id": w.site["id"], "plan_id": w.plan["id"], "client_id": w.client["id"], "team_id": w.team["id"],
            "member_id": w.members[0]["id"], "lease_id": lease["id"], "seat_id": lease["seats"][0]["id"],
            "device_id": device["id"]}


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


SESSION_ENDING = ("/v1/auth/logout", "/v1/auth/password")


@pytest.fixture(scope="session")
async def throwaway_admin(http: Any, db: Any) -> Api:
    """An admin of its own for the operations that end the caller's sessions."""
    from tests.conftest import make_user, token_for

    return Api(http, await token_for(http, *await make_user(db, "admin")))


EXAMPLES = int(os.environ.get("SEATLEASE_FUZZ_EXAMPLES", "4"))  # per operation; raise it for a deeper hunt


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_api_never_errors_and_keeps_its_schema(case: Any, admin: Api, fuzz_app: Any, fuzz_ids: dict[str, str],
                                               throwaway_admin: Api) -> None:
    for name, value in (case.path_parameters or {}).items():
        if name in fuzz_ids and _is_uuid(value):
            case.path_parameters[name] = fuzz_ids[name]
    # ending sessions (logout, password change) must not end the shared admin's
    token = throwaway_admin.token if case.operation.path in SESSION_ENDING else admin.token
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    case.call_and_validate(
        app=fuzz_app,
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )
