"""pyrudof (rudof, a SHACL validator in Rust) as the validator, with SHACL-SPARQL once per batch.

The core shapes run on rudof; the three SHACL-SPARQL constraints (P-04, S-02, S-10) are taken out
of the shapes rudof reads and each is evaluated once for the whole batch on an in-memory Oxigraph
store (the constraint's query with `$this` left free and joined to the instances of the shape's
target class), instead of once per focus node. The store holds the code-list facts and the
context node carrying the validation date, as pySHACL's mirror does (`pyshacl_adapter._DataGraph`).

The data is split once into what each part can read: rudof gets the triples whose predicate, or
whose rdf:type class, the core shapes name (SHACL Core reaches data only through the paths and
classes it names; all of it for a shape with sh:closed, every type when the data states
subclasses); the store gets the triples the SPARQL constraints name, its blank nodes as IRIs
(Oxigraph's loader would rename them; results must name the data's nodes). An rdflib graph (the
engine's) is split from its store's index, each term written once and no text of the whole data
made; N-Triples text or quads line by line.

What rudof's report lacks is taken from the shapes: the messages with their language tags (rudof
adds an untagged default message of its own) and the structure of a complex result path. rudof
reports some results twice: results count once. A `Rudof` session keeps its data across
`read_data` calls unless reset, and reading into a reset session costs ≈ 0.3 s, so each run reads
its data into a staging frame rolled back after it; one run at a time per process.

Parity with pySHACL (the reference engine, `derivecert.shacl.pyshacl_adapter`) is a test:
tests/test_shacl_parity.py runs both on the fixture corpus and a generated batch.

Over 400 lines because rudof's session, the data split, the SHACL-SPARQL batch runner and the
repair of rudof's report (messages, paths) make one validator whose parts are private to it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCAT, RDF, RDFS, SH, XSD
from rdflib.plugins.serializers.nt import _quoteLiteral

from ..errors import ConfigurationError, InputError
from ..parse import to_rdflib
from ..rdfstore import by_subject
from .findings import DataIndex, GraphIndex, Result, _path_string
from .pyshacl_adapter import CONTEXT_NODE, _code_list_quads, _context_quads, _mirror_terms
from .thresholds import _compiled

# Blank nodes of the data as IRIs in the SPARQL store; random per process, so that no input IRI can
# pass for a blank node (and a finding on it go to no dataset).
_SKOLEM = f"urn:derivecert:shacl:bnode:{uuid.uuid4().hex}:"
_BASE_DATA = "<urn:derivecert:shacl:nothing> <urn:derivecert:shacl:nothing> <urn:derivecert:shacl:nothing> .\n"
_SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
_LITERAL = re.compile(r'^"(?P<lex>.*)"(?:\^\^(?P<dt><[^<>]*>|[A-Za-z][\w-]*:\S*)|@(?P<lang>[A-Za-z0-9-]+))?$', re.S)
_PREFIXES = {"xsd": str(XSD), "rdf": str(RDF), "rdfs": str(RDFS), "sh": str(SH)}
_VARIABLE = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class _SparqlConstraint:
    shape: URIRef
    severity: str
    classes: tuple[str, ...]  # its target classes
    query: str  # with ?this free and bound to the instances of the shape's target classes
    query_with_subclasses: str  # the same, with instances of their subclasses (rdfs:subClassOf in the data)
    messages: tuple[Literal, ...]  # tagged templates with {?var}


@dataclass(frozen=True)
class _Profile:
    """What a threshold profile's compiled shapes give each run, computed once."""

    core: Graph  # the shapes without their SHACL-SPARQL constraints
    core_shapes: str  # the same, N-Triples
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
    # the focus nodes first, as pySHACL finds them: instances of a target class (of a subclass too
    # when the data states subclasses; a subclass path costs more, the reasoner's types are closed)
    values = " VALUES ?derivecertTarget { " + " ".join(f"<{c}>" for c in classes) + " }"
    direct = values + f" ?this <{RDF.type}> ?derivecertTarget ."
    path = values + f" ?this <{RDF.type}>/<{RDFS.subClassOf}>* ?derivecertTarget ."

    def focused(targets: str) -> str:
        return "".join(prefixes) + text[:where.end()] + " { SELECT DISTINCT ?this WHERE {" + targets + "} }" + text[where.end():]
    messages = _tagged(shapes.objects(constraint, SH.message)) or _tagged(shapes.objects(shape, SH.message))
    severity = _SEVERITIES.get(shapes.value(shape, SH.severity), "Violation")
    return _SparqlConstraint(shape, severity, tuple(classes), focused(direct), focused(path), messages)


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
    return _Profile(core, core.serialize(format="nt"), tuple(sparql), messages, paths, shapes)


# rudof in a fresh interpreter: for a process forked from one where rudof validated (`_Session`).
_HELPER = """
import json, sys
import pyrudof
shapes, data = json.load(sys.stdin)
rudof = pyrudof.Rudof(pyrudof.RudofConfig())
rudof.read_shacl(shapes, pyrudof.ShaclFormat.NTriples, reader_mode=pyrudof.ReaderMode.Strict)
rudof.read_data(data, pyrudof.RDFFormat.NTriples, reader_mode=pyrudof.ReaderMode.Strict)
json.dump([[e.source_shape, e.severity, e.focus_node, e.path, e.value, e.constraint_component]
           for e in rudof.validate_shacl().violations], sys.stdout)
"""


def _die_with_parent() -> None:
    """In the helper, before it runs: killed with its parent (a bounded worker the sandbox kills
    takes its rudof helper along; Linux's PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):  # not Linux: the helper ends with its input anyway
        pass


def _validate_in_subprocess(shapes: str, ntriples: str) -> list:
    proc = subprocess.run([sys.executable, "-I", "-c", _HELPER], input=json.dumps([shapes, ntriples]),
                          capture_output=True, text=True, check=False, preexec_fn=_die_with_parent)
    if proc.returncode != 0:
        raise RuntimeError(f"rudof failed in its subprocess: {proc.stderr.strip()[-500:]}")
    return [tuple(row) for row in json.loads(proc.stdout)]


class _Session:
    """One rudof session per process, its shapes read once per profile (rudof is not re-entrant).

    rudof's first validation starts a thread pool; a process forked after that inherits the pool's
    state but not its threads, and a validation there would wait for them forever. So a session
    notes the process that validated; a forked child of it runs rudof in a fresh interpreter
    (≈ 0.1 s more a call); and a parent that forks workers reads the shapes without validating
    (`prepare`, `Engine.warm`): its children start with the shapes read and make their own pool.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.rudof: Any = None
        self.key: tuple | None = None
        self.validated_in: int | None = None  # the process whose pool rudof started

    def _load(self, key: tuple) -> None:
        import pyrudof

        if self.rudof is None:
            self.rudof = pyrudof.Rudof(pyrudof.RudofConfig())
            # a data graph that is never reset: reading data into a fresh one costs ≈ 0.3 s, into a
            # staging frame over this one ≈ 1 ms (its one triple is about nothing a shape reads)
            self.rudof.read_data(_BASE_DATA, pyrudof.RDFFormat.NTriples, reader_mode=pyrudof.ReaderMode.Strict)
        if self.key != key:
            self.rudof.reset_shacl()
            self.rudof.read_shacl(_profile(key).core_shapes, pyrudof.ShaclFormat.NTriples,
                                  reader_mode=pyrudof.ReaderMode.Strict)
            self.key = key

    def prepare(self, key: tuple) -> None:
        with self.lock:
            if self.validated_in is None:
                self._load(key)

    def validate(self, key: tuple, ntriples: str) -> list:
        import pyrudof

        with self.lock:
            if self.validated_in is not None and self.validated_in != os.getpid():
                return _validate_in_subprocess(_profile(key).core_shapes, ntriples)
            self._load(key)
            self.validated_in = os.getpid()
            # the run's data goes into a staging frame, rolled back after: a session otherwise keeps
            # the data of earlier calls
            self.rudof.begin_staging()
            try:
                try:
                    self.rudof.read_data(ntriples, pyrudof.RDFFormat.NTriples, reader_mode=pyrudof.ReaderMode.Strict,
                                         merge=True)
                except pyrudof.DataError as exc:
                    raise InputError(f"the data to validate is not N-Triples rudof can read: {exc}",
                                     hint="pass absolute IRIs and one triple a line, or validate with shacl='pyshacl'"
                                     ) from None
                report = self.rudof.validate_shacl()
                return [(e.source_shape, e.severity, e.focus_node, e.path, e.value, e.constraint_component)
                        for e in report.violations]
            finally:
                try:
                    self.rudof.rollback_staging()
                except Exception:  # the data could not be put back: start a new session next time
                    self.rudof, self.key = None, None
                    raise


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
    """An rdflib term from an Oxigraph term of the SPARQL store (skolemised blank nodes mapped back)."""
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode) and term.value.startswith(_SKOLEM):
        return BNode(term.value[len(_SKOLEM):])
    return to_rdflib(term)


def _text(term) -> str:
    """A term of a SPARQL solution as pySHACL writes it into a message (str() of the rdflib term)."""
    return str(_rdflib(term))


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
class _Data:
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


@lru_cache(maxsize=16)
def _read_sets(key: tuple) -> tuple[frozenset, frozenset, frozenset]:
    """Predicates the core shapes can read, classes whose rdf:type they can read (every IRI the
    shapes mention: SHACL Core reaches data only through the paths and classes it names), and
    IRIs the SHACL-SPARQL constraints can read (predicates and classes, their target classes too)."""
    profile = _profile(key)
    mentioned = frozenset(str(t) for triple in profile.core for t in triple if isinstance(t, URIRef))
    sparql = {str(t) for t in _mirror_terms(key)} | {c for constraint in profile.sparql for c in constraint.classes}
    return mentioned, mentioned, frozenset(sparql)


@lru_cache(maxsize=16)
def _read_terms(key: tuple) -> tuple[frozenset, frozenset, frozenset]:
    """`_read_sets` as rdflib IRIs (a set of strings does not find an rdflib term)."""
    predicates, classes, sparql = (frozenset(URIRef(iri) for iri in iris) for iris in _read_sets(key))
    return predicates, classes, sparql


def _split(text: str, key: tuple) -> _Data:
    """N-Triples text split line by line (`_split_graph` says what goes where)."""
    core_predicates, core_classes, sparql_terms = _read_sets(key)
    closed = (None, SH.closed, Literal(True)) in _profile(key).core
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
    return _Data("\n".join(core) + "\n", _skolemised("\n".join(sparql)), subclasses, TextIndex(text, datasets))


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


def _split_graph(graph: Graph, key: tuple) -> _Data:
    """The graph's triples that rudof can read (those whose predicate, or whose rdf:type class, the
    core shapes name; all of them for a shape with sh:closed; every rdf:type when the data states
    subclasses) and those the SHACL-SPARQL constraints can read (not the context node's: it is the
    engine's), written from the graph's own index subject by subject. Where a predicate or a class
    goes is decided once per term, and each term is written once."""
    core_predicates, core_classes, sparql_terms = _read_terms(key)
    closed = (None, SH.closed, Literal(True)) in _profile(key).core
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
    return _Data("".join(core), "".join(sparql), subclasses, GraphIndex(graph))


_TYPE = ("rdf:type",)  # the route of rdf:type: by its object, the class
_ENGINE_NODES = frozenset({CONTEXT_NODE})  # a set: membership costs no rdflib comparison on a miss


_SUBJECT_BNODE = re.compile(r"^([ \t]*)_:(\S+)", re.M)
_OBJECT_BNODE = re.compile(r"([ \t])_:(\S+)(?=[ \t]*\.[ \t]*$)", re.M)


def _skolemised(text: str) -> str:
    """Blank nodes as IRIs (Oxigraph's loader renames blank nodes; results must name the data's)."""
    text = _SUBJECT_BNODE.sub(lambda m: f"{m.group(1)}<{_SKOLEM}{m.group(2)}>", text)
    return _OBJECT_BNODE.sub(lambda m: f"{m.group(1)}<{_SKOLEM}{m.group(2)}>", text)


def _sparql_results(profile: _Profile, data: _Data, on: _dt.date, key: tuple) -> list[Result]:
    """Each SHACL-SPARQL constraint once over the batch, on Oxigraph."""
    import pyoxigraph as ox

    store = ox.Store()
    store.load(data.sparql, format=ox.RdfFormat.N_TRIPLES, lenient=True)
    store.bulk_extend([*_code_list_quads(key), *_context_quads(on)])
    out = []
    for constraint in profile.sparql:
        query = constraint.query_with_subclasses if data.subclasses else constraint.query
        for row in store.query(query):
            focus = row["this"]
            value = row["value"] if row["value"] is not None else focus
            messages = []
            for template in constraint.messages:
                def fill(match, row=row):
                    term = row[match.group(1)]
                    return match.group(0) if term is None else _text(term)
                messages.append(Literal(_VARIABLE.sub(fill, str(template)), lang=template.language))
            path = row["path"]
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


def prepare(key: tuple[tuple[str, str], ...]) -> None:
    """Everything of a profile a run needs, computed and read here without validating, so that
    processes forked from this one start with it (see `_Session`)."""
    _read_sets(key)
    _session.prepare(key)


def run_rudof(materialised, on: _dt.date, key: tuple[tuple[str, str], ...]) -> tuple[list[Result], DataIndex]:
    """The top-level results of validating `materialised` (rdflib Graph, N-Triples text, or
    Oxigraph quads/triples), and an index of the data to attribute them to datasets."""
    profile = _profile(key)
    data = _split_graph(materialised, key) if isinstance(materialised, Graph) else _split(_ntriples(materialised), key)
    results: dict[Result, None] = {}  # rudof reports some results twice: each counts once
    for shape, severity, focus, path, value, component in _session.validate(key, data.core):
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
    for result in _sparql_results(profile, data, on, key):
        results[result] = None
    return list(results), data.index


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
