"""`GET /healthz`: readiness, with the ontology and shapes versions and the store kind."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from derivecert import __version__

from ..deps import ServicesDep, vocabulary_versions
from ..problems import Problem

router = APIRouter(tags=["service"])


@router.get(
    "/healthz",
    summary="Readiness",
    responses={200: {"content": {"application/json": {"example": {
        "status": "ok", "version": "0.1.0", "ontology_version": "0.1.0", "shapes_version": "0.1.0",
        "store": "embedded", "datasets": 42, "engine": "ready"}}}}},
)
async def healthz(svc: ServicesDep) -> dict:
    """Ready when the store answers; says which ontology and shapes versions certify here."""
    try:
        count = await run_in_threadpool(svc.store.count)
    except Exception as exc:
        raise Problem(503, "store-unavailable", f"the store does not answer: {exc}") from None
    ontology, shapes = vocabulary_versions()
    return {
        "status": "ok",
        "version": __version__,
        "ontology_version": ontology,
        "shapes_version": shapes,
        "store": svc.store.kind,
        "datasets": count,
        "engine": "ready" if svc.engine is not None else f"unavailable: {svc.engine_error}",
        "reads_open": svc.settings.access.reads_open,
        "peers": [p.name for p in svc.settings.peers],
    }
