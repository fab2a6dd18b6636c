"""Filing records (备案) and their life cycle (DOMAIN.md §5, A7): anyone looks a filing up by
number (status, digest, what was certified, the signature); the certifying body suspends,
reinstates or revokes it with a reason (its token); the public key that verifies the signatures
is served at a well-known path."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from rdflib import Graph, URIRef
from starlette.concurrency import run_in_threadpool

from derivecert.catalog import IDX, filing_node
from derivecert.filing import ACTIONS, read_filing
from derivecert.signing import KEY_PATH
from derivecert.vocab import FILING_BASE

from ..deps import Certifier, Reader, Services, ServicesDep, read_body
from ..negotiation import JSON, JSONLD, NTRIPLES, RDFXML, TURTLE, negotiate
from ..openapi import problems
from ..problems import Problem
from ..rdfio import rdf_response

router = APIRouter(tags=["filing"])

RDF_OR_JSON = (JSON, TURTLE, JSONLD, NTRIPLES, RDFXML)
EXAMPLE_FILING = {
    "number": "DC-20260105-0A7C332A5D", "status": "valid", "issued": "2026-01-05", "valid_until": "2028-01-05",
    "dataset": "https://cdc.example.org/ili-weekly", "verdict": "conditional", "scenarios": ["AS-PH"],
    "level": "L1", "grade": "D4", "conditions": [{"requirement": "P-07", "message": {"zh": "…", "en": "…"}}],
    "sha256": "26d361213787f684…", "certifying_body": "DeriveCert", "signature": {
        "algorithm": "Ed25519", "key_id": "g2JN5CKMi_BY4qprpOfB_xLUPbmrH9sv0s6UnxFIioA", "value": "BPBH1f…"},
    "status_reason": None, "status_changed": None, "superseded_by": None,
    "id": "5b0e4cbd6e5f0d3a", "institution": "cdc-east",
}


def _not_found(number: str) -> Problem:
    return Problem(404, "not-found", f"no filing {number} on this node",
                   hint="filing numbers look like DC-20260105-0A7C332A5D; a filing stays findable after its dataset is filed again")


async def _filing_json(svc: Services, number: str) -> dict:
    triples = await run_in_threadpool(svc.store.filing_record, number)
    if not triples:
        raise _not_found(number)
    return filing_json(triples, number)


def filing_json(triples: list[ox.Triple], number: str) -> dict:
    """The §6-style filing of a ledger entry, with its status today and where it is filed."""
    graph = Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    body = read_filing(graph, URIRef(FILING_BASE + number)).to_dict()
    place = {t.predicate.value[len(IDX):]: t.object.value for t in triples
             if t.predicate.value.startswith(IDX) and isinstance(t.object, ox.Literal)}
    body.update(id=place.get("key"), institution=place.get("institution"),
                links={"dataset": f"/v1/datasets/{place['key']}" if place.get("key") else None,
                       "superseded_by": f"/v1/filings/{body['superseded_by']}" if body["superseded_by"] else None,
                       "key": KEY_PATH})
    return body


@router.get(
    "/v1/filings/{number}",
    summary="A filing record (备案) by its number: what was certified, its status, digest and signature",
    responses={200: {"content": {"application/json": {"example": EXAMPLE_FILING}, "text/turtle": {},
                                 "application/ld+json": {}, "application/n-triples": {}, "application/rdf+xml": {}}},
               **problems(404, 406)},
)
async def get_filing(number: str, request: Request, svc: ServicesDep, _: Reader):
    """Status is `valid`, `expired` (past `valid_until`), `superseded` (a later filing of the same
    dataset, `superseded_by`), `suspended` or `revoked` (by the certifying body, with
    `status_reason` and `status_changed`). In RDF, the record exactly as signed plus its life cycle:
    check it with `derivecert verify DESCRIPTION --record RECORD --key KEY`."""
    media = negotiate(request, RDF_OR_JSON)
    if media is JSON:
        return await _filing_json(svc, number)
    triples = await run_in_threadpool(svc.store.filing_record, number)
    if not triples:
        raise _not_found(number)
    return rdf_response([t for t in triples if not t.predicate.value.startswith(IDX)], media)


class StatusChange(BaseModel):
    action: Literal["suspend", "reinstate", "revoke"]
    reason: str


@router.post(
    "/v1/filings/{number}/status",
    summary="Suspend, reinstate or revoke a filing (the certifying body, with a reason)",
    openapi_extra={"security": [{"bearer": []}], "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object", "required": ["action", "reason"],
                   "properties": {"action": {"enum": list(ACTIONS)}, "reason": {"type": "string"}}},
        "example": {"action": "suspend", "reason": "source authorization under review"}}}}},
    responses={200: {"description": "the filing with its new status", "content": {"application/json": {"example": {
        **EXAMPLE_FILING, "status": "suspended", "status_reason": "source authorization under review",
        "status_changed": "2026-03-01T09:30:00Z"}}}},
               **problems(400, 401, 403, 404, 409, 413)},
)
async def change_status(number: str, request: Request, svc: ServicesDep, _: Certifier):
    """`suspend` a valid filing; `reinstate` a suspended one; `revoke` a valid, suspended or
    superseded one (revocation is final). The reason is kept with the date of the change."""
    change = _status_change(await read_body(request, svc.settings.limits.max_body_bytes),
                            svc.settings.limits.status_reason_max_chars)
    if filing_node(number) is None:
        raise _not_found(number)
    status, allowed = ACTIONS[change.action]
    when = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    before = await run_in_threadpool(lambda: svc.store.set_filing_status(
        number, status, allowed=allowed, reason=change.reason, when=when))
    if before is None:
        raise _not_found(number)
    if before not in allowed:
        raise Problem(409, "filing-status-conflict", f"filing {number} is {before}: it cannot be {status}",
                      hint=f"{change.action} applies to a filing that is {' or '.join(sorted(allowed))}",
                      status_now=before)
    return await _filing_json(svc, number)


def _status_change(body: bytes, max_chars: int) -> StatusChange:
    try:
        change = StatusChange.model_validate(json.loads(body or b"null"))
    except (ValueError, ValidationError) as exc:
        raise Problem(400, "invalid-request", f"the body must be JSON {{\"action\": ..., \"reason\": ...}}: {_first_error(exc)}",
                      hint=f"action is one of {', '.join(ACTIONS)}; reason says why, for the record") from None
    reason = change.reason.strip()
    if not reason:
        raise Problem(400, "reason-required", "a status change needs a reason", hint="say why, for the record")
    if len(reason) > max_chars:
        raise Problem(400, "reason-too-long", f"the reason has {len(reason)} characters, over the limit of {max_chars} "
                      "(limits.status_reason_max_chars)", hint="shorten the reason; refer to a document for details",
                      limit=max_chars)
    return change.model_copy(update={"reason": reason})


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        return f"{'.'.join(str(x) for x in e['loc']) or 'body'}: {e['msg']}"
    return "not JSON"


@router.get(
    KEY_PATH,
    summary="The certifying body's public filing key (JWK, or PEM with ?format=pem)",
    tags=["filing"],
    responses={200: {"content": {"application/jwk+json": {"example": {
        "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "kid": "g2JN5CKMi_BY4qprpOfB_xLUPbmrH9sv0s6UnxFIioA", "alg": "EdDSA", "use": "sig"}},
        "application/x-pem-file": {}}}, **problems(404)},
)
async def filing_key(request: Request, svc: ServicesDep, format: Literal["jwk", "pem"] | None = None):
    """Verifies the `signature` of this node's filing records; `kid` is its RFC 7638 thumbprint,
    the `key_id` every signature names. Public by design, whatever the read access of the node."""
    if svc.filing_key is None:
        raise Problem(404, "no-filing-key", "this node has no filing key: its filings are not signed",
                      hint="`derivecert serve` makes the key at signing.key_file")
    public = svc.filing_key.public
    if format == "pem" or (format is None and "application/x-pem-file" in request.headers.get("accept", "")):
        return Response(public.pem(), media_type="application/x-pem-file")
    return JSONResponse(public.jwk(), media_type="application/jwk+json")
