"""A scim2-server (in-memory storage) on 127.0.0.1:<port>, for the provisioning benchmark.

    python bench/scim_server.py PORT [SEED_IN SEED_OUT]

BENCH_SCIM_LATENCY_MS (environment) delays every answer by that many milliseconds, as an identity
provider across a network does; the server itself runs on one core and is otherwise CPU-bound.

With a seed, the users of SEED_IN (a JSON list of {userName, externalId, active}) are stored
before serving, and SEED_OUT receives {externalId: id}: a fast way to start from thousands of
provisioned accounts without paying for their creation over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import uvicorn
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage, InMemoryStorage
from scim2_server.utils import load_default_provider

if __name__ == "__main__":
    memory = InMemoryStorage()
    app = ASGIApplication(AsyncInMemoryStorage(memory), load_default_provider())
    if len(sys.argv) > 3:
        user_type = app.service.get_resource_type("User")
        model = app.service.get_model(user_type)
        ids = {}
        with open(sys.argv[2]) as f:
            for user in json.load(f):
                stored = memory.create(
                    user_type, model.model_validate({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], **user})
                )
                ids[user["externalId"]] = stored.id
        with open(sys.argv[3], "w") as f:
            json.dump(ids, f)
    latency = float(os.environ.get("BENCH_SCIM_LATENCY_MS", "0")) / 1000
    served: Any = app
    if latency > 0:

        async def delayed(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                await asyncio.sleep(latency)
            await app(scope, receive, send)

        served = delayed
    uvicorn.run(served, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False, lifespan="off")
