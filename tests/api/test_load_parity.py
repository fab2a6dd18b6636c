"""A bulk load files what a PUT of each document files (issue 15): the certification workers
build the submissions (`certify_batch`) and the filing process checks and signs them
(`file_batch`); the stored quads are those the API's PUT path stores, but for the filing
numbers, the dates of filing and the node's skolem IRIs."""

from __future__ import annotations

import json
import pickle
import re
from datetime import date
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef

from derivecert.catalog import Catalog, EmbeddedStore, graph_iri
from derivecert.catalog.model import IDX
from derivecert.catalog.bulk import certify_batch, file_batch
from derivecert.catalog.service import file_submission
from derivecert.filing import check_signature, filing_iris
from derivecert.signing import FilingKey

ROOT = Path(__file__).resolve().parents[2]
ON = date(2026, 3, 1)
INSTITUTION = "hospital-a"
DOCS = sorted(p for p in (ROOT / "examples").glob("*/*.ttl") if "rejected" not in p.name)[:8]


def numbers():
    counter = iter(range(1, 10**6))
    return lambda: f"DC-20260301-{next(counter):010d}"


def normalised(catalog: Catalog) -> list[str]:
    """The institution graph's quads as lines, what differs between two filings of one document
    (filing numbers, signatures over them, dates of filing, skolem IRIs) written as placeholders."""
    out = []
    for t in catalog.export(graph_iri(INSTITUTION)):
        if isinstance(t.object, ox.Literal) and t.object.datatype.value.endswith("#JSON"):
            value = json.loads(t.object.value)
            for entry in (value, value.get("filing") or {}):
                entry.update((k, "T") for k in ("modified", "issued") if k in entry and "T" in str(entry[k]))
                if entry.get("signature"):
                    entry["signature"]["value"] = "S"
            t = ox.Triple(t.subject, t.predicate, ox.Literal(json.dumps(value, sort_keys=True)))
        line = re.sub(r"DC-20260301-\d{10}", "N", str(t))
        line = re.sub(r"\.well-known/genid/[0-9a-f]{32}", ".well-known/genid/G", line)
        line = re.sub(r'"\d{4}-\d\d-\d\dT[0-9:.]+Z"', '"T"', line)
        line = re.sub(r"signatureValue> \"[^\"]+\"", 'signatureValue> "S"', line)
        out.append(line)
    return sorted(out)


@pytest.fixture
def key():
    return FilingKey.generate()


def test_a_bulk_load_stores_the_quads_a_put_of_each_document_stores(engine, tmp_path, key):
    docs = [(p.name, p.read_bytes()) for p in DOCS]
    put = Catalog(EmbeddedStore(tmp_path / "put", query_processes=0))
    bulk = Catalog(EmbeddedStore(tmp_path / "bulk", query_processes=0))
    try:
        drawn = numbers()
        for name, data in docs:
            run = engine.certify(data, filename=name, filing_numbers=drawn, certifying_body="DeriveCert", on=ON)
            run.sign_filings(key)
            file_submission(put, INSTITUTION, run)
        certified = certify_batch(engine, docs, filing_numbers=numbers(), certifying_body="DeriveCert", on=ON)
        certified = pickle.loads(pickle.dumps(certified))  # as it comes from a worker
        outcomes = file_batch(bulk, INSTITUTION, certified, key)
        assert [o.status for o in outcomes] == ["filed"] * len(docs)
        assert put.count() == bulk.count() > 0
        assert normalised(put) == normalised(bulk)
        stored = Graph()
        for t in bulk.export(graph_iri(INSTITUTION)):
            stored.parse(data=f"{t} .", format="nt")
        iris = filing_iris(stored)
        assert iris and all(check_signature(stored, URIRef(iri), key.public)[0] for iri in iris)
    finally:
        put.close()
        bulk.close()


def test_a_worker_is_not_taken_at_its_word(engine, tmp_path, key):
    """What a certification worker sends is checked where the store is: a submission writing the
    node's bookkeeping or owning subjects it does not write is refused alone, the rest filed."""
    docs = [(p.name, p.read_bytes()) for p in DOCS[:3]]
    certified = certify_batch(engine, docs, filing_numbers=numbers(), certifying_body="DeriveCert", on=ON)
    forged = certified[0].submission
    forged.quads.append(ox.Triple(ox.NamedNode(forged.records[0].dataset), ox.NamedNode(IDX + "summary"), ox.Literal("{}")))
    owns = certified[1].submission
    owns.owned[owns.keys[0]].add("https://w3id.org/derivecert/filing/DC-20250101-OTHERS")
    catalog = Catalog(EmbeddedStore(tmp_path / "store", query_processes=0))
    try:
        outcomes = file_batch(catalog, INSTITUTION, pickle.loads(pickle.dumps(certified)), key)
        assert [(o.status, o.code) for o in outcomes] == [
            ("refused", "inconsistent-submission"), ("refused", "inconsistent-submission"), ("filed", None)]
        assert catalog.count() == 1
    finally:
        catalog.close()
