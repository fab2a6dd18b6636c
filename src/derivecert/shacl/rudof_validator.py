"""pyrudof (rudof, a SHACL validator in Rust) as the validator, with SHACL-SPARQL once per batch.

The core shapes run on rudof; the three SHACL-SPARQL constraints (P-04, S-02, S-10) are taken out
of the shapes rudof reads and each is evaluated once for the whole batch on an in-memory Oxigraph
store (the constraint's query with `$this` left free and joined to the shape's target class),
instead of once per focus node. The store holds the data with the code-list facts and the context
node carrying the validation date, as pySHACL's mirror does (`pyshacl_adapter._DataGraph`).

What rudof's report lacks is taken from the shapes: the messages with their language tags (rudof
adds an untagged default message of its own) and the structure of a complex result path. rudof
reports some results twice: results count once. A `Rudof` session keeps its data across
`read_data` calls unless reset, so every run resets it first; one run at a time per process.

Parity with pySHACL (the reference engine, `derivecert.shacl.pyshacl_adapter`) is a test:
tests/test_shacl_parity.py runs both on the fixture corpus and a generated batch.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCAT, RDF, RDFS, SH, XSD

from ..errors import ConfigurationError
from .findings import Result, _path_string
from .pyshacl_adapter import CONTEXT_NODE, _code_list_quads, _context_quads, _mirror_terms
from .thresholds import _compiled

_SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
_LITERAL = re.compile(r'^"(?P<lex>.*)"(?:\^\^(?P<dt><[^<>]*>|[A-Za-z][\w-]*:\S*)|@(?P<lang>[A-Za-z0-9-]+))?$', re.S)
_PREFIXES = {"xsd": str(XSD), "rdf": str(RDF), "rdfs": str(RDFS), "sh": str(SH)}
_VARIABLE = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class _SparqlConstraint:
    shape: URIRef
    severity: str
    query: str  # with ?this free and bound by the shape's target classes
    messages: tuple[Literal, ...]  # tagged templates with {?var}


@dataclass(frozen=True)
class _Profile:
    """What a threshold profile's compiled shapes give each run, computed once."""

    core_shapes: str  # N-Triples: the shapes without their SHACL-SPARQL constraints
    sparql: tuple[_SparqlConstraint, ...]
    messages: dict  # shape node -> ((lang, text), ...) of its tagged sh:message
    paths: dict  # shape node -> its sh:path as a Finding path string
    shapes: Graph


def _tagged(literals: Iterable) -> tuple[Literal, ...]:
    return tuple(sorted((m for m in literals if isinstance(m, Literal) and m.language),
                        key=lambda m: (m.language, str(m))))


def _message_items(literals: Iterable[Literal]) -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}
    for m in literals:
        out.setdefault(m.language.split("-")[0].lower(), str(m))
    return tuple(sorted(out.items()))


def _sparql_constraint(shapes: Graph, shape, constraint) -> _SparqlConstraint:
    select = shapes.value(constraint, SH.select)
    classes = sorted(str(c) for c in shapes.objects(shape, SH.targetClass))
    others = [p for p in (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
              if shapes.value(shape, p) is not None]
    if select is None or not classes or others or (shape, RDF.type, RDFS.Class) in shapes:
        raise ConfigurationError(f"the SHACL-SPARQL shape {shape} is not a SELECT constraint on sh:targetClass",
                                 hint="the rudof validator runs only that form; use shacl='pyshacl' for others")
    prefixes = []
    for declared in shapes.objects(shapes.value(constraint, SH.prefixes), SH.declare):
        prefix, namespace = shapes.value(declared, SH.prefix), shapes.value(declared, SH.namespace)
        prefixes.append(f"PREFIX {prefix}: <{namespace}>\n")
    text = re.sub(r"\$this\b", "?this", str(select))
    where = re.search(r"\bWHERE\s*\{", text, re.IGNORECASE)
    if where is None:
        raise ConfigurationError(f"the SHACL-SPARQL constraint {constraint} has no WHERE clause",
                                 hint="write its sh:select as SELECT $this ... WHERE { ... }")
    # the focus nodes first, as pySHACL finds them: instances of the target class or of a subclass
    targets = (" VALUES ?derivecertTarget { " + " ".join(f"<{c}>" for c in classes) + " }"
               " ?this <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>/"
               "<http://www.w3.org/2000/01/rdf-schema#subClassOf>* ?derivecertTarget .")
    query = "".join(prefixes) + text[:where.end()] + " { SELECT DISTINCT ?this WHERE {" + targets + "} }" + text[where.end():]
    messages = _tagged(shapes.objects(constraint, SH.message)) or _tagged(shapes.objects(shape, SH.message))
    severity = _SEVERITIES.get(shapes.value(shape, SH.severity), "Violation")
    return _SparqlConstraint(shape, severity, query, messages)


@lru_cache(maxsize=16)
def _profile(key: tuple[tuple[str, str], ...]) -> _Profile:
    shapes = _compiled(key)
    core = Graph()
    core += shapes
    sparql = []
    for shape, constraint in sorted(shapes.subject_objects(SH.sparql)):
        sparql.append(_sparql_constraint(shapes, shape, constraint))
        core.remove((shape, SH.sparql, constraint))
        core.remove((constraint, None, None))
    messages, paths = {}, {}
    for shape in set(shapes.subjects(SH.message, None)):
        messages[shape] = _message_items(_tagged(shapes.objects(shape, SH.message)))
    for shape, path in shapes.subject_objects(SH.path):
        paths[shape] = _path_string(shapes, path)
    return _Profile(core.serialize(format="nt"), tuple(sparql), messages, paths, shapes)


class _Session:
    """One rudof session per process, its shapes read once per profile (rudof is not re-entrant)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rudof: Any = None
        self.key: tuple | None = None

    def validate(self, key: tuple, ntriples: str) -> list:
        import pyrudof

        with self.lock:
            if self.rudof is None:
                self.rudof = pyrudof.Rudof(pyrudof.RudofConfig())
            if self.key != key:
                self.rudof.reset_shacl()
                self.rudof.read_shacl(_profile(key).core_shapes, pyrudof.ShaclFormat.NTriples,
                                      reader_mode=pyrudof.ReaderMode.Strict)
                self.key = key
            # a session keeps the data of earlier calls unless reset
            self.rudof.reset_data()
            try:
                self.rudof.read_data(ntriples, pyrudof.RDFFormat.NTriples, reader_mode=pyrudof.ReaderMode.Strict)
                report = self.rudof.validate_shacl()
                return [(e.source_shape, e.severity, e.focus_node, e.path, e.value, e.constraint_component)
                        for e in report.violations]
            finally:
                self.rudof.reset_data()  # not reset_shacl_validation(): it drops the shapes too


_session = _Session()


def _node(text: str):
    """An rdflib node from rudof's text of an IRI or a blank node."""
    return BNode(text[2:]) if text.startswith("_:") else URIRef(text)


def _term(text: str | None):
    """An rdflib term from rudof's text of a value (literals as "lexical"^^datatype or @lang)."""
    if text is None:
        return None
    match = _LITERAL.match(text)
    if match is None:
        return _node(text)
    lexical, datatype, lang = match.group("lex", "dt", "lang")
    if lang:
        return Literal(lexical, lang=lang)
    if datatype is None:
        return Literal(lexical)
    if datatype.startswith("<"):
        return Literal(lexical, datatype=URIRef(datatype[1:-1]))
    prefix, local = datatype.split(":", 1)
    return Literal(lexical, datatype=URIRef(_PREFIXES.get(prefix, prefix + ":") + local))


def _rdflib(term):
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == str(XSD.string):
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def _text(term) -> str:
    """A term as pySHACL writes it into a message (str() of the rdflib term)."""
    return term.value


class OxIndex:
    """`findings.DataIndex` over the data's Oxigraph quads (dataset types read in one pass)."""

    def __init__(self, quads: list, datasets: set):
        self.quads = quads
        self.datasets = datasets
        self._owners: dict | None = None

    def is_dataset(self, node) -> bool:
        return _ox_key(node) in self.datasets

    def owners(self, node) -> list[tuple[Any, Any]]:
        if self._owners is None:  # only when a result is on a non-dataset node
            self._owners = {}
            for quad in self.quads:
                if quad.subject in self.datasets and not isinstance(quad.object, _literal_type()):
                    self._owners.setdefault(quad.object, []).append((quad.subject, quad.predicate))
        return [(_rdflib(s), URIRef(p.value)) for s, p in self._owners.get(_ox_key(node), [])]


@lru_cache(maxsize=1)
def _literal_type():
    import pyoxigraph as ox

    return ox.Literal


def _ox_key(node):
    import pyoxigraph as ox

    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    if isinstance(node, URIRef):
        try:
            return ox.NamedNode(str(node))
        except ValueError:
            return None
    return None


def _as_quads(materialised) -> tuple[str, list]:
    """The data as N-Triples text (for rudof) and as Oxigraph quads (for the SPARQL store)."""
    import pyoxigraph as ox

    if isinstance(materialised, Graph):
        # rdflib writes each blank node with its own id, so that results name the graph's nodes
        text = materialised.serialize(format="nt")
        return text, list(ox.parse(text, format=ox.RdfFormat.N_TRIPLES))
    if isinstance(materialised, (str, bytes)):
        text = materialised.decode("utf-8") if isinstance(materialised, bytes) else materialised
        return text, list(ox.parse(text, format=ox.RdfFormat.N_TRIPLES))
    quads = [q if isinstance(q, ox.Quad) else ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph())
             for q in materialised]
    quads = [q if isinstance(q.graph_name, ox.DefaultGraph) else ox.Quad(q.subject, q.predicate, q.object)
             for q in quads]
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS).decode("utf-8"), quads


def _sparql_results(profile: _Profile, quads: list, on: _dt.date, key: tuple) -> list[Result]:
    """Each SHACL-SPARQL constraint once over the batch, on Oxigraph."""
    import pyoxigraph as ox

    terms = {str(t) for t in _mirror_terms(key)} | {str(RDF.type), str(RDFS.subClassOf)}
    context = ox.NamedNode(str(CONTEXT_NODE))
    store = ox.Store()
    # the context node is the engine's, whatever the input says about it
    store.bulk_extend([q for q in quads if q.predicate.value in terms and q.subject != context])
    store.bulk_extend([*_code_list_quads(key), *_context_quads(on)])
    out = []
    for constraint in profile.sparql:
        for row in store.query(constraint.query):
            bound = {}
            for var in ("this", "value", "path"):
                if row[var] is not None:
                    bound[var] = row[var]
            focus = bound["this"]
            value = bound.get("value", focus)
            messages = []
            for template in constraint.messages:
                def fill(match, row=row):
                    term = row[match.group(1)]
                    return match.group(0) if term is None else _text(term)
                messages.append(Literal(_VARIABLE.sub(fill, str(template)), lang=template.language))
            path = bound.get("path")
            out.append(Result(
                shape=constraint.shape,
                severity=constraint.severity,
                focus=_rdflib(focus),
                path=None if path is None else _path_string(profile.shapes, _rdflib(path)),
                message=_message_items(messages),
                value=_rdflib(value),
                component=SH.SPARQLConstraintComponent,
            ))
    return out


def run_rudof(materialised, on: _dt.date, key: tuple[tuple[str, str], ...]) -> tuple[list[Result], OxIndex]:
    """The top-level results of validating `materialised` (rdflib Graph, N-Triples text, or
    Oxigraph quads/triples), and an index of the data to attribute them to datasets."""
    import pyoxigraph as ox

    profile = _profile(key)
    text, quads = _as_quads(materialised)
    results: dict[Result, None] = {}  # rudof reports some results twice: each counts once
    for shape, severity, focus, path, value, component in _session.validate(key, text):
        node = _node(shape)
        results[Result(
            shape=node,
            severity=severity,
            focus=_node(focus),
            path=None if path is None else profile.paths.get(node, path),
            message=profile.messages.get(node, ()),
            value=_term(value),
            component=None if component is None else URIRef(component),
        )] = None
    for result in _sparql_results(profile, quads, on, key):
        results[result] = None
    dataset_type, rdf_type = ox.NamedNode(str(DCAT.Dataset)), ox.NamedNode(str(RDF.type))
    datasets = {q.subject for q in quads if q.object == dataset_type and q.predicate == rdf_type}
    return list(results), OxIndex(quads, datasets)


def report_graph(results: Iterable[Result], shapes: Graph) -> Graph:
    """A SHACL validation report of the results (built when someone asks for the report)."""
    report = Graph()
    report.bind("sh", SH)
    top = BNode()
    report.add((top, RDF.type, SH.ValidationReport))
    conforms = True
    for result in results:
        node = BNode()
        conforms = conforms and result.severity != "Violation"
        report.add((top, SH.result, node))
        report.add((node, RDF.type, SH.ValidationResult))
        report.add((node, SH.focusNode, result.focus))
        report.add((node, SH.sourceShape, result.shape))
        report.add((node, SH.resultSeverity, SH[result.severity]))
        if result.value is not None:
            report.add((node, SH.value, result.value))
        if result.component is not None:
            report.add((node, SH.sourceConstraintComponent, result.component))
        for lang, text in result.message:
            report.add((node, SH.resultMessage, Literal(text, lang=lang)))
        path = shapes.value(result.shape, SH.path)
        if path is not None and _path_string(shapes, path) == result.path:
            report.add((node, SH.resultPath, path))
            if isinstance(path, BNode):
                _copy_path(shapes, path, report)
        elif result.path is not None and not result.path.startswith(("<", "(", "^")):
            report.add((node, SH.resultPath, URIRef(result.path)))
    report.add((top, SH.conforms, Literal(conforms)))
    return report


def _copy_path(shapes: Graph, node, report: Graph) -> None:
    for p, o in shapes.predicate_objects(node):
        report.add((node, p, o))
        if isinstance(o, BNode):
            _copy_path(shapes, o, report)
    if (node, RDF.first, None) in shapes:
        for item in Collection(shapes, node):
            if isinstance(item, BNode):
                _copy_path(shapes, item, report)
