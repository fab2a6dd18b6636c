"""The standard's vocabulary: code lists (DOMAIN.md §3) with zh/en labels, and the ontology and
shapes themselves, content-negotiated."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from derivecert.parse import oxigraph_triples

from ..labels import SCHEMES, codebook_or_none, scheme_iri
from ..negotiation import HTML, JSON, JSONLD, NTRIPLES, RDFXML, TURTLE, MediaType, negotiate
from ..openapi import problems
from ..problems import Problem
from ..rdfio import rdf_response, serialise

router = APIRouter(tags=["vocabulary"])

RDF_FORMATS = (TURTLE, JSONLD, RDFXML, NTRIPLES)


def _book():
    book = codebook_or_none()
    if book is None:
        raise Problem(503, "ontology-unavailable", "the ontology could not be loaded")
    return book


@router.get("/v1/vocabularies", summary="The code lists (concept schemes)")
async def vocabularies():
    book = _book()
    labels = book.schemes()
    out = []
    for slug in SCHEMES:
        iri = scheme_iri(slug)
        from rdflib import URIRef

        codes = book.scheme_codes(URIRef(iri))
        out.append({"slug": slug, "iri": iri, "label": labels.get(URIRef(iri), {}), "codes": len(codes),
                    "links": {"self": f"/v1/vocabularies/{slug}"}})
    return {"vocabularies": out}


@router.get(
    "/v1/vocabularies/{scheme}",
    summary="One code list with labels and definitions",
    responses={200: {"content": {"application/json": {"example": {
        "slug": "sensitivity-level", "iri": "https://w3id.org/derivecert#SensitivityLevelScheme",
        "label": {"zh": "敏感等级", "en": "sensitivity level"},
        "concepts": [{"code": "L1", "iri": "https://w3id.org/derivecert#L1",
                      "label": {"zh": "第1级", "en": "level 1"}, "definition": {"zh": "可完全公开使用", "en": "..."},
                      "order": 1, "rank": 1, "broader": None}]}}, "text/turtle": {}}},
        **problems(404, 406)},
)
async def vocabulary(scheme: str, request: Request):
    """`scheme` is the API slug (e.g. `application-scenario`) or the scheme's local name."""
    from rdflib import URIRef
    from rdflib.namespace import SKOS

    slug = scheme if scheme in SCHEMES else next((s for s, local in SCHEMES.items() if local == scheme), None)
    if slug is None:
        raise Problem(404, "unknown-vocabulary", f"no code list {scheme!r}",
                      hint="one of: " + ", ".join(SCHEMES))
    media = negotiate(request, (JSON, *RDF_FORMATS))
    book = _book()
    iri = URIRef(scheme_iri(slug) or "")
    codes = book.scheme_codes(iri)
    from derivecert.resources import ontology_graph

    onto = ontology_graph()
    if media is not JSON:
        from rdflib import Graph

        g = Graph()
        for node in [iri, *(c.iri for c in codes)]:
            for p, o in onto.predicate_objects(node):
                g.add((node, p, o))
        return rdf_response(oxigraph_triples(g), media)
    return {
        "slug": slug, "iri": str(iri), "label": book.schemes().get(iri, {}),
        "concepts": [
            {"code": c.notation, "iri": str(c.iri), "label": c.labels, "definition": c.definitions,
             "order": c.order, "rank": c.rank,
             "broader": book.notation(onto.value(c.iri, SKOS.broader)) if onto.value(c.iri, SKOS.broader) else None}
            for c in codes
        ],
    }


@lru_cache(maxsize=16)
def _serialised(which: str, media: MediaType) -> bytes:
    from derivecert import resources

    graph = resources.ontology_graph() if which == "ontology" else resources.shapes_source_graph()
    return serialise(oxigraph_triples(graph), media)


async def _artefact(which: str, request: Request) -> Response:
    media = negotiate(request, (*RDF_FORMATS, HTML))
    if media is HTML:  # a browser: the generated documentation (routers/docs.py)
        return RedirectResponse(f"/docs/{'ontology' if which == 'ontology' else 'requirements'}", status_code=303,
                                headers={"Vary": "Accept"})
    try:
        body = await run_in_threadpool(_serialised, which, media)
    except Exception as exc:
        raise Problem(503, f"{which}-unavailable", f"the {which} could not be loaded: {exc}") from None
    return Response(body, media_type=media.media_type, headers={"Vary": "Accept"})


@router.get("/ontology", summary="The DeriveCert ontology (all modules)",
            responses={200: {"content": {m.media_type: {} for m in RDF_FORMATS}},
                       303: {"description": "text/html: its documentation, /docs/ontology"}})
async def ontology(request: Request):
    return await _artefact("ontology", request)


@router.get("/shapes", summary="The SHACL shapes of the requirements (§4)",
            responses={200: {"content": {m.media_type: {} for m in RDF_FORMATS}},
                       303: {"description": "text/html: their documentation, /docs/requirements"}})
async def shapes(request: Request):
    return await _artefact("shapes", request)
