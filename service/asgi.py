"""ASGI entry point for production servers (`uvicorn service.asgi:app`); settings from the environment.

Without SEATLEASE_SECRET_KEY (at least 32 bytes) it refuses to load: one line on stderr, exit 1.
"""

from service.app import create_app
from service.settings import SecretKeyMissing

try:
    app = create_app()
except SecretKeyMissing as exc:
    raise SystemExit(f"error: {exc}") from None
