"""pySHACL as the validator of the engine: its data graph, its SHACL-SPARQL on Oxigraph, its patches.

Speed (pySHACL is the engine's bottleneck; see the notes on `_DataGraph`, `thresholds._FrozenGraph`
and `_patch_pyshacl`): the shapes are compiled and parsed once per threshold profile; the
SHACL-SPARQL constraints run on an in-memory Oxigraph mirror of the few triples they read, with the
focus node written into the query, instead of rdflib's SPARQL engine; shape-graph lookups are
memoised; and two pure functions of pySHACL that it recomputes per focus node are memoised or
skipped. The patches are written against the pySHACL versions pyproject.toml allows;
`patches_applied()` says whether each took (tests/test_shacl_adapter.py fails if one did not).

Over 400 lines because the patches and the data graph they rely on belong together, so that the
version pin and the patch checks cover one file.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
from decimal import Decimal
from functools import lru_cache

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, SH, XSD

from ..parse import to_rdflib
from ..resources import code_lists
from ..vocab import DCERT
from .thresholds import _compiled

#: The node that carries the validation date for the SHACL-SPARQL constraints (P-04).
CONTEXT_NODE = URIRef("urn:derivecert:certification")

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

        if isinstance(term, ox.NamedNode) and term.value in self._from_ox:
            return self._from_ox[term.value]
        return to_rdflib(term)

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
        # A pySHACL whose layout differs (another version) leaves a patch out; patches_applied()
        # says which, and tests/test_shacl_adapter.py fails on it.
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

            SPARQLQueryHelper.check_invalid_sparql = _marked(check_invalid_sparql)
        describe = getattr(ConstraintComponent, "make_v_result_description", None)
        if describe is not None:
            def make_v_result_description(self, *args, **kwargs):
                if getattr(_quiet, "active", False):
                    return ""
                return describe(self, *args, **kwargs)

            ConstraintComponent.make_v_result_description = _marked(make_v_result_description)
        try:
            import pyshacl.shape as shape_module
            from pyshacl.constraints import (
                ALL_CONSTRAINT_PARAMETERS,
                CONSTRAINT_PARAMETERS_MAP,
            )
        except ImportError:  # pragma: no cover
            return
        shape_module.CONSTRAINT_PARAMS = (_SetBackedList(ALL_CONSTRAINT_PARAMETERS), CONSTRAINT_PARAMETERS_MAP)
        try:
            import pyshacl.constraints.core.value_range_constraints as value_range
        except ImportError:  # pragma: no cover
            return
        if hasattr(value_range, "compare_literal"):
            value_range.compare_literal = _marked(_numeric_promoting(value_range.compare_literal))


def _marked(function):
    function._derivecert_patch = True
    return function


def patches_applied() -> dict[str, bool]:
    """Whether each of the patches of `_patch_pyshacl` is in place where the installed pySHACL
    looks for it (a False: that pySHACL moved what the patch replaces; pin or port it)."""
    _patch_pyshacl()
    try:
        import pyshacl.constraints.core.value_range_constraints as value_range
        import pyshacl.shape as shape_module
        from pyshacl.constraints.constraint_component import ConstraintComponent
        from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper
    except ImportError:
        return dict.fromkeys(PATCHES, False)
    params = getattr(shape_module, "CONSTRAINT_PARAMS", (None, None))
    return {
        "check_invalid_sparql": _is_marked(getattr(SPARQLQueryHelper, "check_invalid_sparql", None)),
        "make_v_result_description": _is_marked(getattr(ConstraintComponent, "make_v_result_description", None)),
        "CONSTRAINT_PARAMS": isinstance(params[0], _SetBackedList),
        "compare_literal": _is_marked(getattr(value_range, "compare_literal", None)),
    }


def _is_marked(function) -> bool:
    return getattr(function, "_derivecert_patch", False) is True


#: The patches, by the name of what each replaces in pySHACL.
PATCHES = ("check_invalid_sparql", "make_v_result_description", "CONSTRAINT_PARAMS", "compare_literal")


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


def run_pyshacl(data: Graph, key: tuple[tuple[str, str], ...]) -> tuple[bool, Graph]:
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


def data_graph(materialised: Graph, on: _dt.date, key: tuple[tuple[str, str], ...] = ()) -> Graph:
    if (type(materialised) is not Graph and not isinstance(materialised, _DataGraph)) or not materialised.store.context_aware:
        # a Dataset / ConjunctiveGraph: validate the union of its triples as one graph; and pySHACL
        # wraps the data in a Dataset, which needs a context-aware store (the engine's are SimpleMemory)
        flat = Graph()
        flat += materialised
        materialised = flat
    return _DataGraph(materialised, _mirror_terms(key), [*_code_list_quads(key), *_context_quads(on)])
