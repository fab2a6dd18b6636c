"""`POST /v1/certify`, `/v1/classify`, `/v1/validate`: the engine on a description, nothing
stored (DOMAIN.md §3 classification, §4 requirements, §5-§6 verdict and result)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from derivecert.filing import draft_numbers
from derivecert.parse import oxigraph_triples

from ..deps import Reader, Services, ServicesDep, read_body
from ..negotiation import JSON, JSONLD, NTRIPLES, RDFXML, TURTLE, base_media_type, negotiate
from ..openapi import EXAMPLE_RESULT, problems, rdf_body
from ..rdfio import rdf_response

router = APIRouter(prefix="/v1", tags=["certification"])

RDF_OR_JSON = (JSON, TURTLE, JSONLD, NTRIPLES, RDFXML)


async def _body(request: Request, svc: Services) -> tuple[bytes, str | None]:
    body = await read_body(request, svc.settings.limits.max_body_bytes)
    return body, base_media_type(request.headers.get("content-type"))


@router.post(
    "/certify",
    summary="Certify a description (nothing stored)",
    openapi_extra=rdf_body(),
    responses={200: {"description": "§6 results, one per dcat:Dataset (JSON), or the result graph (RDF)",
                     "content": {"application/json": {"example": {"results": [EXAMPLE_RESULT], "stored": False}},
                                 "text/turtle": {}, "application/ld+json": {}}},
               **problems(400, 413, 415, 422, 503)},
)
async def certify(
    request: Request,
    svc: ServicesDep,
    _: Reader,
    lang: Literal["zh", "en"] | None = Query(None, description="messages in one language only"),
):
    """Identify, classify and check the requirements of every dataset of the description.

    Filing numbers in this answer are `DRAFT-n` placeholders: filing happens with
    `PUT /v1/institutions/{institution}/datasets`."""
    media = negotiate(request, RDF_OR_JSON)
    body, media_type = await _body(request, svc)
    run = await svc.run_engine(
        svc.require_engine().certify, body, media_type=media_type, filing_numbers=draft_numbers(),
        certifying_body=svc.settings.certifying_body,
    )
    if media is not JSON:
        return rdf_response(oxigraph_triples(run.result_graph), media)
    return JSONResponse({
        "results": [r.to_dict(lang) if lang else r.to_dict() for r in run.results],
        "stored": False,
        "ontology_version": getattr(svc.engine, "ontology_version", None),
        "shapes_version": getattr(svc.engine, "shapes_version", None),
    })


@router.post(
    "/classify",
    summary="Classify a description (§3 dimensions)",
    openapi_extra=rdf_body(),
    responses={200: {"content": {"application/json": {"example": {"results": [
        {k: EXAMPLE_RESULT[k] for k in ("dataset", "is_derived", "derivation_depth", "types", "classification")}]}}}},
               **problems(400, 413, 415, 422, 503)},
)
async def classify(request: Request, svc: ServicesDep, _: Reader):
    """Derived or not, derivation depth, types and the classification codes of every dataset."""
    negotiate(request, (JSON,))
    body, media_type = await _body(request, svc)
    results = await svc.run_engine(svc.require_engine().classify, body, media_type=media_type)
    return {"results": results}


@router.post(
    "/validate",
    summary="Check the requirements (§4) of a description",
    openapi_extra=rdf_body(),
    responses={200: {"description": "findings (JSON) or the SHACL validation report (RDF)",
                     "content": {"application/json": {"example": {"conforms": False, "findings": EXAMPLE_RESULT["findings"]}},
                                 "text/turtle": {}}},
               **problems(400, 413, 415, 422, 503)},
)
async def validate(request: Request, svc: ServicesDep, _: Reader):
    """The SHACL findings, each naming one requirement ID (P-, Q-, S-, R-)."""
    media = negotiate(request, RDF_OR_JSON)
    body, media_type = await _body(request, svc)
    report, findings = await svc.run_engine(svc.require_engine().validate, body, media_type=media_type)
    if media is not JSON:
        return rdf_response(oxigraph_triples(report), media)
    return {"conforms": not findings,
            "findings": findings}
