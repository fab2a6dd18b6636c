"""Filing (备案): institutions submit descriptions; certified and conditional datasets are stored
with their result and filing record, atomically, replacing earlier versions (DOMAIN.md §5)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

import functools
import json

from anyio import from_thread
from pydantic import BaseModel, Field, ValidationError

from derivecert.catalog import file_submission
from derivecert.catalog.bulk import CertifiedDocument, certify_batch, certify_each, file_batch, summary
from derivecert.errors import InputTooLargeError
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


class BatchDocument(BaseModel):
    name: str = Field(min_length=1, max_length=300, description="the document's name, echoed in its outcome")
    media_type: str | None = Field(None, description="text/turtle, application/ld+json, ... (default: from the name's suffix)")
    content: str


class Batch(BaseModel):
    documents: list[BatchDocument]


EXAMPLE_BATCH = {"documents": [{"name": "ili-weekly.ttl", "media_type": "text/turtle", "content": "@prefix dcat: ..."}]}


@router.post(
    "/{institution}/batches",
    summary="Submit a batch of descriptions: certified together, each filed on its own",
    openapi_extra={"security": [{"bearer": []}], "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object", "required": ["documents"], "properties": {"documents": {"type": "array", "items": {
            "type": "object", "required": ["name", "content"],
            "properties": {"name": {"type": "string"}, "media_type": {"type": "string"}, "content": {"type": "string"}}}}}},
        "example": EXAMPLE_BATCH}}}},
    responses={200: {"description": "the outcome of each document", "content": {"application/json": {"example": {
        "institution": "cdc-east", "summary": {"filed": 1, "refused": 0, "failed": 1, "datasets": 1},
        "items": [{"name": "ili-weekly.ttl", "status": "filed", "datasets": [{"id": "5b0e4cbd6e5f0d3a"}]},
                  {"name": "broken.ttl", "status": "failed", "datasets": [], "code": "invalid-input",
                   "message": "broken.ttl:1:11: turtle syntax error ...", "hint": "check the statement at that position"}]}}}},
               **problems(400, 401, 403, 404, 413)},
)
async def submit_batch(institution: str, request: Request, svc: ServicesDep, _principal: InstitutionWriter):
    """Each document is one submission, as a `PUT .../datasets` of it would be: `filed` (its
    datasets stored with their filings), `refused` (a dataset rejected, nothing derived, another
    institution's dataset, a reserved term; with the results) or `failed` (unreadable).  One
    document's outcome never stops the others.  The batch is certified as one engine call
    (limits `batch_max_documents`, `batch_max_body_bytes`; each document `max_body_bytes`)."""
    limits = svc.settings.limits
    batch = _batch(await _read_batch(request, limits.batch_max_body_bytes), limits.batch_max_documents)
    engine = svc.require_engine()
    store = svc.store
    taken: set[str] = set()
    prefix = svc.settings.filing_prefix

    def numbers() -> str:  # called by the engine in its worker
        return store.new_filing_number(prefix, taken=taken)

    def certify(documents: list[tuple[str, bytes]], media_type: str | None) -> list[CertifiedDocument]:
        # from a worker thread: the engine call goes through the event loop's bounded workers
        return from_thread.run(functools.partial(
            svc.run_engine, certify_batch, engine, documents, media_type=media_type, filing_numbers=numbers,
            certifying_body=svc.settings.certifying_body))

    certified: list[CertifiedDocument] = []
    for media_type, documents in _by_media_type(batch, limits.max_body_bytes).items():
        certified.extend(await run_in_threadpool(certify_each, documents, functools.partial(certify, media_type=media_type)))
    order = {d.name: i for i, d in enumerate(batch.documents)}
    certified.sort(key=lambda d: order[d.name])
    outcomes = await run_in_threadpool(file_batch, store, institution, certified, svc.filing_key)
    return {"institution": institution, "summary": summary(outcomes), "items": [o.to_dict() for o in outcomes]}


async def _read_batch(request: Request, limit: int) -> bytes:
    try:
        return await read_body(request, limit)
    except Problem as exc:
        if exc.status != 413:
            raise
        raise Problem(413, "input-too-large", f"the batch exceeds {limit} bytes (limit limits.batch_max_body_bytes)",
                      hint="split it into several batches", limit="batch_max_body_bytes") from None


def _batch(body: bytes, max_documents: int) -> Batch:
    try:
        batch = Batch.model_validate(json.loads(body or b"null"))
    except (ValueError, ValidationError) as exc:
        where = ""
        if isinstance(exc, ValidationError):
            e = exc.errors()[0]
            where = f" ({'.'.join(str(x) for x in e['loc'])}: {e['msg']})"
        raise Problem(400, "invalid-request", f"the body must be JSON {{\"documents\": [{{\"name\", \"content\"}}, ...]}}{where}",
                      hint="each document has a unique name, its content as a string and optionally its media_type") from None
    if not batch.documents:
        raise Problem(400, "invalid-request", "the batch has no documents", hint="give at least one document")
    if len(batch.documents) > max_documents:
        raise Problem(413, "batch-too-large", f"the batch has {len(batch.documents)} documents, over the limit of "
                      f"{max_documents} (limits.batch_max_documents)", hint="split it into several batches",
                      limit="batch_max_documents")
    names = [d.name for d in batch.documents]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise Problem(400, "invalid-request", f"two documents are named {dup!r}",
                      hint="give each document a unique name: outcomes are reported by name")
    return batch


def _by_media_type(batch: Batch, max_bytes: int) -> dict[str | None, list[tuple[str, bytes | Exception]]]:
    """Documents grouped by media type (one engine call each), as (name, bytes), or (name, the
    error) for one over the size limit of a single submission."""
    groups: dict[str | None, list[tuple[str, bytes | Exception]]] = {}
    for doc in batch.documents:
        data = doc.content.encode("utf-8")
        media_type = base_media_type(doc.media_type) if doc.media_type else None
        groups.setdefault(media_type, []).append((doc.name, data if len(data) <= max_bytes else InputTooLargeError(
            f"{len(data)} bytes, over the limit of {max_bytes} (limits.max_body_bytes)", where=doc.name,
            hint="split the description into several submissions", limit="max_body_bytes")))
    return groups
