"""Explanations a certifying officer can follow (issue 10): the verdict with each finding (why its
requirement applied, the facts it read or found missing), the defaults applied (A2), why the data
is or is not derived and personal information, the level and the filing's validity; each subtree
explained once and referred back to; blank nodes named the same in every language."""

from __future__ import annotations

from datetime import date

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import SKOS

from conftest import DATA, spec_examples
from derivecert.vocab import DCERT

ON = date(2026, 11, 28)
E1 = next(p for p, _ in spec_examples() if p.stem.startswith("e1"))
E2 = next(p for p, _ in spec_examples() if p.stem.startswith("e2"))
E2_DERIVED = "https://university-y.example.org/linked-psych-claims"
AGGREGATE = DATA / "valid" / "aggregate-d4-influenza-surveillance.ttl"
DIABETES = DATA / "valid" / "deidentified-d2-diabetes-research.ttl"
DIABETES_DS = "https://data.hospital-a.example.cn/ds/t2d-cohort-deid"


def explained(engine, path_or_data, dataset, lang="en"):
    data = path_or_data if isinstance(path_or_data, bytes) else path_or_data.read_bytes()
    graph = Graph().parse(data=data, format="turtle")
    return engine.explain(graph, dataset, lang, on=ON)


def walk(reasons):
    for r in reasons:
        yield r
        yield from walk(r.because)


def section(reasons, start):
    return next(r for r in reasons if r.fact.startswith(start))


def test_each_subtree_is_explained_once_and_referred_back_to(engine):
    _, reasons = explained(engine, E2, E2_DERIVED)
    sourced = [r for r in walk(reasons) if r.fact.endswith("is dataset with a documented source")]
    originals = [r for r in sourced if r.ref is None]
    assert len(originals) == 1 and originals[0].because  # justified once ...
    assert len(sourced) > 3 and all(r.ref is originals[0] for r in sourced[1:])  # ... then referred to
    lines = [line for r in reasons for line in r.lines()]
    anchor = originals[0].anchor
    assert sum(line.endswith(f"[{anchor}]") and "see" not in line for line in lines) == 1
    assert any(line.endswith(f"(see [{anchor}])") for line in lines)
    ids = [r.anchor for r in walk(reasons) if r.anchor is not None]
    assert ids == sorted(ids) == list(range(1, len(ids) + 1))  # numbered in reading order


def test_json_references_point_to_an_explained_fact(engine):
    _, reasons = explained(engine, E2, E2_DERIVED)
    dicts = [r.to_dict() for r in reasons]

    def nodes(items):
        for d in items:
            yield d
            yield from nodes(d["because"])

    ids = {d["id"] for d in nodes(dicts) if "id" in d}
    sees = {d["see"] for d in nodes(dicts) if "see" in d}
    assert sees and sees <= ids


def test_the_generating_activity_is_named_the_same_way_in_both_languages(engine):
    for lang, name in (("en", "[derivation activity]"), ("zh", "[衍生加工活动]")):
        _, reasons = explained(engine, E2, E2_DERIVED, lang)
        named = [r.fact for r in walk(reasons) if r.fact.startswith("prov:wasGeneratedBy")]
        assert named and all(fact == f"prov:wasGeneratedBy {name}" for fact in named), named


@pytest.mark.parametrize("typed", [True, False])
def test_a_blank_node_is_named_whatever_the_order_of_its_inferred_types(engine, typed):
    from rdflib import RDF, URIRef
    from rdflib.namespace import PROV

    from derivecert.explain import Explainer

    text = E2.read_text(encoding="utf-8")
    graph = Graph().parse(data=text if typed else text.replace("a dcert:DerivationActivity ;", ""), format="turtle")
    materialised = engine.materialise(graph)
    activity = materialised.value(URIRef(E2_DERIVED), PROV.wasGeneratedBy)
    kinds = list(materialised.objects(activity, RDF.type))
    reordered = Graph()
    reordered += (t for t in materialised if t[0] != activity or t[1] != RDF.type)
    for kind in reversed(kinds):
        reordered.add((activity, RDF.type, kind))
    explainers = [Explainer(m, graph, lang) for m in (materialised, reordered) for lang in ("en", "zh")]
    assert len({ex._kind(activity) for ex in explainers}) == 1  # one kind, whatever the language or order
    names = {(ex.lang, ex.term(activity)) for ex in explainers}
    assert len(names) == 2  # one name per language
    if typed:
        assert names == {("en", "[derivation activity]"), ("zh", "[衍生加工活动]")}


def test_verdict_explains_each_finding_with_why_it_applied_and_what_it_read_or_missed(engine):
    result, reasons = explained(engine, E2, E2_DERIVED)
    verdict = reasons[0]
    assert verdict.fact.startswith("verdict: rejected")
    assert len(verdict.because) == len(result.findings)
    s06 = next(r for r in verdict.because if r.fact.startswith("✗ S-06") and "at rest" in r.fact)
    applies = s06.because[0]
    assert applies.fact == "applies because" and applies.because[0].fact.endswith("is data at level 4 or above")
    read = next(r for r in s06.because if r.fact == "facts read")
    assert [(r.fact, r.source) for r in read.because] == [("dpv:hasTechnicalMeasure dpv:Pseudonymisation", "asserted")]
    p04 = next(r for r in verdict.because if r.fact.startswith("✗ P-04"))
    assert any(r.source == "missing" and r.fact.endswith("has no source authorization") for r in p04.because)


def test_certified_verdict_and_filing_validity_capped_by_the_authorization(engine):
    data = DIABETES.read_bytes().replace(b'"2028-12-31"^^xsd:date', b'"2027-06-30"^^xsd:date')
    result, reasons = explained(engine, data, DIABETES_DS)
    assert result.verdict == "certified" and reasons[0].fact == "verdict: certified — no requirement reported"
    filing = section(reasons, "filing ")
    assert filing.fact.endswith("valid until 2027-06-30")
    assert [r.source for r in filing.because] == ["code list", "asserted"]
    assert "2 year(s)" in filing.because[0].fact and "2027-06-30" in filing.because[1].fact


def test_why_the_data_is_personal_information(engine):
    _, reasons = explained(engine, E2, E2_DERIVED)
    personal = section(reasons, "personal information: yes")
    assert personal.fact.endswith("is personal derived data")
    assert personal.because[-1].fact.startswith("sensitive personal information")
    assert "pd:MentalHealth (asserted)" in personal.text()


def test_why_aggregated_data_is_not_personal_information(engine):
    graph = Graph().parse(AGGREGATE, format="turtle")
    ds = next(str(s) for s in graph.subjects(DCERT.deidentificationGrade, DCERT.D4))
    _, reasons = engine.explain(graph, ds, "zh", on=ON)
    personal = section(reasons, "个人信息：否（个人信息保护法第四条）")
    assert personal.fact.endswith("属于 非个人信息类衍生数据")
    assert "D4" in personal.text()


def test_why_a_dataset_without_a_source_is_not_derived(engine):
    result, reasons = explained(engine, E1, "https://hospital-x.example.org/pathology-reports")
    assert result.verdict == "not-derived"
    derived = section(reasons, "derived data: no")
    assert derived.because[0].source == "missing" and "prov:wasDerivedFrom" in derived.because[0].fact
    assert any(r.fact.startswith("✗ P-01") for r in reasons[0].because)


def test_a_default_the_engine_applied_is_shown_with_the_ontologys_note(engine, monkeypatch):
    """A2's defaults are classes with a skos:scopeNote (the note a message shows); the engine
    states their markers. Here a note is put on a class E2's dataset is in, as the A2 classes carry."""
    from derivecert import explain as explanations
    from derivecert.resources import ontology_graph

    onto = Graph()
    onto += ontology_graph()
    onto.add((DCERT.IndividualLevelData, SKOS.scopeNote, Literal("granularity not declared: treated as individual-level", lang="en")))
    monkeypatch.setattr(explanations, "_axioms", lambda: explanations._Axioms(onto))
    _, reasons = explained(engine, E2, E2_DERIVED)
    default = section(reasons, "default applied (A2)")
    assert default.fact == "default applied (A2): granularity not declared: treated as individual-level"
    assert default.because[0].fact.endswith("is individual-level data")


def test_a_marker_no_axiom_concludes_is_shown_as_stated_by_the_engine(engine):
    """As the A2 markers (e.g. granularity not declared): in the reasoner's input, not the description."""
    from rdflib import RDF, URIRef

    from derivecert.explain import Explainer

    graph = Graph().parse(E2, format="turtle")
    materialised = engine.materialise(graph)
    ds, marker = URIRef(E2_DERIVED), DCERT.Finding  # a class no axiom defines and no triple implies
    materialised.add((ds, RDF.type, marker))
    reason = Explainer(materialised, graph).explain_type(ds, marker)
    assert reason.source == "engine" and not reason.because
    assert reason.lines() == [f"<{E2_DERIVED}> is finding (stated by the engine: not in the description)"]


def test_a_finding_names_the_node_that_lacks_a_fact_and_the_value_it_judged(engine):
    undated = DATA / "invalid" / "S-04-undated-risk-assessment.ttl"  # the assessment has no dct:date
    _, reasons = explained(engine, undated, DIABETES_DS)
    [s04] = reasons[0].because
    assert [(r.fact, r.source) for r in s04.because[1:]] == [("[re-identification risk assessment] has no dct:date", "missing")]
    low = DATA / "invalid" / "Q-02-completeness-below-threshold.ttl"  # one measurement of four is low
    _, reasons = explained(engine, low, DIABETES_DS)
    [q02] = reasons[0].because
    read = next(r for r in q02.because if r.fact == "facts read")
    assert [r.fact for r in read.because] == ["dqv:value 0.89"]  # the value the finding judged, not all four


@pytest.mark.parametrize("path, steps", [
    ("http://www.w3.org/ns/dcat#contactPoint", ["http://www.w3.org/ns/dcat#contactPoint"]),
    ("<https://w3id.org/derivecert#riskAssessment>/<http://purl.org/dc/terms/date>",
     ["https://w3id.org/derivecert#riskAssessment", "http://purl.org/dc/terms/date"]),
    ("^<http://www.w3.org/ns/prov#wasDerivedFrom>", []),  # inverse, alternative, repeated paths are
    ("<http://a.example/p>|<http://a.example/q>", []),     # not walked: the message stands alone
    ("(<http://a.example/p>)*", []),
])
def test_a_finding_is_followed_along_simple_paths_only(path, steps):
    from derivecert.explain import _steps

    assert [str(s) for s in _steps(path)] == steps
