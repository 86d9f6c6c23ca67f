"""Domain errors carry their HTTP meaning; one handler renders them as RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    title = "Bad request"
    type_suffix = "bad-request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class NotFound(DomainError):
    status = 404
    title = "Not found"
    type_suffix = "not-found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    type_suffix = "forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"
    type_suffix = "unauthorized"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    type_suffix = "conflict"


class SeatsUnavailable(Conflict):
    title = "Seats unavailable"
    type_suffix = "seats-unavailable"


class InvalidState(Conflict):
    title = "Invalid state"
    type_suffix = "invalid-state"


class ValidationFailed(DomainError):
    status = 422
    title = "Validation failed"
    type_suffix = "validation"


class Gone(DomainError):
    status = 410
    title = "Gone"
    type_suffix = "gone"
