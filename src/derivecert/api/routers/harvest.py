"""Harvesting: the node's and each institution's DCAT catalog, paged with Hydra and RFC 8288
`Link` headers, and one dataset's published view, as DCAT-AP 3 or HealthDCAT-AP
(`derivecert.dcat_export`).  What the store keeps for itself (`idx:` terms, result nodes) never
appears in these answers."""

from __future__ import annotations

import hashlib
from typing import Literal

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from derivecert.dcat_export import CatalogPage, catalog_page, dataset_view, view_triples
from derivecert.catalog import IDX, is_institution_id

from ..deps import Reader, Services, ServicesDep, key_of
from ..negotiation import JSONLD, NTRIPLES, RDFXML, TURTLE, negotiate
from ..openapi import problems
from ..problems import Problem
from ..rdfio import PREFIXES

router = APIRouter(prefix="/v1", tags=["catalog"])

RDF_FORMATS = (TURTLE, JSONLD, RDFXML, NTRIPLES)
#: the published views' prefixes: the node's, without the store's index namespace
VIEW_PREFIXES = {k: v for k, v in PREFIXES.items() if v != IDX} | {
    "hydra": "http://www.w3.org/ns/hydra/core#", "dqv": "http://www.w3.org/ns/dqv#",
    "oa": "http://www.w3.org/ns/oa#",
}
PAGE_SIZE = 50
Profile = Literal["dcat-ap", "healthdcat-ap"]
PROFILE_DOC = "dcat-ap (DCAT-AP 3.0.0) or healthdcat-ap (DCAT-AP with HealthDCAT-AP's health properties)"
RDF_CONTENT: dict[str, dict] = {m.media_type: {} for m in RDF_FORMATS}


def _base(request: Request, svc: Services) -> str:
    return (svc.settings.public_url or str(request.base_url)).rstrip("/")


def _respond(request: Request, graph, links: dict[str, str | None] | None = None) -> Response:
    """The view in the negotiated format, with an ETag per representation (a digest of its
    bytes: two formats of one page differ) and `Link` headers for the pages."""
    media = negotiate(request, RDF_FORMATS)
    triples = view_triples(graph)
    try:
        body = ox.serialize(triples, format=media.rdf, prefixes=VIEW_PREFIXES) if media.rdf in (
            ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML, ox.RdfFormat.JSON_LD) else ox.serialize(triples, format=media.rdf)
    except TypeError:  # a pyoxigraph without `prefixes`
        body = ox.serialize(triples, format=media.rdf)
    assert body is not None  # serialised to bytes, not to a file
    etag = '"' + hashlib.sha256(media.media_type.encode() + b"\n" + body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Vary": "Accept"}
    if links:
        headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url)
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media.media_type, headers=headers)


def _page_size(svc: Services, limit: int) -> int:
    return min(limit, svc.settings.limits.search_page_max)


@router.get(
    "/catalog",
    summary="The node's DCAT catalog (every institution), paged with Hydra, for harvesters",
    responses={200: {"content": RDF_CONTENT}, 304: {"description": "not modified"}, **problems(400, 406)},
)
async def node_catalog(
    request: Request,
    svc: ServicesDep,
    _: Reader,
    offset: int = Query(0, ge=0),
    limit: int = Query(PAGE_SIZE, ge=1, description="page size (capped by the node's search_page_max)"),
    profile: Profile = Query("dcat-ap", description=PROFILE_DOC),
):
    """A `dcat:Catalog` with its `dcat:CatalogRecord`s and `dcat:Dataset`s (with their filing
    records and distributions); `hydra:view` names the page and `hydra:next` the following one
    (also in the `Link` header)."""
    base = _base(request, svc)
    name = svc.settings.node_name
    page = CatalogPage(
        iri=f"{base}/v1/catalog",
        title={"zh": f"{name} 衍生数据认定目录", "en": f"{name}: catalog of certified derived data"},
        description={"zh": "本节点各机构已认定（含附条件认定）并备案的医疗健康衍生数据集。",
                     "en": "The medical and health derived datasets certified (or conditionally certified) "
                           "and filed by the institutions of this node."},
        publisher=f"{base}/v1/catalog#certifying-body",
        publisher_name={"zh": svc.settings.certifying_body, "en": svc.settings.certifying_body},
        institution=None, offset=offset, limit=_page_size(svc, limit), profile=profile,
    )
    graph, links = await run_in_threadpool(catalog_page, svc.store, page)
    return _respond(request, graph, links)


@router.get(
    "/institutions/{institution}/catalog",
    summary="One institution's DCAT catalog, paged with Hydra, for harvesters",
    responses={200: {"content": RDF_CONTENT}, 304: {"description": "not modified"}, **problems(400, 404, 406)},
)
async def institution_catalog(
    institution: str,
    request: Request,
    svc: ServicesDep,
    _: Reader,
    offset: int = Query(0, ge=0),
    limit: int = Query(PAGE_SIZE, ge=1, description="page size (capped by the node's search_page_max)"),
    profile: Profile = Query("dcat-ap", description=PROFILE_DOC),
):
    known = svc.settings.institution(institution) if is_institution_id(institution) else None
    counts = await run_in_threadpool(svc.store.institution_counts) if known is None else {}
    if known is None and institution not in counts:
        raise Problem(404, "unknown-institution", f"no institution {institution!r} on this node",
                      hint="the institutions are listed at /v1/institutions")
    names = dict(known.name) if known is not None and known.name else {"zh": institution, "en": institution}
    base = _base(request, svc)
    iri = f"{base}/v1/institutions/{institution}/catalog"
    page = CatalogPage(
        iri=iri,
        title={lang: f"{names.get(lang) or institution}{' 衍生数据认定目录' if lang == 'zh' else ': certified derived data'}"
               for lang in ("zh", "en")},
        description={"zh": f"{names.get('zh') or institution} 已认定并备案的医疗健康衍生数据集。",
                     "en": f"The medical and health derived datasets certified and filed by {names.get('en') or institution}."},
        publisher=f"{iri}#publisher", publisher_name={lang: names.get(lang) or institution for lang in ("zh", "en")},
        institution=institution, offset=offset, limit=_page_size(svc, limit), profile=profile,
        publisher_homepage=known.homepage if known is not None else None,
    )
    graph, links = await run_in_threadpool(catalog_page, svc.store, page)
    return _respond(request, graph, links)


@router.get(
    "/catalog/datasets/{ident:path}",
    summary="One filed dataset as a registry reads it (DCAT-AP or HealthDCAT-AP)",
    responses={200: {"content": RDF_CONTENT}, 304: {"description": "not modified"}, **problems(400, 404, 406)},
)
async def dataset_profile(
    ident: str,
    request: Request,
    svc: ServicesDep,
    _: Reader,
    profile: Profile = Query("dcat-ap", description=PROFILE_DOC),
):
    """`ident` is the dataset's id (16 hex digits) or its IRI, percent-encoded; the view has the
    description, the signed filing record with today's status and the certification as a
    `dqv:QualityCertificate`."""
    key = key_of(ident)
    graph = await run_in_threadpool(dataset_view, svc.store, key, profile)
    if len(graph) == 0:
        raise Problem(404, "not-found", f"no dataset {ident} in this catalog",
                      hint="the catalog is listed at /v1/catalog; a dataset is named by its id or its IRI")
    return _respond(request, graph)
