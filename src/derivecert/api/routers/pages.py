"""The landing page: what this node is, its catalogs, and where to go next (the web interface,
the API and its documentation)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from ..deps import ServicesDep, vocabulary_versions
from ..labels import value_label
from ..web import render

router = APIRouter(include_in_schema=False)

ENDPOINTS = ["/docs", "/redoc", "/v1/datasets", "/sparql", "/v1/vocabularies", "/ontology", "/shapes", "/healthz"]


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, svc: ServicesDep) -> HTMLResponse:
    try:
        counts = await run_in_threadpool(svc.store.institution_counts) if svc.settings.access.reads_open else {}
    except Exception:  # a store that is down: the page still says what the node is
        counts = {}
    ontology, shapes = vocabulary_versions()
    ids = [i.id for i in svc.settings.institutions] + sorted(set(counts) - {i.id for i in svc.settings.institutions})
    catalogs = [{"id": inst, "label": value_label("institution", inst, svc.settings), "count": counts.get(inst, 0)}
                for inst in ids]
    base = (svc.settings.public_url or str(request.base_url)).rstrip("/")
    return render(request, "home.html", catalogs=catalogs, endpoints=ENDPOINTS, base=base,
                  ontology_version=ontology, shapes_version=shapes, store_kind=svc.store.kind)
