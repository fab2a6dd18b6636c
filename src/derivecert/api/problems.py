"""Errors as `application/problem+json` (RFC 9457), mapped in exception handlers.

Every error the API answers has a `type` IRI under https://w3id.org/derivecert/problems/, a
short `title`, a `detail` saying what happened, the `status`, the request path as `instance`,
and, for DeriveCert errors, the stable `code` and a `hint` on how to fix it.  Extension members
(`findings`, `results`, `errors`) carry structured detail.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from derivecert.catalog import StoreError
from derivecert.errors import DeriveCertError

log = logging.getLogger("derivecert.api")

PROBLEM_BASE = "https://w3id.org/derivecert/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request", 401: "Authentication required", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 406: "Not acceptable", 409: "Conflict", 413: "Request body too large",
    415: "Unsupported media type", 422: "Unprocessable content", 500: "Internal error",
    503: "Service unavailable", 504: "Gateway timeout",
}


class Problem(Exception):
    """An error answered as problem+json; raise it anywhere in the API."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or TITLES.get(status, "Error")
        self.hint = hint
        self.headers = headers or {}
        self.extensions = extensions


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
    if hint:
        body["hint"] = hint
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers: Problem, DeriveCertError, StoreError, validation and HTTP errors."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(
            request, exc.status, exc.code, exc.detail, title=exc.title, hint=exc.hint,
            headers=exc.headers, **exc.extensions,
        )

    @app.exception_handler(DeriveCertError)
    async def _derivecert(request: Request, exc: DeriveCertError):
        status = exc.status if 400 <= exc.status < 600 else 400
        detail = f"{exc.where}: {exc.message}" if exc.where else exc.message
        return problem_response(request, status, exc.code, detail, hint=exc.hint or None,
                                limit=getattr(exc, "limit", None))

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError):
        return problem_response(request, exc.status, exc.code, str(exc), title=exc.title, hint=exc.hint,
                                **exc.extensions)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        where = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in errors)
        return problem_response(request, 400, "invalid-request", where or "invalid request", errors=errors)

    @app.exception_handler(ClientDisconnect)
    async def _disconnected(request: Request, exc: ClientDisconnect):
        # the client went away while sending its body: nothing is wrong here, and no one reads
        # the answer; one line in the log, no traceback
        log.info("client disconnected during %s %s; request dropped", request.method, request.url.path)
        return problem_response(request, 400, "client-disconnected", "the client closed the connection "
                                "before its request body arrived; nothing was done")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return problem_response(request, 500, "internal-error",
                                "an unexpected error occurred; it has been logged",
                                hint="retry later, or report it with the request time")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        return problem_response(request, exc.status_code, code, detail, headers=getattr(exc, "headers", None))
