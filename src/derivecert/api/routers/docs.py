"""Documents for authors and registries: the JSON-LD context of the public vocabulary
(`/context.jsonld`), the documentation generated from the Turtle (`/docs/ontology`,
`/docs/requirements`, `derivecert.docs_gen`) and each term at its path (`/ontology/{term}`:
HTML documentation, or its triples as RDF).  These are the paths the w3id.org redirect rules
(`docs/w3id/.htaccess`) send the namespace and the shapes' links to."""

from __future__ import annotations

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from rdflib import Graph, URIRef
from starlette.concurrency import run_in_threadpool

from derivecert.docs_gen import ontology_page, requirements_page
from derivecert.jsonld_context import shipped
from derivecert.parse import oxigraph_triples

from ..negotiation import HTML, JSONLD, NTRIPLES, RDFXML, TURTLE, negotiate
from ..openapi import problems
from ..problems import Problem
from ..rdfio import rdf_response

router = APIRouter(tags=["vocabulary"])

DCERT = "https://w3id.org/derivecert#"
#: the pages' own style is inline; nothing else loads
DOCS_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
RDF_FORMATS = (TURTLE, JSONLD, RDFXML, NTRIPLES)


def _html(text: str) -> HTMLResponse:
    return HTMLResponse(text, headers={"Content-Security-Policy": DOCS_POLICY, "Cache-Control": "public, max-age=3600"})


@router.get("/context.jsonld", summary="The JSON-LD context of the public vocabulary",
            responses={200: {"content": {"application/ld+json": {}}}})
async def context():
    """Inline it in a description (`"@context": {...}`): the node never fetches remote contexts."""
    return Response(shipped(), media_type="application/ld+json", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/docs/ontology", summary="The ontology's documentation (zh/en), generated from the Turtle",
            response_class=HTMLResponse)
async def ontology_docs():
    return _html(await run_in_threadpool(ontology_page))


@router.get("/docs/requirements", summary="The requirements, their shapes, messages and fixtures (zh/en)",
            response_class=HTMLResponse)
async def requirements_docs():
    return _html(await run_in_threadpool(requirements_page))


def _term_graph(term: URIRef) -> Graph:
    """The term's own triples with the blank nodes of its axioms (its concise bounded description)."""
    from derivecert.filing import description_of
    from derivecert.resources import ontology_graph

    return description_of(ontology_graph(), term)


@router.get("/ontology/{term}", summary="One term of the ontology: its documentation (HTML) or its triples (RDF)",
            responses={200: {"content": {m.media_type: {} for m in RDF_FORMATS}}, 303: {"description": "HTML: its documentation"},
                       **problems(404, 406)})
async def ontology_term(term: str, request: Request):
    """`https://w3id.org/derivecert#<term>` at this node; browsers are sent to its documentation."""
    media = negotiate(request, (*RDF_FORMATS, HTML))
    try:
        iri = URIRef(ox.NamedNode(DCERT + term).value)
    except ValueError:
        iri = None
    graph = await run_in_threadpool(_term_graph, iri) if iri is not None else Graph()
    if len(graph) == 0:
        raise Problem(404, "unknown-term", f"the ontology has no term dcert:{term}",
                      hint="the terms are listed at /docs/ontology")
    if media is HTML:
        return RedirectResponse(f"/docs/ontology#{term}", status_code=303, headers={"Vary": "Accept"})
    return rdf_response(oxigraph_triples(graph), media, headers={"Vary": "Accept"})
