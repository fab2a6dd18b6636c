"""The filing digest's canonical form (derivecert.rdfc): the linear paths give exactly what
Oxigraph's RDFC-1.0 gives, on every description of the corpus and of a generated batch, and on
the terms and shapes of graphs that are hard to write; anything else is left to Oxigraph."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import DATA, SPEC_EXAMPLES, spec_examples
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from test_engine_parity import corpus, generated_batch

from derivecert.errors import DeriveCertError
from derivecert.filing import canonical_digest, description_of, description_triples
from derivecert.parse import parse_description, parse_file
from derivecert.rdfc import TermText, canonical_nquads, oxigraph_nquads
from derivecert.rdfstore import Index

EX = "https://example.org/"


def _subjects(graph: Graph) -> list:
    return sorted({s for s in graph.subjects() if isinstance(s, URIRef)}, key=str)


def _files() -> list[Path]:
    return sorted(p for p in [*DATA.rglob("*"), *SPEC_EXAMPLES.glob("*.ttl")]
                  if p.is_file() and p.suffix in (".ttl", ".jsonld", ".rdf", ".nt", ".trig"))


def test_every_description_of_the_corpus_canonicalises_as_oxigraph_does():
    texts, linear, described = TermText(), 0, 0
    for path in _files():
        try:
            graph = parse_file(path).graph
        except DeriveCertError:
            continue  # a fixture of malformed input: not a description
        for subject in _subjects(graph):
            triples = description_triples(graph, subject)
            fast = canonical_nquads(triples, texts)
            described += 1
            if fast is not None:
                linear += 1
                assert fast == oxigraph_nquads(triples), (path, subject)
    assert linear > 0.95 * described  # the linear paths are the usual case


def test_a_batch_canonicalises_as_oxigraph_does():
    """The fixtures copied into one graph: a dataset described by several files has measurements
    that hash alike (Oxigraph's turn)."""
    graph, texts = generated_batch(), TermText()
    for subject in _subjects(graph):
        triples = description_triples(graph, subject)
        fast = canonical_nquads(triples, texts)
        if fast is not None:
            assert fast == oxigraph_nquads(triples), subject


def test_the_concise_bounded_description_is_the_same_from_the_store_indexes_and_from_rdflib():
    graph = corpus()
    memory = Graph(store="SimpleMemory")
    memory += graph
    for subject in _subjects(graph):
        assert set(description_triples(Index(memory), subject)) == set(description_triples(graph, subject))
        assert set(description_of(memory, subject)) == set(graph.cbd(subject))


def test_hard_terms_and_blank_nodes_canonicalise_as_oxigraph_does():
    s, p, q = URIRef(EX + "s"), URIRef(EX + "p"), URIRef(EX + "q")
    a, b, c = BNode("a"), BNode("b"), BNode("c")
    literals = [Literal("tab\there \"quoted\" back\\slash\nline\r\x01\x7f\x0c é \u2028"), Literal("x", lang="EN-gb"),
                Literal("01", datatype=XSD.integer), Literal("x", datatype=XSD.string), Literal("x"),
                Literal("<not an iri>", datatype=URIRef(EX + "type"))]
    cases = [
        [(s, p, lit) for lit in literals],  # no blank node
        [(s, p, a), (a, q, Literal("one")), (s, p, b), (b, q, Literal("two")), (b, p, c), (c, q, literals[0])],
        [(a, p, s), (b, p, s), (a, q, Literal(1)), (b, q, Literal(2))],  # blank subjects only
    ]
    for triples in cases:
        assert canonical_nquads(triples) == oxigraph_nquads(triples)
        graph = Graph()
        for triple in triples:
            graph.add(triple)
        expected = hashlib.sha256(oxigraph_nquads(triples).encode()).hexdigest()
        assert canonical_digest(graph) == canonical_digest(triples) == expected


@pytest.mark.parametrize("triples", [
    # alike: two blank nodes with the same statements (N-degree hashing tells them apart, or not)
    [(URIRef(EX + "s"), URIRef(EX + "p"), BNode("a")), (URIRef(EX + "s"), URIRef(EX + "p"), BNode("b"))],
    # a blank node that is its own object
    [(BNode("a"), URIRef(EX + "p"), BNode("a")), (URIRef(EX + "s"), URIRef(EX + "p"), BNode("a"))],
    # a chain: its middle nodes hash alike
    [(URIRef(EX + "s"), URIRef(EX + "p"), BNode("a")), (BNode("a"), URIRef(EX + "p"), BNode("b")),
     (BNode("b"), URIRef(EX + "p"), BNode("c")), (BNode("c"), URIRef(EX + "p"), BNode("d"))],
])
def test_blank_nodes_only_the_full_algorithm_tells_apart_go_to_oxigraph(triples):
    assert canonical_nquads(triples) is None
    expected = hashlib.sha256(oxigraph_nquads(triples).encode()).hexdigest()
    assert canonical_digest(triples) == expected


def test_the_digest_of_the_first_worked_example_is_the_one_published():
    """README shows it: a digest that changed would no longer verify filings already issued."""
    path = next(p for p, _ in spec_examples() if p.stem.startswith("e1"))
    graph = parse_description(path.read_bytes(), filename=path.name).graph
    digest = canonical_digest(description_of(graph, URIRef("https://hospital-x.example.org/pathology-structured")))
    assert digest == "26d361213787f68406db851f61e4868a2dcf051c9cf707fb9f69f71558c342a2"


def test_a_triple_stated_twice_in_two_spellings_counts_once():
    """rdflib tells `"x"` from `"x"^^xsd:string`; RDF (and Oxigraph) do not."""
    s, p = URIRef(EX + "s"), URIRef(EX + "p")
    triples = [(s, p, Literal("x")), (s, p, Literal("x", datatype=XSD.string)), (s, RDF.type, URIRef(EX + "C"))]
    assert canonical_nquads(triples) == oxigraph_nquads(triples)
    assert canonical_nquads(triples).count("\n") == 2
