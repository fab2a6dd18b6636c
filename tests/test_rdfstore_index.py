"""derivecert.rdfstore.index: reads by pattern from a SimpleMemory store's own indexes give what
rdflib's triple patterns give (and the fallback for other stores is rdflib's); vocab's terms made
once are the terms rdflib makes."""

from __future__ import annotations

import pickle
from datetime import date

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from derivecert.rdfstore import Index, LayeredIndex, Patterns, add_all, index, union
from derivecert.vocab import DCERT, Terms, iri, literal

EX = "http://example.org/"
A, B, P, Q = URIRef(EX + "a"), URIRef(EX + "b"), URIRef(EX + "p"), URIRef(EX + "q")
TRIPLES = [(A, P, B), (A, P, Literal("x", lang="zh")), (A, Q, BNode("n")), (BNode("n"), P, B), (B, RDF.type, A)]


@pytest.fixture(params=["SimpleMemory", "Memory", "Layered"])
def graph(request) -> Graph:
    if request.param == "Layered":  # a materialised graph: some triples below, the rest laid over them
        below = Graph(store="SimpleMemory")
        add_all(below, TRIPLES[::2])
        return union(below, TRIPLES[1::2] + TRIPLES[:1])
    g = Graph(store=request.param)
    add_all(g, TRIPLES)
    return g


def test_an_index_reads_what_rdflib_reads(graph):
    reads = index(graph)
    expected = {"SimpleMemory": Index, "Memory": Patterns, "Layered": LayeredIndex}
    assert type(reads) is expected[graph.store.__class__.__name__]
    assert set(graph) == set(TRIPLES) and len(graph) == len(TRIPLES)
    for s in (A, B, BNode("n"), URIRef(EX + "none")):
        assert {(p, o) for p, objects in reads.predicate_objects(s).items() for o in objects} == set(graph.predicate_objects(s))
        for p in (P, Q, RDF.type):
            assert set(reads.objects(s, p)) == set(graph.objects(s, p))
            assert (reads.value(s, p) is None) == (graph.value(s, p) is None)
    for o in (A, B, BNode("n"), Literal("x", lang="zh")):
        assert {(s, p) for s, predicates in reads.subject_predicates(o).items() for p in predicates} == set(graph.subject_predicates(o))
        assert set(reads.subjects(P, o)) == set(graph.subjects(P, o))
    for p in (P, Q, RDF.type, DCTERMS.title):
        assert set(reads.subject_objects(p)) == set(graph.subject_objects(p))
        assert reads.has_predicate(p) == ((None, p, None) in graph)
    assert set(reads.predicates()) == {P, Q, RDF.type}
    assert set(reads.all_objects()) == {B, Literal("x", lang="zh"), BNode("n"), A}
    assert (A, Q, BNode("n")) in reads and (A, Q, B) not in reads
    assert index(reads) is reads


def test_a_store_index_is_live_and_never_written():
    graph = Graph(store="SimpleMemory")
    add_all(graph, TRIPLES)
    reads = index(graph)
    assert set(reads.objects(A, Q)) == {BNode("n")}
    graph.add((A, Q, B))
    assert set(reads.objects(A, Q)) == {BNode("n"), B}
    assert set(reads.objects(URIRef(EX + "none"), P)) == set()
    assert URIRef(EX + "none") not in reads.spo  # a read adds no entry


def test_terms_made_once_are_rdflibs_terms():
    d = Terms(DCERT)
    assert d.verdict == DCERT.verdict and d.verdict is d.verdict and d["GT-AGG"] is d["GT-AGG"] == DCERT["GT-AGG"]
    assert Terms(RDF).type == RDF.type
    assert literal(date(2026, 11, 28)) == Literal(date(2026, 11, 28), datatype=XSD.date)
    assert literal("x", "en") is literal("x", "en") and literal("x", "en") == Literal("x", lang="en")
    assert literal("x") == Literal("x") and iri(EX + "a") is iri(EX + "a") == A
    with pytest.raises(AttributeError):
        d.__deepcopy__  # noqa: B018 (probed by copy and pickle: not a term)
    assert pickle.loads(pickle.dumps([d.verdict, d.verdict])) == [DCERT.verdict, DCERT.verdict]
