"""The SHACL step of certification: the identification requirements of DOMAIN.md §4.

`validate()` checks descriptions, together with what the reasoner inferred about them
(`derivecert.reason`), against the shapes in `shapes/*.ttl` (one file per requirement family:
process P-01..P-09, quality Q-01..Q-08, security and privacy S-01..S-11, rights R-01..R-02) and
returns one `Finding` per reported defect, each naming one requirement ID and attributed to the
dataset it is about.

- What the shapes see: the materialised description(s); plus, for the three SHACL-SPARQL
  constraints (P-04, S-02, S-10), the code-list concepts with their facts (`dcert:rank`,
  `dcert:minimumGrade`, `skos:broader` ...) and one context node carrying the validation date,
  ``<urn:derivecert:certification> a dcert:CertificationActivity ; dct:date <on>`` (authorizations
  expire relative to it). Whatever the input says about that node is ignored.
- pySHACL runs once over the whole batch (no inference, no meta-SHACL at run time, warnings
  allowed); the materialised graph is read in place, never copied nor changed.
- Numeric thresholds come from a threshold profile (`shapes/thresholds.ttl` holds the defaults):
  `compiled_shapes()` writes the profile's values into the constraint nodes that carry
  `dcert:thresholdParameter`. Overrides are keyed by the parameter's local name, e.g.
  ``{"MinK": 7}``; `load_threshold_profile()` reads them from an RDF file.

Speed (pySHACL is the engine's bottleneck; see the notes on `_DataGraph`, `_FrozenGraph` and
`_patch_pyshacl`): the shapes are compiled and parsed once per threshold profile; the SHACL-SPARQL
constraints run on an in-memory Oxigraph mirror of the few triples they read, with the focus node
written into the query, instead of rdflib's SPARQL engine; shape-graph lookups are memoised; and
two pure functions of pySHACL that it recomputes per focus node are memoised or skipped. The shapes
themselves carry their targets on the property shapes, so that pySHACL evaluates each of them once
over all its focus nodes (shapes/common.ttl).
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.paths import Path as RDFPath
from rdflib.namespace import DCAT, DCTERMS, RDF, SH, XSD

from .errors import ConfigurationError, InputError
from .resources import code_lists, shapes_source_graph
from .vocab import DCERT

__all__ = [
    "CONTEXT_NODE",
    "Finding",
    "Validation",
    "compiled_shapes",
    "load_threshold_profile",
    "shape_requirements",
    "threshold_defaults",
    "validate",
]

#: The node that carries the validation date for the SHACL-SPARQL constraints (P-04).
CONTEXT_NODE = URIRef("urn:derivecert:certification")

_SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
_SHAPE_LINKS = (SH.property, SH.node, SH["not"], SH.qualifiedValueShape)
_SHAPE_LISTS = (SH["or"], SH["and"], SH.xone)


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """One reported defect: the requirement it breaks, on which dataset, where and why."""

    requirement: str
    severity: str  # "Violation" | "Warning"
    focus: Any  # rdflib node: the dataset under certification
    path: str | None  # full IRI of the result path, or a SPARQL-like string for complex paths
    message: dict[str, str] = field(compare=False)  # {"zh": ..., "en": ...}; not compared
    shape: str  # IRI of the shape that reported it
    value: str | None = None


@dataclass
class Validation:
    conforms: bool
    report: Graph
    findings: list[Finding] = field(default_factory=list)

    def for_focus(self, focus) -> list[Finding]:
        """The findings attributed to one dataset."""
        return [f for f in self.findings if f.focus == focus]


# --------------------------------------------------------------------------------------------
# Threshold profile
# --------------------------------------------------------------------------------------------

def _parameters(graph: Graph) -> dict[str, tuple[URIRef, URIRef, Literal]]:
    """Local name -> (parameter IRI, SHACL parameter it sets, default value) from the shapes."""
    out: dict[str, tuple[URIRef, URIRef, Literal]] = {}
    for param in graph.subjects(RDF.type, DCERT.ThresholdParameter):
        if not isinstance(param, URIRef) or not str(param).startswith(str(DCERT)):
            continue
        shacl = graph.value(param, DCERT.shaclParameter)
        default = graph.value(param, RDF.value)
        if not isinstance(shacl, URIRef) or not isinstance(default, Literal):
            raise ConfigurationError(f"threshold parameter {param} lacks dcert:shaclParameter or rdf:value",
                                     hint="fix shapes/thresholds.ttl")
        out[str(param)[len(str(DCERT)):]] = (param, shacl, default)
    return out


def threshold_defaults() -> dict[str, float]:
    """The default value of every threshold parameter, by local name (from shapes/thresholds.ttl)."""
    return {name: float(default.toPython()) for name, (_, _, default) in _parameters(shapes_source_graph()).items()}


def _parameter_name(key: str, known: Mapping[str, Any]) -> str:
    name = str(key)
    for prefix in (str(DCERT), "dcert:"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if name not in known:
        raise ConfigurationError(f"unknown threshold parameter {key!r}",
                                 hint=f"use one of: {', '.join(sorted(known))}")
    return name


def _number(value: Any, name: str) -> Decimal:
    if isinstance(value, bool):
        raise ConfigurationError(f"threshold {name} must be a number, not {value!r}")
    try:
        number = Decimal(str(value.toPython() if isinstance(value, Literal) else value))
    except (InvalidOperation, ValueError, TypeError):
        raise ConfigurationError(f"threshold {name} must be a number, not {value!r}") from None
    if not number.is_finite():
        raise ConfigurationError(f"threshold {name} must be a finite number, not {value!r}")
    return number


def _normalise(thresholds: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if not thresholds:
        return ()
    known = _parameters(shapes_source_graph())
    items = {}
    for key, value in thresholds.items():
        name = _parameter_name(key, known)
        number = _number(value, name)
        if number == _number(known[name][2], name):
            items.pop(name, None)  # the default: same profile, same cache entry
        else:
            items[name] = str(number.normalize())
    return tuple(sorted(items.items()))


def load_threshold_profile(path: str | Path) -> dict[str, float]:
    """Read a threshold profile file (Turtle, or any RDF syntax rdflib knows by its suffix).

    The profile states values as ``dcert:MinK rdf:value 7 .`` (or, equivalently,
    ``[] dcert:thresholdParameter dcert:MinK ; rdf:value 7 .``). Returns the overrides by local
    name, ready for `validate(..., thresholds=...)`. Unknown parameters are an error.
    """
    path = Path(path)
    graph = Graph()
    fmt = None if path.suffix.lower() not in {".ttl", ".turtle", ""} else "turtle"
    try:
        graph.parse(path, format=fmt)
    except FileNotFoundError:
        raise ConfigurationError(f"threshold profile not found: {path}") from None
    except Exception as exc:  # rdflib raises many parser-specific types
        raise ConfigurationError(f"threshold profile {path} is not valid RDF: {exc}",
                                 hint="write it in Turtle: dcert:MinK rdf:value 7 .") from None
    known = _parameters(shapes_source_graph())
    out: dict[str, float] = {}
    for subject, value in graph.subject_objects(RDF.value):
        if isinstance(subject, URIRef) and str(subject).startswith(str(DCERT)):
            name = _parameter_name(str(subject), known)
        else:
            param = graph.value(subject, DCERT.thresholdParameter)
            if param is None:
                continue
            name = _parameter_name(str(param), known)
        if name in out:
            raise ConfigurationError(f"threshold profile {path} gives {name} twice")
        out[name] = float(_number(value, name))
    return out


def _threshold_literal(value: str, default: Literal) -> Literal:
    number = Decimal(value)
    if default.datatype in (XSD.integer, XSD.int, XSD.long) and number == number.to_integral_value():
        return Literal(int(number), datatype=XSD.integer)
    return Literal(number, datatype=XSD.decimal)


class _FrozenGraph(Graph):
    """A shapes graph that no longer changes, with its triple-pattern lookups memoised.

    pySHACL re-reads shape parameters, RDF lists (sh:in, sh:or) and property paths from the shapes
    graph every time it evaluates a nested shape, i.e. once per focus or value node. The compiled
    shapes never change after compilation, so each distinct lookup is answered from a cache.
    Adding or removing a triple empties the cache (nothing does after compilation).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lookups: dict = {}

    def triples(self, triple):
        s, p, o = triple
        if isinstance(p, RDFPath):
            return super().triples(triple)
        key = (s, p, o)
        found = self._lookups.get(key)
        if found is None:
            found = tuple(super().triples(triple))
            self._lookups[key] = found
        return iter(found)

    def add(self, triple):
        self._lookups.clear()
        return super().add(triple)

    def addN(self, quads):  # noqa: N802 - rdflib's name
        self._lookups.clear()
        return super().addN(quads)

    def remove(self, triple):
        self._lookups.clear()
        return super().remove(triple)


@lru_cache(maxsize=16)
def _compiled(key: tuple[tuple[str, str], ...]) -> Graph:
    source = shapes_source_graph()
    graph = _FrozenGraph()
    for prefix, ns in source.namespaces():
        graph.bind(prefix, ns, override=True)
    graph += source
    params = _parameters(source)
    overrides = dict(key)
    for node, param in list(graph.subject_objects(DCERT.thresholdParameter)):
        name = str(param)[len(str(DCERT)):] if str(param).startswith(str(DCERT)) else None
        if name not in params:
            raise ConfigurationError(f"shape node {node} names an unknown threshold parameter {param}",
                                     hint="declare it in shapes/thresholds.ttl")
        _, shacl_param, default = params[name]
        value = _threshold_literal(overrides[name], default) if name in overrides else default
        graph.remove((node, shacl_param, None))
        graph.add((node, shacl_param, value))
    return graph


def compiled_shapes(thresholds: Mapping[str, float] | None = None) -> Graph:
    """The shapes graph with a threshold profile applied (cached per profile; treat as read-only).

    Every constraint node carrying ``dcert:thresholdParameter P`` gets P's SHACL parameter
    (sh:minInclusive / sh:maxInclusive) set to P's value: the override given by P's local name in
    `thresholds`, else P's default from shapes/thresholds.ttl.
    """
    return _compiled(_normalise(thresholds))


def shape_requirements(shapes: Graph | None = None) -> dict:
    """Shape node -> requirement ID, for every shape reachable from a shape that names one.

    A nested (blank) shape inherits the requirement of the named shape above it.
    """
    shapes = compiled_shapes() if shapes is None else shapes
    out: dict = {}
    for named, req in shapes.subject_objects(DCERT.requirement):
        stack = [named]
        while stack:
            node = stack.pop()
            if node in out:
                continue
            out[node] = str(req)
            for link in _SHAPE_LINKS:
                stack.extend(shapes.objects(node, link))
            for link in _SHAPE_LISTS:
                for head in shapes.objects(node, link):
                    stack.extend(Collection(shapes, head))
            stack.extend(shapes.objects(node, SH.sparql))
    return out


# --------------------------------------------------------------------------------------------
# pySHACL plumbing
# --------------------------------------------------------------------------------------------

_SKOLEM = "urn:derivecert:shacl:"
_PROJECTED_THIS = re.compile(r"(SELECT\s+(?:DISTINCT\s+|REDUCED\s+)?)((?:[?$]\w+\s+)*?)[?$]this\b", re.IGNORECASE)
_IRI_IN_QUERY = re.compile(r"<([^<>\s]+)>")
_PNAME_IN_QUERY = re.compile(r"(?<![\w<?$])([A-Za-z][\w-]*):([A-Za-z_][\w-]*)")
_A_KEYWORD = re.compile(r"(?<![\w?$:<])a(?![\w:>])")


@lru_cache(maxsize=64)
def _query_template(text: str, bound: tuple) -> tuple:
    """The query text cut at its pre-bound variables ($this ...), which leave the projection.

    Returns text pieces and 1-tuples naming the variable whose value goes in between.
    """
    for name in bound:
        if name == "this":
            text = _PROJECTED_THIS.sub(r"\1\2", text, count=1)
    if not bound:
        return (text,)
    pattern = re.compile(r"[?$](%s)\b" % "|".join(re.escape(str(n)) for n in bound))
    parts: list = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(text[last:match.start()])
        parts.append((match.group(1),))
        last = match.end()
    parts.append(text[last:])
    return tuple(parts)


class _DataGraph(Graph):
    """The data graph pySHACL validates: a view of the materialised graph whose SPARQL runs on Oxigraph.

    The view shares the store of the materialised graph (nothing is copied, nothing is added to
    it): the core constraints read the description and its inferred triples only.

    pySHACL hands each SHACL-SPARQL constraint to the data graph as text, once per focus node.
    rdflib's SPARQL engine needs 3-10 ms for such a query even when prepared; Oxigraph needs
    0.1-0.6 ms. So the first query builds an in-memory Oxigraph mirror of what the constraints can
    read: the triples of the materialised graph with the predicates they name (rdf:type only with
    the classes they name), the code-list concepts with their facts (dcert:rank,
    dcert:minimumGrade, skos:broader, skos:notation ...) and the context node with the validation
    date. Each query runs there with the focus node written into its text, so that the optimiser
    starts from it. Blank nodes, and IRIs Oxigraph refuses, are mirrored as URNs and mapped back in
    the results.
    """

    def __init__(self, materialised: Graph, sparql_terms: frozenset, extra_quads: list):
        super().__init__(store=materialised.store, identifier=materialised.identifier)
        self._sparql_terms = sparql_terms
        self._extra_quads = extra_quads
        self._mirror = None
        self._to_ox: dict = {}
        self._from_ox: dict = {}
        self._lock = threading.Lock()

    # -- rdflib <-> Oxigraph terms -------------------------------------------------------------
    def _ox(self, term):
        import pyoxigraph as ox

        out = self._to_ox.get(term)
        if out is not None:
            return out
        if isinstance(term, URIRef):
            try:
                out = ox.NamedNode(str(term))
            except ValueError:
                out = ox.NamedNode(f"{_SKOLEM}iri:{len(self._from_ox)}")
                self._from_ox[out.value] = term
        elif isinstance(term, BNode):
            out = ox.NamedNode(f"{_SKOLEM}bnode:{len(self._from_ox)}")
            self._from_ox[out.value] = term
        else:
            value = str(term)
            if term.language:
                try:
                    out = ox.Literal(value, language=term.language)
                except ValueError:
                    out = ox.Literal(value)
            elif term.datatype is not None:
                out = ox.Literal(value, datatype=self._ox(term.datatype))
            else:
                out = ox.Literal(value)
        self._to_ox[term] = out
        return out

    def _rdflib(self, term):
        import pyoxigraph as ox

        if isinstance(term, ox.NamedNode):
            return self._from_ox.get(term.value) or URIRef(term.value)
        if isinstance(term, ox.BlankNode):
            return BNode(term.value)
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == str(XSD.string):
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))

    def _build_mirror(self):
        import pyoxigraph as ox

        terms = self._sparql_terms
        default = ox.DefaultGraph()
        quads = []
        for predicate in terms:
            pattern = (None, predicate, None) if predicate != RDF.type else None
            if pattern is None:
                triples = (t for cls in terms for t in self.triples((None, RDF.type, cls)))
            else:
                triples = self.triples(pattern)
            for s, p, o in triples:
                if s != CONTEXT_NODE:  # the context node is the engine's, whatever the input says
                    quads.append(ox.Quad(self._ox(s), self._ox(p), self._ox(o), default))
        quads.extend(self._extra_quads)
        store = ox.Store()
        store.bulk_extend(quads)
        return store

    # -- queries --------------------------------------------------------------------------------
    def query(self, query_object, processor="sparql", result="sparql", initNs=None,  # noqa: N803
              initBindings=None, use_store_provided=True, **kwargs):  # noqa: N803
        if not isinstance(query_object, str) or initNs:
            return super().query(query_object, processor, result, initNs, initBindings, use_store_provided, **kwargs)
        from rdflib.query import Result
        from rdflib.term import Variable

        with self._lock:
            if self._mirror is None:
                self._mirror = self._build_mirror()
            parts = _query_template(query_object, tuple(sorted(initBindings or {})))
            nodes = {name: str(self._ox(term)) for name, term in (initBindings or {}).items()}
            text = "".join(part if isinstance(part, str) else nodes[part[0]] for part in parts)
            solutions = self._mirror.query(text)
            variables = [Variable(v.value) for v in solutions.variables]
            bindings = []
            for solution in solutions:
                row = {}
                for var in variables:
                    value = solution[str(var)]
                    if value is not None:
                        row[var] = self._rdflib(value)
                bindings.append(row)
        out = Result("SELECT")
        out.vars = variables
        out.bindings = bindings
        return out


def _sparql_terms(shapes: Graph) -> frozenset:
    """Every IRI the SHACL-SPARQL constraints of `shapes` mention (expanded), for the mirror."""
    prefixes = {}
    for decl in shapes.objects(None, SH.declare):
        prefix, namespace = shapes.value(decl, SH.prefix), shapes.value(decl, SH.namespace)
        if prefix is not None and namespace is not None:
            prefixes[str(prefix)] = str(namespace)
    terms = set()
    for text in shapes.objects(None, SH.select):
        text = str(text)
        terms.update(URIRef(iri) for iri in _IRI_IN_QUERY.findall(text))
        for prefix, local in _PNAME_IN_QUERY.findall(text):
            if prefix in prefixes:
                terms.add(URIRef(prefixes[prefix] + local))
        if _A_KEYWORD.search(text):
            terms.add(RDF.type)
    return frozenset(terms)


_shapes_graph_lock = threading.Lock()
_patch_lock = threading.Lock()
_patched = False
_quiet = threading.local()


def _patch_pyshacl() -> None:
    """Three exact speed-ups of pySHACL and one correction, applied once per process.

    1. pySHACL checks a SHACL-SPARQL constraint's text (MINUS / VALUES / SERVICE / nested SELECT
       regexes) again for every focus node before binding $this, although the text never changes;
       on a query of a few lines the regexes backtrack for milliseconds. The check is a pure
       function of the text and of the variables that may be pre-bound, so the texts that passed
       are remembered.
    2. Every validation result, including the throw-away results of the members of sh:or / sh:not
       / sh:node, gets a human-readable description for pySHACL's text report. derivecert never
       reads that text (findings come from the report graph), so while derivecert.shacl runs
       (a thread-local flag) the description is left empty; other callers of pySHACL in the same
       process are not affected.
    3. For every shape it evaluates (nested shapes once per focus node), pySHACL finds the shape's
       constraint parameters by testing each of its predicates for membership in a list of ~40
       IRIs; the list is given a set for its membership test (same list, same order).
    4. Value-range constraints compare numbers as SPARQL does (`_numeric_promoting`).
    """
    global _patched
    with _patch_lock:
        if _patched:
            return
        _patched = True
        try:
            from pyshacl.constraints.constraint_component import ConstraintComponent
            from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper
        except ImportError:  # pragma: no cover - layout of another pySHACL version
            return
        check = getattr(SPARQLQueryHelper, "check_invalid_sparql", None)
        if check is not None:
            passed: set = set()

            def check_invalid_sparql(self, sparql_text, valuenode=None, extravars=None):
                key = (sparql_text, valuenode is not None, tuple(sorted(extravars or ())))
                if key in passed:
                    return True
                result = check(self, sparql_text, valuenode=valuenode, extravars=extravars)
                passed.add(key)
                return result

            SPARQLQueryHelper.check_invalid_sparql = check_invalid_sparql
        describe = getattr(ConstraintComponent, "make_v_result_description", None)
        if describe is not None:
            def make_v_result_description(self, *args, **kwargs):
                if getattr(_quiet, "active", False):
                    return ""
                return describe(self, *args, **kwargs)

            ConstraintComponent.make_v_result_description = make_v_result_description
        try:
            import pyshacl.shape as shape_module
            from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS, CONSTRAINT_PARAMETERS_MAP
        except ImportError:  # pragma: no cover
            return
        if getattr(shape_module, "CONSTRAINT_PARAMS", None) in (None, (None, None)):
            shape_module.CONSTRAINT_PARAMS = (_SetBackedList(ALL_CONSTRAINT_PARAMETERS), CONSTRAINT_PARAMETERS_MAP)
        try:
            import pyshacl.constraints.core.value_range_constraints as value_range
        except ImportError:  # pragma: no cover
            return
        value_range.compare_literal = _numeric_promoting(value_range.compare_literal)


def _numeric_promoting(compare):
    """pySHACL's literal comparison with SPARQL's numeric type promotion (DOMAIN.md §4, A4).

    SHACL defines sh:minInclusive and its kin by SPARQL's operators (SHACL §4.4), which compare
    numbers by value after XPath type promotion: an xsd:decimal compared with an xsd:double is
    promoted to a double, so 0.95 as a double (every JSON-LD number) meets ">= 0.95". pySHACL
    compares the Python values exactly (float 0.95 < Decimal("0.95")); this compares them as
    SPARQL does. Other literals are compared as pySHACL does.
    """
    def compare_literal(l1, l2):
        v1, v2 = l1.value, l2.value
        numeric = (int, float, Decimal)
        if (isinstance(v1, numeric) and isinstance(v2, numeric) and not isinstance(v1, bool)
                and not isinstance(v2, bool) and (isinstance(v1, float) or isinstance(v2, float))):
            f1, f2 = float(v1), float(v2)
            return 0 if f1 == f2 else (1 if f1 > f2 else -1)
        return compare(l1, l2)

    return compare_literal


class _SetBackedList(list):
    """A list whose `in` test uses a set of its (hashable, fixed) items."""

    def __init__(self, items):
        super().__init__(items)
        self._members = frozenset(self)

    def __contains__(self, item) -> bool:
        return item in self._members


@lru_cache(maxsize=16)
def _pyshacl_shapes(key: tuple[tuple[str, str], ...]):
    """The pySHACL ShapesGraph of a profile, parsed once (its shapes are read lazily and kept)."""
    from pyshacl.shapes_graph import ShapesGraph

    shapes_graph = ShapesGraph(_compiled(key), debug=False)
    shapes_graph.shapes  # noqa: B018 - parse the shapes now, once
    return shapes_graph


def _run_pyshacl(data: Graph, key: tuple[tuple[str, str], ...]) -> tuple[bool, Graph]:
    from pyshacl import Validator
    from pyshacl.graph_abstraction import DataGraph
    from pyshacl.monkey import apply_patches
    from pyshacl.validator import assign_baked_in

    apply_patches()
    assign_baked_in()
    _patch_pyshacl()
    options = {
        "inference": "none",
        "inplace": True,
        "abort_on_first": False,
        "allow_infos": True,
        "allow_warnings": True,
        "advanced": False,
        "iterate_rules": False,
        "use_js": False,
        "sparql_mode": False,
        "focus_nodes": None,
        "use_shapes": None,
        "debug": False,
    }
    compiled = _compiled(key)
    validator = Validator(DataGraph.from_rdflib(data), shacl_graph=compiled, options=options)
    # Reuse the parsed shapes of this profile instead of re-reading them on every call. One
    # validation at a time per process: the parsed shapes are shared (pySHACL keeps no per-run
    # state in them, but it was not written for concurrent use).
    with _shapes_graph_lock:
        validator.shacl_graph = _pyshacl_shapes(key)
        _quiet.active = True
        try:
            conforms, report, _text = validator.run()
        finally:
            _quiet.active = False
    return bool(conforms), report


# --------------------------------------------------------------------------------------------
# Report -> findings
# --------------------------------------------------------------------------------------------

def _path_string(graph: Graph, path) -> str | None:
    """A result path as a string: the IRI of a predicate path, SPARQL syntax for the others."""
    if path is None:
        return None
    if isinstance(path, URIRef):
        return str(path)
    return _sparql_path(graph, path)


def _sparql_path(graph: Graph, node) -> str:
    if isinstance(node, URIRef):
        return f"<{node}>"
    first = graph.value(node, RDF.first)
    if first is not None or node == RDF.nil:
        return "/".join(_wrap(graph, item) for item in Collection(graph, node))
    alt = graph.value(node, SH.alternativePath)
    if alt is not None:
        return "|".join(_wrap(graph, item) for item in Collection(graph, alt))
    for prop, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = graph.value(node, prop)
        if inner is not None:
            return f"{_wrap(graph, inner)}{suffix}"
    inverse = graph.value(node, SH.inversePath)
    if inverse is not None:
        return f"^{_wrap(graph, inverse)}"
    return str(node)


def _wrap(graph: Graph, node) -> str:
    text = _sparql_path(graph, node)
    return text if isinstance(node, URIRef) or text.startswith("^") else f"({text})"


@lru_cache(maxsize=256)
def _template(text: str) -> re.Pattern:
    """A regular expression matching a message template with its {?var} / {$var} filled in."""
    parts = re.split(r"\{[?$][A-Za-z_][A-Za-z0-9_]*\}", text)
    return re.compile("(?s)" + ".*?".join(re.escape(part) for part in parts) + "$")


def _language(literal) -> str | None:
    lang = getattr(literal, "language", None)
    return lang.split("-")[0].lower() if lang else None


def _messages(report: Graph, result, shapes: Graph) -> dict[str, str]:
    """The result's messages by language.

    pySHACL drops the language tag of a message whose {?var} it substitutes (SHACL-SPARQL), so an
    untagged message is matched against the tagged templates it came from: those of the SPARQL
    constraint first, then those of the shape.
    """
    out: dict[str, str] = {}
    untagged = []
    for message in report.objects(result, SH.resultMessage):
        lang = _language(message)
        if lang:
            out.setdefault(lang, str(message))
        else:
            untagged.append(str(message))
    if untagged:
        templates = []
        for source in (report.value(result, SH.sourceConstraint), report.value(result, SH.sourceShape)):
            if source is not None:
                templates.extend(m for m in shapes.objects(source, SH.message) if _language(m))
        for template in templates:
            lang = _language(template)
            if lang in out:
                continue
            pattern = _template(str(template))
            match = next((m for m in untagged if pattern.match(m)), None)
            if match is not None:
                out[lang] = match
        if untagged:  # a message no template explains: keep the contract of one text per language
            for lang in ("zh", "en"):
                out.setdefault(lang, untagged[0])
    return out


def _owners(data: Graph, node) -> list[tuple[Any, list]]:
    """The datasets that have a non-dataset node as their own (a quality measurement of the dataset),
    with the predicate leading to it. A node reached only through another node (the performance
    measurement of the model an activity used) belongs to no dataset: Q-02 reads the dataset's own
    measurements (DOMAIN.md §4.2, A3)."""
    return [(subject, [predicate]) for subject, predicate in data.subject_predicates(node)
            if (subject, RDF.type, DCAT.Dataset) in data]


def _joined_path(chain: list, path: str | None) -> str:
    """The SPARQL path from a dataset through `chain` to a node, followed by the node's result path."""
    steps = [f"<{p}>" for p in chain]
    if path:
        steps.append(f"({path})" if path.startswith(("<", "(", "^")) else f"<{path}>")
    return "/".join(steps)


def _findings(report: Graph, requirements: Mapping, shapes: Graph, data: Graph) -> list[Finding]:
    """One Finding per top-level validation result, attributed to the dataset it is about.

    A result whose focus is not a dcat:Dataset (Q-02 targets quality measurements) is attributed to
    the dataset(s) that have the node directly, its path prefixed with the predicate leading there;
    a result on a node no dataset has directly is not a finding.
    """
    findings = set()
    results = [r for top in report.subjects(RDF.type, SH.ValidationReport) for r in report.objects(top, SH.result)]
    for result in results:
        shape = report.value(result, SH.sourceShape)
        requirement = requirements.get(shape)
        if requirement is None:
            raise ConfigurationError(f"the shape {shape} that reported a result names no requirement",
                                     hint="every shape must carry dcert:requirement (shapes/*.ttl)")
        severity = _SEVERITIES.get(report.value(result, SH.resultSeverity), "Violation")
        value = report.value(result, SH.value)
        focus = report.value(result, SH.focusNode)
        path = _path_string(report, report.value(result, SH.resultPath))
        message = _messages(report, result, shapes)
        owners = [(focus, None)]
        if (focus, RDF.type, DCAT.Dataset) not in data:
            owners = _owners(data, focus)  # none: the result concerns no dataset
        for owner, chain in owners:
            findings.add(Finding(
                requirement=requirement,
                severity=severity,
                focus=owner,
                path=path if chain is None else _joined_path(chain, path),
                message=message,
                shape=str(shape),
                value=None if value is None else str(value),
            ))
    return sorted(findings, key=lambda f: (str(f.focus), f.requirement, f.severity, f.path or "", f.shape, f.value or ""))


@lru_cache(maxsize=16)
def _requirements(key: tuple[tuple[str, str], ...]) -> dict:
    return shape_requirements(_compiled(key))


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------

@lru_cache(maxsize=16)
def _mirror_terms(key: tuple[tuple[str, str], ...]) -> frozenset:
    return _sparql_terms(_compiled(key))


@lru_cache(maxsize=16)
def _code_list_quads(key: tuple[tuple[str, str], ...]) -> tuple:
    """The code-list facts the SPARQL constraints read, as Oxigraph quads (built once)."""
    import pyoxigraph as ox

    terms = _mirror_terms(key)
    convert = _DataGraph(Graph(), terms, [])
    return tuple(ox.Quad(convert._ox(s), convert._ox(p), convert._ox(o), ox.DefaultGraph())
                 for s, p, o in code_lists() if p in terms and (p != RDF.type or o in terms))


def _context_quads(on: _dt.date) -> list:
    import pyoxigraph as ox

    node = ox.NamedNode(str(CONTEXT_NODE))
    return [
        ox.Quad(node, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(DCERT.CertificationActivity)), ox.DefaultGraph()),
        ox.Quad(node, ox.NamedNode(str(DCTERMS.date)), ox.Literal(on.isoformat(), datatype=ox.NamedNode(str(XSD.date))),
                ox.DefaultGraph()),
    ]


def _data_graph(materialised: Graph, on: _dt.date, key: tuple[tuple[str, str], ...] = ()) -> Graph:
    if type(materialised) is not Graph and not isinstance(materialised, _DataGraph):
        # a Dataset / ConjunctiveGraph: validate the union of its triples as one graph
        flat = Graph()
        flat += materialised
        materialised = flat
    return _DataGraph(materialised, _mirror_terms(key), [*_code_list_quads(key), *_context_quads(on)])


def validate(materialised: Graph, *, on: _dt.date | None = None,
             thresholds: Mapping[str, float] | None = None) -> Validation:
    """Validate materialised descriptions (one or a whole batch) against the requirements.

    `materialised` is the description(s) plus the inferred triples, as returned by
    ``derivecert.reason.get_reasoner(...).materialise(graph)``. `on` is the validation date
    (default: today); `thresholds` overrides threshold parameters by local name.
    """
    if not isinstance(materialised, Graph):
        raise InputError("validate() needs an rdflib Graph of materialised descriptions")
    on = on or _dt.date.today()
    if isinstance(on, _dt.datetime):
        on = on.date()
    key = _normalise(thresholds)
    data = _data_graph(materialised, on, key)
    conforms, report = _run_pyshacl(data, key)
    findings = _findings(report, _requirements(key), _compiled(key), data)
    conforms = not any(f.severity == "Violation" for f in findings)
    return Validation(conforms=conforms, report=report, findings=findings)
