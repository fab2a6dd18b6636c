"""The DeriveCert API: an app factory over the catalog store and the certification engine.

`create_app(settings=None, engine=None)` builds the FastAPI app; the store opens and the engine
loads (ontology and shapes, once per process) in the lifespan.  `serve(...)` is what
`derivecert serve` runs: it seeds an empty store from `examples/`, prints the URLs and runs
uvicorn.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from derivecert import __version__
from derivecert.catalog import Catalog, CatalogStore, SubmissionRefused, file_submission, open_catalog, open_store
from derivecert.settings import Settings

from . import deps, problems
from .deps import Services
from .openapi import finalise
from .routers import catalog, compute, docs, filings, harvest, health, pages, sparql, submit, template, vocab, web

log = logging.getLogger("derivecert.api")

DESCRIPTION = """Reference implementation of the group standard 《医疗健康领域衍生数据认定标准》
(identification and certification of derived data in the medical and health domain).

* **Certify** a description (`POST /v1/certify`, `/v1/classify`, `/v1/validate`): nothing stored.
* **File** it (`PUT /v1/institutions/{institution}/datasets`, bearer token of the institution):
  certified and conditional datasets are stored with their result and filing record.
* **Find** filed datasets: faceted search (`GET /v1/datasets`, `?federated=true` across peer
  nodes), one dataset (`GET /v1/datasets/{id}`, JSON or RDF), filings (`GET /v1/filings/{number}`),
  and a read-only **SPARQL** endpoint (`/sparql`) over the union of the institutions' graphs.

Errors are `application/problem+json` (RFC 9457)."""

TAGS = [
    {"name": "certification", "description": "Identification, classification and requirements (§3-§6); nothing stored"},
    {"name": "filing", "description": "Submissions by institutions (bearer token), stored with their filing (§5)"},
    {"name": "catalog", "description": "Search and read the filed datasets"},
    {"name": "SPARQL", "description": "Read-only SPARQL 1.1 Protocol endpoint"},
    {"name": "vocabulary", "description": "Code lists, ontology and shapes"},
    {"name": "service", "description": "Health"},
]


def load_engine(settings: Settings) -> Any:
    from derivecert.engine import Engine

    engine = Engine(reasoner=settings.reasoner, thresholds=settings.thresholds, shacl=settings.shacl,
                    certifying_body=settings.certifying_body, limits=settings.limits.input_limits())
    engine.warm()  # certification workers are forked from this process: they start warm
    return engine


def load_filing_key(settings: Settings, create: bool = False):
    """The certifying body's filing key from `signing.key_file` (made there when `create`);
    None, with a warning, when there is none: the node's filings are then unsigned. A key file
    that cannot be used (permissions, passphrase) stops the node rather than sign nothing."""
    from derivecert.signing import FilingKey

    path = settings.filing_key_file()
    if create:
        key, made = FilingKey.load_or_create(path, settings.signing.passphrase_bytes())
        if made:
            log.info("made a new filing key %s (key id %s)", path, key.key_id)
        return key
    if not path.exists():
        log.warning("no filing key at %s: filings are not signed (`derivecert serve` makes one)", path)
        return None
    return FilingKey.load(path, settings.signing.passphrase_bytes())


def create_app(settings: Settings | None = None, engine: Any | None = None, store: Catalog | CatalogStore | None = None) -> FastAPI:
    """The app.  `engine` and `store` may be given (tests share one engine across apps);
    otherwise the engine loads and the store opens at startup from `settings`.  `engine=False`
    serves the catalog without certification (a read-only mirror)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own_store = store is None
        the_store = open_catalog(store if store is not None else open_store(settings))
        # /sparql's default graph: these institutions' graphs, and any that holds records
        the_store.institutions = {i.id for i in settings.institutions}
        svc = Services(settings=settings, store=the_store, engine=engine or None,
                       sparql_slots=asyncio.Semaphore(max(1, settings.limits.sparql_concurrency)),
                       filing_key=load_filing_key(settings))
        if engine is False:
            svc.engine_error = "disabled for this node"
        elif svc.engine is None:
            try:
                svc.engine = await asyncio.to_thread(load_engine, settings)
            except Exception as exc:  # the API still serves the catalog; certification answers 503
                svc.engine_error = f"{type(exc).__name__}: {exc}"
                log.warning("certification engine unavailable: %s", svc.engine_error)
        try:
            await asyncio.to_thread(the_store.warm)
        except Exception as exc:  # a store that is down: /healthz says so, requests get 503s
            log.warning("store not ready at startup: %s", exc)
        await asyncio.to_thread(svc.start_engine_workers)  # forked warm, before any request
        app.state.services = svc
        try:
            yield
        finally:
            svc.close()
            if svc.peer_client is not None:
                await svc.peer_client.aclose()
            if own_store:
                the_store.close()

    app = FastAPI(
        title="DeriveCert API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        license_info={"name": "Apache-2.0", "identifier": "Apache-2.0"},
        docs_url=None, redoc_url=None,  # served by routers/web.py from packaged assets (no CDN)
    )
    problems.install(app)
    if settings.access.cors_origins:
        # Off by default: only the listed origins' pages may read answers in a browser.  No
        # credentials mode: tokens travel in the Authorization header, never in cookies.
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.access.cors_origins, allow_credentials=False,
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Accept", "If-None-Match"],
            expose_headers=["ETag", "Location"], max_age=600,
        )
    modules = (pages, web, health, compute, template, submit, catalog, harvest, filings, vocab, docs, sparql)
    for module in modules:
        app.include_router(module.router)
    _finish_openapi(app, [route for module in modules for route in module.router.routes])
    return app


#: tags of the routes that use the store or the engine (and may answer 503)
BACKEND_TAGS = {"certification", "filing", "catalog", "SPARQL"}


def _route_facts(routes) -> dict[tuple[str, str], dict[str, bool]]:
    """Per (method, path): whether a token may be needed, and whether a backend is used."""
    def calls(dependant):
        for dep in dependant.dependencies:
            yield dep.call
            yield from calls(dep)

    facts = {}
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        auth = any(call in (deps.reader, deps.institution_writer) for call in calls(route.dependant))
        backend = bool(BACKEND_TAGS & set(route.tags or ()))
        for method in route.methods or ():
            facts[(method.lower(), route.path_format)] = {"auth": auth, "backend": backend}
    return facts


def _finish_openapi(app: FastAPI, routes) -> None:
    original = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http", "scheme": "bearer",
            "description": "an institution's token (writes), or any valid token when reads are closed",
        }
        app.openapi_schema = finalise(schema, _route_facts(routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema


# -- seeding and serving ----------------------------------------------------------------------


#: why seeding skips a file, by the code of the refusal
SEED_SKIPS = {"certification-rejected": "rejected", "nothing-to-file": "nothing to file"}


def seed_store(store: Catalog, engine: Any, seed_dir: Path, settings: Settings, echo=print, signing_key=None) -> int:
    """Certify `seed_dir/<institution>/*.ttl` one file at a time and file what is certifiable
    (`file_submission`, as a PUT each).  Returns the number of datasets filed."""
    filed = 0
    for inst_dir in sorted(p for p in Path(seed_dir).iterdir() if p.is_dir()):
        institution = inst_dir.name
        for path in sorted(inst_dir.glob("*.ttl")):
            taken: set[str] = set()
            run = engine.certify(
                path.read_bytes(), media_type="text/turtle",
                filing_numbers=lambda: store.new_filing_number(settings.filing_prefix, taken=taken),  # noqa: B023 (called in this iteration)
                certifying_body=settings.certifying_body,
            )
            if signing_key is not None:
                run.sign_filings(signing_key)
            try:
                outcome = file_submission(store, institution, run)
            except SubmissionRefused as exc:
                echo(f"  skipped {path} ({SEED_SKIPS.get(exc.code, exc.code)})")
                continue
            except Exception as exc:
                echo(f"  skipped {path}: {exc}")
                continue
            filed += len(outcome.datasets)
    return filed


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    store_path: Path | str | None = None,
    config_path: Path | str | None = None,
    seed_dir: Path | str | None = None,
) -> None:
    """Run the API with uvicorn; seed an empty store from `seed_dir` (the demo catalog)."""
    import uvicorn

    overrides: dict[str, Any] = {}
    seed = Path(seed_dir) if seed_dir else None
    if config_path is None and seed is not None and (seed / "derivecert.toml").is_file():
        config_path = seed / "derivecert.toml"
        print(f"using the demo settings {config_path} (demo tokens: see {seed / 'README.md'})")
    if config_path is not None:
        overrides["config_file"] = Path(config_path)
    settings = Settings(**overrides)
    if store_path is not None:
        settings.store.kind = "embedded"
        settings.store.path = Path(store_path)
    filing_key = load_filing_key(settings, create=True)
    print(f"filing key {settings.filing_key_file()} (key id {filing_key.key_id}; public key at /.well-known/derivecert/filing-key)")
    store = open_catalog(open_store(settings))
    engine = None
    try:
        print("loading the ontology and shapes ...", flush=True)
        try:
            engine = load_engine(settings)
        except Exception as exc:
            print(f"warning: certification engine unavailable ({exc}); serving the catalog only", file=sys.stderr)
        if seed is not None and engine is not None and store.count() == 0:
            print(f"seeding the empty store from {seed} ...", flush=True)
            with engine.forking_parent():  # the request workers are forked from this process
                n = seed_store(store, engine, seed, settings, signing_key=filing_key)
            print(f"filed {n} datasets", flush=True)
        base = f"http://{host}:{port}"
        print(f"DeriveCert {__version__} on {base}  (store: {store.kind}"
              f"{' ' + str(settings.store.path) if store.kind == 'embedded' else ''}, {store.count()} datasets)")
        print(f"  API docs:        {base}/docs")
        print(f"  SPARQL endpoint: {base}/sparql")
        print(f"  search:          {base}/v1/datasets")
        app = create_app(settings, engine=engine, store=store)
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        store.close()
