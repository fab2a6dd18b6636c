"""Explanations for a certifying officer (DOMAIN.md §3-§5): why the verdict, each finding, the
classification, personal information and the level hold.

Classification facts are justified by walking the ontology's own axioms over the materialised
graph: which asserted facts made a type, a scenario, a grade or a level candidate hold. Each
finding names its requirement, why it applied to the dataset (the class its shape targets) and
the facts it read or found missing. A fact explained once is referred back to (`see [n]`), never
repeated. Where the engine applied a default (A2: a fact the description leaves out), the
ontology's note on it (`skos:scopeNote`) says so.

Over 400 lines because each finding, verdict and classification is explained here, in both
languages, from the same facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, PROV, RDF, RDFS, SH, SKOS

from .codes import codebook
from .resources import code_lists, ontology_graph, shapes_source_graph
from .vocab import DCERT, bind_prefixes

WORDS = {
    "en": {"is": "is", "qualifies": "qualifies", "asserted": "asserted", "inferred": "inferred", "code list": "code list",
           "engine": "stated by the engine: not in the description", "missing": "missing", "see": "see",
           "default": "not declared: strict default, A2", "rule": "read from a HealthDCAT-AP value by a rule",
           "has no": "has no", "applies": "applies because", "read": "facts read", "concerns": "concerns",
           "verdict": "verdict: {verdict}", "counts": "{violations} Violation(s), {warnings} Warning(s)",
           "nothing": "no requirement reported",
           "certified": "certified", "conditional": "conditional", "rejected": "rejected", "not-derived": "not derived",
           "derived yes": "derived data: yes ({depth})", "derived no": "derived data: no",
           "primary": "primary", "primary why": "primary: no source is itself derived data", "secondary": "secondary",
           "no source": "no source: no prov:wasDerivedFrom, dct:source or prov:used of the generating activity",
           "no technique": "no deriving technique: the generating activity names none but GT-COPY, or none at all",
           "personal yes": "personal information: yes (PIPL Art. 4, 73): individual-level data at D0-D2",
           "sensitive": "sensitive personal information (PIPL Art. 28): health content or a special category",
           "personal no anonymous": "personal information: no (PIPL Art. 4): anonymised (D3) or aggregated (D4)",
           "personal no": "personal information: no: not individual-level data at D0-D2",
           "level": "sensitivity level (the highest candidate, 就高从严): {level}",
           "no level": "no sensitivity level: no level rule holds",
           "default applied": "default applied (A2): {note}",
           "filing": "filing {number}: valid until {until}",
           "validity": "{years} year(s) from {issued} at level {level} (dcert:validityYears)",
           "capped": "capped by the earliest source authorization: dcert:validUntil {until} (A7)"},
    "zh": {"is": "属于", "qualifies": "满足条件", "asserted": "声明", "inferred": "推出", "code list": "代码表",
           "engine": "认定引擎标注：描述中未写明", "missing": "缺少", "see": "见",
           "default": "未声明：从严默认，A2", "rule": "由规则从 HealthDCAT-AP 取值读出",
           "has no": "没有", "applies": "适用原因", "read": "读取的事实", "concerns": "涉及",
           "verdict": "结论：{verdict}", "counts": "{violations} 项违规，{warnings} 项警告",
           "nothing": "未发现任何问题",
           "certified": "通过认定", "conditional": "有条件通过", "rejected": "不予认定", "not-derived": "非衍生数据",
           "derived yes": "衍生数据：是（{depth}）", "derived no": "衍生数据：否",
           "primary": "一次衍生", "primary why": "一次衍生：来源均不是衍生数据", "secondary": "二次衍生",
           "no source": "没有来源：无 prov:wasDerivedFrom、dct:source，生成活动也无 prov:used",
           "no technique": "没有衍生技术：生成活动只有 GT-COPY，或未写明技术",
           "personal yes": "个人信息：是（个人信息保护法第四条、第七十三条）：D0–D2 的个体级数据",
           "sensitive": "敏感个人信息（个人信息保护法第二十八条）：含健康内容或特殊类别",
           "personal no anonymous": "个人信息：否（个人信息保护法第四条）：已匿名化（D3）或聚合（D4）",
           "personal no": "个人信息：否：不是 D0–D2 的个体级数据",
           "level": "敏感等级（取最高候选，就高从严）：{level}",
           "no level": "无敏感等级：没有分级规则成立",
           "default applied": "适用默认规则（A2）：{note}",
           "filing": "备案 {number}：有效期至 {until}",
           "validity": "自 {issued} 起 {years} 年，敏感等级 {level}（dcert:validityYears）",
           "capped": "不超过最早的来源授权到期日：dcert:validUntil {until}（A7）"},
}
SOURCES = ("asserted", "inferred", "code list", "engine", "default", "rule", "missing")
#: Marker types the engine states where a description leaves a fact out (A2, derivecert.defaults),
#: and types rules read from literal values (ontology/rules/*.rq): no axiom concludes them.
DEFAULT_MARKERS = (DCERT.GranularityNotDeclared, DCERT.GradeNotStated)
RULE_MARKERS = (DCERT.TypicalAgeUnder14, DCERT.CountsUniqueIndividuals)


@dataclass
class Reason:
    """One justified fact and the facts it rests on (empty `because` and no `ref`: a leaf).

    A reference (`ref` set) stands for a fact justified earlier in the same explanation; it is
    rendered `(see [n])` and expands to the original in `text()`."""

    fact: str
    source: str  # asserted | inferred | code list | engine | missing | "" (a heading)
    because: list["Reason"] = field(default_factory=list)
    lang: str = "en"
    ref: "Reason | None" = None
    anchor: int | None = None  # the number references use, once something refers to this fact

    def to_dict(self) -> dict:
        out = {"fact": self.fact, "source": self.source, "because": [b.to_dict() for b in self.because]}
        if self.anchor is not None:
            out["id"] = self.anchor
        if self.ref is not None:
            out["see"] = self.ref.anchor
        return out

    def lines(self, depth: int = 0) -> list[str]:
        """The justification as an indented tree, one fact a line."""
        words = WORDS[self.lang]
        mark = ""
        if self.ref is not None:
            mark = f" ({words['see']} [{self.ref.anchor}])"
        elif not self.because and self.source in SOURCES:
            mark = f" ({words[self.source]})"
        if self.anchor is not None:
            mark += f" [{self.anchor}]"
        out = ["  " * depth + ("└ " if depth else "") + self.fact + mark]
        for b in self.because:
            out.extend(b.lines(depth + 1))
        return out

    def text(self, _expanding: frozenset = frozenset()) -> str:
        """One line, every reference expanded (but not inside itself)."""
        if self.ref is not None:
            return self.fact if id(self.ref) in _expanding else self.ref.text(_expanding)
        if not self.because:
            return f"{self.fact} ({WORDS[self.lang].get(self.source, self.source)})" if self.source else self.fact
        inner = _expanding | {id(self)}
        return f"{self.fact} because " + " and ".join(b.text(inner) for b in self.because)


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
        #: classes whose membership means the engine applied a default (A2), with their note
        self.notes = {c: {n.language: str(n) for n in onto.objects(c, SKOS.scopeNote)}
                      for c in set(onto.subjects(SKOS.scopeNote, None)) if (c, RDF.type, OWL.Class) in onto}


@lru_cache(maxsize=1)
def _axioms() -> _Axioms:
    return _Axioms(ontology_graph())


@lru_cache(maxsize=1)
def _technique_types() -> frozenset:
    return frozenset(ontology_graph().objects(None, DCERT.yieldsType))


class Explainer:
    """Justifies facts of one materialised graph, each once: later requests get a reference."""

    def __init__(self, materialised: Graph, asserted: Graph, lang: str = "en"):
        self.g, self.asserted = materialised, asserted
        self.lang = lang if lang in WORDS else "en"
        self.words = WORDS[self.lang]
        self.ax = _axioms()
        self.book = codebook()
        self.codes = code_lists()
        self.prefixes = Graph()
        bind_prefixes(self.prefixes)
        self.done: dict[tuple, Reason] = {}
        self.anchors = 0

    def reason(self, fact: str, source: str, because: list[Reason] | None = None) -> Reason:
        return Reason(fact, source, because or [], self.lang)

    # rendering
    def term(self, t) -> str:
        if t in self.book.by_iri:
            return self.book.notation(t)
        label = next((str(lb) for lb in self.ax.g.objects(t, RDFS.label) if getattr(lb, "language", None) == self.lang), None)
        if label:
            return label
        if isinstance(t, BNode):
            kind = self._kind(t)
            return f"[{self.term(kind)}]" if kind is not None else "[]"
        return self.prefixes.namespace_manager.normalizeUri(t) if isinstance(t, URIRef) else str(t)

    def _kind(self, node):
        """What a blank node is, the same in every language and whatever the order of triples:
        a derivation activity; else its first asserted type; else its first inferred type with a
        label in the ontology, or any (by IRI)."""
        if (node, RDF.type, DCERT.DerivationActivity) in self.g:
            return DCERT.DerivationActivity
        asserted = sorted(self.asserted.objects(node, RDF.type), key=str)
        inferred = sorted((k for k in self.g.objects(node, RDF.type) if isinstance(k, URIRef)),
                          key=lambda k: ((k, RDFS.label, None) not in self.ax.g, str(k)))
        return (asserted or inferred or [None])[0]

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

    def _once(self, key: tuple, fact: str, build) -> Reason:
        """The reason for `key`, built the first time; afterwards a reference to it."""
        first = self.done.get(key)
        if first is not None:
            if first.anchor is None:
                self.anchors += 1
                first.anchor = self.anchors
            return Reason(fact, first.source, [], self.lang, ref=first)
        reason = build()
        if reason.because:  # leaves are one line: repeating them is clearer than a reference
            self.done[key] = reason
        return reason

    def explain_type(self, node, cls, depth=0) -> Reason:
        word = self.words["is"]
        fact = f"{self.term(node)} {word} {self.term(cls)}" if depth == 0 else f"{word} {self.term(cls)}"
        return self._once(("type", node, cls), fact, lambda: self._explain_type(node, cls, fact, depth))

    def _explain_type(self, node, cls, fact, depth) -> Reason:
        if (node, RDF.type, cls) in self.asserted:
            return self.reason(fact, "asserted")
        if (node, RDF.type, cls) in self.codes:
            return self.reason(f"{self.term(node)} {self.words['is']} {self.term(cls)}", "code list")
        if cls in DEFAULT_MARKERS + RULE_MARKERS and (node, RDF.type, cls) in self.g:
            return self.reason(fact, "default" if cls in DEFAULT_MARKERS else "rule")
        if depth > 10:
            return self.reason(fact, "inferred")
        definition = self.ax.definition.get(cls)
        if definition is not None and self.holds(node, definition):
            return self.reason(fact, "inferred", self.explain_expr(node, definition, depth + 1))
        for sub in self.ax.subclasses.get(cls, []):
            if (node, RDF.type, sub) in self.g:
                return self.reason(fact, "inferred", [self.explain_type(node, sub, depth + 1)])
        stated = self._by_domain_or_range(node, cls)
        if stated is not None:
            return self.reason(fact, "inferred", [stated])
        if definition is None and (node, RDF.type, cls) in self.g:
            return self.reason(fact, "engine")  # a marker the engine states (A2): no axiom concludes it
        return self.reason(fact, "inferred")

    def _by_domain_or_range(self, node, cls) -> Reason | None:
        """An asserted triple that types `node` as `cls` through a property's domain or range."""
        for prop in sorted(self.ax.g.subjects(RDFS.domain, cls), key=str):
            for value in sorted(self.asserted.objects(node, prop), key=str):
                return self.reason(f"{self.term(prop)} {self.term(value)}", "asserted")
        for prop in sorted(self.ax.g.subjects(RDFS.range, cls), key=str):
            for subject in sorted(self.asserted.subjects(prop, node), key=str):
                return self.reason(f"{self.term(subject)} {self.term(prop)} {self.term(node)}", "asserted")
        return None

    def explain_value(self, node, prop, value, depth=0) -> Reason:
        fact = f"{self.term(prop)} {self.term(value)}"
        return self._once(("value", node, prop, value), fact, lambda: self._explain_value(node, prop, value, fact, depth))

    def _explain_value(self, node, prop, value, fact, depth) -> Reason:
        if (node, prop, value) in self.asserted:
            return self.reason(fact, "asserted")
        for sub in self.ax.subproperties.get(prop, []):
            if (node, sub, value) in self.asserted:
                return self.reason(fact, "inferred", [self.reason(f"{self.term(sub)} {self.term(value)}", "asserted")])
        if depth <= 10:
            for cls in self.ax.value_classes.get((prop, value), []):
                if (node, RDF.type, cls) in self.g:
                    return self.reason(fact, "inferred", [self.explain_type(node, cls, depth + 1)])
        return self.reason(fact, "inferred")

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
        for y in sorted(self.g.objects(node, prop), key=str):
            if self.holds(y, filler):
                reason = self.explain_value(node, prop, y, depth)
                if filler != OWL.Thing and reason.ref is None:
                    inner = self.explain_type(y, filler, depth + 1) if isinstance(filler, URIRef) else self.reason(
                        f"{self.term(y)} {self.words['qualifies']}", "inferred", self.explain_expr(y, filler, depth + 1))
                    reason.because.append(inner)
                return [reason]
        return []

    def missing(self, node, prop) -> Reason:
        return self.reason(f"{self.term(node)} {self.words['has no']} {self.term(prop)}", "missing")


def explain(materialised: Graph, asserted: Graph, ds, lang: str = "en", result=None) -> list[Reason]:
    """Why `ds` is classified as it is and, given its certification `result`, why the verdict.

    Sections, in reading order: the verdict and each finding (with `result`); the defaults
    applied (A2); derived or not; the type of each technique; personal information; values the
    reasoner inferred (scenarios, grade, special categories, techniques); the level."""
    ex = Explainer(materialised, asserted, lang)
    w, types = ex.words, set(materialised.objects(ds, RDF.type))
    out: list[Reason] = []
    if result is not None:
        out.append(_verdict(ex, result))
    for cls in sorted(set(ex.ax.notes) & types, key=str):
        note = ex.ax.notes[cls].get(ex.lang) or ex.ax.notes[cls].get("en", "")
        out.append(ex.reason(w["default applied"].format(note=note), "", [ex.explain_type(ds, cls)]))
    out.append(_derived(ex, ds, types))
    for cls in sorted(types & _technique_types(), key=str):
        out.append(ex.explain_type(ds, cls))
    if DCERT.SourcedDataset in types:
        out.append(_personal(ex, ds, types))
    for prop in (DCERT.applicationScenario, DCERT.deidentificationGrade, DCERT.specialCategory):
        for value in codebook().sort(materialised.objects(ds, prop)):
            reason = ex.explain_value(ds, prop, value)
            if reason.source == "inferred":
                out.append(reason)
    for activity in sorted(materialised.objects(ds, PROV.wasGeneratedBy), key=str):
        for value in codebook().sort(materialised.objects(activity, DCERT.generationTechnique)):
            reason = ex.explain_value(activity, DCERT.generationTechnique, value)
            if reason.source == "inferred":
                out.append(reason)
    if DCERT.SourcedDataset in types:
        out.append(_level(ex, ds))
    if result is not None and result.filing is not None:
        out.append(_filing(ex, ds, result.filing))
    _number_in_reading_order(out)
    return out


def _number_in_reading_order(reasons: list[Reason]) -> None:
    """Renumber the facts referred back to as they appear, top to bottom ([1], [2], ...)."""
    n, stack = 0, list(reversed(reasons))
    while stack:
        reason = stack.pop()
        if reason.anchor is not None:
            n += 1
            reason.anchor = n
        stack.extend(reversed(reason.because))


def _verdict(ex: Explainer, result) -> Reason:
    w = ex.words
    violations = sum(f.severity == "Violation" for f in result.findings)
    head = w["verdict"].format(verdict=w[result.verdict])
    head += " — " + (w["counts"].format(violations=violations, warnings=len(result.findings) - violations)
                     if result.findings else w["nothing"])
    return ex.reason(head, "", [_finding(ex, f) for f in result.findings])


def _finding(ex: Explainer, finding) -> Reason:
    """A finding: its requirement and message, why its shape applied, the facts it read or missed."""
    mark = "✗" if finding.severity == "Violation" else "!"
    message = finding.message.get(ex.lang) or finding.message.get("en", "")
    because = []
    shapes = shapes_source_graph()
    shape = URIRef(finding.shape)
    for cls in sorted(shapes.objects(shape, SH.targetClass), key=str):
        if (finding.focus, RDF.type, cls) in ex.g:
            because.append(ex.reason(ex.words["applies"], "", [ex.explain_type(finding.focus, cls)]))
    steps, nodes, found = _steps(finding.path), [finding.focus], []
    for i, step in enumerate(steps):
        pairs = []
        for node in nodes:
            values = sorted(ex.g.objects(node, step), key=str)
            if not values:
                because.append(ex.missing(node, step))
            pairs.extend((node, v) for v in values)
        if i == len(steps) - 1:
            named = [(n, v) for n, v in pairs if str(v) == finding.value]
            found = [ex.explain_value(n, step, v) for n, v in (named or pairs)[:5]]
        nodes = [v for _, v in pairs]
    if found:
        because.append(ex.reason(ex.words["read"], "", found))
    if finding.value is not None and not steps and finding.value != str(finding.focus):
        value = URIRef(finding.value) if "://" in finding.value else finding.value
        because.append(ex.reason(f"{ex.words['concerns']} {ex.term(value)}", ""))
    return ex.reason(f"{mark} {finding.requirement} {finding.severity}: {message}", "", because)


def _steps(path: str | None) -> list[URIRef]:
    """The predicates of a finding's path when it is one predicate or a sequence of them."""
    if not path:
        return []
    if re.fullmatch(r"[a-z][a-z0-9+.-]*:[^\s<>()|^*+?/]*(?:/[^\s<>()|^*+?/]*)*", path):  # one predicate's IRI
        return [URIRef(path)]
    if re.fullmatch(r"\(?<[^<>]+>(?:\s*/\s*<[^<>]+>)*\)?", path):
        return [URIRef(iri) for iri in re.findall(r"<([^<>]+)>", path)]
    return []


def _derived(ex: Explainer, ds, types: set) -> Reason:
    w = ex.words
    if DCERT.DerivedData in types:
        secondary = DCERT.SecondaryDerivedData in types
        because = [ex.explain_type(ds, DCERT.DerivedData)]
        because.append(ex.explain_type(ds, DCERT.SecondaryDerivedData) if secondary else ex.reason(w["primary why"], ""))
        return ex.reason(w["derived yes"].format(depth=w["secondary" if secondary else "primary"]), "", because)
    if DCERT.SourcedDataset not in types:
        because = [ex.reason(w["no source"], "missing")]
    elif DCERT.CopyData in types:
        because = [ex.explain_type(ds, DCERT.CopyData)]
    else:
        because = [ex.explain_type(ds, DCERT.SourcedDataset), ex.reason(w["no technique"], "missing")]
    return ex.reason(w["derived no"], "", because)


def _personal(ex: Explainer, ds, types: set) -> Reason:
    """Why the data is or is not personal information: the class that says so, headed by the law."""
    w = ex.words
    if DCERT.PersonalDerivedData in types:
        section = _headed(ex.explain_type(ds, DCERT.PersonalDerivedData), w["personal yes"])
        if DCERT.SensitivePersonalDerivedData in types:
            section.because.append(ex.reason(w["sensitive"], "", [ex.explain_type(ds, DCERT.SensitivePersonalDerivedData)]))
        return section
    if DCERT.NonPersonalDerivedData in types:
        return _headed(ex.explain_type(ds, DCERT.NonPersonalDerivedData), w["personal no anonymous"])
    because = []
    for prop in (DCERT.deidentificationGrade, DCERT.subjectGranularity):
        values = codebook().sort(ex.g.objects(ds, prop))
        because.extend([ex.explain_value(ds, prop, v) for v in values] or [ex.missing(ds, prop)])
    return ex.reason(w["personal no"], "", because)


def _headed(reason: Reason, heading: str) -> Reason:
    """`reason` as a section: its fact after the heading (a reference stays one, expanded in text)."""
    if reason.ref is not None:
        return Reason(f"{heading} — {reason.fact}", reason.source, [], reason.lang, ref=reason.ref)
    reason.fact = f"{heading} — {reason.fact}"
    return reason


def _level(ex: Explainer, ds) -> Reason:
    book = codebook()
    candidates = [c for c in book.sort(ex.g.objects(ds, DCERT.levelCandidate)) if c in book.by_iri]
    if not candidates:
        return ex.reason(ex.words["no level"], "", [ex.missing(ds, DCERT.deidentificationGrade)]
                         if (ds, DCERT.deidentificationGrade, None) not in ex.g else [])
    level = max(candidates, key=lambda c: book.by_iri[c].rank)
    return ex.reason(ex.words["level"].format(level=book.notation(level)), "",
                     [ex.explain_value(ds, DCERT.levelCandidate, c) for c in candidates])


def _filing(ex: Explainer, ds, filing) -> Reason:
    """Why the filing is valid until its date: the level's validity, or the source authorization."""
    from .filing import add_years, authorization_limit

    w, book = ex.words, codebook()
    level = book.by_notation.get(filing.level or "")
    years = ex.codes.value(level.iri, DCERT.validityYears) if level is not None else None
    because = []
    if years is not None:
        because.append(ex.reason(w["validity"].format(years=years, issued=filing.issued, level=filing.level), "code list"))
    limit = authorization_limit(ex.asserted, ds)
    if limit is not None and limit == filing.valid_until and (years is None or limit < add_years(filing.issued, int(years))):
        because.append(ex.reason(w["capped"].format(until=limit), "asserted"))
    return ex.reason(w["filing"].format(number=filing.number, until=filing.valid_until), "", because)
