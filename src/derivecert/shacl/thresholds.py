"""Threshold profiles and the compiled shapes graph (DOMAIN.md §4: numeric thresholds).

Numeric thresholds live only in `shapes/thresholds.ttl`; a profile overrides them by the
parameter's local name (``{"MinK": 7}``, or an RDF file read by `load_threshold_profile()`).
`compiled_shapes()` writes a profile's values into the constraint nodes that carry
`dcert:thresholdParameter`, once per profile, into a `_FrozenGraph` whose lookups are memoised.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, XSD
from rdflib.paths import Path as RDFPath

from ..errors import ConfigurationError
from ..resources import shapes_source_graph
from ..vocab import DCERT

_SHAPE_LINKS = (SH.property, SH.node, SH["not"], SH.qualifiedValueShape)
_SHAPE_LISTS = (SH["or"], SH["and"], SH.xone)


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



@lru_cache(maxsize=16)
def _requirements(key: tuple[tuple[str, str], ...]) -> dict:
    return shape_requirements(_compiled(key))
