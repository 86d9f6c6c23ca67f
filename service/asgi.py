"""ASGI entry point for production servers (`uvicorn service.asgi:app`); settings from the environment."""

from service.app import create_app

app = create_app()
