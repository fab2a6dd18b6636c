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

from .rdfstore import by_subject
from .resources import ontology_graph, rule_queries
from .vocab import DCERT

#: The classes whose membership means a default was applied, in the order notices are listed.
DEFAULT_CLASSES = (DCERT.IndividualLevelByDefault, DCERT.GradeNotStated)


@lru_cache(maxsize=1)
def _rules() -> tuple:
    from rdflib.plugins.sparql import prepareQuery

    return tuple(prepareQuery(path.read_text(encoding="utf-8")) for path in rule_queries())


def rule_facts(description: Graph) -> Graph:
    """The types the literal-reading rules (ontology/rules/*.rq) give the description's nodes."""
    out = Graph()
    for rule in _rules():
        for triple in description.query(rule):
            out.add(triple)
    return out


def granularity_markers(description: Graph) -> Graph:
    """`a dcert:GranularityNotDeclared` for each dataset of the description with no granularity."""
    out = Graph()
    for ds in set(description.subjects(RDF.type, DCAT.Dataset)):
        if (ds, DCERT.subjectGranularity, None) not in description:
            out.add((ds, RDF.type, DCERT.GranularityNotDeclared))
    return out


def grade_markers(description: Graph, materialised: Graph) -> Graph:
    """`a dcert:GradeNotStated` for each dataset with a source that has no grade after reasoning."""
    out = Graph()
    for ds in set(description.subjects(RDF.type, DCAT.Dataset)):
        if (ds, RDF.type, DCERT.SourcedDataset) in materialised and (ds, DCERT.deidentificationGrade, None) not in materialised:
            out.add((ds, RDF.type, DCERT.GradeNotStated))
    return out


def materialise(reasoner, description: Graph) -> Graph:
    """The description with what `reasoner` infers from it and from the facts stated here.

    A dataset with no grade is known only after reasoning, so its marker needs a second pass; that
    pass reasons over the part of the description connected to such datasets only (their sources,
    activities and the datasets derived from them: all a level can depend on), and its conclusions
    are added to the first pass's (reasoning is monotonic, so nothing is withdrawn)."""
    markers = granularity_markers(description) + rule_facts(description)
    materialised = reasoner.materialise(description, markers)
    no_grade = grade_markers(description, materialised)
    if len(no_grade):
        part = _connected(description, set(no_grade.subjects()))
        nodes = set(part.subjects())
        part_markers = Graph()
        part_markers.addN((s, p, o, part_markers) for s, p, o in markers if s in nodes)
        materialised += reasoner.infer(part, part_markers + no_grade)  # `part` is in it already
    return materialised


def _connected(description: Graph, start: set) -> Graph:
    """The triples of the description about the nodes linked to `start`, in either direction, through
    the resources the description describes (not through types, code-list concepts or other terms
    that many descriptions merely mention, such as an access-right IRI)."""
    shared = _ontology_terms()
    described = {s for s, _ in by_subject(description)}  # the store's index: not a walk of every triple
    seen, stack = set(start), list(start)
    while stack:
        node = stack.pop()
        linked = [o for p, o in description.predicate_objects(node) if p != RDF.type]
        linked += list(description.subjects(None, node))
        for other in linked:
            if other in seen or other not in described or other in shared:
                continue
            seen.add(other)
            stack.append(other)
    part = Graph()
    for node in seen:
        part.addN((node, p, o, part) for p, o in description.predicate_objects(node))
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
