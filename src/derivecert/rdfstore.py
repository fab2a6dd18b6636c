"""Fast paths over rdflib's SimpleMemory store, the store the engine parses batches into.

rdflib yields every triple through three generator layers and a per-triple contexts generator;
on a batch of 100k triples that is most of the cost of copying or serialising a graph. These
helpers read the store's indexes directly when the graph is a SimpleMemory one, and fall back to
rdflib's public API otherwise (same triples, same text)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from typing import Any

from rdflib import Graph
from rdflib.plugins.stores.memory import SimpleMemory

_INDEXES = ("_SimpleMemory__spo", "_SimpleMemory__pos", "_SimpleMemory__osp")


class Layered(SimpleMemory):
    """A SimpleMemory store over another one (`base`, never written here): reads see the triples of
    both, writes go to this store's own indexes, skipping what `base` holds, so no triple is in both.

    The materialised graph is the description with the reasoner's conclusions: laid over the
    description's store it costs no copy of the description's indexes (≈ 100k triples a part of 250
    descriptions, and as many containers more for the cyclic collector to walk and free). The
    description must not change while the materialised graph is read (the engine never changes it)."""

    def __init__(self, base: SimpleMemory):
        super().__init__()
        self.base = base

    def add(self, triple, context, quoted: bool = False) -> None:
        s, p, o = triple
        if o not in getattr(self.base, _INDEXES[0]).get(s, _NONE).get(p, _NONE):
            super().add(triple, context, quoted)

    def remove(self, triple_pattern, context=None) -> None:
        raise NotImplementedError("a materialised graph is read-only over its description")

    def triples(self, triple_pattern, context=None):
        yield from self.base.triples(triple_pattern, context)
        yield from super().triples(triple_pattern, context)

    def __len__(self, context=None) -> int:  # SimpleMemory's counts through self.triples: both layers
        own = sum(len(objects) for by_predicate in getattr(self, _INDEXES[0]).values() for objects in by_predicate.values())
        return len(self.base) + own


def _layers(graph: Graph) -> tuple | None:
    """The SimpleMemory stores whose indexes hold the graph's triples (one, or a Layered store and
    its base), or None for any other store (read through rdflib's API)."""
    store = graph.store
    if type(store) is SimpleMemory:
        return (store,)
    if type(store) is Layered and type(store.base) is SimpleMemory:
        return (store.base, store)
    return None


def triples(graph: Graph) -> Iterator[tuple]:
    """Every triple of the graph."""
    layers = _layers(graph)
    if layers is None:
        yield from graph
        return
    for store in layers:
        for s, by_predicate in getattr(store, _INDEXES[0]).items():
            for p, objects in by_predicate.items():
                for o in objects:
                    yield s, p, o


def add_all(graph: Graph, triples: Iterable[tuple]) -> None:
    """Add (s, p, o) triples of terms rdflib made (not checked again) to the graph; into a
    SimpleMemory store's three indexes directly (SimpleMemory.add, a call and six try blocks a
    triple, costs ≈ 1.6× as much: the parse adds every triple of a batch)."""
    layers = _layers(graph)
    if layers is None:
        graph.addN((s, p, o, graph) for s, p, o in triples)
        return
    spo, pos, osp = (getattr(layers[-1], name) for name in _INDEXES)
    base = getattr(layers[0], _INDEXES[0]) if len(layers) > 1 else None
    for s, p, o in triples:
        if base is not None and o in base.get(s, _NONE).get(p, _NONE):
            continue  # the base holds it: a Layered store's layers never share a triple
        _put(spo, s, p, o)
        _put(pos, p, o, s)
        _put(osp, o, s, p)


def _put(index: dict, a, b, c) -> None:
    inner = index.get(a)
    if inner is None:
        index[a] = {b: {c: 1}}
        return
    last = inner.get(b)
    if last is None:
        inner[b] = {c: 1}
    else:
        last[c] = 1


def by_subject(source: Graph | Iterable[tuple]) -> Iterable[tuple[Any, Mapping[Any, Iterable]]]:
    """The triples grouped as (subject, {predicate: objects}): a SimpleMemory graph's own index,
    so a caller converts each subject and predicate once, not once per triple."""
    layers = _layers(source) if isinstance(source, Graph) else None
    if layers is not None:  # a subject of a Layered graph may come twice, once from each layer
        if len(layers) == 1:
            return getattr(layers[0], _INDEXES[0]).items()
        return chain.from_iterable(getattr(store, _INDEXES[0]).items() for store in layers)
    grouped: dict = {}
    for s, p, o in source:
        grouped.setdefault(s, {}).setdefault(p, []).append(o)
    return grouped.items()


_NONE: Mapping = {}


class Index:
    """Reads of a SimpleMemory graph by pattern, straight from its store's indexes ({s: {p: {o: 1}}}
    and the like: a dict lookup, ≈ 10× cheaper than rdflib's generator layers). The indexes are the
    store's own, live: never written here (the store keeps them in step)."""

    def __init__(self, graph: Graph):
        self.spo, self.pos, self.osp = (getattr(graph.store, name) for name in _INDEXES)

    def objects(self, s, p) -> Iterable:
        return self.spo.get(s, _NONE).get(p, _NONE)

    def value(self, s, p):
        """One object of (s, p), or None."""
        return next(iter(self.objects(s, p)), None)

    def subjects(self, p, o) -> Iterable:
        return self.pos.get(p, _NONE).get(o, _NONE)

    def predicate_objects(self, s) -> Mapping[Any, Iterable]:
        """{predicate: objects} of a subject."""
        return self.spo.get(s, _NONE)

    def subject_objects(self, p) -> Iterator[tuple]:
        return ((s, o) for o, subjects in self.pos.get(p, _NONE).items() for s in subjects)

    def subject_predicates(self, o) -> Mapping[Any, Iterable]:
        """{subject: predicates} of an object."""
        return self.osp.get(o, _NONE)

    def predicates(self) -> Iterable:
        """Every predicate, once."""
        return self.pos.keys()

    def all_objects(self) -> Iterable:
        """Every object, once."""
        return self.osp.keys()

    def has_predicate(self, p) -> bool:
        return p in self.pos

    def __contains__(self, triple: tuple) -> bool:
        s, p, o = triple
        return o in self.spo.get(s, _NONE).get(p, _NONE)


class LayeredIndex(Index):
    """The same reads over a Layered store's two layers (the description, and the conclusions laid
    over it): a read merges the two only when both have something (the conclusions are about few
    keys: a type or a property value of the description's nodes)."""

    def __init__(self, graph: Graph):
        base, own = _layers(graph) or ()  # index() makes one only for a Layered graph
        self.spo, self.pos, self.osp = (getattr(base, name) for name in _INDEXES)
        self.up_spo, self.up_pos, self.up_osp = (getattr(own, name) for name in _INDEXES)

    def objects(self, s, p) -> Iterable:
        below = self.spo.get(s, _NONE).get(p, _NONE)
        above = self.up_spo.get(s, _NONE).get(p, _NONE)
        return (below | above if below else above) if above else below

    def subjects(self, p, o) -> Iterable:
        below = self.pos.get(p, _NONE).get(o, _NONE)
        above = self.up_pos.get(p, _NONE).get(o, _NONE)
        return (below | above if below else above) if above else below

    def predicate_objects(self, s) -> Mapping[Any, Iterable]:
        return _merged(self.spo.get(s, _NONE), self.up_spo.get(s, _NONE))

    def subject_objects(self, p) -> Iterator[tuple]:
        return chain(super().subject_objects(p),
                     ((s, o) for o, subjects in self.up_pos.get(p, _NONE).items() for s in subjects))

    def subject_predicates(self, o) -> Mapping[Any, Iterable]:
        return _merged(self.osp.get(o, _NONE), self.up_osp.get(o, _NONE))

    def predicates(self) -> Iterable:
        return self.pos.keys() | self.up_pos.keys()

    def all_objects(self) -> Iterable:
        return self.osp.keys() | self.up_osp.keys()

    def has_predicate(self, p) -> bool:
        return p in self.pos or p in self.up_pos

    def __contains__(self, triple: tuple) -> bool:
        s, p, o = triple
        return o in self.spo.get(s, _NONE).get(p, _NONE) or o in self.up_spo.get(s, _NONE).get(p, _NONE)


def _merged(below: Mapping, above: Mapping) -> Mapping:
    """{key: {value: 1}} of two layers as one (a new dict only when both have the key)."""
    if not above:
        return below
    if not below:
        return above
    out = dict(below)
    for key, values in above.items():
        out[key] = out[key] | values if key in out else values
    return out


class Patterns(Index):
    """The same reads over any other graph, through rdflib's triple patterns."""

    def __init__(self, graph: Graph):  # no indexes to borrow: Index.__init__ is not called
        self.graph = graph

    def objects(self, s, p) -> Iterable:
        return list(self.graph.objects(s, p))

    def subjects(self, p, o) -> Iterable:
        return list(self.graph.subjects(p, o))

    def predicate_objects(self, s) -> Mapping[Any, Iterable]:
        return _grouped(self.graph.predicate_objects(s))

    def subject_predicates(self, o) -> Mapping[Any, Iterable]:
        return _grouped(self.graph.subject_predicates(o))

    def subject_objects(self, p) -> Iterator[tuple]:
        return iter(self.graph.subject_objects(p))

    def predicates(self) -> Iterable:
        return set(self.graph.predicates(unique=True))

    def all_objects(self) -> Iterable:
        return set(self.graph.objects(unique=True))

    def has_predicate(self, p) -> bool:
        return (None, p, None) in self.graph

    def __contains__(self, triple: tuple) -> bool:
        return triple in self.graph


def _grouped(pairs: Iterable[tuple]) -> dict:
    out: dict = {}
    for a, b in pairs:
        out.setdefault(a, []).append(b)
    return out


def index(graph: Graph | Index) -> Index:
    """Reads by pattern of a graph: its store's indexes when it has them (SimpleMemory)."""
    if isinstance(graph, Index):
        return graph
    layers = _layers(graph)
    if layers is None:
        return Patterns(graph)
    return Index(graph) if len(layers) == 1 else LayeredIndex(graph)


def union(data: Graph, more: Iterable[tuple] = ()) -> Graph:
    """A new graph holding `data` and the triples `more` (terms rdflib made: not checked again);
    `data` is not modified. Over a SimpleMemory `data`, a Layered store: `more` laid over `data`'s
    store, which is read in place, not copied (so `data` must not change while the result is read);
    any other `data` is copied into a new SimpleMemory graph."""
    if type(data.store) is SimpleMemory:  # a Layered `data` is copied: layers are one deep
        out = Graph(store=Layered(data.store))
    else:
        out = Graph(store="SimpleMemory")
        add_all(out, data)
    add_all(out, more)
    return out
