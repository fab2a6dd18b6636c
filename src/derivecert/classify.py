"""Classification of datasets (DOMAIN.md §3), read from the reasoner's conclusions.

Everything here reads inferred facts. The only decisions taken in Python are the two the axioms
cannot take (docs/DESIGN.md): the level is the highest inferred candidate by `dcert:rank`
(就高从严), and "primary" is derived data that is not secondary (closed-world complement).

`explain()` justifies each inferred fact by walking the ontology's own axioms over the
materialised graph: which asserted facts made a type, a scenario, a grade or a level hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCAT, OWL, PROV, RDF, RDFS

from .codes import codebook
from .resources import code_lists, ontology_graph
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


def _technique_types() -> dict[URIRef, URIRef]:
    onto = ontology_graph()
    return {cls: tech for tech, cls in onto.subject_objects(DCERT.yieldsType)}


@lru_cache(maxsize=1)
def _type_order() -> dict[URIRef, int]:
    book = codebook()
    return {cls: book.by_iri[tech].order if tech in book.by_iri else 99 for cls, tech in _technique_types().items()}


def classify_dataset(g: Graph, ds, first: dict | None = None) -> DatasetClassification:
    """Read one dataset's classification from a materialised graph.

    `first` (IRI -> position in the source document, see parse.document_order) keeps the author's
    order of codes in the lists; without it they follow the code lists' order."""
    book = codebook()
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


# ---- Explanations ---------------------------------------------------------------------------


WORDS = {"en": {"is": "is", "qualifies": "qualifies", "asserted": "asserted", "inferred": "inferred", "code list": "code list",
                "default": "not declared: strict default, A2", "rule": "read from a HealthDCAT-AP value by a rule"},
         "zh": {"is": "属于", "qualifies": "满足条件", "asserted": "声明", "inferred": "推出", "code list": "代码表",
                "default": "未声明：从严默认，A2", "rule": "由规则从 HealthDCAT-AP 取值读出"}}
#: Marker types the engine states where a description leaves a fact out (derivecert.defaults).
DEFAULT_MARKERS = (DCERT.GranularityNotDeclared, DCERT.GradeNotStated)
#: Types the literal-reading rules give (ontology/rules/*.rq).
RULE_MARKERS = (DCERT.TypicalAgeUnder14, DCERT.CountsUniqueIndividuals)


@dataclass
class Reason:
    """One justified fact and the facts it rests on (empty `because` = asserted)."""

    fact: str
    source: str  # "asserted", "inferred", "code list", "default" or "rule"
    because: list["Reason"] = field(default_factory=list)
    lang: str = "en"

    def to_dict(self) -> dict:
        return {"fact": self.fact, "source": self.source, "because": [b.to_dict() for b in self.because]}

    def lines(self, depth: int = 0) -> list[str]:
        """The justification as an indented tree, one fact a line."""
        mark = "" if self.because else f" ({WORDS[self.lang].get(self.source, self.source)})"
        out = ["  " * depth + ("└ " if depth else "") + self.fact + mark]
        for b in self.because:
            out.extend(b.lines(depth + 1))
        return out

    def text(self) -> str:
        if not self.because:
            return f"{self.fact} ({WORDS[self.lang].get(self.source, self.source)})"
        return f"{self.fact} because " + " and ".join(b.text() for b in self.because)


class _Axioms:
    """The ontology's class definitions, indexed for justification."""

    def __init__(self, onto: Graph):
        self.g = onto
        self.definition = {c: e for c, e in onto.subject_objects(OWL.equivalentClass) if isinstance(c, URIRef)}
        self.value_classes: dict[tuple, list] = {}
        self.subclasses: dict[URIRef, list] = {}
        for c, sup in onto.subject_objects(RDFS.subClassOf):
            if isinstance(sup, BNode) and (sup, OWL.hasValue, None) in onto:
                key = (onto.value(sup, OWL.onProperty), onto.value(sup, OWL.hasValue))
                self.value_classes.setdefault(key, []).append(c)
            elif isinstance(sup, URIRef):
                self.subclasses.setdefault(sup, []).append(c)
        self.subproperties: dict[URIRef, list] = {}
        for p, sup in onto.subject_objects(RDFS.subPropertyOf):
            self.subproperties.setdefault(sup, []).append(p)


@lru_cache(maxsize=1)
def _axioms() -> _Axioms:
    return _Axioms(ontology_graph())


class Explainer:
    def __init__(self, materialised: Graph, asserted: Graph, lang: str = "en"):
        self.g, self.asserted = materialised, asserted
        self.lang = lang if lang in WORDS else "en"
        self.ax = _axioms()
        self.book = codebook()
        self.codes = code_lists()

    # rendering
    def term(self, t) -> str:
        if t in self.book.by_iri:
            return self.book.notation(t)
        label = next((str(l) for l in self.ax.g.objects(t, RDFS.label) if getattr(l, "language", None) == self.lang), None)
        if label:
            return label
        if isinstance(t, BNode):
            kinds = [self.term(k) for k in self.g.objects(t, RDF.type) if isinstance(k, URIRef) and k in self.ax.definition or k == DCERT.DerivationActivity]
            return f"[{kinds[0]}]" if kinds else "[]"
        return self.ax.g.namespace_manager.normalizeUri(t) if isinstance(t, URIRef) else str(t)

    # membership in the materialised graph
    def holds(self, node, expr, depth=0) -> bool:
        if depth > 12:
            return False
        if expr == OWL.Thing:
            return True
        if isinstance(expr, URIRef):
            return (node, RDF.type, expr) in self.g or (node, RDF.type, expr) in self.codes
        o = self.ax.g
        if (expr, OWL.intersectionOf, None) in o:
            return all(self.holds(node, m, depth + 1) for m in Collection(o, o.value(expr, OWL.intersectionOf)))
        if (expr, OWL.unionOf, None) in o:
            return any(self.holds(node, m, depth + 1) for m in Collection(o, o.value(expr, OWL.unionOf)))
        prop = o.value(expr, OWL.onProperty)
        if (expr, OWL.hasValue, None) in o:
            return (node, prop, o.value(expr, OWL.hasValue)) in self.g
        filler = o.value(expr, OWL.someValuesFrom)
        return any(self.holds(y, filler, depth + 1) for y in self.g.objects(node, prop))

    def explain_type(self, node, cls, depth=0) -> Reason:
        word = WORDS[self.lang]["is"]
        fact = f"{self.term(node)} {word} {self.term(cls)}" if depth == 0 else f"{word} {self.term(cls)}"
        if (node, RDF.type, cls) in self.asserted:
            return Reason(fact, "asserted")
        if (node, RDF.type, cls) in self.codes:
            return Reason(f"{self.term(node)} {word} {self.term(cls)}", "code list")
        if cls in DEFAULT_MARKERS + RULE_MARKERS and (node, RDF.type, cls) in self.g:
            return Reason(fact, "default" if cls in DEFAULT_MARKERS else "rule")
        if depth > 10:
            return Reason(fact, "inferred")
        definition = self.ax.definition.get(cls)
        if definition is not None and self.holds(node, definition):
            return Reason(fact, "inferred", self.explain_expr(node, definition, depth + 1))
        for sub in self.ax.subclasses.get(cls, []):
            if (node, RDF.type, sub) in self.g:
                return Reason(fact, "inferred", [self.explain_type(node, sub, depth + 1)])
        return Reason(fact, "inferred")

    def explain_value(self, node, prop, value, depth=0) -> Reason:
        fact = f"{self.term(prop)} {self.term(value)}"
        if (node, prop, value) in self.asserted:
            return Reason(fact, "asserted")
        for sub in self.ax.subproperties.get(prop, []):
            if (node, sub, value) in self.asserted:
                return Reason(fact, "inferred", [Reason(f"{self.term(sub)} {self.term(value)}", "asserted")])
        if depth <= 10:
            for cls in self.ax.value_classes.get((prop, value), []):
                if (node, RDF.type, cls) in self.g:
                    return Reason(fact, "inferred", [self.explain_type(node, cls, depth + 1)])
        return Reason(fact, "inferred")

    def explain_expr(self, node, expr, depth) -> list[Reason]:
        o = self.ax.g
        if isinstance(expr, URIRef):
            return [self.explain_type(node, expr, depth)]
        if (expr, OWL.intersectionOf, None) in o:
            return [r for m in Collection(o, o.value(expr, OWL.intersectionOf)) for r in self.explain_expr(node, m, depth)]
        if (expr, OWL.unionOf, None) in o:
            for m in Collection(o, o.value(expr, OWL.unionOf)):
                if self.holds(node, m):
                    return self.explain_expr(node, m, depth)
            return []
        prop = o.value(expr, OWL.onProperty)
        if (expr, OWL.hasValue, None) in o:
            return [self.explain_value(node, prop, o.value(expr, OWL.hasValue), depth)]
        filler = o.value(expr, OWL.someValuesFrom)
        for y in self.g.objects(node, prop):
            if self.holds(y, filler):
                reason = self.explain_value(node, prop, y, depth)
                if filler != OWL.Thing:
                    inner = self.explain_type(y, filler, depth + 1) if isinstance(filler, URIRef) else Reason(
                        f"{self.term(y)} {WORDS[self.lang]['qualifies']}", "inferred", self.explain_expr(y, filler, depth + 1))
                    reason.because.append(inner)
                return [reason]
        return []


def explain(materialised: Graph, asserted: Graph, ds, lang: str = "en") -> list[Reason]:
    """Why each inferred classification fact of `ds` holds."""
    ex = Explainer(materialised, asserted, lang)
    out: list[Reason] = []
    interesting = set(_type_order()) | {
        DCERT.DerivedData, DCERT.SecondaryDerivedData, DCERT.CopyData, DCERT.PersonalDerivedData,
        DCERT.SensitivePersonalDerivedData, DCERT.NonPersonalDerivedData}
    for cls in sorted(set(materialised.objects(ds, RDF.type)) & interesting, key=str):
        out.append(ex.explain_type(ds, cls))
    for prop in (DCERT.applicationScenario, DCERT.deidentificationGrade, DCERT.specialCategory):
        for value in codebook().sort(materialised.objects(ds, prop)):
            reason = ex.explain_value(ds, prop, value)
            if reason.source == "inferred":
                out.append(reason)
    for activity in materialised.objects(ds, PROV.wasGeneratedBy):
        for value in codebook().sort(materialised.objects(activity, DCERT.generationTechnique)):
            reason = ex.explain_value(activity, DCERT.generationTechnique, value)
            if reason.source == "inferred":
                out.append(reason)
    for level in codebook().sort(materialised.objects(ds, DCERT.levelCandidate)):
        out.append(ex.explain_value(ds, DCERT.levelCandidate, level))
    stack = list(out)
    while stack:  # render every step in the language asked for
        reason = stack.pop()
        reason.lang = ex.lang
        stack.extend(reason.because)
    return out
