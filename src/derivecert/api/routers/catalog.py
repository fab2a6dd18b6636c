"""Reading the catalog: faceted search (local or federated), one dataset with its result and
filing (content-negotiated), institutions and their graphs. Filing records: routers/filings.py."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from derivecert.catalog import DIMENSIONS, SearchQuery, graph_iri, is_institution_id
from derivecert.catalog.items import item_json
from derivecert.federation import federated_search, peer_client
from derivecert.filing import status_on

from ..deps import Reader, Services, ServicesDep, key_of
from ..labels import code_order, codebook_or_none, dimension_labels, value_label
from ..negotiation import JSON, JSONLD, NTRIPLES, RDFXML, TURTLE, choose, negotiate
from ..openapi import EXAMPLE_RESULT, problems
from ..problems import Problem
from ..rdfio import deskolemise, rdf_response

router = APIRouter(prefix="/v1", tags=["catalog"])

RDF_OR_JSON = (JSON, TURTLE, JSONLD, NTRIPLES, RDFXML)
VERDICT_ORDER = ["certified", "conditional", "rejected", "not-derived"]


def facets_json(facets: dict[str, dict[str, int]], query: SearchQuery, settings,
                names: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """Counts with labels; `names`: institutions' names their nodes give (a federated search)."""
    out = {}
    for dim in DIMENSIONS:
        counts = facets.get(dim, {})
        selected = set(query.filters.get(dim, []))
        if dim == "verdict":
            order = sorted(counts, key=lambda v: (VERDICT_ORDER.index(v) if v in VERDICT_ORDER else 99, v))
        elif dim == "institution":
            order = sorted(counts, key=lambda v: (-counts[v], v))
        elif dim == "depth":
            order = sorted(counts)
        else:
            order = sorted(counts, key=code_order)
        out[dim] = {
            "label": dimension_labels()[dim],
            "values": [
                {"code": v, "label": _institution_label(v, names, settings) if dim == "institution" and names
                 else value_label(dim, v, settings), "count": counts[v], "selected": v in selected}
                for v in order
            ],
        }
    return out


def _institution_label(inst: str, names: dict[str, dict[str, str]], settings) -> dict[str, str]:
    name = names.get(inst)
    if not name or settings.institution(inst):  # this node's settings name its own institutions
        return value_label("institution", inst, settings)
    return {"zh": name.get("zh") or name.get("en", inst), "en": name.get("en") or name.get("zh", inst)}


def _split(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _check_codes(dim: str, values: list[str]) -> None:
    slug = DIMENSIONS[dim][0]
    book = codebook_or_none()
    if slug is None or book is None or not book.by_notation:
        return
    unknown = [v for v in values if v not in book.by_notation]
    if unknown:
        raise Problem(400, "unknown-code", f"{dim}: unknown code(s) {', '.join(unknown)}",
                      hint=f"the codes of {dim} are listed at /v1/vocabularies/{slug}")


@router.get(
    "/datasets",
    summary="Faceted search over the catalog (optionally federated)",
    responses={200: {"content": {"application/json": {"example": {
        "total": 1, "offset": 0, "limit": 20, "sort": "-modified",
        "items": [{"id": "5b0e4cbd6e5f0d3a", "dataset": "https://cdc.example.org/ili-weekly",
                   "institution": "cdc-east", "institution_name": {"zh": "东区疾控中心", "en": "CDC East"},
                   "title": {"zh": "流感样病例周报统计", "en": "Weekly influenza-like illness counts"},
                   "verdict": "certified", "derivation_depth": "primary",
                   "classification": {k: v for k, v in EXAMPLE_RESULT["classification"].items()
                                      if k not in ("level_candidates", "personal_information")},
                   "filing": EXAMPLE_RESULT["filing"],
                   "origin": "local", "links": {"self": "/v1/datasets/5b0e4cbd6e5f0d3a"}}],
        "facets": {"scenario": {"label": {"zh": "应用场景", "en": "application scenario"},
                                "values": [{"code": "AS-PH", "label": {"zh": "公共卫生", "en": "public health"},
                                            "count": 1, "selected": False}]}},
        "links": {"self": "/v1/datasets?scenario=AS-PH"}}}}},
        **problems(400, 401, 406)},
)
async def search(
    request: Request,
    svc: ServicesDep,
    _: Reader,
    scenario: list[str] = Query([], description="application scenario codes (AS-*), OR-ed"),
    technique: list[str] = Query([], description="generation technique codes (GT-*)"),
    level: list[str] = Query([], description="sensitivity levels (L1..L5)"),
    grade: list[str] = Query([], description="de-identification grades (D0..D4)"),
    granularity: list[str] = Query([], description="GR-IND, GR-GRP, GR-POP"),
    category: list[str] = Query([], description="content categories (C1..C6)"),
    modality: list[str] = Query([], description="data modalities (MOD-*)"),
    special: list[str] = Query([], description="special categories (SP-*)"),
    depth: list[str] = Query([], description="primary or secondary"),
    institution: list[str] = Query([], description="institution ids"),
    verdict: list[str] = Query([], description="certified or conditional"),
    q: str = Query("", description="words that must all occur in title, description, identifier or keywords "
                   "(zh or en; English plurals folded); results ranked by relevance unless `sort` is given"),
    offset: int = Query(0, ge=0),
    limit: int = Query(20, ge=1, description="page size (capped by the node's search_page_max)"),
    sort: Literal["relevance", "-modified", "modified", "title"] | None = Query(
        None, description="default: relevance with `q`, else -modified (newest first)"),
    federated: bool = Query(False, description="also search the configured peers and merge"),
):
    """Dimensions are AND-ed, values within one dimension OR-ed.  Each dimension's counts apply
    every filter but its own (multi-select facets), with zh/en labels."""
    if choose(request.headers.get("accept"), (JSON,)) is None:  # never JSON to a client that refused it
        raise Problem(406, "not-acceptable", "the search answers JSON (application/json) only",
                      hint="for RDF, harvest the DCAT catalog: GET /v1/catalog (Turtle, JSON-LD, RDF/XML, "
                           "N-Triples; Hydra pages), or GET /v1/catalog/datasets/{id}")
    raw = {"scenario": scenario, "technique": technique, "level": level, "grade": grade,
           "granularity": granularity, "category": category, "modality": modality, "special": special,
           "depth": depth, "institution": institution, "verdict": verdict}
    filters = {}
    for dim, values in raw.items():
        values = _split(values)
        if values:
            _check_codes(dim, values)
            filters[dim] = values
    limit = min(limit, svc.settings.limits.search_page_max)
    sort = sort or ("relevance" if q.strip() else "-modified")
    if federated and svc.settings.peers and sort == "relevance":
        sort = "-modified"  # relevance is not comparable across nodes: merged newest first
    query = SearchQuery(filters=filters, text=q, offset=offset, limit=limit, sort=sort)
    body: dict[str, Any] = {"total": 0, "offset": offset, "limit": limit, "sort": sort,
                            "query": {"filters": filters, "text": q}}
    names = {i.id: i.name for i in svc.settings.institutions}
    if federated and svc.settings.peers:
        local_q = SearchQuery(filters=filters, text=q, offset=0, limit=offset + limit, sort=sort)
        local = await run_in_threadpool(svc.store.search, local_q)
        if svc.peer_client is None:
            svc.peer_client = peer_client()
        fed = await federated_search(
            local, query, svc.settings.peers, timeout=svc.settings.limits.federation_timeout_s,
            tokens={p.name: p.token.get_secret_value() for p in svc.settings.peers if p.token},
            local_names=names, client=svc.peer_client,
        )
        body.update(
            total=fed.total,
            items=[{**item_json(h.entry, h.origin, h.href), "institution_name": h.institution_name,
                    "origins": [{"origin": o["origin"], "institution": o["institution"],
                                 "institution_name": o["institution_name"],
                                 "links": {"self": o["href"] or (f"/v1/datasets/{h.entry.key}" if o["origin"] == "local" else None)}}
                                for o in h.origins]}
                   for h in fed.hits],
            facets=facets_json(fed.facets, query, svc.settings, fed.institution_names),
            federated=True,
            partial=fed.partial,
            origins=[{"name": o.name, "url": o.url or None, "ok": o.ok, "total": o.total,
                      "elapsed_ms": o.elapsed_ms} for o in fed.origins],
            errors=[{"peer": o.name, "url": o.url, "status": o.status, "detail": o.error}
                    for o in fed.origins if not o.ok],
        )
    else:
        result = await run_in_threadpool(svc.store.search, query)
        body.update(total=result.total,
                    items=[{**item_json(e), "institution_name": names.get(e.institution, {})} for e in result.items],
                    facets=facets_json(result.facets, query, svc.settings))
        if federated:
            body.update(federated=True, partial=False, origins=[{"name": "local", "ok": True, "total": result.total}],
                        errors=[])
    links = {"self": str(request.url.remove_query_params("offset").include_query_params(offset=offset))}
    if offset + limit < body["total"]:
        links["next"] = str(request.url.include_query_params(offset=offset + limit, limit=limit))
    if offset > 0:
        links["prev"] = str(request.url.include_query_params(offset=max(0, offset - limit), limit=limit))
    body["links"] = links
    return JSONResponse(body)


async def _record_or_404(svc: Services, ident: str) -> dict:
    key = key_of(ident)
    record = await run_in_threadpool(svc.store.record, key)
    if record is None:
        raise Problem(404, "not-found", f"no dataset {ident} in this catalog",
                      hint="search with GET /v1/datasets; a dataset is named by its id or its IRI")
    return record


def _etag(record: dict, filing_status: str | None) -> str:
    tag = record["key"] + record["modified"] + (filing_status or "")
    return 'W/"' + hashlib.sha256(tag.encode()).hexdigest()[:20] + '"'


def _filing_status_today(store, filing: dict | None) -> str | None:
    """The filing's status now (the ledger's, or expired), not the `valid` it had when filed."""
    if not filing or not filing.get("number") or not filing.get("valid_until"):
        return None
    return status_on(store.filing_status(filing["number"]) or "valid", date.fromisoformat(str(filing["valid_until"])[:10]))


@router.get(
    "/datasets/{ident:path}",
    summary="One dataset with its result and filing",
    responses={200: {"description": "§6 result with the record's metadata (JSON), or the description, "
                                    "result and filing record (RDF)",
                     "content": {"application/json": {"example": {**EXAMPLE_RESULT, "id": "5b0e4cbd6e5f0d3a",
                                                                   "institution": "cdc-east"}},
                                 "text/turtle": {}, "application/ld+json": {}, "application/rdf+xml": {},
                                 "application/n-triples": {}}},
               304: {"description": "not modified: `If-None-Match` names the current ETag"},
               **problems(400, 404, 406)},
)
async def get_dataset(ident: str, request: Request, svc: ServicesDep, _: Reader):
    """`ident` is the dataset's id (16 hex digits) or its IRI, percent-encoded."""
    media = negotiate(request, RDF_OR_JSON)
    record = await _record_or_404(svc, ident)
    filing_status = await run_in_threadpool(_filing_status_today, svc.store, record["result"].get("filing"))
    etag = _etag(record, filing_status)
    headers = {"ETag": etag, "Vary": "Accept"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if media is not JSON:
        triples = await run_in_threadpool(svc.store.dataset_triples, record["key"])
        return rdf_response(deskolemise(triples), media, headers=headers)
    body = dict(record["result"])
    if filing_status is not None:
        body["filing"] = {**body["filing"], "status": filing_status}
    body.update(
        id=record["key"], institution=record["institution"], title=record["summary"].get("title"),
        issued=record["issued"], modified=record["modified"],
        links={"self": f"/v1/datasets/{record['key']}",
               "filing": f"/v1/filings/{body['filing']['number']}" if body.get("filing") else None,
               "institution": f"/v1/institutions/{record['institution']}"},
    )
    return JSONResponse(body, headers=headers)


@router.get("/institutions", summary="Institutions of this node, with their dataset counts")
async def institutions(svc: ServicesDep, _: Reader):
    counts = await run_in_threadpool(svc.store.institution_counts)
    out = []
    for inst in svc.settings.institutions:
        out.append({"id": inst.id, "name": inst.name, "homepage": inst.homepage,
                    "datasets": counts.get(inst.id, 0), "graph": graph_iri(inst.id),
                    "links": {"datasets": f"/v1/datasets?institution={inst.id}"}})
    known = {i.id for i in svc.settings.institutions}
    for inst_id, n in sorted(counts.items()):
        if inst_id not in known:
            out.append({"id": inst_id, "name": {}, "homepage": None, "datasets": n, "graph": graph_iri(inst_id),
                        "links": {"datasets": f"/v1/datasets?institution={inst_id}"}})
    return {"institutions": out}


@router.get(
    "/institutions/{institution}/graph",
    summary="The whole named graph of an institution (descriptions, results, filings, records)",
    responses={200: {"content": {"text/turtle": {}, "application/n-triples": {}, "application/ld+json": {},
                                 "application/rdf+xml": {}}},
               **problems(404, 406)},
)
async def institution_graph(institution: str, request: Request, svc: ServicesDep, _: Reader):
    media = negotiate(request, (TURTLE, NTRIPLES, JSONLD, RDFXML))
    unknown = Problem(404, "unknown-institution", f"no institution {institution!r} on this node",
                      hint="the institutions are listed at /v1/institutions")
    if not is_institution_id(institution):
        raise unknown
    triples = await run_in_threadpool(svc.store.export, graph_iri(institution))
    if not triples and svc.settings.institution(institution) is None:
        raise unknown
    return rdf_response(triples, media)
