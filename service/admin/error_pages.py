"""Error pages for the server-rendered realms (/admin, /portal): HTML, never a stack trace, while
the API keeps problem+json; and the redirects to sign in or to change a temporary password."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError
from service.admin.web import LoginRequired, PasswordChangeRequired

logger = logging.getLogger("seatlease.admin")

# ---- errors: admin and portal pages get HTML, never a stack trace; the API keeps problem+json --

ErrorPage = Callable[[Request, int, str, str], Response]


def error_page_with(page_render: Callable[..., Response], template: str) -> ErrorPage:
    """An error page drawn by a realm's own ``render`` and template (htmx gets a flash)."""

    def page(request: Request, status: int, title: str, detail: str) -> Response:
        if request.headers.get("HX-Request") == "true":
            return HTMLResponse(
                f'<div class="flash error" role="alert">{_esc(title)}: {_esc(detail)}</div>',
                status_code=status,
                headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
            )
        try:
            return page_render(request, template, {"status": status, "title": title, "detail": detail}, status_code=status)
        except Exception:  # the error page itself must not fail
            logger.exception("error page failed")
            return HTMLResponse(f"<h1>{status} {_esc(title)}</h1>", status_code=status)

    return page


def _esc(text: str) -> str:
    from html import escape

    return escape(text)


def install_error_pages(app: FastAPI, prefix: str, error_page: ErrorPage) -> None:
    """HTML errors, the sign-in redirect and the password-change redirect for the pages under
    ``prefix``; any other path goes on to the handler installed before (the API's problem+json)."""
    handlers: dict[Any, Any] = dict(app.exception_handlers)
    pages: dict[Any, Callable[[Request, Any], Response]] = {
        DomainError: lambda request, exc: error_page(request, exc.status, exc.title, exc.detail),
        StarletteHTTPException: lambda request, exc: _http_page(error_page, request, exc),
        RequestValidationError: lambda request, exc: _validation_page(error_page, request, exc),
        Exception: lambda request, exc: _unexpected_page(error_page, prefix, request, exc),
        LoginRequired: lambda request, exc: _go(
            request, prefix + "/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        ),
        # --- people and keys (issue 13): a temporary password leads to My account first ---
        PasswordChangeRequired: lambda request, exc: _go(request, prefix + "/account"),
    }
    for exc_type, page in pages.items():
        app.add_exception_handler(exc_type, _handler(prefix, page, handlers.get(exc_type)))


def _handler(prefix: str, page: Callable[[Request, Any], Response], original: Any) -> Any:
    async def handler(request: Request, exc: Exception) -> Response:
        if request.url.path == prefix or request.url.path.startswith(prefix + "/"):
            return page(request, exc)
        if original is None:
            raise exc
        return await original(request, exc)  # type: ignore[no-any-return]

    return handler


def _http_page(error_page: ErrorPage, request: Request, exc: StarletteHTTPException) -> Response:
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
    return error_page(request, exc.status_code, title, "there is no such page" if exc.status_code == 404 else str(exc.detail))


def _validation_page(error_page: ErrorPage, request: Request, exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body"))
    return error_page(request, 422, "Invalid request", f"{where}: {first.get('msg', 'invalid')}")


def _unexpected_page(error_page: ErrorPage, prefix: str, request: Request, exc: Exception) -> Response:
    logger.exception("%s: unhandled error on %s %s", prefix, request.method, request.url.path, exc_info=exc)
    return error_page(request, 500, "Something went wrong", "the error has been logged; try again")


def _go(request: Request, target: str) -> Response:
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
