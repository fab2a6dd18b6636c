"""OWL 2 RL over a description without re-closing the ontology (issue 14).

`reasonable` closes whatever it is given on every call, ontology included: ≈ 20 ms of fixed cost a
call, most of a single certification. Here the ontology is closed once per process (by `reasonable`
itself, the reference OWL 2 RL engine), and its closed axioms are compiled into the instance rules
of the OWL 2 RL profile (W3C OWL 2 Profiles §4.3, tables 5-6) that the ontology's constructs call for:

- cax-sco / cax-eqc: a type brings every superclass of the closed hierarchy (equivalences included);
- prp-dom, prp-rng, prp-spo1: domains, ranges, super-properties;
- cls-hv1 / cls-hv2: `owl:hasValue` restrictions, both ways;
- cls-svf1 / cls-svf2: `owl:someValuesFrom` restrictions;
- cls-int1, cls-int2, cls-uni: `owl:intersectionOf` and `owl:unionOf`.

The rules run forward (semi-naive: each new fact is joined once) over plain strings, the data's
facts joined with the closed ontology's. It is real reasoning over the ontology's axioms: nothing
about a class is written here, and a change to the ontology changes the rules.

`compile_rules()` refuses an ontology using anything else (property chains, inverse or transitive
properties, `owl:sameAs`, ...), and `Rules.infer()` refuses a description that states axioms of its
own (a `rdfs:subClassOf`, a restriction ...): the engine then falls back to `reasonable` over
ontology and description (derivecert.reason.RLReasoner), so the conclusions never depend on which
path ran (tests/test_engine_parity.py compares them on the whole fixture corpus).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
TYPE = RDF + "type"
THING = OWL + "Thing"

# Axioms the compiled rules implement; any other OWL construct in the ontology means "not compiled".
_AXIOMS = {RDFS + "subClassOf", OWL + "equivalentClass", RDFS + "domain", RDFS + "range", RDFS + "subPropertyOf",
           OWL + "onProperty", OWL + "hasValue", OWL + "someValuesFrom", OWL + "intersectionOf", OWL + "unionOf",
           RDF + "first", RDF + "rest"}
_DECLARATIONS = {OWL + "Class", OWL + "Restriction", OWL + "ObjectProperty", OWL + "DatatypeProperty",
                 OWL + "AnnotationProperty", OWL + "Ontology", OWL + "NamedIndividual", RDFS + "Class", RDF + "Property",
                 OWL + "Thing", RDFS + "Resource", RDFS + "Datatype"}
# The predicates and classes by which a description would state axioms of its own (RDF/RDFS/OWL
# vocabulary other than rdf:type and the annotations).
_HARMLESS = {TYPE, RDFS + "label", RDFS + "comment", RDFS + "seeAlso", RDFS + "isDefinedBy", OWL + "versionInfo"}


class NotCompiled(Exception):
    """The ontology or the description uses a construct the compiled rules do not implement."""


@dataclass
class Rules:
    """The instance rules of a closed ontology, and its closed facts (strings)."""

    supers: dict = field(default_factory=dict)        # class -> its superclasses (itself excluded)
    domains: dict = field(default_factory=dict)       # property -> classes
    ranges: dict = field(default_factory=dict)        # property -> classes
    superprops: dict = field(default_factory=dict)    # property -> super-properties
    has_value: dict = field(default_factory=dict)     # restriction -> [(property, value)]
    by_value: dict = field(default_factory=dict)      # (property, value) -> restrictions
    some: dict = field(default_factory=dict)          # property -> [(filler, restriction)]
    some_by_filler: dict = field(default_factory=dict)  # filler -> [(property, restriction)]
    intersections: dict = field(default_factory=dict)   # member class -> [(intersection, members)]
    facts: dict = field(default_factory=dict)         # subject -> {(p, o)} of the closed ontology
    types: dict = field(default_factory=dict)         # subject -> {class} of the closed ontology
    subjects: dict = field(default_factory=dict)      # (p, o) -> {subject} of the closed ontology

    def infer(self, triples) -> set:
        """Every fact that holds about the nodes of `triples` ((s, p, o) strings, no literals):
        theirs, the closed ontology's and what the rules derive (the caller keeps what it needs)."""
        new: set = set()
        types: dict = defaultdict(set)
        subjects: dict = defaultdict(set)
        queue, mentioned = [], set()
        for s, p, o in triples:
            mentioned.add(s)
            mentioned.add(o)
            if (p not in _HARMLESS and p.startswith((RDF, RDFS, OWL))) or (p == TYPE and o.startswith(OWL) and o not in _DECLARATIONS):
                raise NotCompiled(f"the description states an axiom ({p} {o})")
            queue.append((s, p, o))
        known = self.types.get
        while queue:
            fact = queue.pop()
            if fact in new:
                continue
            s, p, o = fact
            new.add(fact)
            if p == TYPE:
                if o in types[s]:
                    continue
                types[s].add(o)
                for sup in self.supers.get(o, ()):
                    queue.append((s, TYPE, sup))
                for prop, value in self.has_value.get(o, ()):
                    queue.append((s, prop, value))
                for prop, restriction in self.some_by_filler.get(o, ()):
                    for x in subjects.get((prop, s), ()):
                        queue.append((x, TYPE, restriction))
                    for x in self.subjects.get((prop, s), ()):
                        queue.append((x, TYPE, restriction))
                for intersection, members in self.intersections.get(o, ()):
                    have = types[s] | known(s, set())
                    if all(m in have for m in members):
                        queue.append((s, TYPE, intersection))
                continue
            subjects[(p, o)].add(s)
            for cls in self.domains.get(p, ()):
                queue.append((s, TYPE, cls))
            for cls in self.ranges.get(p, ()):
                queue.append((o, TYPE, cls))
            for sup in self.superprops.get(p, ()):
                queue.append((s, sup, o))
            for restriction in self.by_value.get((p, o), ()):
                queue.append((s, TYPE, restriction))
            if p in self.some:
                have = types.get(o, set()) | known(o, set()) | {THING}
                for filler, restriction in self.some[p]:
                    if filler in have:
                        queue.append((s, TYPE, restriction))
        # what the closed ontology states about the nodes the description mentions
        for node in mentioned:
            for p, o in self.facts.get(node, ()):
                new.add((node, p, o))
        return new


def compile_rules(closed) -> Rules:
    """The rules of an ontology closed by an OWL 2 RL reasoner: `closed` is its (s, p, o) strings,
    the closure's subclass and type facts included."""
    rules = Rules()
    by_subject: dict = defaultdict(lambda: defaultdict(list))
    for s, p, o in closed:
        by_subject[s][p].append(o)
        if p.startswith((RDFS, OWL)) and p not in _AXIOMS and p not in _HARMLESS:
            raise NotCompiled(f"the ontology uses {p}")
        if p == TYPE and o.startswith(OWL) and o not in _DECLARATIONS:
            raise NotCompiled(f"the ontology uses {o}")

    def items(head):
        out = []
        while head and head != RDF + "nil":
            out.extend(by_subject[head][RDF + "first"])
            head = (by_subject[head][RDF + "rest"] or [None])[0]
        return out

    def add(table, key, value):
        table.setdefault(key, []).append(value)

    for s, preds in by_subject.items():
        for sup in preds.get(RDFS + "subClassOf", ()):
            if sup != s:
                add(rules.supers, s, sup)
        for eq in preds.get(OWL + "equivalentClass", ()):
            if eq != s:
                add(rules.supers, s, eq)
                add(rules.supers, eq, s)
        for cls in preds.get(RDFS + "domain", ()):
            add(rules.domains, s, cls)
        for cls in preds.get(RDFS + "range", ()):
            add(rules.ranges, s, cls)
        for sup in preds.get(RDFS + "subPropertyOf", ()):
            if sup != s:
                add(rules.superprops, s, sup)
        for prop in preds.get(OWL + "onProperty", ()):
            for value in preds.get(OWL + "hasValue", ()):
                add(rules.has_value, s, (prop, value))
                add(rules.by_value, (prop, value), s)
            for filler in preds.get(OWL + "someValuesFrom", ()):
                add(rules.some, prop, (filler, s))
                add(rules.some_by_filler, filler, (prop, s))
        for head in preds.get(OWL + "intersectionOf", ()):
            members = tuple(items(head))
            for member in members:
                add(rules.intersections, member, (s, members))
                add(rules.supers, s, member)  # cls-int2
        for head in preds.get(OWL + "unionOf", ()):
            for member in items(head):
                add(rules.supers, member, s)  # cls-uni
        for p, objects in preds.items():
            for o in objects:
                rules.facts.setdefault(s, set()).add((p, o))
                if p == TYPE:
                    rules.types.setdefault(s, set()).add(o)
                else:
                    rules.subjects.setdefault((p, o), set()).add(s)
    for table in (rules.supers, rules.domains, rules.ranges, rules.superprops):
        for key, values in table.items():
            table[key] = tuple(dict.fromkeys(values))
    return rules
