"""Facts the engine states for the axioms: strict defaults (DOMAIN.md §3.4, A2; 就高从严) and
literal values (HealthDCAT-AP ages and counts).

OWL reasons under the open world and, as OWL 2 RL, reads no literal: no axiom can conclude that a
description does *not* declare a granularity or a grade, nor compare an age with 14. The engine
states those facts as marker types, the only facts it adds to a description, and the ontology
draws every consequence (derivecert-classification.ttl, derivecert-alignments.ttl):

- the types the CONSTRUCT rules of ontology/rules/*.rq give (`dcert:TypicalAgeUnder14`,
  `dcert:CountsUniqueIndividuals`), read from HealthDCAT-AP literals;

- `dcert:GranularityNotDeclared` on each dataset of the description that has no
  `dcert:subjectGranularity`; with a grade D0-D2 it makes the data individual-level;
- `dcert:GradeNotStated` on each dataset with a source that, after a first reasoning pass, has no
  grade, declared or inferred; it makes the level rules treat the data as D0 (S-01 still reports
  the missing grade).

`notices()` says, in the result, which default was applied to a dataset: the classes the defaults
lead to carry the message (`skos:scopeNote`, zh and en) in the ontology.
"""

from __future__ import annotations

from functools import lru_cache

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, RDF, SKOS

from .rdfstore import add_all, by_subject, index
from .resources import ontology_graph, rule_queries
from .vocab import DCERT

#: The classes whose membership means a default was applied, in the order notices are listed.
DEFAULT_CLASSES = (DCERT.IndividualLevelByDefault, DCERT.GradeNotStated)


@lru_cache(maxsize=1)
def _rules() -> tuple:
    from rdflib.plugins.sparql import prepareQuery

    return tuple(prepareQuery(path.read_text(encoding="utf-8")) for path in rule_queries())


# The facts below are plain lists of (s, p, o) terms, not rdflib graphs: a Graph's namespace
# manager binds rdflib's ≈ 30 default prefixes when it is first used, and `graph + graph` made
# three of them per certification (≈ 3 ms of a single certification's ≈ 11).


def rule_facts(description: Graph) -> list[tuple]:
    """The types the literal-reading rules (ontology/rules/*.rq) give the description's nodes."""
    # prepared queries need no prefixes; without `initNs`, rdflib would read the graph's namespaces
    # (and make its namespace manager, if it has none yet, for nothing)
    return list(dict.fromkeys(triple for rule in _rules() for triple in description.query(rule, initNs=_NO_PREFIXES)))


_NO_PREFIXES = {"dcert": DCERT}  # not empty: an empty mapping counts as none given


def granularity_markers(description: Graph) -> list[tuple]:
    """`a dcert:GranularityNotDeclared` for each dataset of the description with no granularity."""
    reads = index(description)
    return [(ds, RDF.type, _GRANULARITY_NOT_DECLARED) for ds in list(reads.subjects(RDF.type, DCAT.Dataset))
            if not reads.objects(ds, _SUBJECT_GRANULARITY)]


def grade_markers(description: Graph, materialised: Graph) -> list[tuple]:
    """`a dcert:GradeNotStated` for each dataset with a source that has no grade after reasoning."""
    inferred = index(materialised)
    return [(ds, RDF.type, _GRADE_NOT_STATED) for ds in list(index(description).subjects(RDF.type, DCAT.Dataset))
            if (ds, RDF.type, _SOURCED_DATASET) in inferred and not inferred.objects(ds, _GRADE)]


_GRANULARITY_NOT_DECLARED, _SUBJECT_GRANULARITY = DCERT.GranularityNotDeclared, DCERT.subjectGranularity
_GRADE_NOT_STATED, _SOURCED_DATASET, _GRADE = DCERT.GradeNotStated, DCERT.SourcedDataset, DCERT.deidentificationGrade


def materialise(reasoner, description: Graph) -> Graph:
    """The description with what `reasoner` infers from it and from the facts stated here.

    A dataset with no grade is known only after reasoning, so its marker needs a second pass; that
    pass reasons over the part of the description connected to such datasets only (their sources,
    activities and the datasets derived from them: all a level can depend on), and its conclusions
    are added to the first pass's (reasoning is monotonic, so nothing is withdrawn)."""
    markers = granularity_markers(description) + rule_facts(description)
    materialised = reasoner.materialise(description, markers)
    no_grade = grade_markers(description, materialised)
    if no_grade:
        part = _connected(description, {s for s, _, _ in no_grade})
        nodes = {s for s, _ in by_subject(part)}
        part_markers = [triple for triple in markers if triple[0] in nodes]
        add_all(materialised, reasoner.infer(part, part_markers + no_grade))  # `part` is in it already
    return materialised


def _connected(description: Graph, start: set) -> Graph:
    """The triples of the description about the nodes linked to `start`, in either direction, through
    the resources the description describes (not through types, code-list concepts or other terms
    that many descriptions merely mention, such as an access-right IRI)."""
    shared = _ontology_terms()
    reads = index(description)  # the store's indexes: not a walk of every triple
    described = {s for s, _ in by_subject(description)}
    seen, stack = set(start), list(start)
    while stack:
        node = stack.pop()
        linked = [o for p, objects in reads.predicate_objects(node).items() if p != RDF.type for o in objects]
        linked += list(reads.subject_predicates(node))
        for other in linked:
            if other in seen or other not in described or other in shared:
                continue
            seen.add(other)
            stack.append(other)
    part = Graph(store="SimpleMemory")
    add_all(part, ((node, p, o) for node in seen for p, objects in reads.predicate_objects(node).items() for o in objects))
    return part


@lru_cache(maxsize=1)
def _ontology_terms() -> frozenset:
    return frozenset(term for triple in ontology_graph() for term in triple if isinstance(term, URIRef))


@lru_cache(maxsize=1)
def _messages() -> dict:
    onto = ontology_graph()
    return {cls: {note.language: str(note) for note in onto.objects(cls, SKOS.scopeNote)} for cls in DEFAULT_CLASSES}


def notices(materialised: Graph, ds) -> list[dict]:
    """The defaults applied to `ds`, as §6 notices (term: the class that applied it; message zh/en)."""
    return [{"term": str(cls), "message": dict(_messages()[cls])}
            for cls in DEFAULT_CLASSES if (ds, RDF.type, cls) in materialised]
