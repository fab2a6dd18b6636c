"""Filing records through the API on both backends (DOMAIN.md §5, A7): signed with the node's key,
the public key at its well-known path, the life cycle (superseded, suspended, reinstated,
revoked) changed only by the certifying body's token, with a reason, within stated limits."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef

from derivecert.api.app import create_app
from derivecert.filing import FILING_BASE, check_signature, read_filing
from derivecert.parse import parse_description
from derivecert.settings import hash_token
from derivecert.signing import FilingKey, PublicKey

from .conftest import auth, make_settings
from .test_api_read import is_problem

DATA = Path(__file__).parent / "data"
CERTIFIED = (DATA / "pathology-nlp-certified.ttl").read_bytes()
DERIVED = "https://hospital-x.example.org/pathology-structured"
CERTIFIER_TOKEN = "token-of-the-certifying-body"
CERTIFIER = {"Authorization": f"Bearer {CERTIFIER_TOKEN}"}

pytestmark = pytest.mark.usefixtures("need_engine")


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "filing-key.pem"
    FilingKey.load_or_create(path)
    return path


@pytest.fixture
def node(store, engine, key_file):
    settings = make_settings(signing={"key_file": str(key_file)},
                             access={"reads_open": True, "certifier_token_sha256": [hash_token(CERTIFIER_TOKEN)]},
                             limits={"status_reason_max_chars": 40})
    with TestClient(create_app(settings, engine=engine, store=store)) as client:
        yield client


def file_it(client, body=CERTIFIED) -> str:
    r = client.put("/v1/institutions/hospital-a/datasets", content=body,
                   headers={"Content-Type": "text/turtle", **auth("hospital-a")})
    assert r.status_code == 201, r.text
    return r.json()["datasets"][0]["filing"]["number"]


def change(client, number, action, reason="authorization under review", headers=CERTIFIER):
    return client.post(f"/v1/filings/{number}/status", json={"action": action, "reason": reason}, headers=headers)


def test_filed_record_is_signed_and_verifies_with_the_published_key(node, key_file):
    number = file_it(node)
    jwk = node.get("/.well-known/derivecert/filing-key")
    assert jwk.status_code == 200 and jwk.headers["content-type"].startswith("application/jwk+json")
    public = PublicKey.from_bytes(jwk.content)
    assert public.key_id == FilingKey.load(key_file).key_id
    pem = node.get("/.well-known/derivecert/filing-key", params={"format": "pem"})
    assert PublicKey.from_bytes(pem.content).key_id == public.key_id
    assert "PRIVATE" not in pem.text and "d" not in jwk.json()  # the private part is never served

    body = node.get(f"/v1/filings/{number}").json()
    assert body["signature"]["key_id"] == public.key_id and body["status"] == "valid"
    assert (body["scenarios"], body["level"], body["grade"]) == (["AS-RES"], "L3", "D2")
    for media in ("text/turtle", "application/ld+json", "application/rdf+xml", "application/n-triples"):
        served = node.get(f"/v1/filings/{number}", headers={"Accept": media})
        record = parse_description(served.content, media_type=media).graph  # any serialisation verifies
        assert check_signature(record, URIRef(FILING_BASE + number), public) == (True, ""), media
        assert not any("index#" in str(p) for p in record.predicates())  # the store's bookkeeping stays inside


def test_a_node_without_a_key_says_so(client):
    is_problem(client.get("/.well-known/derivecert/filing-key"), 404, "no-filing-key")


def test_dry_runs_are_never_signed(node):
    r = node.put("/v1/institutions/hospital-a/datasets", content=CERTIFIED, params={"dry_run": "true"},
                 headers={"Content-Type": "text/turtle", **auth("hospital-a")})
    assert r.json()["datasets"][0]["filing"]["signature"] is None


def test_refiling_supersedes_and_the_old_record_still_verifies(node, key_file):
    first = file_it(node)
    second = file_it(node, CERTIFIED.replace(b'"Structured pathology dataset"@en', b'"Structured pathology dataset v2"@en'))
    old = node.get(f"/v1/filings/{first}").json()
    assert (old["status"], old["superseded_by"], old["links"]["superseded_by"]) == ("superseded", second, f"/v1/filings/{second}")
    record = Graph().parse(data=node.get(f"/v1/filings/{first}", headers={"Accept": "text/turtle"}).text, format="turtle")
    assert check_signature(record, URIRef(FILING_BASE + first), FilingKey.load(key_file).public)[0]


def test_certifying_body_suspends_reinstates_and_revokes_with_a_reason(node, key_file):
    number = file_it(node)
    dataset = node.get(f"/v1/filings/{number}").json()["links"]["dataset"]
    etag = node.get(dataset).headers["etag"]
    r = change(node, number, "suspend")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["status_reason"]) == ("suspended", "authorization under review")
    assert datetime.fromisoformat(body["status_changed"]).utcoffset() == timedelta(0)
    assert change(node, number, "reinstate", "review closed").json()["status"] == "valid"
    revoked = change(node, number, "revoke", "authorization withdrawn").json()
    assert (revoked["status"], revoked["status_reason"]) == ("revoked", "authorization withdrawn")
    assert node.get(f"/v1/filings/{number}").json()["status"] == "revoked"
    now = node.get(dataset, headers={"If-None-Match": etag})  # the dataset says so too, and is not 304
    assert now.status_code == 200 and now.json()["filing"]["status"] == "revoked"
    # the status is not part of what was signed: the record still verifies, and says it is revoked
    record = Graph().parse(data=node.get(f"/v1/filings/{number}", headers={"Accept": "text/turtle"}).text, format="turtle")
    assert check_signature(record, URIRef(FILING_BASE + number), FilingKey.load(key_file).public)[0]
    assert read_filing(record, URIRef(FILING_BASE + number)).status() == "revoked"


def test_revocation_is_final(node):
    number = file_it(node)
    change(node, number, "revoke", "fraud")
    for action in ("suspend", "reinstate", "revoke"):
        body = is_problem(change(node, number, action), 409, "filing-status-conflict")
        assert body["status_now"] == "revoked"
    body = is_problem(change(node, file_it(node), "reinstate"), 409, "filing-status-conflict")
    assert "suspended" in body["hint"]  # only a suspended filing can be reinstated


def test_only_the_certifying_body_changes_a_status(node):
    number = file_it(node)
    is_problem(change(node, number, "revoke", headers={}), 401, "unauthorized")
    is_problem(change(node, number, "revoke", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    is_problem(change(node, number, "revoke", headers=auth("hospital-a")), 403, "forbidden")  # not even the filer
    assert node.get(f"/v1/filings/{number}").json()["status"] == "valid"


def test_bad_status_changes_are_refused_with_the_limit_named(node):
    number = file_it(node)
    is_problem(change(node, number, "delete"), 400, "invalid-request")
    is_problem(change(node, number, "suspend", reason="   "), 400, "reason-required")
    body = is_problem(change(node, number, "suspend", reason="x" * 41), 400, "reason-too-long")
    assert body["limit"] == 40 and "limits.status_reason_max_chars" in body["detail"]
    r = node.post(f"/v1/filings/{number}/status", content=b"{not json", headers={**CERTIFIER, "Content-Type": "application/json"})
    is_problem(r, 400, "invalid-request")
    assert node.get(f"/v1/filings/{number}").json()["status"] == "valid"


def test_unknown_or_malformed_numbers_are_404(node):
    is_problem(node.get("/v1/filings/DC-19990101-NOPE0000"), 404, "not-found")
    is_problem(node.get("/v1/filings/DC-1%3E%20%7D%20%3B%20DROP"), 404, "not-found")  # never reaches a query
    is_problem(node.get("/v1/filings/DC-20250101-X%0A"), 404, "not-found")  # a trailing newline is no number
    is_problem(change(node, "DC-19990101-NOPE0000", "revoke"), 404, "not-found")
    is_problem(change(node, "a>b", "revoke"), 404, "not-found")


def test_the_ledger_is_public_rdf(node):
    number = file_it(node)
    nt = node.get(f"/v1/filings/{number}", headers={"Accept": "application/n-triples"})
    triples = list(ox.parse(nt.content, format=ox.RdfFormat.N_TRIPLES))
    assert any(t.predicate.value == "https://w3id.org/derivecert#filingStatus" for t in triples)
