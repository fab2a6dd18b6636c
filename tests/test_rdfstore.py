"""derivecert.rdfstore: the fast paths over SimpleMemory give what rdflib's public API gives."""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

from derivecert.rdfstore import add_all, by_subject, triples, union

EX = "http://example.org/"
TRIPLES = [
    (URIRef(EX + "a"), URIRef(EX + "p"), URIRef(EX + "b")),
    (URIRef(EX + "a"), URIRef(EX + "label"), Literal('say "hi"\\\nagain\r', lang="zh")),
    (URIRef(EX + "a"), URIRef(EX + "when"), Literal("2026-06-01", datatype=XSD.date)),
    (URIRef(EX + "a"), URIRef(EX + "n"), Literal("07", datatype=XSD.integer)),  # not normalised
    (BNode("x1"), URIRef(EX + "p"), BNode("x2")),
    (BNode("x2"), URIRef(EX + "name"), Literal("数据 ünïcode")),
]


@pytest.fixture(params=["SimpleMemory", "Memory"])
def graph(request) -> Graph:
    g = Graph(store=request.param)
    add_all(g, TRIPLES)
    return g


def test_triples_and_by_subject_give_every_triple(graph):
    assert sorted(triples(graph)) == sorted(graph) == sorted(TRIPLES)
    flat = [(s, p, o) for s, by_predicate in by_subject(graph) for p, objects in by_predicate.items() for o in objects]
    assert sorted(flat) == sorted(TRIPLES)
    assert sorted((s, p, o) for s, by_p in by_subject(iter(TRIPLES)) for p, os in by_p.items() for o in os) == sorted(TRIPLES)


def test_union_is_a_new_graph_and_leaves_its_source_alone(graph):
    more = (URIRef(EX + "a"), URIRef(EX + "p"), URIRef(EX + "c"))
    out = union(graph, [more, TRIPLES[0]])  # a triple the source holds is not held twice
    assert set(out) == set(TRIPLES) | {more} and len(out) == len(TRIPLES) + 1
    assert sorted(triples(out)) == sorted(out)
    assert set(graph) == set(TRIPLES)
    out += [(URIRef(EX + "b"), URIRef(EX + "p"), URIRef(EX + "c")), TRIPLES[1]]
    assert set(graph) == set(TRIPLES) and len(out) == len(TRIPLES) + 2  # writes go to the new graph only
    if graph.store.__class__.__name__ == "SimpleMemory":  # laid over the source's store, not a copy
        with pytest.raises(NotImplementedError):
            out.remove((URIRef(EX + "a"), None, None))
    else:
        out.remove((URIRef(EX + "a"), None, None))
    assert set(graph) == set(TRIPLES)
    assert (URIRef(EX + "a"), URIRef(EX + "p"), URIRef(EX + "b")) in graph
    assert list(union(graph).triples((None, URIRef(EX + "p"), BNode("x2")))) == [(BNode("x1"), URIRef(EX + "p"), BNode("x2"))]
