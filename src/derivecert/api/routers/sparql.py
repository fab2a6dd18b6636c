"""`GET|POST /sparql`: a read-only SPARQL 1.1 Protocol endpoint over the catalogs.

The query is parsed before it runs (derivecert.sparql_guard.QueryAnalyser, in a bounded worker
process, off the event loop): updates are refused (403), SERVICE may only name allow-listed peer
endpoints (400, no connection made), the default graph is the union of the institutions' graphs
unless the request names graphs (`default-graph-uri`, `named-graph-uri`, which take precedence)
or the query does (`FROM`, `FROM NAMED`), and the settings' time limit and result limit apply
(a cut result says so in the `DeriveCert-Result-Truncated` header).

Parameters follow the SPARQL 1.1 Protocol: exactly one `query` (more is a 400), any number of
`default-graph-uri` and `named-graph-uri`, in the URL or a form body.  `format` (repeatable; a
short name or a media type, see api/negotiation.py) overrides `Accept`.  The engine writes the
answer (pyoxigraph's results and RDF serialisers).  Unless graphs are named, `GRAPH ?g` too
ranges over the institutions' graphs only (the store's bookkeeping graphs never show).  A GET
without a query that asks for RDF gets the endpoint's SPARQL 1.1 Service Description.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from derivecert.catalog import QueryTimeout
from derivecert.catalog.model import GRAPH_BASE
from derivecert.sparql_guard import QueryAnalyser, check_services

from ..deps import Reader, Services, ServicesDep, read_body
from ..negotiation import (
    CSV,
    HTML,
    JSON,
    JSONLD,
    NTRIPLES,
    RDFXML,
    SRJ,
    SRX,
    TSV,
    TURTLE,
    base_media_type,
    choose,
    negotiate,
)
from ..openapi import problems
from ..problems import Problem
from ..rdfio import serialise
from ..sparql_results import serialise_results

router = APIRouter(tags=["SPARQL"])

SELECT_FORMATS = (SRJ, SRX, CSV, TSV, JSON)
GRAPH_FORMATS = (TURTLE, NTRIPLES, JSONLD, RDFXML)

EXAMPLE_QUERY = """PREFIX dct: <http://purl.org/dc/terms/>
PREFIX dcert: <https://w3id.org/derivecert#>
SELECT ?dataset ?title ?level WHERE {
  ?result a dcert:CertificationResult ; dct:subject ?dataset ; dcert:sensitivityLevel ?level .
  ?dataset dct:title ?title .
} LIMIT 10"""


async def _read_request(request: Request, svc: Services) -> tuple[str | None, list[str], list[str], list[str]]:
    params = list(request.query_params.multi_items())
    if request.method == "POST":
        ctype = base_media_type(request.headers.get("content-type"))
        body = await read_body(request, svc.settings.limits.max_body_bytes)
        if ctype == "application/x-www-form-urlencoded":
            params += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        elif ctype == "application/sparql-query":
            params.append(("query", body.decode("utf-8", "replace")))
        elif ctype == "application/sparql-update":
            raise Problem(403, "update-refused", "this endpoint is read-only: SPARQL updates are refused")
        else:
            raise Problem(415, "unsupported-media-type",
                          f"POST /sparql takes application/sparql-query or a form, not {ctype}")
    if any(k == "update" for k, _ in params):
        raise Problem(403, "update-refused", "this endpoint is read-only: SPARQL updates are refused")
    queries = [v for k, v in params if k == "query"]
    if len(queries) > 1:
        raise Problem(400, "invalid-request", "exactly one `query` parameter is expected")
    return (queries[0] if queries else None,
            [v for k, v in params if k == "default-graph-uri"],
            [v for k, v in params if k == "named-graph-uri"],
            [v for k, v in params if k == "format" and v])


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = "http://www.w3.org/ns/formats/"
_RESULT_FORMATS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                   "Turtle", "N-Triples", "JSON-LD", "RDF_XML")


def service_description(endpoint: str) -> list[ox.Triple]:
    """The SPARQL 1.1 Service Description of this endpoint: read-only SPARQL 1.1 Query, its
    result formats, the default graph the union of the (institutions') named graphs."""
    service, sd = ox.NamedNode(endpoint), lambda name: ox.NamedNode(SD + name)
    triples = [ox.Triple(service, ox.NamedNode(RDF_TYPE), sd("Service")),
               ox.Triple(service, sd("endpoint"), service),
               ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
               ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")),
               ox.Triple(service, sd("feature"), sd("BasicFederatedQuery"))]
    triples += [ox.Triple(service, sd("resultFormat"), ox.NamedNode(FORMATS + f)) for f in _RESULT_FORMATS]
    return triples


async def _acquire(slots: asyncio.Semaphore | None) -> asyncio.Semaphore:
    """One of the SPARQL slots (made in the lifespan), or a 503 after a short wait."""
    assert slots is not None, "made in the lifespan"
    try:
        await asyncio.wait_for(slots.acquire(), timeout=5.0)
    except asyncio.TimeoutError:
        raise Problem(503, "busy", "all SPARQL slots are busy; try again shortly",
                      headers={"Retry-After": "2"}) from None
    return slots


async def _analyse(svc: Services, query: str):
    """The query's form, SERVICE targets and FROM graphs, analysed in a bounded worker under a
    SPARQL slot (a parse can be slow: on the event loop it would stall every request)."""
    analyser = svc.query_analyser
    if analyser is None:
        analyser = svc.query_analyser = QueryAnalyser(svc.settings.limits)
    info = analyser.cache.get(query)
    if info is not None:
        return info
    slots = await _acquire(svc.sparql_slots)
    try:
        return await run_in_threadpool(analyser.analyse, query)
    finally:
        slots.release()


async def _execute(svc: Services, query: str, form: str, default_graphs, named_graphs):
    limits = svc.settings.limits
    slots = await _acquire(svc.sparql_slots)
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(
        None,
        lambda: svc.store.run_query(query, form, limit=limits.sparql_result_limit,
                                    timeout=limits.sparql_timeout_s,
                                    default_graphs=default_graphs or None, named_graphs=named_graphs or None),
    )
    def done(f) -> None:  # the slot is held until the work ends, even past the time limit
        slots.release()
        if not f.cancelled():
            f.exception()  # retrieved: a late failure is not an unhandled error

    future.add_done_callback(done)
    try:
        # the store enforces the limit (a worker past it is killed); this wait is a safety net
        return await asyncio.wait_for(asyncio.shield(future), timeout=limits.sparql_timeout_s + 5.0)
    except (asyncio.TimeoutError, QueryTimeout):
        raise Problem(503, "query-timeout", f"the query ran past the time limit ({limits.sparql_timeout_s:g} s)",
                      hint="narrow the query or add a LIMIT") from None


async def sparql(request: Request, svc: ServicesDep, _: Reader):
    """SELECT and ASK answer in SPARQL JSON / XML / CSV / TSV; CONSTRUCT and DESCRIBE in Turtle,
    N-Triples, JSON-LD or RDF/XML.  `SERVICE` only to the allow-listed peers."""
    query, default_graphs, named_graphs, formats = await _read_request(request, svc)
    if query is None:
        wanted = choose(request.headers.get("accept"), (HTML, JSON, *GRAPH_FORMATS))
        if wanted is HTML:
            # the web interface's SPARQL page offers the formats that fit each query form
            return RedirectResponse("/ui/sparql", status_code=303)
        if wanted is not None and wanted.rdf is not None:
            # a client reading the endpoint's description first (Comunica does): a redirect to
            # the page would make it take the page for the endpoint
            endpoint = str(request.url.replace(query=""))
            return Response(serialise(service_description(endpoint), wanted), media_type=wanted.media_type,
                            headers={"Vary": "Accept"})
        raise Problem(400, "missing-query", "no `query` parameter", hint="GET /sparql?query=SELECT...")
    info = await _analyse(svc, query)
    check_services(info, svc.settings.service_allow_list())
    if not default_graphs and not named_graphs:  # the protocol's graphs override the query's
        default_graphs, named_graphs = list(info.default_graphs), list(info.named_graphs)
    internal = [g for g in (*default_graphs, *named_graphs) if g.startswith(GRAPH_BASE + "_")]
    if internal:
        raise Problem(400, "invalid-request", f"<{internal[0]}> is the store's bookkeeping, not a catalog graph",
                      hint="name institutions' graphs (GET /v1/institutions lists them), or none for their union")
    # what is not named is the institutions' graphs: the catalog decides (`Catalog.user_dataset`)
    offered = GRAPH_FORMATS if info.form == "graph" else SELECT_FORMATS
    try:
        media = negotiate(request, offered, formats)
    except Problem:
        if "text/html" in (request.headers.get("accept") or "") and not formats:
            media = offered[0]  # a browser form: show the default format
        else:
            raise
    outcome = await _execute(svc, query, info.form, default_graphs, named_graphs)
    headers = {"Vary": "Accept"}
    if outcome.truncated:
        headers["DeriveCert-Result-Truncated"] = "true"
        headers["DeriveCert-Result-Limit"] = str(svc.settings.limits.sparql_result_limit)
    if info.form == "graph":
        return Response(serialise(outcome.triples, media), media_type=media.media_type, headers=headers)
    assert media.results is not None, "SELECT_FORMATS are results formats"
    media_type = SRJ.media_type if media is JSON else media.media_type
    return Response(serialise_results(outcome, media.results), media_type=media_type, headers=headers)


_OPENAPI: dict[str, Any] = {
    "summary": "SPARQL 1.1 Protocol (read-only)",
    "responses": {200: {"content": {m.media_type: {} for m in SELECT_FORMATS + GRAPH_FORMATS}},
                  303: {"description": "a browser (Accept: text/html) with no query: see /ui/sparql, the SPARQL page"},
                  # (200 to a GET with no query that asks for RDF: the SPARQL 1.1 Service Description)
                  **problems(400, 403, 406, 413, 415, 422, 503)},
}
router.add_api_route(
    "/sparql", sparql, methods=["GET"], operation_id="sparql_get",
    openapi_extra={"parameters": [{"name": "query", "in": "query", "schema": {"type": "string"},
                                   "example": EXAMPLE_QUERY}]},
    **_OPENAPI,
)
router.add_api_route(
    "/sparql", sparql, methods=["POST"], operation_id="sparql_post",
    openapi_extra={"requestBody": {"content": {
        "application/sparql-query": {"schema": {"type": "string"}, "example": EXAMPLE_QUERY},
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
    }}},
    **_OPENAPI,
)
