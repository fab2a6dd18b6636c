"""Classification of datasets (DOMAIN.md §3), read from the reasoner's conclusions.

Everything here reads inferred facts. The only decisions taken in Python are the two the axioms
cannot take (docs/DESIGN.md): the level is the highest inferred candidate by `dcert:rank`
(就高从严), and "primary" is derived data that is not secondary (closed-world complement).
Why each fact holds: derivecert.explain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import DCAT, PROV, RDF

from .codes import codebook
from .rdfstore import Index, index
from .resources import ontology_graph
from .vocab import DCERT


@dataclass
class Classification:
    scenario: list[str] = field(default_factory=list)
    technique: list[str] = field(default_factory=list)
    granularity: str | None = None
    modality: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    special: list[str] = field(default_factory=list)
    deidentification_grade: str | None = None
    sensitivity_level: str | None = None
    level_candidates: list[str] = field(default_factory=list)
    personal_information: bool = False

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class DatasetClassification:
    dataset: URIRef | BNode
    is_sourced: bool
    is_derived: bool
    is_copy: bool
    derivation_depth: str | None
    types: list[str]
    classification: Classification

    @property
    def not_derived(self) -> bool:
        """DOMAIN.md §5: no source, or only GT-COPY."""
        return not self.is_sourced or (self.is_copy and not self.is_derived)


def datasets(graph: Graph) -> list:
    return sorted(set(graph.subjects(RDF.type, DCAT.Dataset)), key=str)


@lru_cache(maxsize=1)
def _technique_types() -> dict[URIRef, URIRef]:
    """Class -> technique (read-only: shared by every classification of the process)."""
    onto = ontology_graph()
    return {cls: tech for tech, cls in onto.subject_objects(DCERT.yieldsType)}


@lru_cache(maxsize=1)
def _type_order() -> dict[URIRef, int]:
    book = codebook()
    return {cls: book.by_iri[tech].order if tech in book.by_iri else 99 for cls, tech in _technique_types().items()}


def classify_dataset(graph: Graph | Index, ds, first: dict | None = None) -> DatasetClassification:
    """Read one dataset's classification from a materialised graph (or its `rdfstore.index`, read
    once for a batch's datasets).

    `first` (IRI -> position in the source document, see parse.document_order) keeps the author's
    order of codes in the lists; without it they follow the code lists' order."""
    book, g = codebook(), index(graph)
    types = set(g.objects(ds, RDF.type))
    activities = list(g.objects(ds, PROV.wasGeneratedBy))
    techniques = {t for a in activities for t in g.objects(a, DCERT.generationTechnique)}
    grades = book.sort(g.objects(ds, DCERT.deidentificationGrade))
    # Several grades can only be a conflict (S-01 reports it); the least protective one is kept,
    # as GB/T 43697's 就高从严 would have it.
    ranked = [gr for gr in grades if book.by_iri.get(gr) and book.by_iri[gr].rank is not None]
    grade = min(ranked, key=lambda gr: book.by_iri[gr].rank) if ranked else (grades[0] if grades else None)
    is_sourced = DCERT.SourcedDataset in types
    candidates = [c for c in g.objects(ds, DCERT.levelCandidate) if c in book.by_iri]
    if is_sourced:
        level = max(candidates, key=lambda c: book.by_iri[c].rank) if candidates else None
    else:  # sources declare their level; it is never computed for them
        declared = [lv for lv in g.objects(ds, DCERT.sensitivityLevel) if lv in book.by_iri]
        level = max(declared, key=lambda c: book.by_iri[c].rank) if declared else None
    granularity = book.sort(g.objects(ds, DCERT.subjectGranularity))
    is_derived = DCERT.DerivedData in types
    depth = ("secondary" if DCERT.SecondaryDerivedData in types else "primary") if is_derived else None
    order = _type_order()
    technique_of = _technique_types()
    written = {t: (first or {}).get(technique_of.get(t), float("inf")) for t in types if t in order}
    type_names = sorted(written, key=lambda t: (written[t], order[t], str(t)))
    return DatasetClassification(
        dataset=ds,
        is_sourced=is_sourced,
        is_derived=is_derived,
        is_copy=DCERT.CopyData in types,
        derivation_depth=depth,
        types=[str(t).rsplit("#", 1)[-1] for t in type_names],
        classification=Classification(
            scenario=book.notations(g.objects(ds, DCERT.applicationScenario), first),
            technique=book.notations(techniques, first),
            granularity=book.notation(granularity[0]) if granularity else None,
            modality=book.notations(g.objects(ds, DCERT.dataModality), first),
            category=book.notations(g.objects(ds, DCERT.healthDataCategory), first),
            # an unknown code counts for the level (A8) but is no notation to list (A6 reports it)
            special=book.notations((s for s in g.objects(ds, DCERT.specialCategory) if s in book.by_iri), first),
            deidentification_grade=book.notation(grade) if grade is not None else None,
            sensitivity_level=book.notation(level) if level is not None else None,
            level_candidates=book.notations(candidates) if is_sourced else [],
            personal_information=DCERT.PersonalDerivedData in types,
        ),
    )
