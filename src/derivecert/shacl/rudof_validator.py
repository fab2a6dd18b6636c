"""pyrudof (rudof, a SHACL validator in Rust) as the validator, with SHACL-SPARQL once per batch.

The core shapes run on rudof; the three SHACL-SPARQL constraints (P-04, S-02, S-10) are taken out
of the shapes rudof reads and each is evaluated once for the whole batch on an in-memory Oxigraph
store (the constraint's query with `$this` left free and joined to the instances of the shape's
target class), instead of once per focus node. The store holds the code-list facts and the
context node carrying the validation date, as pySHACL's mirror does (`pyshacl_adapter._DataGraph`).

The data is split once into what each part can read (`rudof_data`: what the core shapes and the
SPARQL constraints name, as `_reads` finds in the profile's shapes).

What rudof's report lacks is taken from the shapes: the messages with their language tags (rudof
adds an untagged default message of its own) and the structure of a complex result path. rudof
reports some results twice: results count once. A `Rudof` session keeps its data across
`read_data` calls unless reset, and reading into a reset session costs ≈ 0.3 s, so each run reads
its data into a staging frame rolled back after it; one run at a time per process.

Parity with pySHACL (the reference engine, `derivecert.shacl.pyshacl_adapter`) is a test:
tests/test_shacl_parity.py runs both on the fixture corpus and a generated batch.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD

from ..errors import ConfigurationError, InputError
from ..parse import to_rdflib
from .findings import DataIndex, Result, _path_string
from .pyshacl_adapter import _code_list_quads, _context_quads, _mirror_terms
from .rudof_data import _SKOLEM, Data, Reads, split
from .thresholds import _compiled

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


# how the helper dies when an allocation fails: Rust's allocation error handler, or Python's
_OUT_OF_MEMORY = re.compile(r"^memory allocation of \d+ bytes failed$|^MemoryError\b", re.M)


def _validate_in_subprocess(shapes: str, ntriples: str) -> list:
    proc = subprocess.run([sys.executable, "-I", "-c", _HELPER], input=json.dumps([shapes, ntriples]),
                          capture_output=True, text=True, check=False, preexec_fn=_die_with_parent)
    if proc.returncode != 0:
        if _OUT_OF_MEMORY.search(proc.stderr):
            # the helper inherits its caller's memory limit (a bounded worker's, sandbox.limit_memory):
            # an allocation that failed there is that limit, reported as the caller's own would be
            raise MemoryError("rudof's subprocess ran out of memory")
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


def _sparql_results(profile: _Profile, data: Data, on: _dt.date, key: tuple) -> list[Result]:
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


@lru_cache(maxsize=16)
def _reads(key: tuple) -> Reads:
    """What each part can read: every IRI the core shapes mention (SHACL Core reaches data only
    through the paths and classes it names), and the IRIs the SHACL-SPARQL constraints can read
    (predicates and classes, their target classes too)."""
    profile = _profile(key)
    core = frozenset(str(t) for triple in profile.core for t in triple if isinstance(t, URIRef))
    sparql = {str(t) for t in _mirror_terms(key)} | {c for constraint in profile.sparql for c in constraint.classes}
    return Reads.of(core, frozenset(sparql), closed=(None, SH.closed, Literal(True)) in profile.core)


def prepare(key: tuple[tuple[str, str], ...]) -> None:
    """Everything of a profile a run needs, computed and read here without validating, so that
    processes forked from this one start with it (see `_Session`)."""
    _reads(key)
    _session.prepare(key)


def run_rudof(materialised, on: _dt.date, key: tuple[tuple[str, str], ...]) -> tuple[list[Result], DataIndex]:
    """The top-level results of validating `materialised` (rdflib Graph, N-Triples text, or
    Oxigraph quads/triples), and an index of the data to attribute them to datasets."""
    profile = _profile(key)
    data = split(materialised, _reads(key))
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
