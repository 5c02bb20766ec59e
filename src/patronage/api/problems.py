"""One error format for the API: problem details (RFC 9457), ``application/problem+json``.

Every refusal carries ``type``, ``title``, ``status``, ``detail`` and ``instance``; validation
problems add ``errors``, a list of ``{"loc": [...], "msg": ...}`` naming each bad place.

- :class:`~patronage.errors.NotFound` → 404 (also for members the caller may not see);
- :class:`~patronage.errors.Conflict` → 409 (a used idempotency key, a committed period);
- :class:`~patronage.access.Forbidden` → 403; :class:`~patronage.api.tokens.Unauthenticated` → 401;
- :class:`~patronage.errors.Problems` and any other refusal → 422, with the places named.

The handlers answer only for paths under the API prefix; other paths (the web pages) keep the
handlers they had, or FastAPI's defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response

from patronage.access import Forbidden
from patronage.api.tokens import Unauthenticated
from patronage.errors import Conflict, NotFound, PatronageError, Problems

MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"
log = logging.getLogger("patronage.api")

_TITLES = {
    400: "Bad request", 401: "Unauthenticated", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 422: "Invalid input",
    500: "Internal error",
}


class ProblemPlace(BaseModel):
    loc: list[str] = Field(description="The place: body, query, path or header, then the names.")
    msg: str = Field(description="What is wrong there.")


class Problem(BaseModel):
    """A refusal, as problem details (RFC 9457)."""

    type: str = Field(examples=["/problems/not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(description="The place and the reason, in words.")
    instance: str = Field(description="The path asked for.")
    errors: list[ProblemPlace] | None = Field(
        default=None, description="On 422: each bad place and what is wrong with it.")


def _documented(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


#: The refusals every API route may answer, declared once for the OpenAPI schema.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("A request body that cannot be read (not JSON, or not UTF-8)."),
    401: _documented("No valid credentials (a bearer token or a signed-in session)."),
    403: _documented("The caller may not do this (a missing scope or role, or no CSRF token)."),
    404: _documented("No such record, or one the caller may not see."),
    409: _documented("A conflict: a used idempotency key, a committed period, a state that "
                     "does not allow the change."),
    422: _documented("Invalid input; ``errors`` names each bad place."),
}

Handler = Callable[[Request, Any], Awaitable[Response]]
AnyHandler = Callable[[Request, Any], Response | Awaitable[Response]]


def problem(request: Request, status: int, detail: str, *, code: str | None = None,
            errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem details response."""
    title = _TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": f"/problems/{code or title.lower().replace(' ', '-')}",
        "title": title, "status": status, "detail": detail, "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(exc: PatronageError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, Unauthenticated):
        return 401
    return 422


def _errors_of(exc: PatronageError) -> list[dict[str, Any]]:
    if isinstance(exc, Problems):
        return [{"loc": p.place.split("."), "msg": p.reason} for p in exc.problems]
    place, sep, reason = exc.message.partition(": ")
    if sep and place and len(place) <= 60 and "\n" not in place:
        return [{"loc": [place], "msg": reason}]
    return [{"loc": [], "msg": exc.message}]


async def _patronage_error(request: Request, exc: PatronageError) -> Response:
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    detail = exc.title if isinstance(exc, Problems) else exc.message
    errors = _errors_of(exc) if status == 422 else None
    return problem(request, status, detail, code=exc.code.replace("_", "-"), errors=errors,
                   headers=headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = [{"loc": [str(part) for part in e.get("loc", ())], "msg": e.get("msg", "")}
              for e in exc.errors()]
    where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
    return problem(request, 422, f"the request is not valid ({where})", code="invalid",
                   errors=errors)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    return problem(request, exc.status_code, str(exc.detail),
                   headers=dict(exc.headers) if exc.headers else None)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(request, 500, "something went wrong on our side; the request was not "
                   "completed", code="internal")


async def _default_patronage(request: Request, exc: PatronageError) -> Response:
    return PlainTextResponse(str(exc), status_code=status_of(exc))


async def _default_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return PlainTextResponse("Internal Server Error", status_code=500)


_OURS: list[tuple[type[Exception], Handler, AnyHandler]] = [
    (PatronageError, _patronage_error, _default_patronage),
    (RequestValidationError, _validation_error, request_validation_exception_handler),
    (StarletteHTTPException, _http_error, http_exception_handler),
    (Exception, _unexpected, _default_unexpected),
]


def _for_api(ours: Handler, other: AnyHandler) -> Handler:
    async def handle(request: Request, exc: Any) -> Response:
        if request.url.path.startswith(API_PREFIX):
            return await ours(request, exc)
        answer = other(request, exc)
        return answer if isinstance(answer, Response) else await answer

    return handle


def _with_problem_schema(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi``, with :class:`Problem` (and what it uses) among the schemas."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            named = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(named.pop("$defs", {}))
            schemas["Problem"] = named
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def install_problem_handlers(app: FastAPI) -> None:
    """Answer API errors with problem details; keep whatever handlers other paths had; declare
    the problem format in the OpenAPI schema.

    Call after everything else has installed its own handlers."""
    app.openapi = _with_problem_schema(app)  # type: ignore[method-assign]
    for exc_class, ours, default in _OURS:
        other = app.exception_handlers.get(exc_class, default)
        app.add_exception_handler(exc_class, _for_api(ours, other))
