"""Dependencies: the node's services (settings, store, engine), authentication, request bodies.

Overridable in tests through `create_app(settings=..., engine=...)` and FastAPI's
`dependency_overrides`.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import pyoxigraph as ox
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from derivecert import sandbox
from derivecert.catalog import Catalog, dataset_key, is_key
from derivecert.settings import Principal, Settings

from .problems import Problem
from .rdfio import read_body  # noqa: F401  (the routers' body reader lives with the other RDF I/O)


@dataclass
class Services:
    """What a request needs, created once per process in the app's lifespan."""

    settings: Settings
    store: Catalog
    engine: Any | None = None
    engine_error: str | None = None
    engine_lock: threading.Lock = field(default_factory=threading.Lock)
    sparql_slots: asyncio.Semaphore | None = None
    #: the certifying body's filing key (derivecert.signing.FilingKey); None: filings unsigned
    filing_key: Any | None = None
    query_analyser: Any = None  # derivecert.sparql_guard.QueryAnalyser, made at the first query
    certify_slots: asyncio.Semaphore | None = None  # made at the first certification
    #: bounded workers forked from this process that run engine calls one after the other
    #: (derivecert.sandbox.BoundedPool): a request pays no fork; made by `start_engine_workers`
    engine_pool: Any = None
    #: the federated search's HTTP client, made at the first one: its connections to the peers are
    #: kept, and a client costs more to make (its TLS context) than a peer takes to answer
    peer_client: httpx.AsyncClient | None = None

    def close(self) -> None:
        """Stop the worker processes this node started for itself."""
        if self.query_analyser is not None:
            self.query_analyser.close()
        if self.engine_pool is not None:
            self.engine_pool.close()

    def start_engine_workers(self) -> None:
        """Fork the engine's bounded workers now, from this process with its caches filled (the
        engine warmed), so that no certification pays a fork (≈ 20-40 ms of a single one)."""
        if self.engine is None or not sandbox.available():
            return
        with self.engine_lock:
            if self.engine_pool is None:
                limits = self.settings.limits
                self.engine_pool = sandbox.BoundedPool(_engine_call(self.engine), limits.certify_bounds(),
                                                       size=limits.certify_concurrency)
                self.engine_pool.start()

    def require_engine(self) -> Any:
        """The certification engine, or a 503 naming why this node has none."""
        if self.engine is None:
            raise Problem(
                503, "engine-unavailable",
                f"the certification engine is not available: {self.engine_error or 'not loaded'}",
                hint="check the server log; the ontology and shapes must load",
            )
        return self.engine

    async def run_engine(self, fn, *args, **kwargs):
        """Run an engine call (`require_engine()`'s method) on untrusted input in a bounded worker
        process (memory, time and the digest's budget from `settings.limits`), at most
        `certify_concurrency` at a time, so a hostile description costs a worker, never this
        process (derivecert.sandbox)."""
        limits = self.settings.limits
        if not sandbox.available():  # no fork on this platform: in-process, one at a time
            def call():
                with self.engine_lock:
                    return fn(*args, **kwargs)

            return await run_in_threadpool(call)
        if self.certify_slots is None:
            self.certify_slots = asyncio.Semaphore(limits.certify_concurrency)
        try:
            await asyncio.wait_for(self.certify_slots.acquire(), timeout=limits.certify_timeout_s)
        except asyncio.TimeoutError:
            raise Problem(503, "busy", f"all {limits.certify_concurrency} certification workers are busy "
                          "(limit limits.certify_concurrency); try again shortly",
                          headers={"Retry-After": "5"}, limit="certify_concurrency") from None
        try:
            if getattr(fn, "__self__", None) is self.engine and self.engine is not None:
                # an engine method: served by a worker of the pool, forked once (no fork per request)
                if self.engine_pool is None:
                    await run_in_threadpool(self.start_engine_workers)
                return await run_in_threadpool(self.engine_pool.run, fn.__name__, *args, **kwargs)
            return await run_in_threadpool(
                sandbox.run_bounded, _without_working_graphs, fn, *args, bounds=limits.certify_bounds(), **kwargs)
        finally:
            self.certify_slots.release()


def _engine_call(engine):
    """What a pool worker runs: the engine method named, on the engine it inherited at the fork."""
    def call(method: str, *args, **kwargs):
        return _without_working_graphs(getattr(engine, method), *args, **kwargs)

    return call


def _without_working_graphs(fn, *args, **kwargs):
    """In the worker: the call, minus what the API never reads and would cost a copy back
    (the materialised graph and the full SHACL report of a certification run)."""
    result = fn(*args, **kwargs)
    if hasattr(result, "materialised") and hasattr(result, "report"):  # a CertificationRun
        result.materialised = None
        result.report = None
    return result


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



# The routers' dependencies, shared through these annotations rather than through each other.
ServicesDep = Annotated[Services, Depends(services)]
Reader = Annotated[Principal | None, Depends(reader)]
InstitutionWriter = Annotated[Principal, Depends(institution_writer)]
Certifier = Annotated[Principal, Depends(certifier)]


def key_of(ident: str) -> str:
    """A dataset is named by its key (16 hex digits) or by its absolute IRI (percent-encoded in
    the path); anything else is a 400 naming both formats."""
    if is_key(ident.lower()):
        return ident.lower()
    try:
        ox.NamedNode(ident)
    except ValueError:
        raise Problem(
            400, "invalid-identifier",
            f"{ident!r} is neither a dataset id nor an absolute IRI",
            hint="name a dataset by its id (16 hexadecimal digits, as in the search results) or by its "
                 "absolute IRI, percent-encoded in the path",
        ) from None
    return dataset_key(ident)


def vocabulary_versions() -> tuple[str, str]:
    """The versions of the ontology and the shapes this node certifies with."""
    try:
        from derivecert.resources import ontology_version, shapes_version

        return ontology_version(), shapes_version()
    except Exception:
        return "unavailable", "unavailable"
