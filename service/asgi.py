"""ASGI entry point for production servers (`uvicorn service.asgi:app`); settings from the environment.

It refuses to load (one line on stderr, exit 1) without SEATLEASE_SECRET_KEY (at least 32 bytes),
without DATABASE_URL (the embedded database is for `seatlease up` only), with a DATABASE_URL it
cannot use, or on a database whose schema is not this code's (run `seatlease migrate`). The check
runs here, before the server starts, because a failing lifespan is a traceback in uvicorn's log.
"""

import asyncio
import threading

from fastapi import FastAPI

from service.app import check_schema_at_start, create_app
from service.dburl import DatabaseUrlError
from service.schema import DatabaseUrlMissing, SchemaNotCurrent
from service.settings import SecretKeyMissing, SettingsInvalid, get_settings


def _app() -> FastAPI:
    settings = get_settings()
    app = create_app(settings)
    url = settings.database_url
    if not url:
        raise DatabaseUrlMissing()
    # uvicorn imports this module inside its event loop: the check gets a loop of its own
    failure: list[BaseException] = []

    def check() -> None:
        try:
            asyncio.run(check_schema_at_start(url, settings))
        except BaseException as exc:  # handed to the importing thread
            failure.append(exc)

    thread = threading.Thread(target=check, name="seatlease-schema-check")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    app.state.schema_checked = True
    return app


try:
    app = _app()
except (SecretKeyMissing, DatabaseUrlMissing, DatabaseUrlError, SchemaNotCurrent, SettingsInvalid) as exc:
    raise SystemExit(f"error: {exc}") from None
