"""Parity gates for the engine's fast paths (issue 14): a faster path must conclude exactly what
the reference path concludes, on the whole fixture corpus and on a generated batch.

- reasoning: `reasonable` given only the ontology's axioms (`derivecert.reason.rl_schema`) against
  `reasonable` given the whole ontology, labels and definitions included; and the rules compiled
  from the ontology closed once (`derivecert.rl_rules`, the default) against `reasonable`;
- batches: the datasets of each document are noted while parsing, and each is charged to the first
  document that types it, as the former rescan of the batch graph did.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from conftest import DATA, SPEC_EXAMPLES
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, RDF

from derivecert import defaults
from derivecert.engine import Engine, _load_documents
from derivecert.errors import DeriveCertError
from derivecert.parse import InputLimits, parse_file
from derivecert.reason import CompiledRLReasoner, RLReasoner, annotation_properties, rl_schema
from derivecert.resources import ontology_graph

VOCABULARIES = ("https://w3id.org/", "http://www.w3.org/", "http://purl.org/", "http://xmlns.com/",
                "http://healthdataportal.eu/", "http://publications.europa.eu/", "http://data.europa.eu/")


def corpus() -> Graph:
    """Every fixture description and worked example the parser accepts, in one batch graph."""
    graph = Graph()
    for path in sorted([*DATA.rglob("*"), *SPEC_EXAMPLES.glob("*.ttl")]):
        if path.is_file() and path.suffix in (".ttl", ".jsonld", ".rdf", ".nt", ".trig"):
            try:
                parse_file(path, into=graph)
            except DeriveCertError:
                continue  # a fixture of malformed input: not a description
    return graph


def generated_batch(copies: int = 2) -> Graph:
    """The valid and invalid fixtures `copies` times over, each copy with its own IRIs (as
    bench/run.py generates its catalogs)."""
    graph = Graph()
    for path in sorted((DATA / "valid").glob("*.ttl")) + sorted((DATA / "invalid").glob("*.ttl")):
        source = Graph().parse(path, format="turtle")
        for i in range(copies):
            def rename(term, i=i):
                return URIRef(f"{term}-c{i}") if isinstance(term, URIRef) and not str(term).startswith(VOCABULARIES) else term
            graph.addN((rename(s), p, rename(o), graph) for s, p, o in source)
    return graph


@pytest.fixture(scope="module")
def reasoners():
    return RLReasoner(), RLReasoner(whole_ontology=True)


def facts(materialised: Graph) -> set:
    """What the later steps can read: every triple but the ontology's annotations of the terms a
    description mentions (the whole ontology hands them back as if inferred; nothing reads them
    there, the code lists are read from the ontology itself)."""
    skip = {URIRef(p) for p in annotation_properties(ontology_graph())}
    return {t for t in materialised if t[1] not in skip}


@pytest.mark.parametrize("batch", [corpus, generated_batch], ids=["fixture-corpus", "generated-batch"])
def test_axioms_only_ontology_infers_what_the_whole_ontology_infers(reasoners, batch):
    graph = batch()
    fast, reference = reasoners
    expected = facts(defaults.materialise(reference, graph))
    assert len(expected) > len(graph)  # the reference inferred something: the comparison is not empty
    assert facts(defaults.materialise(fast, graph)) == expected


def outcome(run) -> list:
    return [{k: v for k, v in r.to_dict().items() if k != "filing"} for r in run.results]


@pytest.mark.parametrize("batch", [corpus, generated_batch], ids=["fixture-corpus", "generated-batch"])
def test_compiled_rules_infer_what_reasonable_infers(reasoners, batch):
    compiled = CompiledRLReasoner()
    assert compiled._rules is not None  # the ontology is within the compiled constructs
    graph = batch()
    expected = set(defaults.materialise(reasoners[0], graph))
    assert len(expected) > len(graph)
    assert set(defaults.materialise(compiled, graph)) == expected


def test_a_description_stating_axioms_is_reasoned_over_by_reasonable():
    data = Graph().parse(data="""
        @prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <urn:x:Mine> rdfs:subClassOf dcat:Dataset . <urn:x:ds> a <urn:x:Mine> .""", format="turtle")
    inferred = CompiledRLReasoner().infer(data)
    assert (URIRef("urn:x:ds"), RDF.type, DCAT.Dataset) in inferred
    assert set(inferred) == set(RLReasoner().infer(data))


@pytest.mark.parametrize("batch", [corpus, generated_batch], ids=["fixture-corpus", "generated-batch"])
def test_certification_is_the_same_with_either_ontology_input(reasoners, batch):
    fast_engine, reference_engine = Engine(), Engine()
    fast_engine.reasoner, reference_engine.reasoner = reasoners
    graph = batch()
    on = date(2026, 11, 28)
    expected = outcome(reference_engine.certify_graph(graph, on=on, filing_numbers=lambda: "N"))
    assert any(r["findings"] for r in expected) and any(r["verdict"] == "certified" for r in expected)
    assert outcome(fast_engine.certify_graph(graph, on=on, filing_numbers=lambda: "N")) == expected


def test_the_schema_given_to_the_reasoner_has_no_labels_or_literals():
    schema = rl_schema(ontology_graph())
    predicates = {p for _, p, _ in schema}
    assert str(RDF.type) in predicates and "http://www.w3.org/2002/07/owl#equivalentClass" in predicates
    assert str(URIRef("http://www.w3.org/2000/01/rdf-schema#label")) not in predicates
    assert "http://www.w3.org/2004/02/skos/core#prefLabel" not in predicates
    assert len(schema) < len(ontology_graph()) / 2


A = b"<https://a.example/ds> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/dcat#Dataset> .\n"
B = (b"<https://a.example/ds> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/dcat#Dataset> .\n"
     b"<https://b.example/ds> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/dcat#Dataset> .\n"
     b"_:x <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/dcat#Dataset> .\n")


def test_each_dataset_is_charged_to_the_first_document_that_types_it():
    graph, origin = _load_documents([("a.nt", A), ("b.nt", B)], 1 << 20, InputLimits())
    assert origin[URIRef("https://a.example/ds")] == "a.nt"
    assert origin[URIRef("https://b.example/ds")] == "b.nt"
    assert set(origin) == set(graph.subjects(RDF.type, DCAT.Dataset))  # the blank-node dataset too
    assert sorted(origin.values()) == ["a.nt", "b.nt", "b.nt"]


def labelled(result) -> dict:
    """A result with blank-node values as `_:` (the parser labels anonymous nodes anew each time)."""
    out = result.to_dict()
    for finding in out["findings"]:
        if re.fullmatch(r"b[0-9a-f]{20,}", finding.get("value") or ""):
            finding["value"] = "_:"
    return out


def test_a_batch_certified_in_bounded_parts_gives_the_results_of_one_part():
    paths = sorted((DATA / "valid").glob("*.ttl")) + sorted((DATA / "invalid").glob("*.ttl"))
    documents = [(str(p), p.read_bytes()) for p in paths]
    on = date(2026, 11, 28)
    whole = Engine(workers=1).certify_documents(documents, on=on, filing_numbers=lambda: "N")
    parts = Engine(workers=1, batch_size=8).certify_documents(documents, on=on, filing_numbers=lambda: "N")
    assert whole.materialised is not None and parts.materialised is None  # it really ran in parts
    assert [labelled(r) for r in parts.results] == [labelled(r) for r in whole.results]
    assert len(parts.result_graph) == len(whole.result_graph)


def test_descriptions_that_share_a_subject_stay_in_one_part():
    from derivecert.engine import _independent_groups, _pack

    # 0 describes the source 1 derives from; 2 stands alone
    iris = [({"urn:src"}, set()), ({"urn:drv"}, {"urn:src"}), ({"urn:other"}, set())]
    parts = _pack(_independent_groups(iris), [10, 10, 10], parts=3, workers=1)
    assert sorted(parts) == [[0, 1], [2]]



def test_a_batch_streamed_in_parts_gives_the_results_of_one_part():
    paths = sorted((DATA / "valid").glob("*.ttl")) + sorted((DATA / "invalid").glob("*.ttl"))
    documents = [(str(p), p.read_bytes()) for p in paths]
    on = date(2026, 11, 28)
    whole = Engine(workers=1).certify_documents(documents, on=on, filing_numbers=lambda: "N")
    parts = list(Engine(workers=1, batch_size=8).certify_stream(documents, on=on, filing_numbers=lambda: "N"))
    assert len(parts) > 1 and all(part.run is None for part in parts)  # given out part by part
    streamed = sorted((r for part in parts for r in part.results), key=lambda r: str(r.dataset))
    assert [labelled(r) for r in streamed] == [labelled(r) for r in whole.results]
    assert len({t for part in parts for t in part.triples}) == len(whole.result_graph)


def test_a_first_part_holding_only_whole_groups_is_kept():
    from derivecert.engine import _kept

    # first parts [0, 1] and [2, 3] started before the scan; 1 and 3 share a subject
    assert _kept([[0, 1], [2, 3]], [[0], [1, 3], [2]]) == [False, False]
    # 4 (outside both) shares one with 2: only the second is dropped
    assert _kept([[0, 1], [2, 3]], [[0], [1], [2, 4], [3]]) == [True, False]
    assert _kept([[0, 1], [2, 3]], [[0, 1], [2], [3], [4, 5]]) == [True, True]


def _split_source_and_derived() -> tuple[bytes, bytes, str]:
    """A fixture cut in two: the source's description (its lawful basis, P-02) in one document,
    the dataset derived from it in another."""
    path = DATA / "valid" / "aggregate-d4-influenza-surveillance.ttl"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split("cdc:ili-case-reports a dcat:Dataset ;", 1)
    source, derived = rest.split("\n\n", 1)
    prefixes = "".join(line + "\n" for line in head.splitlines() if line.startswith("@prefix"))
    return ((prefixes + "cdc:ili-case-reports a dcat:Dataset ;" + source + "\n").encode(),
            (prefixes + derived).encode(), "https://cdc.example-province.gov.cn/data/ili-weekly-counts")


def test_workers_started_before_the_scan_never_split_a_source_from_its_derived_dataset():
    from derivecert.engine import PARALLEL_MIN_DOCUMENTS

    source, derived, dataset = _split_source_and_derived()
    paths = sorted((DATA / "valid").glob("*.ttl")) + sorted((DATA / "invalid").glob("*.ttl"))
    others = [(str(p), p.read_bytes()) for p in paths]
    others = [(name, data) for name, data in others if b"cdc.example-province" not in data]  # no other ILI dataset
    # the source first and the derived dataset last: each in another worker's first part
    documents = [("source.ttl", source), *others, ("derived.ttl", derived)]
    assert len(documents) >= PARALLEL_MIN_DOCUMENTS
    on = date(2026, 11, 28)
    alone = Engine(workers=1).certify_documents([("derived.ttl", derived)], on=on)
    assert "P-02" in {f.requirement for f in alone.result_for(dataset).findings}  # the split matters
    one = Engine(workers=1).certify_documents(documents, on=on, filing_numbers=lambda: "N")
    two = Engine(workers=2).certify_documents(documents, on=on, filing_numbers=lambda: "N")
    assert two.materialised is None  # it really ran on worker processes
    assert two.result_for(dataset).verdict == "certified"
    assert [str(r.dataset) for r in two.results] == [str(r.dataset) for r in one.results]  # each once
    assert [labelled(r) for r in two.results] == [labelled(r) for r in one.results]


def test_a_bad_description_fails_a_batch_on_workers_before_any_part_is_given_out():
    from derivecert.engine import PARALLEL_MIN_DOCUMENTS

    paths = sorted((DATA / "valid").glob("*.ttl")) + sorted((DATA / "invalid").glob("*.ttl"))
    documents = [(str(p), p.read_bytes()) for p in paths][:PARALLEL_MIN_DOCUMENTS]
    documents.append(("broken.ttl", b"@prefix dcat: <http://www.w3.org/ns/dcat#> .\n<urn:x> a dcat:Dataset"))
    given = []
    with pytest.raises(DeriveCertError) as raised:
        for part in Engine(workers=2).certify_stream(documents, on=date(2026, 11, 28)):
            given.append(part)
    assert given == []  # the first parts started, but none was given out
    assert raised.value.where.startswith("broken.ttl")  # with the line and column
