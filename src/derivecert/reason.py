"""Classification by reasoning over the ontology (DOMAIN.md §3).

Two paths reach the same conclusions on the ontology's axiom subset (see
ontology/derivecert-classification.ttl):

- `rl` (default): OWL 2 RL forward chaining over a whole batch of descriptions at once: the
  ontology closed once per process by `reasonable` (Rust) and compiled into instance rules
  (`CompiledRLReasoner`, derivecert.rl_rules); `reasonable` over ontology + batch in one call
  (`RLReasoner`) where the rules do not apply, and as their parity reference.
- `hermit`: OWL 2 DL with HermiT through owlready2 (Java), complete, ≈0.4 s of JVM start per call.

Both return the description plus the inferred triples about its nodes: types and property values
(scenario, technique, grade, special category, level candidates...). Blank nodes are skolemised
on the way in and restored on the way out, since neither engine keeps blank-node labels.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterable
from functools import lru_cache
from itertools import chain

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from .errors import ReasonerError
from .resources import ontology_graph
from .rdfstore import by_subject, union
from .rl_rules import NotCompiled, Rules, compile_rules

_SKOLEM = "urn:derivecert:bnode:"
_ONTOLOGY_SKOLEM = "urn:derivecert:ontology-bnode:"  # the ontology's own (restriction) blank nodes
_SCHEMA_PREDICATES = {RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentClass, OWL.equivalentProperty,
                      RDFS.domain, RDFS.range, OWL.inverseOf, OWL.sameAs}


def _skolemise(triples) -> tuple[Graph, set]:
    """A graph of `triples` with blank nodes as URNs, and the set of its nodes (in skolem form)."""
    out = Graph()
    nodes: set = set()
    for s, p, o in triples:
        s2 = URIRef(_SKOLEM + s) if isinstance(s, BNode) else s
        o2 = URIRef(_SKOLEM + o) if isinstance(o, BNode) else o
        out.add((s2, p, o2))
        nodes.add(s2)
        if not isinstance(o2, Literal):
            nodes.add(o2)
    return out, nodes


def without_literals(graph: Graph) -> Graph:
    """The object-valued triples only.

    No classification axiom reads a literal or a datatype, and HermiT rejects datatypes outside
    the OWL 2 datatype map (xsd:date, xsd:duration...), which descriptions use everywhere.
    """
    out = Graph()
    for triple in graph:
        obj = triple[2]
        if isinstance(obj, BNode) or (isinstance(obj, URIRef) and not obj.startswith(str(XSD))):
            out.add(triple)
    return out


def _restore(term):
    if isinstance(term, URIRef) and term.startswith(_SKOLEM):
        return BNode(term[len(_SKOLEM):])
    return term


def _keep(triples, data_nodes: set, into: Graph, exclude: Graph | None = None) -> Graph:
    """Add to `into` the inferred facts about description nodes (types and object values)."""
    add = into.add
    for s, p, o in triples:
        if s not in data_nodes or p in _SCHEMA_PREDICATES or not isinstance(o, URIRef) or o.startswith(_ONTOLOGY_SKOLEM):
            continue  # literals are never inferred by the ontology; the data already has them
        if o == OWL.Thing or o == OWL.NamedIndividual:
            continue
        triple = (_restore(s), p, _restore(o))
        if exclude is None or triple not in exclude:
            add(triple)
    return into


# Annotations carry no OWL semantics (neither reasoner draws a conclusion from them), but they are
# most of the ontology's triples (labels, definitions, sources in two languages).
_ANNOTATIONS = {RDFS.label, RDFS.comment, RDFS.isDefinedBy, RDFS.seeAlso, OWL.versionInfo, OWL.versionIRI}


def rl_schema(ontology: Graph) -> tuple:
    """The ontology as `reasonable` needs it: (s, p, o) strings, blank nodes as URNs, without
    literals and annotations (declared `owl:AnnotationProperty` or RDFS/OWL annotations).

    `reasonable` cannot keep a closed ontology between calls (a reasoner is consumed by `reason()`,
    and its incremental mode re-derives everything), so every call re-closes what it is given:
    giving it only the axioms halves that fixed cost (tests/test_engine_parity.py checks that the
    conclusions are the same as with the whole ontology).
    """
    annotations = annotation_properties(ontology)
    return tuple((_ONTOLOGY_SKOLEM + s if isinstance(s, BNode) else str(s), str(p),
                  _ONTOLOGY_SKOLEM + o if isinstance(o, BNode) else str(o))
                 for s, p, o in ontology if not isinstance(o, Literal) and p not in annotations)


def annotation_properties(ontology: Graph) -> frozenset:
    return frozenset(_ANNOTATIONS | set(ontology.subjects(RDF.type, OWL.AnnotationProperty)))


class RLReasoner:
    """OWL 2 RL materialisation with `reasonable`."""

    name = "rl"

    def __init__(self, ontology: Graph | None = None, *, whole_ontology: bool = False):
        self._ontology = ontology if ontology is not None else ontology_graph()
        # `whole_ontology`: hand the reasoner every triple, as before (the parity tests' reference)
        self._schema = self._ontology if whole_ontology else list(rl_schema(self._ontology))

    def infer(self, data: Graph, extra: Iterable[tuple] = ()) -> Graph:
        """Only the inferred triples about the description's nodes (with `extra`, the facts the
        engine states about what the description leaves out: derivecert.defaults)."""
        triples, nodes = _strings(chain(data, extra or ()))
        return _keep(self._reason(triples), {URIRef(n) for n in nodes}, Graph(), exclude=data)

    def _reason(self, triples: list) -> list:
        """`reasonable` over the ontology's axioms and `triples`: every triple of the closure."""
        import reasonable

        reasoner = reasonable.PyReasoner()
        reasoner.from_graph(self._schema)
        reasoner.from_graph(triples)
        try:
            output = reasoner.reason()
        except Exception as exc:  # the Rust engine reports failures as plain exceptions
            raise ReasonerError(f"OWL 2 RL reasoning failed: {exc}", hint="check the description for malformed OWL constructs") from None
        return output

    def materialise(self, data: Graph, extra: Iterable[tuple] = ()) -> Graph:
        return union(data, self.infer(data, extra))  # the description is not modified


def _strings(triples, terms: dict | None = None) -> tuple[list, set]:
    """The triples (a graph or an iterable) as (s, p, o) strings and their nodes, without literals
    (no classification axiom reads one, and they are most of the cost of reasoning); blank nodes
    as URNs (neither engine keeps blank-node labels). `terms`, if given, maps each string back to
    its term. Each subject and predicate is converted once (triples grouped by subject)."""
    out, nodes = [], set()
    for s, by_predicate in by_subject(triples):
        s2 = None
        for p, objects in by_predicate.items():
            p2 = None
            for o in objects:
                if isinstance(o, Literal):
                    continue
                if s2 is None:
                    s2 = _SKOLEM + s if isinstance(s, BNode) else str(s)
                    nodes.add(s2)
                    if terms is not None:
                        terms[s2] = s
                if p2 is None:
                    p2 = str(p)
                    if terms is not None:
                        terms[p2] = p
                o2 = _SKOLEM + o if isinstance(o, BNode) else str(o)
                out.append((s2, p2, o2))
                nodes.add(o2)
                if terms is not None:
                    terms[o2] = o
    return out, nodes


_DROPPED = frozenset(map(str, _SCHEMA_PREDICATES))
_UNINFORMATIVE = frozenset((str(OWL.Thing), str(OWL.NamedIndividual)))


class CompiledRLReasoner(RLReasoner):
    """OWL 2 RL with the ontology closed once per process (derivecert.rl_rules): the default.

    A description that states axioms of its own, or an ontology outside the compiled constructs,
    is reasoned over by `reasonable` as before (RLReasoner), which is also the parity reference."""

    def __init__(self, ontology: Graph | None = None):
        super().__init__(ontology)
        closed = [(str(s), str(p), str(o)) for s, p, o in super()._reason([])]
        # the ontology's terms, made once: a conclusion reuses them (or the description's own terms)
        self._vocabulary = {text: URIRef(text) for triple in closed for text in triple}
        try:
            self._rules: Rules | None = compile_rules(closed)
        except NotCompiled:
            self._rules = None

    def infer(self, data: Graph, extra: Iterable[tuple] = ()) -> Graph:
        conclusions = self._conclusions(data, extra)
        if conclusions is None:
            return super().infer(data, extra)
        out = Graph()
        out.addN((s, p, o, out) for s, p, o in conclusions)
        return out

    def materialise(self, data: Graph, extra: Iterable[tuple] = ()) -> Graph:
        conclusions = self._conclusions(data, extra)
        if conclusions is None:
            return super().materialise(data, extra)
        return union(data, conclusions)  # the description is not modified

    def _conclusions(self, data: Graph, extra: Iterable[tuple]) -> list | None:
        """The inferred facts about the description's nodes (as RLReasoner.infer), or None where
        the rules do not apply (`reasonable` then reasons)."""
        if self._rules is None:
            return None
        terms = dict(self._vocabulary)  # and the description's own terms, by their strings
        stated, nodes = _strings(data, terms)
        added, more = _strings(extra or (), terms)
        try:
            facts = self._rules.infer(stated + added)
        except NotCompiled:
            return None
        nodes |= more
        return [(terms[s], terms[p], terms[o]) for s, p, o in facts.difference(stated)  # most facts are stated
                if s in nodes and p not in _DROPPED and o not in _UNINFORMATIVE
                and not o.startswith(_ONTOLOGY_SKOLEM)]


class HermitReasoner:
    """OWL 2 DL classification and property-value inference with HermiT (owlready2)."""

    name = "hermit"

    def __init__(self, ontology: Graph | None = None):
        self._ontology = ontology if ontology is not None else ontology_graph()
        if shutil.which("java") is None:
            raise ReasonerError("HermiT needs Java, and no `java` is on the PATH", hint="install a Java runtime (17 or newer) or use the rl reasoner")

    @lru_cache(maxsize=1)
    def _ontology_ntriples(self) -> bytes:
        return without_literals(self._ontology).serialize(format="nt", encoding="utf-8")

    def materialise(self, data: Graph, extra: Iterable[tuple] = ()) -> Graph:
        return union(data, self.infer(data, extra))  # the description is not modified

    def infer(self, data: Graph, extra: Iterable[tuple] = ()) -> Graph:
        """Only the inferred triples about the description's nodes (and `extra`, as for RL)."""
        import owlready2

        skolem, nodes = _skolemise(chain(data, extra or ()))
        world = owlready2.World()
        try:
            world.get_ontology("urn:derivecert:ontology").load(fileobj=io.BytesIO(self._ontology_ntriples()), format="ntriples")
            world.get_ontology("urn:derivecert:data").load(
                fileobj=io.BytesIO(without_literals(skolem).serialize(format="nt", encoding="utf-8")), format="ntriples")
            owlready2.sync_reasoner_hermit(world, infer_property_values=True, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError:
            raise ReasonerError("the description contradicts the ontology (HermiT: inconsistent)",
                                hint="look for a dataset typed with disjoint classes or an impossible value") from None
        except Exception as exc:
            raise ReasonerError(f"HermiT failed: {str(exc).strip().splitlines()[-1] if str(exc).strip() else exc}",
                                hint="retry with --reasoner rl, and report the description if it persists") from None
        inferred = list(world.as_rdflib_graph())
        world.close()
        # owlready2 keeps only the most specific inferred types: close them over the named class
        # hierarchy HermiT computed, so both paths return the same (complete) set of types.
        supers = _named_superclasses(inferred)
        closed = [(s, p, sup) for s, p, o in inferred if p == RDF.type for sup in supers.get(o, ())]
        # A vocabulary class used as a value (dpv:hasData dpv:AnonymisedData: OWL 2 punning) comes
        # back from owlready2 with its superclasses as rdf:type (dpv:AnonymisedData a dcat:Dataset);
        # neither OWL 2 DL nor the RL path entails that, so facts about ontology classes are dropped.
        return _keep(inferred + closed, nodes - self._ontology_classes(), Graph(), exclude=data)

    @lru_cache(maxsize=1)
    def _ontology_classes(self) -> frozenset:
        return frozenset(s for s in self._ontology.subjects(RDF.type, OWL.Class) if isinstance(s, URIRef))


def _named_superclasses(triples) -> dict:
    """Transitive named superclasses of each named class, from subClassOf / equivalentClass."""
    direct: dict = {}
    for s, p, o in triples:
        if isinstance(s, URIRef) and isinstance(o, URIRef):
            if p == RDFS.subClassOf:
                direct.setdefault(s, set()).add(o)
            elif p == OWL.equivalentClass:
                direct.setdefault(s, set()).add(o)
                direct.setdefault(o, set()).add(s)
    closure: dict = {}
    for start in direct:
        seen, stack = set(), [start]
        while stack:
            for sup in direct.get(stack.pop(), ()):
                if sup not in seen:
                    seen.add(sup)
                    stack.append(sup)
        closure[start] = seen
    return closure


def get_reasoner(name: str = "rl"):
    """The reasoner by name; both share the process-wide ontology graph."""
    if name == "rl":
        return _rl()
    if name == "hermit":
        return HermitReasoner()
    raise ReasonerError(f"unknown reasoner {name!r}", hint="use 'rl' (fast, default) or 'hermit' (complete OWL 2 DL)")


@lru_cache(maxsize=1)
def _rl() -> RLReasoner:
    return CompiledRLReasoner()
