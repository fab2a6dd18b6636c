"""Read endpoints over both backends: health, search and facets, one dataset (content
negotiation), filings, institutions, vocabularies, problem+json errors, closed reads, limits."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from derivecert.api.app import create_app
from derivecert.catalog import build_submission, dataset_key

from .conftest import READER_TOKEN, make_settings
from .fakes import fake_run

DS_FLU = "https://cdc-east.example.org/ds/ili-weekly"
DS_DM = "https://hospital-a.example.org/ds/diabetes-features"
DS_IMG = "https://hospital-b.example.org/ds/ct-annotated"


def fill(store):
    for inst, ds, kw in [
        ("cdc-east", DS_FLU, dict(title="Weekly influenza counts", scenario=("AS-PH",), filing="DC-20250101-FLU00001")),
        ("hospital-a", DS_DM, dict(title="Diabetes cohort features", scenario=("AS-RES", "AS-AI"), technique=("GT-FEAT", "GT-DEID"),
                                   level="L3", grade="D2", granularity="GR-IND", category=("C2", "C3"),
                                   filing="DC-20250101-DM000001", verdict="conditional")),
        ("hospital-b", DS_IMG, dict(title="Annotated chest CT", scenario=("AS-AI",), technique=("GT-ANNO",),
                                    level="L3", grade="D2", granularity="GR-IND", modality=("MOD-IMG",),
                                    filing="DC-20250101-CT000001", depth="secondary")),
    ]:
        g, rg, results = fake_run(ds, **kw)
        store.replace(build_submission(inst, g, rg, results))


def is_problem(resp, status, code=None):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("https://")
    if code:
        assert body["code"] == code
    return body


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["store"] in ("embedded", "remote")
    assert "ontology_version" in body and "shapes_version" in body


def test_landing_page_and_openapi(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/sparql" in r.text and "/docs" in r.text
    spec = client.get("/openapi.json").json()
    for path in ("/v1/datasets", "/v1/datasets/{ident}", "/sparql", "/v1/certify",
                 "/v1/institutions/{institution}/datasets", "/v1/filings/{number}", "/healthz"):
        assert path in spec["paths"]
    assert "bearer" in spec["components"]["securitySchemes"]


def test_search_with_facets(client, store):
    fill(store)
    body = client.get("/v1/datasets").json()
    assert body["total"] == 3 and len(body["items"]) == 3
    scen = {v["code"]: v for v in body["facets"]["scenario"]["values"]}
    assert scen["AS-AI"]["count"] == 2 and scen["AS-PH"]["count"] == 1
    assert set(scen["AS-AI"]["label"]) == {"zh", "en"}
    assert body["facets"]["scenario"]["label"] == {"zh": "应用场景", "en": "application scenario"}
    inst = {v["code"]: v for v in body["facets"]["institution"]["values"]}
    assert inst["hospital-a"]["label"] == {"zh": "甲医院", "en": "Hospital A"}

    body = client.get("/v1/datasets", params={"scenario": "AS-AI", "level": "L3"}).json()
    assert body["total"] == 2
    assert {i["dataset"] for i in body["items"]} == {DS_DM, DS_IMG}
    assert all(i["origin"] == "local" for i in body["items"])
    assert {v["code"]: v["selected"] for v in body["facets"]["scenario"]["values"]}["AS-AI"] is True

    assert client.get("/v1/datasets", params=[("scenario", "AS-PH"), ("scenario", "AS-RES")]).json()["total"] == 2
    assert client.get("/v1/datasets", params={"scenario": "AS-PH,AS-RES"}).json()["total"] == 2
    assert client.get("/v1/datasets", params={"institution": "hospital-b"}).json()["total"] == 1
    assert client.get("/v1/datasets", params={"verdict": "conditional"}).json()["items"][0]["dataset"] == DS_DM
    assert client.get("/v1/datasets", params={"depth": "secondary"}).json()["total"] == 1
    assert client.get("/v1/datasets", params={"q": "influenza"}).json()["total"] == 1
    assert client.get("/v1/datasets", params={"granularity": "GR-IND", "modality": "MOD-IMG"}).json()["total"] == 1


def test_search_pagination(client, store):
    fill(store)
    first = client.get("/v1/datasets", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and "next" in first["links"] and "prev" not in first["links"]
    second = client.get(first["links"]["next"]).json()
    assert len(second["items"]) == 1 and "prev" in second["links"]
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert len(set(ids)) == 3
    titled = client.get("/v1/datasets", params={"sort": "title"}).json()
    assert [i["title"]["en"] for i in titled["items"]] == ["Annotated chest CT", "Diabetes cohort features", "Weekly influenza counts"]


def test_search_errors_are_problems(client):
    is_problem(client.get("/v1/datasets", params={"offset": -1}), 400, "invalid-request")
    is_problem(client.get("/v1/datasets", params={"sort": "random"}), 400)


def test_unknown_codes_are_refused_when_the_ontology_loads(client):
    from derivecert.api.labels import codebook_or_none

    if codebook_or_none() is None or not codebook_or_none().by_notation:
        pytest.skip("ontology not loadable")
    body = is_problem(client.get("/v1/datasets", params={"scenario": "AS_PH"}), 400, "unknown-code")
    assert "application-scenario" in body["hint"]


def test_dataset_json_and_rdf(client, store):
    fill(store)
    key = dataset_key(DS_DM)
    r = client.get(f"/v1/datasets/{key}")
    assert r.status_code == 200
    body = r.json()
    assert body["dataset"] == DS_DM and body["verdict"] == "conditional" and body["institution"] == "hospital-a"
    assert body["classification"]["deidentification_grade"] == "D2"
    assert body["filing"]["number"] == "DC-20250101-DM000001"
    assert body["links"]["filing"] == "/v1/filings/DC-20250101-DM000001"
    etag = r.headers["etag"]
    assert client.get(f"/v1/datasets/{key}", headers={"If-None-Match": etag}).status_code == 304

    # the IRI names it as well
    assert client.get("/v1/datasets/" + DS_DM.replace(":", "%3A").replace("/", "%2F")).json()["id"] == key

    for accept, fmt in [("text/turtle", ox.RdfFormat.TURTLE), ("application/n-triples", ox.RdfFormat.N_TRIPLES),
                        ("application/rdf+xml", ox.RdfFormat.RDF_XML), ("application/ld+json", ox.RdfFormat.JSON_LD)]:
        r = client.get(f"/v1/datasets/{key}", headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"].startswith(accept)
        triples = list(ox.parse(r.content, format=fmt))
        subjects = {t.subject for t in triples}
        assert ox.NamedNode(DS_DM) in subjects
        assert any(isinstance(s, ox.BlankNode) for s in subjects)  # skolem IRIs back to blank nodes
        assert not any("index#part" in t.predicate.value for t in triples)
    r = client.get(f"/v1/datasets/{key}", headers={"Accept": "text/turtle;q=0.5, application/ld+json;q=0.9"})
    assert r.headers["content-type"].startswith("application/ld+json")
    r = client.get(f"/v1/datasets/{key}?format=ttl")
    assert r.headers["content-type"].startswith("text/turtle")
    is_problem(client.get(f"/v1/datasets/{key}", headers={"Accept": "image/png"}), 406, "not-acceptable")
    is_problem(client.get("/v1/datasets/0000000000000000"), 404, "not-found")


def test_filings(client, store):
    fill(store)
    body = client.get("/v1/filings/DC-20250101-DM000001").json()
    assert body["dataset"] == DS_DM and body["institution"] == "hospital-a" and body["status"] == "valid"
    assert body["valid_until"] == "2027-01-01"
    r = client.get("/v1/filings/DC-20250101-DM000001", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    assert "DC-20250101-DM000001" in r.text
    is_problem(client.get("/v1/filings/DC-19990101-NOPE0000"), 404)


def test_institutions_and_graph_export(client, store):
    fill(store)
    insts = {i["id"]: i for i in client.get("/v1/institutions").json()["institutions"]}
    assert insts["hospital-a"]["datasets"] == 1 and insts["cdc-east"]["name"]["zh"] == "东部疾控中心"
    r = client.get("/v1/institutions/hospital-b/graph", headers={"Accept": "application/n-triples"})
    assert r.status_code == 200 and DS_IMG in r.text and DS_DM not in r.text


def test_vocabularies_ontology_shapes(client):
    from derivecert.api.labels import codebook_or_none

    if codebook_or_none() is None or not codebook_or_none().by_notation:
        pytest.skip("ontology not loadable")
    listing = client.get("/v1/vocabularies").json()["vocabularies"]
    assert {v["slug"] for v in listing} >= {"application-scenario", "sensitivity-level"}
    body = client.get("/v1/vocabularies/sensitivity-level").json()
    assert [c["code"] for c in body["concepts"]] == ["L1", "L2", "L3", "L4", "L5"]
    assert set(body["concepts"][0]["label"]) >= {"zh", "en"}
    scen = client.get("/v1/vocabularies/application-scenario").json()
    assert {c["code"]: c["broader"] for c in scen["concepts"]}.get("AS-EMERG") == "AS-PH"
    r = client.get("/v1/vocabularies/sensitivity-level", headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and "L5" in r.text
    is_problem(client.get("/v1/vocabularies/nope"), 404)
    r = client.get("/ontology")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    assert len(list(ox.parse(r.content, format=ox.RdfFormat.TURTLE))) > 100
    assert client.get("/ontology", headers={"Accept": "application/rdf+xml"}).status_code == 200
    assert client.get("/shapes", headers={"Accept": "application/n-triples"}).status_code == 200


def test_unknown_route_is_a_problem(client):
    is_problem(client.get("/v1/nothing-here"), 404, "not-found")
    is_problem(client.delete("/v1/datasets"), 405)


def test_closed_reads_need_a_token(store, engine):
    settings = make_settings(access={"reads_open": False, "reader_token_sha256": []})
    settings.access.reader_token_sha256 = [__import__("derivecert.settings").settings.hash_token(READER_TOKEN)]
    with TestClient(create_app(settings, engine=engine, store=store)) as c:
        r = c.get("/v1/datasets")
        is_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")
        is_problem(c.get("/v1/datasets", headers={"Authorization": "Bearer wrong"}), 401)
        assert c.get("/v1/datasets", headers={"Authorization": f"Bearer {READER_TOKEN}"}).status_code == 200
        assert c.get("/v1/datasets", headers={"Authorization": "Bearer token-of-hospital-a"}).status_code == 200
        is_problem(c.get("/sparql", params={"query": "ASK {}"}), 401)
        assert c.get("/healthz").status_code == 200  # health stays open


def test_body_size_limit(store, engine):
    settings = make_settings(limits={"max_body_bytes": 100})
    with TestClient(create_app(settings, engine=engine, store=store)) as c:
        big = b"#" * 500
        is_problem(c.post("/v1/certify", content=big, headers={"Content-Type": "text/turtle"}), 413, "input-too-large")
        is_problem(c.put("/v1/institutions/hospital-a/datasets", content=big,
                         headers={"Content-Type": "text/turtle", "Authorization": "Bearer token-of-hospital-a"}), 413)
        is_problem(c.post("/sparql", content=b"query=" + b"x" * 500,
                          headers={"Content-Type": "application/x-www-form-urlencoded"}), 413)
        # chunked bodies (no Content-Length) are counted as they stream
        is_problem(c.post("/v1/certify", content=iter([b"#" * 60, b"#" * 60]), headers={"Content-Type": "text/turtle"}), 413)


def test_unexpected_errors_are_problems_too(store, engine, monkeypatch):
    app = create_app(make_settings(), engine=engine, store=store)
    with TestClient(app, raise_server_exceptions=False) as c:
        monkeypatch.setattr(store, "search", lambda q: 1 / 0)
        body = is_problem(c.get("/v1/datasets"), 500, "internal-error")
        assert "ZeroDivision" not in body["detail"]
