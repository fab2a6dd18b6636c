"""What a rudof validation reads: the data split once into what each part of it can read.

rudof gets the triples whose predicate, or whose rdf:type class, the core shapes name (SHACL Core
reaches data only through the paths and classes it names; all of it for a shape with sh:closed,
every type when the data states subclasses); the SPARQL store gets the triples the SHACL-SPARQL
constraints name, its blank nodes as IRIs (Oxigraph's loader would rename them; results must name
the data's nodes), never the context node's (it is the engine's). An rdflib graph (the engine's) is
split from its store's index, each term written once and no text of the whole data made; N-Triples
text or quads line by line. Either way comes with what attributing results to datasets reads.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, RDF, RDFS
from rdflib.plugins.serializers.nt import _quoteLiteral

from ..rdfstore import by_subject
from .findings import DataIndex, GraphIndex
from .pyshacl_adapter import CONTEXT_NODE

# Blank nodes of the data as IRIs in the SPARQL store; random per process, so that no input IRI can
# pass for a blank node (and a finding on it go to no dataset).
_SKOLEM = f"urn:derivecert:shacl:bnode:{uuid.uuid4().hex}:"


@dataclass(frozen=True)
class Reads:
    """What each part of a validation can read, from a profile's shapes (as strings for text, as
    rdflib IRIs for a graph: a set of strings does not find an rdflib term)."""

    core_iris: frozenset  # predicates, and classes whose rdf:type, the core shapes can read
    sparql_iris: frozenset  # predicates and classes the SHACL-SPARQL constraints can read
    closed: bool  # a shape is sh:closed: the core shapes read everything
    core_terms: frozenset
    sparql_terms: frozenset

    @classmethod
    def of(cls, core: frozenset, sparql: frozenset, closed: bool) -> Reads:
        return cls(core, sparql, closed, frozenset(map(URIRef, core)), frozenset(map(URIRef, sparql)))


def split(data, reads: Reads) -> Data:
    """The data (an rdflib Graph, N-Triples text, or Oxigraph quads/triples) split for a validation."""
    return _split_graph(data, reads) if isinstance(data, Graph) else _split_text(_ntriples(data), reads)


def _token(node) -> str | None:
    """An rdflib node as its N-Triples subject/object token."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, BNode):
        return f"_:{node}"
    return None


def _node_of_token(token: str):
    return BNode(token[2:]) if token.startswith("_:") else URIRef(token[1:-1])


@dataclass
class Data:
    """The data split once into what each part of the validation reads."""

    core: str  # the triples the core shapes can read (rudof), N-Triples
    sparql: str  # the triples the SHACL-SPARQL constraints can read, blank nodes skolemised (Oxigraph)
    subclasses: bool  # whether the data states rdfs:subClassOf (targets then follow it)
    index: DataIndex  # what attributing results to datasets reads


class TextIndex:
    """`findings.DataIndex` over the data's N-Triples lines."""

    def __init__(self, text: str, datasets: set):
        self.text = text
        self.datasets = datasets  # tokens of the dcat:Dataset nodes
        self._owners: dict | None = None

    def is_dataset(self, node) -> bool:
        return _token(node) in self.datasets

    def owners(self, node) -> list[tuple[Any, Any]]:
        if self._owners is None:  # read only when a result is on a non-dataset node
            self._owners = {}
            for line in _lines(self.text):
                match = _TRIPLE.match(line)
                if match is not None and match.group(1) in self.datasets and match.group(3)[:1] in "<_":
                    obj = match.group(3).rstrip(" \t\r").rstrip(".").rstrip(" \t")
                    self._owners.setdefault(obj, []).append((match.group(1), match.group(2)))
        return [(_node_of_token(s), URIRef(p[1:-1])) for s, p in self._owners.get(_token(node), [])]


# A line of N-Triples: subject, predicate, the rest. Explicit tokens, not \S: an IRI or a literal
# may hold characters Python counts as white space or line breaks (U+2028, U+0085 ...).
_TRIPLE = re.compile(r"[ \t]*(<[^>]*>|_:[^ \t]+)[ \t]+(<[^>]*>)[ \t]+(.*)")


def _lines(text: str) -> list[str]:
    """The lines of N-Triples text: split at line feeds only (a literal's other breaks are not escaped)."""
    return text.split("\n")


def _ntriples(materialised) -> str:
    """Data given as N-Triples text or Oxigraph quads, as N-Triples text, one triple a line."""
    if isinstance(materialised, bytes):
        return materialised.decode("utf-8")
    if isinstance(materialised, str):
        return materialised
    import pyoxigraph as ox

    quads = [ox.Quad(q.subject, q.predicate, q.object) for q in materialised]
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS).decode("utf-8")


def _split_text(text: str, reads: Reads) -> Data:
    """N-Triples text split line by line (`_split_graph` says what goes where)."""
    core_predicates = core_classes = reads.core_iris
    sparql_terms, closed = reads.sparql_iris, reads.closed
    rdf_type, subclass = f"<{RDF.type}>", f"<{RDFS.subClassOf}>"
    dataset, context = f"<{DCAT.Dataset}>", f"<{CONTEXT_NODE}>"
    core, sparql, other_types, datasets = [], [], [], set()
    subclasses = False
    for line in _lines(text):
        match = _TRIPLE.match(line)
        if match is None:  # a blank line or a comment
            continue
        subject, predicate, rest = match.groups()
        if predicate == rdf_type:
            cls = rest[1:rest.find(">")] if rest.startswith("<") else ""
            if rest.startswith(dataset):
                datasets.add(subject)
            if closed or cls in core_classes:
                core.append(line)
            if cls in sparql_terms and subject != context:
                sparql.append(line)
            if not (closed or cls in core_classes) or cls not in sparql_terms:
                other_types.append(line)
        elif predicate == subclass:
            subclasses = True
            core.append(line)
            if subject != context:
                sparql.append(line)
        else:
            iri = predicate[1:-1]
            if closed or iri in core_predicates:
                core.append(line)
            if iri in sparql_terms and subject != context:  # the context node is the engine's
                sparql.append(line)
    if subclasses:  # an instance of any class may then be one of a class the shapes name
        core.extend(other_types)
        sparql.extend(line for line in other_types if not line.startswith(context))
    return Data("\n".join(core) + "\n", _skolemised("\n".join(sparql)), subclasses, TextIndex(text, datasets))


class _NTerms(dict):
    """rdflib term -> its N-Triples text (what rdflib's "nt" serializer writes), each made once."""

    def __missing__(self, term) -> str:
        text = self[term] = _quoteLiteral(term) if isinstance(term, Literal) else term.n3()
        return text


class _Skolemised(_NTerms):
    """The same, a blank node as an IRI of the SPARQL store (`_SKOLEM`)."""

    def __missing__(self, term) -> str:
        text = self[term] = f"<{_SKOLEM}{term}>" if isinstance(term, BNode) else super().__missing__(term)
        return text


def _split_graph(graph: Graph, reads: Reads) -> Data:
    """The graph's triples that rudof can read (those whose predicate, or whose rdf:type class, the
    core shapes name; all of them for a shape with sh:closed; every rdf:type when the data states
    subclasses) and those the SHACL-SPARQL constraints can read (not the context node's: it is the
    engine's), written from the graph's own index subject by subject. Where a predicate or a class
    goes is decided once per term, and each term is written once."""
    core_predicates = core_classes = reads.core_terms
    sparql_terms, closed = reads.sparql_terms, reads.closed
    text, skolem = _NTerms(), _Skolemised()
    rdf_type = text[RDF.type]
    routes: dict = {RDF.type: _TYPE}  # predicate -> (to core, to SPARQL)
    class_routes: dict = {}  # class -> (to core, to SPARQL)
    core, sparql, other_types = [], [], []
    subclasses = False
    for s, by_predicate in by_subject(graph):
        engine_node = s in _ENGINE_NODES
        for p, objects in by_predicate.items():
            route = routes.get(p)
            if route is None:
                subclasses = subclasses or p == RDFS.subClassOf
                route = routes[p] = (True, True) if p == RDFS.subClassOf else (
                    closed or p in core_predicates, p in sparql_terms)
            if route is _TYPE:
                for o in objects:
                    to_core, to_sparql = class_routes.get(o) or class_routes.setdefault(
                        o, (closed or o in core_classes, o in sparql_terms))
                    if to_core:
                        core.append(f"{text[s]} {rdf_type} {text[o]} .\n")
                    if to_sparql and not engine_node:
                        sparql.append(f"{skolem[s]} {rdf_type} {skolem[o]} .\n")
                    if not (to_core and to_sparql):
                        other_types.append((s, o))
                continue
            if route[0]:
                head = f"{text[s]} {text[p]} "
                core += [f"{head}{text[o]} .\n" for o in objects]
            if route[1] and not engine_node:
                head = f"{skolem[s]} {text[p]} "
                sparql += [f"{head}{skolem[o]} .\n" for o in objects]
    if subclasses:  # an instance of any class may then be one of a class the shapes name
        core += [f"{text[s]} {rdf_type} {text[o]} .\n" for s, o in other_types]
        sparql += [f"{skolem[s]} {rdf_type} {skolem[o]} .\n" for s, o in other_types if s not in _ENGINE_NODES]
    return Data("".join(core), "".join(sparql), subclasses, GraphIndex(graph))


_TYPE = ("rdf:type",)  # the route of rdf:type: by its object, the class
_ENGINE_NODES = frozenset({CONTEXT_NODE})  # a set: membership costs no rdflib comparison on a miss


_SUBJECT_BNODE = re.compile(r"^([ \t]*)_:(\S+)", re.M)
_OBJECT_BNODE = re.compile(r"([ \t])_:(\S+)(?=[ \t]*\.[ \t]*$)", re.M)


def _skolemised(text: str) -> str:
    """Blank nodes as IRIs (Oxigraph's loader renames blank nodes; results must name the data's)."""
    text = _SUBJECT_BNODE.sub(lambda m: f"{m.group(1)}<{_SKOLEM}{m.group(2)}>", text)
    return _OBJECT_BNODE.sub(lambda m: f"{m.group(1)}<{_SKOLEM}{m.group(2)}>", text)
