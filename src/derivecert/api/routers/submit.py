"""Filing (备案): institutions submit descriptions; certified and conditional datasets are stored
with their result and filing record, atomically, replacing earlier versions (DOMAIN.md §5)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from derivecert.catalog import file_submission
from derivecert.filing import draft_numbers

from ..deps import InstitutionWriter, ServicesDep, key_of, read_body
from ..negotiation import base_media_type
from ..openapi import EXAMPLE_RESULT, problems, rdf_body
from ..problems import Problem

router = APIRouter(prefix="/v1/institutions", tags=["filing"])


@router.put(
    "/{institution}/datasets",
    summary="Submit a description for certification and filing",
    status_code=201,
    openapi_extra={**rdf_body("The institution's description of its derived dataset(s) and their sources"),
                   "security": [{"bearer": []}]},
    responses={
        200: {"description": "dry run: what would be stored", "content": {"application/json": {}}},
        201: {"description": "stored: results and filing numbers", "content": {"application/json": {"example": {
            "stored": True, "institution": "cdc-east", "results": [EXAMPLE_RESULT],
            "datasets": [{"id": "5b0e4cbd6e5f0d3a", "dataset": "https://cdc.example.org/ili-weekly",
                          "verdict": "conditional", "filing": EXAMPLE_RESULT["filing"], "replaced": False,
                          "links": {"self": "/v1/datasets/5b0e4cbd6e5f0d3a"}}]}}}},
        **problems(400, 401, 403, 404, 409, 413, 415, 422),
    },
)
async def submit(
    institution: str,
    request: Request,
    svc: ServicesDep,
    _principal: InstitutionWriter,
    dry_run: bool = Query(False, description="certify and answer, store nothing"),
):
    """Certified / conditional: stored with the filing, `201`.  Any dataset rejected, or nothing
    derived: `422` with the results, nothing stored.  A dataset already filed by this institution
    is replaced (description, result and filing together); one filed by another institution is
    a `409`."""
    body = await read_body(request, svc.settings.limits.max_body_bytes)
    media_type = base_media_type(request.headers.get("content-type"))
    store = svc.store
    if dry_run:
        numbers = draft_numbers()
    else:
        taken: set[str] = set()
        prefix = svc.settings.filing_prefix

        def numbers() -> str:  # called by the engine in its worker thread
            return store.new_filing_number(prefix, taken=taken)

    run = await svc.run_engine(
        svc.require_engine().certify, body, media_type=media_type, filing_numbers=numbers,
        certifying_body=svc.settings.certifying_body,
    )
    if svc.filing_key is not None and not dry_run:  # a draft is never signed
        run.sign_filings(svc.filing_key)
    outcome = await run_in_threadpool(file_submission, store, institution, run, dry_run=dry_run)
    results, datasets = outcome.results, outcome.datasets
    if dry_run:
        return JSONResponse({"stored": False, "dry_run": True, "institution": institution,
                             "results": results, "datasets": datasets}, status_code=200)
    return JSONResponse(
        {"stored": True, "institution": institution, "results": results, "datasets": datasets},
        status_code=201, headers={"Location": datasets[0]["links"]["self"]},
    )


@router.delete(
    "/{institution}/datasets/{ident:path}",
    summary="Withdraw a filed dataset",
    status_code=204,
    openapi_extra={"security": [{"bearer": []}]},
    responses={204: {"description": "withdrawn"}, **problems(400, 401, 403, 404)},
)
async def withdraw(institution: str, ident: str, svc: ServicesDep,
                   _principal: InstitutionWriter):
    """Removes the description, result, filing record and catalog record of the dataset."""
    key = key_of(ident)
    if not await run_in_threadpool(svc.store.delete, key, institution):
        raise Problem(404, "not-found", f"no dataset {ident} in the catalog of {institution}",
                      hint=f"the datasets of {institution} are listed at /v1/datasets?institution={institution}")
    return Response(status_code=204)
