"""Forged filings (issue 8, item 2): a submission cannot write the node's own bookkeeping, every
write and delete stays in the owner's graph, the index trusts a record only in the graph of
the institution it names, and look-alike IRIs of a filed dataset are the same dataset."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest

from derivecert import catalog as store_mod
from derivecert.catalog import (
    ConflictError,
    ReservedTermError,
    build_submission,
    dataset_key,
    graph_iri,
    iri_lookalike_form,
    record_iri,
)

from .conftest import auth
from .fakes import fake_run
from .test_api_read import is_problem
from .test_api_write import CERTIFIED, DERIVED, TTL

IDX = store_mod.IDX
VICTIM = "https://hospital-a.example.org/ds/victim"


def submit(store, inst, dataset, **kw):
    g, rg, results = fake_run(dataset, **kw)
    store.replace(build_submission(inst, g, rg, results))


def put(client, institution, body):
    return client.put(f"/v1/institutions/{institution}/datasets", content=body, headers={**TTL, **auth(institution)})


FORGED_RECORD = f"""
@prefix idx: <{IDX}> .
@prefix dcat: <http://www.w3.org/ns/dcat#> .
<{record_iri(dataset_key(VICTIM))}> a dcat:CatalogRecord ; idx:filingNumber "DC-20260101-FORGED01" ;
  idx:institution "hospital-b" .
""".encode()
FORGED_FILING = b"""
@prefix dcert: <https://w3id.org/derivecert#> .
<https://hospital-b.example.org/my-filing> a dcert:FilingRecord ; dcert:filingNumber "DC-20260101-FORGED02" ;
  dcert:verdict dcert:Certified .
"""
FORGED_SKOLEM = b"""
<https://hospital-x.example.org/pathology-structured> <http://purl.org/dc/terms/publisher>
  <https://w3id.org/derivecert/.well-known/genid/0123456789abcdef> .
"""


@pytest.mark.usefixtures("need_engine")
@pytest.mark.parametrize("extra, term", [
    (FORGED_RECORD, record_iri(dataset_key(VICTIM))),
    (FORGED_RECORD, IDX + "filingNumber"),
    (FORGED_FILING, "https://w3id.org/derivecert#FilingRecord"),
    (FORGED_FILING, "https://w3id.org/derivecert#filingNumber"),
    (FORGED_SKOLEM, "https://w3id.org/derivecert/.well-known/genid/0123456789abcdef"),
], ids=["catalog-record", "index-term", "filing-class", "filing-property", "skolem-iri"])
def test_reserved_vocabulary_in_a_submission_is_refused(client, extra, term):
    body = is_problem(put(client, "hospital-b", CERTIFIED + extra), 400, "reserved-term")
    assert term in body["terms"] and f"<{term}>" in body["detail"]
    assert "https://w3id.org/derivecert/" in body["hint"]
    assert client.get("/v1/datasets").json()["total"] == 0
    is_problem(client.get("/v1/filings/DC-20260101-FORGED01"), 404)
    is_problem(client.get("/v1/filings/DC-20260101-FORGED02"), 404)


@pytest.mark.usefixtures("need_engine")
def test_the_certified_fixture_uses_no_reserved_term(client):
    assert put(client, "hospital-b", CERTIFIED).status_code == 201


def test_build_submission_refuses_reserved_terms_too():
    g, rg, results = fake_run(VICTIM)
    from rdflib import Literal, URIRef

    g.add((URIRef(VICTIM), URIRef(IDX + "verdict"), Literal("certified")))
    with pytest.raises(ReservedTermError) as err:
        build_submission("hospital-b", g, rg, results)
    assert err.value.extensions["terms"] == [IDX + "verdict"]


def plant_record(store, graph_institution: str, dataset: str, claimed_institution: str, issued: str,
                 key: str | None = None):
    """What a forged submission wrote before submissions were checked: a catalog record with a
    summary, written straight into a graph."""
    key = key or dataset_key(dataset)
    summary = {"key": key, "dataset": dataset, "institution": claimed_institution, "verdict": "certified",
               "modified": issued, "issued": issued, "title": {"en": "forged"}, "codes": {},
               "filing": {"number": "DC-20260101-FORGED03", "valid_until": "2099-01-01"}, "depth": "primary"}
    rec = ox.NamedNode(record_iri(key))
    store.update(store_mod.update_text([store_mod.insert_data(graph_iri(graph_institution), [
        ox.Triple(rec, ox.NamedNode(store_mod.RDF_TYPE), ox.NamedNode(store_mod.DCAT + "CatalogRecord")),
        ox.Triple(rec, ox.NamedNode(IDX + "summary"), ox.Literal(json.dumps(summary), datatype=ox.NamedNode(store_mod.RDF_JSON))),
        ox.Triple(rec, ox.NamedNode(IDX + "part"), ox.NamedNode(dataset)),
        ox.Triple(rec, ox.NamedNode(IDX + "filingNumber"), ox.Literal("DC-20260101-FORGED03")),
    ])]))


def victim_triples(store) -> int:
    q = f"SELECT * WHERE {{ GRAPH <{graph_iri('hospital-a')}> {{ <{VICTIM}> ?p ?o }} }}"
    return len(store.run_query(q, "select", limit=10**6, timeout=10).rows)


@pytest.mark.parametrize("claimed", ["hospital-a", "hospital-b"])
def test_index_rebuild_keeps_the_owner_and_deletes_stay_in_the_owners_graph(store, claimed):
    submit(store, "hospital-a", VICTIM)
    before = victim_triples(store)
    # in hospital-b's graph: a record naming hospital-a (wrong graph) or itself (a later claim)
    plant_record(store, "hospital-b", VICTIM, claimed, issued="2099-01-01T00:00:00Z")
    store.rebuild_index()  # as after a restart
    assert store.locate(dataset_key(VICTIM)) == "hospital-a"
    assert store.find_filing("DC-20260101-FORGED03") is None
    assert store.record(dataset_key(VICTIM))["institution"] == "hospital-a"
    assert not store.delete(dataset_key(VICTIM), "hospital-b")
    assert victim_triples(store) == before
    # the owner's delete removes its own graph's triples and nothing of hospital-b's graph
    assert store.delete(dataset_key(VICTIM), "hospital-a")
    assert victim_triples(store) == 0
    planted = ox.NamedNode(record_iri(dataset_key(VICTIM)))
    assert any(t.subject == planted for t in store.export(graph_iri("hospital-b")))


def test_a_record_whose_key_is_not_its_datasets_is_ignored(store):
    submit(store, "hospital-a", VICTIM)
    plant_record(store, "hospital-b", "https://hospital-b.example.org/ds/mine", "hospital-b",
                 "2020-01-01T00:00:00Z", key=dataset_key(VICTIM))
    store.rebuild_index()
    assert store.count() == 1 and store.locate(dataset_key(VICTIM)) == "hospital-a"
    assert store.record(dataset_key(VICTIM))["result"]["dataset"] == VICTIM


@pytest.mark.parametrize("lookalike", [
    VICTIM + "/", "HTTPS://hospital-a.example.org/ds/victim", "https://HOSPITAL-A.EXAMPLE.ORG/ds/victim",
    "https://hospital-a.example.org:443/ds/victim//",
])
def test_lookalike_iris_of_a_filed_dataset_conflict(store, lookalike):
    submit(store, "hospital-a", VICTIM)
    with pytest.raises(ConflictError) as err:
        submit(store, "hospital-b", lookalike)
    assert err.value.extensions == {"dataset": lookalike, "holder": "hospital-a", "filed_as": VICTIM}
    submit(store, "hospital-a", lookalike)  # the owner may file a variant of its own IRI
    store.rebuild_index()
    with pytest.raises(ConflictError):
        submit(store, "hospital-b", VICTIM)


@pytest.mark.parametrize("a, b", [
    ("https://h.org/ds/1", "https://h.org/ds/2"), ("https://h.org/ds/1", "https://h.org/DS/1"),
    ("https://h.org/ds?x=1", "https://h.org/ds?x=2"), ("https://h.org:8443/ds", "https://h.org/ds"),
    ("https://h.org/doc#ds1", "https://h.org/doc#ds2"), ("urn:x:DS", "urn:x:ds"),
])
def test_distinct_iris_are_not_lookalikes(a, b):
    assert iri_lookalike_form(a) != iri_lookalike_form(b)


def test_urns_differ_only_in_scheme_case_and_trailing_slash():
    assert iri_lookalike_form("URN:x:ds/") == iri_lookalike_form("urn:x:ds")


@pytest.mark.usefixtures("need_engine")
def test_a_lookalike_iri_through_the_api_is_a_409(client):
    assert put(client, "hospital-a", CERTIFIED).status_code == 201
    lookalike = "HTTPS://HOSPITAL-X.example.org/pathology-structured/"
    body = CERTIFIED.replace(b"h:pathology-structured", f"<{lookalike}>".encode())
    problem = is_problem(put(client, "hospital-b", body), 409, "dataset-conflict")
    assert problem["holder"] == "hospital-a" and problem["filed_as"] == DERIVED and problem["dataset"] == lookalike
    assert problem["hint"]
