"""Filing (备案): institutions submit descriptions; certified and conditional datasets are stored
with their result and filing record, atomically, replacing earlier versions (DOMAIN.md §5)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from derivecert.store import STORABLE_VERDICTS, ConflictError, build_submission, check_description, dataset_key

from ..deps import Services, institution_writer, read_body, services
from ..negotiation import base_media_type
from ..openapi import EXAMPLE_RESULT, problems, rdf_body
from ..problems import Problem
from .catalog import key_of
from .compute import draft_numbers

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
    dry_run: bool = Query(False, description="certify and answer, store nothing"),
    svc: Services = Depends(services),
    _principal=Depends(institution_writer),
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
        svc.engine.certify, body, media_type=media_type, filing_numbers=numbers,
        certifying_body=svc.settings.certifying_body,
    )
    check_description(run.description)  # the node's own vocabulary: 400 before any verdict
    if svc.filing_key is not None and not dry_run:  # a draft is never signed
        run.sign_filings(svc.filing_key)
    results = [r.to_dict() for r in run.results]
    rejected = [r for r in results if r["verdict"] == "rejected"]
    storable = [r for r in results if r["verdict"] in STORABLE_VERDICTS]
    if rejected:
        raise Problem(
            422, "certification-rejected",
            f"{len(rejected)} of {len(results)} dataset(s) rejected; nothing stored",
            title="Certification rejected",
            hint="fix the Violation findings and submit again",
            results=results,
            findings=[{"dataset": r["dataset"], **f} for r in rejected for f in r["findings"]],
        )
    if not storable:
        raise Problem(
            422, "nothing-to-file", "no dataset of the description is derived data to certify; nothing stored",
            title="Nothing to file",
            hint="a derived dataset names its sources (prov:wasDerivedFrom) and a derivation technique",
            results=results,
        )
    blank = [r["dataset"] for r in storable if r["dataset"].startswith("_:")]
    if blank:
        raise Problem(422, "dataset-needs-iri", "a filed dataset needs an IRI, not a blank node",
                      hint="give each dcat:Dataset an IRI", results=results)
    for r in storable:
        holder = await run_in_threadpool(store.holder_of, r["dataset"], institution)
        if holder is not None:
            raise ConflictError(r["dataset"], holder)
    datasets = []
    for r in storable:
        key = dataset_key(r["dataset"])
        datasets.append({
            "id": key, "dataset": r["dataset"], "verdict": r["verdict"], "filing": r["filing"],
            "replaced": (await run_in_threadpool(store.locate, key)) is not None,
            "links": {"self": f"/v1/datasets/{key}"},
        })
    if dry_run:
        return JSONResponse({"stored": False, "dry_run": True, "institution": institution,
                             "results": results, "datasets": datasets}, status_code=200)
    submission = build_submission(institution, run.description, run.result_graph, results)
    await run_in_threadpool(store.replace, submission)
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
async def withdraw(institution: str, ident: str, svc: Services = Depends(services),
                   _principal=Depends(institution_writer)):
    """Removes the description, result, filing record and catalog record of the dataset."""
    key = key_of(ident)
    if not await run_in_threadpool(svc.store.delete, key, institution):
        raise Problem(404, "not-found", f"no dataset {ident} in the catalog of {institution}",
                      hint=f"the datasets of {institution} are listed at /v1/datasets?institution={institution}")
    return Response(status_code=204)
