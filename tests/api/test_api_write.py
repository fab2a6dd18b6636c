"""Filing through the API with the real engine, on both backends: tokens, 201 / 422 / 409,
atomic replacement with a new filing, dry runs, withdrawal; and the stateless certify endpoints."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from derivecert.catalog import dataset_key

from .conftest import auth
from .test_api_read import is_problem

DATA = Path(__file__).parent / "data"
CERTIFIED = (DATA / "pathology-nlp-certified.ttl").read_bytes()
REJECTED = (DATA / "fused-mental-health-rejected.ttl").read_bytes()
DERIVED = "https://hospital-x.example.org/pathology-structured"
TTL = {"Content-Type": "text/turtle"}

pytestmark = pytest.mark.usefixtures("need_engine")


def put(client, institution, body, token_of=None, **params):
    headers = {**TTL, **auth(token_of or institution)}
    return client.put(f"/v1/institutions/{institution}/datasets", content=body, headers=headers, params=params)


def test_writes_need_the_institutions_own_token(client):
    is_problem(client.put("/v1/institutions/hospital-a/datasets", content=CERTIFIED, headers=TTL), 401, "unauthorized")
    is_problem(client.put("/v1/institutions/hospital-a/datasets", content=CERTIFIED,
                          headers={**TTL, "Authorization": "Bearer not-a-token"}), 401)
    is_problem(put(client, "hospital-a", CERTIFIED, token_of="hospital-b"), 403, "forbidden")
    is_problem(client.put("/v1/institutions/nowhere/datasets", content=CERTIFIED, headers={**TTL, **auth("hospital-a")}),
               404, "unknown-institution")
    assert client.get("/v1/datasets").json()["total"] == 0


def test_certified_submission_is_filed(client):
    r = put(client, "hospital-a", CERTIFIED)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["stored"] is True
    [ds] = body["datasets"]
    assert ds["dataset"] == DERIVED and ds["verdict"] == "certified" and ds["replaced"] is False
    number = ds["filing"]["number"]
    assert number.startswith("DC-")
    assert r.headers["location"] == f"/v1/datasets/{dataset_key(DERIVED)}"
    assert {x["verdict"] for x in body["results"]} == {"certified", "not-derived"}

    got = client.get(r.headers["location"]).json()
    assert got["verdict"] == "certified" and got["filing"]["number"] == number
    assert got["classification"]["sensitivity_level"] == "L3"
    filing = client.get(f"/v1/filings/{number}").json()
    assert filing["dataset"] == DERIVED and filing["institution"] == "hospital-a"
    assert filing["sha256"] and filing["valid_until"]
    search = client.get("/v1/datasets", params={"scenario": "AS-RES", "technique": "GT-NLP"}).json()
    assert search["total"] == 1 and search["items"][0]["filing"]["number"] == number
    ttl = client.get(r.headers["location"], headers={"Accept": "text/turtle"})
    triples = list(ox.parse(ttl.content, format=ox.RdfFormat.TURTLE))
    preds = {t.predicate.value for t in triples}
    assert "https://w3id.org/derivecert#verdict" in preds  # the result node
    assert "http://www.w3.org/ns/dqv#hasQualityMeasurement" in preds  # the description
    # SPARQL sees the description, the result and the filing in the institution's graph
    q = f"""SELECT ?n WHERE {{ GRAPH <https://w3id.org/derivecert/graph/hospital-a> {{
        ?r <http://purl.org/dc/terms/subject> <{DERIVED}> ; <https://w3id.org/derivecert#filing> ?f .
        ?f ?p ?n FILTER(isLiteral(?n) && STR(?n) = "{number}") }} }}"""
    assert client.get("/sparql", params={"query": q}).json()["results"]["bindings"]


def test_resubmission_replaces_with_a_new_filing(client):
    first = put(client, "hospital-a", CERTIFIED).json()["datasets"][0]
    changed = CERTIFIED.replace(b'"Structured pathology dataset"@en', b'"Structured pathology dataset v2"@en')
    r = put(client, "hospital-a", changed)
    assert r.status_code == 201
    second = r.json()["datasets"][0]
    assert second["replaced"] is True and second["filing"]["number"] != first["filing"]["number"]
    old = client.get(f"/v1/filings/{first['filing']['number']}").json()  # kept, superseded (A7)
    assert old["status"] == "superseded" and old["superseded_by"] == second["filing"]["number"]
    assert client.get(f"/v1/filings/{second['filing']['number']}").json()["status"] == "valid"
    assert client.get("/v1/datasets").json()["total"] == 1
    titles = client.get("/sparql", params={"query": f"SELECT ?t WHERE {{ <{DERIVED}> <http://purl.org/dc/terms/title> ?t }}"}).json()
    values = {b["t"]["value"] for b in titles["results"]["bindings"]}
    assert "Structured pathology dataset v2" in values and "Structured pathology dataset" not in values
    dup = client.get("/sparql", params={"query": "SELECT ?m WHERE { ?m <http://www.w3.org/ns/dqv#value> ?v }"}).json()
    assert len(dup["results"]["bindings"]) == 4  # one set of quality measurements, not two


def test_rejected_submission_stores_nothing(client):
    r = put(client, "hospital-b", REJECTED)
    body = is_problem(r, 422, "certification-rejected")
    assert {f["requirement"] for f in body["findings"]} >= {"P-04", "S-04", "S-06"}
    assert "rejected" in {x["verdict"] for x in body["results"]}
    assert client.get("/v1/datasets").json()["total"] == 0
    assert client.get("/sparql", params={"query": "ASK { GRAPH <https://w3id.org/derivecert/graph/hospital-b> { ?s ?p ?o } }"}).json()["boolean"] is False


def test_dry_run_stores_nothing(client):
    r = put(client, "hospital-a", CERTIFIED, dry_run="true")
    assert r.status_code == 200
    body = r.json()
    assert body["stored"] is False and body["datasets"][0]["filing"]["number"].startswith("DRAFT-")
    assert client.get("/v1/datasets").json()["total"] == 0


def test_nothing_derived_is_not_filed(client):
    source_only = b"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
    <https://hospital-a.example.org/emr> a dcat:Dataset ; dct:title "EMR"@en ."""
    body = is_problem(put(client, "hospital-a", source_only), 422, "nothing-to-file")
    assert body["results"][0]["verdict"] == "not-derived"


def test_a_dataset_filed_by_one_institution_is_a_conflict_for_another(client):
    assert put(client, "hospital-a", CERTIFIED).status_code == 201
    body = is_problem(put(client, "hospital-b", CERTIFIED), 409, "dataset-conflict")
    assert body["holder"] == "hospital-a"


def test_withdrawal(client):
    r = put(client, "hospital-a", CERTIFIED)
    key = r.json()["datasets"][0]["id"]
    is_problem(client.delete(f"/v1/institutions/hospital-a/datasets/{key}"), 401)
    is_problem(client.delete(f"/v1/institutions/hospital-a/datasets/{key}", headers=auth("hospital-b")), 403)
    is_problem(client.delete(f"/v1/institutions/hospital-b/datasets/{key}", headers=auth("hospital-b")), 404)
    assert client.delete(f"/v1/institutions/hospital-a/datasets/{key}", headers=auth("hospital-a")).status_code == 204
    is_problem(client.get(f"/v1/datasets/{key}"), 404)
    assert client.get("/v1/datasets").json()["total"] == 0
    left = client.get("/sparql", params={"query": "SELECT * WHERE { GRAPH <https://w3id.org/derivecert/graph/hospital-a> { ?s ?p ?o } }"})
    assert left.json()["results"]["bindings"] == []
    is_problem(client.delete(f"/v1/institutions/hospital-a/datasets/{key}", headers=auth("hospital-a")), 404)


def test_certify_classify_validate_store_nothing(client):
    r = client.post("/v1/certify", content=CERTIFIED, headers=TTL)
    assert r.status_code == 200
    body = r.json()
    derived = next(x for x in body["results"] if x["dataset"] == DERIVED)
    assert derived["verdict"] == "certified" and derived["filing"]["number"].startswith("DRAFT-")
    assert body["stored"] is False
    r = client.post("/v1/certify", content=CERTIFIED, headers={**TTL, "Accept": "text/turtle"})
    assert r.headers["content-type"].startswith("text/turtle")
    assert "CertificationResult" in r.text
    r = client.post("/v1/classify", content=CERTIFIED, headers=TTL)
    cls = next(x for x in r.json()["results"] if x["dataset"] == DERIVED)
    assert set(cls["classification"]["technique"]) == {"GT-NLP", "GT-DEID"}
    r = client.post("/v1/validate", content=REJECTED, headers=TTL)
    assert r.json()["conforms"] is False and {f["requirement"] for f in r.json()["findings"]} >= {"S-06"}
    r = client.post("/v1/validate", content=REJECTED, headers={**TTL, "Accept": "text/turtle"})
    assert "ValidationReport" in r.text
    r = client.post("/v1/certify", params={"lang": "zh"}, content=REJECTED, headers=TTL)
    assert set(r.json()["results"][0]["findings"][0]["message"]) == {"zh"}
    assert client.get("/v1/datasets").json()["total"] == 0


def test_unreadable_input_is_a_problem(client):
    is_problem(client.post("/v1/certify", content=b"@prefix broken", headers=TTL), 400)
    is_problem(client.post("/v1/certify", content=b"whatever", headers={"Content-Type": "image/png"}), 415)
    is_problem(client.post("/v1/certify", content=b"<a:a> <a:b> <a:c> .", headers={"Content-Type": "application/n-triples"}), 422)
