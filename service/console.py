"""The console's front door (issue 13): `/` leads to the admin, a favicon, and the API's
documentation served with the app's own copy of Swagger UI, so that /docs works on a closed network.

Swagger UI comes from the npm package swagger-ui-dist, built into service/admin/static/vendor by
scripts/build-admin-assets.sh (which scripts/install.sh runs); never from a CDN. Without the built
assets /docs says how to build them and links the OpenAPI document instead of a blank page."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from service.admin.web import STATIC_DIR

SWAGGER_DIR = STATIC_DIR / "vendor" / "swagger-ui"
SWAGGER_URL = "/admin/static/vendor/swagger-ui"
FAVICON = STATIC_DIR / "favicon.svg"
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def swagger_assets_built() -> bool:
    return (SWAGGER_DIR / "swagger-ui-bundle.js").is_file() and (SWAGGER_DIR / "swagger-ui.css").is_file()


def install(app: FastAPI) -> None:
    """Call with an app made with ``docs_url=None, redoc_url=None``: these routes replace FastAPI's."""

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        # people open the host name: staff sign in to the admin, which links the API docs
        return RedirectResponse("/admin/", status_code=307)

    @app.get("/favicon.ico", include_in_schema=False)
    @app.get("/favicon.svg", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

    @app.get(DOCS_URL, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        openapi_url = str(request.scope.get("root_path", "")) + (app.openapi_url or "/openapi.json")
        if not swagger_assets_built():
            return HTMLResponse(
                "<!doctype html><title>seatlease API</title><h1>seatlease API</h1>"
                "<p>Swagger UI is not built on this server: run <code>scripts/build-admin-assets.sh</code> "
                "(it needs npm) and restart.</p>"
                f'<p>The OpenAPI document is at <a href="{openapi_url}">{openapi_url}</a>.</p>',
                status_code=503,
            )
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API",
            swagger_js_url=f"{SWAGGER_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_URL}/swagger-ui.css",
            swagger_favicon_url="/favicon.svg",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            # no badge fetched from the public validator: nothing leaves the network
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def docs_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> Response:
        # ReDoc would need a second CDN script: one documentation page, served locally, is /docs
        return RedirectResponse(DOCS_URL, status_code=308)
