"""Dependencies: the node's services (settings, store, engine), authentication, request bodies.

Overridable in tests through `create_app(settings=..., engine=...)` and FastAPI's
`dependency_overrides`.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from derivecert.settings import Principal, Settings
from derivecert.store import CatalogStore

from .problems import Problem


@dataclass
class Services:
    """What a request needs, created once per process in the app's lifespan."""

    settings: Settings
    store: CatalogStore
    engine: Any | None = None
    engine_error: str | None = None
    engine_lock: threading.Lock = field(default_factory=threading.Lock)
    sparql_slots: asyncio.Semaphore | None = None
    #: the certifying body's filing key (derivecert.signing.FilingKey); None: filings unsigned
    filing_key: Any | None = None

    async def run_engine(self, fn, *args, **kwargs):
        """Run an engine call in a worker thread, one at a time (the engine shares its graphs)."""
        if self.engine is None:
            raise Problem(
                503, "engine-unavailable",
                f"the certification engine is not available: {self.engine_error or 'not loaded'}",
                hint="check the server log; the ontology and shapes must load",
            )

        def call():
            with self.engine_lock:
                return fn(*args, **kwargs)

        return await run_in_threadpool(call)


def services(request: Request) -> Services:
    return request.app.state.services


def get_settings(svc: Services = Depends(services)) -> Settings:
    return svc.settings


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401, "unauthorized", detail,
        hint="send `Authorization: Bearer <token>`",
        headers={"WWW-Authenticate": 'Bearer realm="derivecert"'},
    )


def reader(request: Request, svc: Services = Depends(services)) -> Principal | None:
    """Catalog reads: open unless `access.reads_open = false`, then any valid token."""
    token = bearer_token(request)
    principal = svc.settings.authenticate(token)
    if svc.settings.access.reads_open:
        return principal
    if principal is None:
        raise _unauthorized("reads on this node need a token" if token is None else "unknown token")
    return principal


def institution_writer(institution: str, request: Request, svc: Services = Depends(services)) -> Principal:
    """Writes to an institution's catalog need that institution's own token."""
    if svc.settings.institution(institution) is None:
        raise Problem(404, "unknown-institution", f"no institution {institution!r} on this node",
                      hint="institutions are configured in the settings file")
    token = bearer_token(request)
    principal = svc.settings.authenticate(token)
    if principal is None:
        raise _unauthorized("a token is needed to write" if token is None else "unknown token")
    if principal.institution != institution:
        raise Problem(403, "forbidden", f"this token may not write the catalog of {institution!r}",
                      hint="use the token of that institution")
    return principal


def certifier(request: Request, svc: Services = Depends(services)) -> Principal:
    """Filing status changes need a token of the certifying body (`access.certifier_token_sha256`)."""
    token = bearer_token(request)
    principal = svc.settings.authenticate(token)
    if principal is None:
        raise _unauthorized("a token of the certifying body is needed" if token is None else "unknown token")
    if not principal.certifier:
        raise Problem(403, "forbidden", "only the certifying body may change the status of a filing",
                      hint="use a token listed in access.certifier_token_sha256")
    return principal


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit)
        except ValueError:
            raise Problem(400, "invalid-request", "Content-Length is not a number") from None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(413, "input-too-large", f"the request body exceeds {limit} bytes",
                   hint="split the description into several submissions", limit=limit)
