"""Issue 14: a client generated from the live /openapi.json by `openapi-python-client` (with the
project's docs/openapi-python-client.yaml) is generated without a warning or a skipped operation, and
a client's developer books, lists and downloads with it against the real app served by uvicorn."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import Api, ClientLogin, lease_body, make_world

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "docs" / "openapi-python-client.yaml"


@pytest.fixture(scope="module")
def live_api(live_server: str) -> str:
    """The whole app served on localhost (tests/browser.py's live server)."""
    return live_server


@pytest.fixture(scope="module")
def generated(live_api: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The client package, generated offline from the served schema, imported."""
    out = tmp_path_factory.mktemp("generated")
    spec = out / "openapi.json"
    spec.write_bytes(httpx.get(f"{live_api}/openapi.json", timeout=30).raise_for_status().content)
    # the generator formats its output with ruff: the virtualenv's own
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(spec),
            "--config",
            str(CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(out / "seatlease_client"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    for sign in ("WARNING", "Warning", "Skipping", "will not be generated", "omitted"):
        assert sign not in said, said
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("seatlease_client")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "seatlease_client" or m.startswith("seatlease_client.")]:
            del sys.modules[name]


def _op(name: str) -> Any:
    """An operation module of the generated client, found by its operation id (its tag is its folder)."""
    for module in list(sys.modules):
        if module.startswith("seatlease_client.api.") and module.endswith("." + name):
            return sys.modules[module]
    import seatlease_client.api as api_pkg  # type: ignore[import-not-found]  # generated at run time

    for tag in Path(api_pkg.__path__[0]).iterdir():
        if (tag / f"{name}.py").exists():
            return importlib.import_module(f"seatlease_client.api.{tag.name}.{name}")
    raise AssertionError(f"no operation {name} in the generated client")


async def test_a_generated_client_books_lists_and_downloads(
    generated: Any, live_api: str, staff: Api, finance: Api, client_login: ClientLogin
) -> None:
    w = await make_world(staff)
    own = await client_login(w.client["id"])
    models = importlib.import_module("seatlease_client.models")
    client = generated.AuthenticatedClient(base_url=live_api, token=own.token, raise_on_unexpected_status=True)

    # book: the client's own token, no client_id
    body = lease_body(w, start_date="2034-02-01", seat_count=2, shift="day")
    del body["client_id"]
    lease = _op("create_lease").sync(client=client, body=models.LeaseCreate.from_dict(body))
    assert isinstance(lease, models.Lease)
    assert str(lease.client_id) == w.client["id"]
    assert lease.shift == "DAY"

    leases = _op("list_leases").sync(client=client)
    assert str(lease.id) in [str(x.id) for x in leases.items]
    seats = _op("list_seats").sync(client=client, site_id=w.site["id"])
    assert len(seats.items) == len(w.seats)

    # an invoice issued by finance, then read and downloaded by the client
    invoice = await finance.post(
        "/v1/invoices",
        {
            "client_id": w.client["id"],
            "site_id": w.site["id"],
            "lines": [{"description": "Replacement headset", "unit_price_minor": 150_000, "reason": "damaged"}],
        },
    )
    invoices = _op("list_invoices").sync(client=client)
    assert invoice["id"] in [str(x.id) for x in invoices.items]
    pdf = _op("invoice_pdf").sync_detailed(client=client, invoice_id=invoice["id"])
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.parsed.payload.read().startswith(b"%PDF-")

    period = invoice["issue_date"][:7]
    csv_text = _op("client_statement_csv").sync(client=client, client_id=w.client["id"], period=period)
    assert isinstance(csv_text, str)
    assert invoice["number"] in csv_text
    statement_pdf = _op("client_statement_pdf").sync(client=client, client_id=w.client["id"], period=period)
    assert statement_pdf.payload.read().startswith(b"%PDF-")
