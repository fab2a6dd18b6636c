"""`POST /v1/template`: a DeriveCert description started from a registry record (DCAT-AP,
HealthDCAT-AP), with what is still needed per dataset (`derivecert.template`); nothing stored."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from derivecert.template import make_template

from ..deps import Reader, ServicesDep, read_body
from ..negotiation import JSONLD, TURTLE, base_media_type, negotiate
from ..openapi import problems, rdf_body

router = APIRouter(prefix="/v1", tags=["certification"])


@router.post(
    "/template",
    summary="Start a description from a registry record (what is still needed, per dataset)",
    openapi_extra=rdf_body("A DCAT-AP or HealthDCAT-AP record (Turtle, JSON-LD, RDF/XML or N-Triples; by Content-Type)"),
    responses={200: {"description": "the record with TODO comments (Turtle) or a \"_todo\" list per dataset (JSON-LD)",
                     "content": {"text/turtle": {}, "application/ld+json": {}}},
               **problems(400, 406, 413, 415, 503)},
)
async def template(
    request: Request,
    svc: ServicesDep,
    _: Reader,
    lang: Literal["zh", "en"] = Query("en", description="language of the TODO messages"),
):
    """Every fact of the record is kept; each property still needed names the requirement that
    needs it, in the words of its shape."""
    media = negotiate(request, (TURTLE, JSONLD))
    body = await read_body(request, svc.settings.limits.max_body_bytes)
    text = await svc.run_engine(make_template, svc.engine, body, media_type=base_media_type(request.headers.get("content-type")),
                                fmt="turtle" if media is TURTLE else "json-ld", lang=lang)
    return Response(text, media_type=media.media_type)
