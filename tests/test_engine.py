"""The certification engine end to end (DOMAIN.md §5-§6): verdicts, classification, findings,
filing records and explanations."""

from __future__ import annotations

import random
import re
from datetime import date

import pytest
from rdflib import Graph

from conftest import DATA, fixture_header, spec_examples

ON = date(2026, 11, 28)
CLASSIFICATION_KEYS = {"scenario", "technique", "granularity", "modality", "category", "special",
                       "deidentification_grade", "sensitivity_level", "level_candidates", "personal_information"}


@pytest.mark.parametrize("ttl,expected", spec_examples(), ids=lambda v: getattr(v, "stem", ""))
def test_spec_examples_give_the_results_the_spec_implies(engine, ttl, expected):
    run = engine.certify(ttl.read_bytes(), filename=ttl.name, on=ON)
    for exp in expected:
        result = run.result_for(exp["dataset"]).to_dict()
        for key in ("is_derived", "derivation_depth", "types", "verdict"):
            if key in exp:
                assert sorted(result[key]) == sorted(exp[key]) if isinstance(exp[key], list) else result[key] == exp[key], key
        for key, value in exp.get("classification", {}).items():
            got = result["classification"][key]
            assert (sorted(got) if isinstance(got, list) else got) == (sorted(value) if isinstance(value, list) else value), key
        reported = {f["requirement"] for f in result["findings"]}
        if "findings" in exp:
            assert reported == {f["requirement"] for f in exp["findings"]}
        assert set(exp.get("findings_include", [])) <= reported
        assert not set(exp.get("findings_exclude", [])) & reported


def test_result_contract_has_every_field_of_section_6(engine):
    ttl = next(p for p, _ in spec_examples() if p.stem.startswith("e1"))
    result = engine.certify(ttl.read_bytes(), filename=ttl.name, on=ON).result_for(
        "https://hospital-x.example.org/pathology-structured").to_dict()
    assert {"dataset", "is_derived", "derivation_depth", "types", "classification", "verdict", "findings", "notices", "filing"} <= set(result)
    assert set(result["classification"]) == CLASSIFICATION_KEYS
    assert result["verdict"] == "certified"
    assert re.fullmatch(r"DC-20261128-[0-9A-F]{10}", result["filing"]["number"])
    assert result["filing"]["valid_until"] == "2028-11-28"  # L3: two years
    assert len(result["filing"]["sha256"]) == 64


def _corpus(kind):
    return sorted((DATA / kind).glob("*.ttl")) if (DATA / kind).exists() else []


@pytest.mark.parametrize("path", _corpus("valid"), ids=lambda p: p.stem)
def test_valid_fixtures_are_certified_with_no_finding(engine, path):
    run = engine.certify(path.read_bytes(), filename=path.name, on=ON)
    derived = [r for r in run.results if r.is_derived]
    assert derived, "a valid fixture describes at least one derived dataset"
    for r in derived:
        assert r.verdict == "certified", [(f.requirement, f.severity) for f in r.findings]
        assert r.filing is not None


@pytest.mark.parametrize("path", _corpus("invalid"), ids=lambda p: p.stem)
def test_invalid_fixtures_fail_exactly_their_requirement(engine, path):
    header = fixture_header(path)
    run = engine.certify(path.read_bytes(), filename=path.name, on=ON)
    result = run.result_for(header["focus"])
    assert result is not None, f"focus {header['focus']} not certified"
    assert {(f.requirement, f.severity) for f in result.findings} == {(header["requirement"], header["severity"])}
    expected = "rejected" if header["severity"] == "Violation" else "conditional"
    if header["requirement"] == "P-01":
        expected = "not-derived"
    assert result.verdict == expected
    assert (result.filing is not None) == (expected == "conditional")


def test_a_source_without_provenance_is_not_derived_and_reports_p01(engine):
    ttl = next(p for p, _ in spec_examples() if p.stem.startswith("e1"))
    result = engine.certify(ttl.read_bytes(), filename=ttl.name, on=ON).result_for("https://hospital-x.example.org/pathology-reports")
    assert result.verdict == "not-derived"
    assert [f.requirement for f in result.findings] == ["P-01"]
    assert result.classification.classification.sensitivity_level == "L4"  # declared on sources


COPY = b"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix prov: <http://www.w3.org/ns/prov#> .
@prefix dcert: <https://w3id.org/derivecert#> . @prefix ex: <https://ex.org/> .
ex:src a dcat:Dataset . ex:backup a dcat:Dataset ; prov:wasDerivedFrom ex:src ;
  prov:wasGeneratedBy [ a dcert:DerivationActivity ; dcert:generationTechnique dcert:GT-COPY ] ."""


def test_a_copy_is_not_derived_and_reports_nothing(engine):
    result = engine.certify(COPY, filename="copy.ttl", on=ON).result_for("https://ex.org/backup")
    assert result.verdict == "not-derived" and result.findings == [] and not result.is_derived


def test_a_sourced_dataset_without_technique_is_rejected_for_p03(engine):
    data = COPY.replace(b"dcert:generationTechnique dcert:GT-COPY", b"prov:used ex:src")
    result = engine.certify(data, filename="x.ttl", on=ON).result_for("https://ex.org/backup")
    assert not result.is_derived
    assert result.verdict == "rejected"
    assert "P-03" in {f.requirement for f in result.findings}


def _e1():
    return next(p for p, _ in spec_examples() if p.stem.startswith("e1")).read_bytes()


def _shuffled_relabelled(data: bytes) -> bytes:
    g = Graph().parse(data=data, format="turtle")
    lines = g.serialize(format="nt").strip().splitlines()
    random.Random(7).shuffle(lines)
    text = "\n".join(lines)
    labels = sorted(set(re.findall(r"_:(\w+)", text)))
    for i, label in enumerate(labels):
        text = text.replace(f"_:{label}", f"_:relabelled{i}x")
    return text.encode()


def test_filing_digest_is_stable_under_blank_node_relabelling_and_triple_order(engine):
    first = engine.certify(_e1(), filename="e1.ttl", on=ON).result_for("https://hospital-x.example.org/pathology-structured")
    second = engine.certify(_shuffled_relabelled(_e1()), filename="e1.nt", on=ON).result_for("https://hospital-x.example.org/pathology-structured")
    assert first.filing.digest == second.filing.digest
    changed = engine.certify(_e1().replace(b"48211", b"48212"), filename="e1.ttl", on=ON).result_for(
        "https://hospital-x.example.org/pathology-structured")
    assert changed.filing.digest != first.filing.digest


def test_filing_record_is_rdf_linked_with_prov(engine):
    from rdflib.namespace import PROV, RDF
    from derivecert.vocab import DCERT

    run = engine.certify(_e1(), filename="e1.ttl", on=ON)
    filings = list(run.result_graph.subjects(RDF.type, DCERT.FilingRecord))
    assert len(filings) == 1
    g = run.result_graph
    activity = g.value(filings[0], PROV.wasGeneratedBy)
    assert (activity, PROV.used, next(g.objects(filings[0], __import__("rdflib").namespace.DCTERMS.subject))) in g
    assert g.value(filings[0], DCERT.ontologyVersion) is not None and g.value(filings[0], DCERT.shapesVersion) is not None


def test_explanation_names_the_asserted_facts_behind_the_level(engine):
    ttl = next(p for p, _ in spec_examples() if p.stem.startswith("e2"))
    graph = Graph().parse(ttl)
    cls, reasons = engine.explain(graph, "https://university-y.example.org/linked-psych-claims")
    l5 = next(r for r in reasons if r.fact.endswith("L5"))
    text = l5.text()
    assert "D1 (asserted)" in text
    assert "pd:MentalHealth (asserted)" in text  # SP-MH came from the DPV personal-data category
    sp = next(r for r in reasons if r.fact.endswith("SP-MH"))
    assert sp.source == "inferred" and "dpv:hasPersonalData pd:MentalHealth" in sp.text()


def test_batch_certification_matches_one_by_one(engine):
    paths = [p for p, _ in spec_examples()]  # distinct IRIs: merging them changes nothing
    batch = engine.certify_files(paths, on=ON)
    for path in paths:
        single = engine.certify(path.read_bytes(), filename=path.name, on=ON)
        for r in single.results:
            b = batch.result_for(str(r.dataset))
            if b is None:
                continue  # a blank-node dataset has no stable name across runs
            assert b.verdict == r.verdict
            assert {(f.requirement, f.severity) for f in b.findings} == {(f.requirement, f.severity) for f in r.findings}
            assert b.classification.classification == r.classification.classification


def test_a_large_batch_on_two_processes_gives_the_results_of_one(engine):
    from derivecert.engine import PARALLEL_MIN_DOCUMENTS, Engine

    paths = _corpus("valid") + _corpus("invalid")
    assert len(paths) >= PARALLEL_MIN_DOCUMENTS
    documents = [(str(p), p.read_bytes()) for p in paths]
    one = Engine(workers=1).certify_documents(documents, on=ON)
    two = Engine(workers=2).certify_documents(documents, on=ON)
    assert two.materialised is None  # it really ran on worker processes
    assert [str(r.dataset) for r in one.results] == [str(r.dataset) for r in two.results]
    for a, b in zip(one.results, two.results):
        assert (a.verdict, a.source, a.classification.classification) == (b.verdict, b.source, b.classification.classification)
        assert {(f.requirement, f.severity, f.path) for f in a.findings} == {(f.requirement, f.severity, f.path) for f in b.findings}
    assert len(two.result_graph) == len(one.result_graph)


@pytest.mark.hermit
def test_rl_and_hermit_give_identical_certification_results_on_the_corpus():
    import shutil

    from derivecert.engine import Engine

    if shutil.which("java") is None:
        pytest.skip("HermiT needs Java")
    paths = [p for p, _ in spec_examples()] + _corpus("valid") + _corpus("invalid")
    documents = [(str(p), p.read_bytes()) for p in paths]
    rl = Engine(reasoner="rl", workers=1).certify_documents(documents, on=ON)
    hermit = Engine(reasoner="hermit", workers=1).certify_documents(documents, on=ON)  # one JVM call
    assert [str(r.dataset) for r in rl.results] == [str(r.dataset) for r in hermit.results]
    for a, b in zip(rl.results, hermit.results):
        assert (a.verdict, a.classification.types, a.classification.classification) == \
               (b.verdict, b.classification.types, b.classification.classification), str(a.dataset)
        assert {(f.requirement, f.severity, f.path) for f in a.findings} == {(f.requirement, f.severity, f.path) for f in b.findings}


def test_code_lists_follow_the_order_the_author_wrote(engine):
    result = engine.certify(_e1(), filename="e1.ttl", on=ON).result_for("https://hospital-x.example.org/pathology-structured")
    assert result.classification.classification.technique == ["GT-NLP", "GT-DEID"]  # as written
    assert result.classification.types == ["StructuredExtractionData", "DeidentifiedIndividualData"]
    swapped = _e1().replace(b"dcert:GT-NLP, dcert:GT-DEID", b"dcert:GT-DEID, dcert:GT-NLP")
    result = engine.certify(swapped, filename="e1.ttl", on=ON).result_for("https://hospital-x.example.org/pathology-structured")
    assert result.classification.classification.technique == ["GT-DEID", "GT-NLP"]


# ---- the amendments of DOMAIN.md §7 ----------------------------------------------------------

HEALTHDCAT_TEMPLATE = DATA.parents[1].parent / "shared" / "reference" / "healthdcat-ap" / "draft-shapes" / "healthDCATAP_RDF_template.ttl"


def _certify(engine, path):
    return engine.certify(path.read_bytes(), filename=path.name, on=ON)


def _found(result) -> set:
    return {(f.requirement, f.severity) for f in result.findings}


def test_sources_that_are_not_presented_as_datasets_get_no_result_and_no_p01(engine):
    """A3: a prov:Entity source, an untyped blank-node source and a DPV activity with its own purpose
    and legal basis are read as sources / activity, never certified or charged with P-01."""
    run = _certify(engine, DATA / "valid" / "sources-untyped-and-dpv-activity.ttl")
    assert [str(r.dataset) for r in run.results] == ["https://data.hospital-a.example.cn/ds/t2d-cohort-deid"]
    assert run.results[0].verdict == "certified"
    broken = _certify(engine, DATA / "invalid" / "P-02-untyped-source-without-legal-basis.ttl").results[0]
    assert _found(broken) == {("P-02", "Violation")}  # the untyped source is still a source


@pytest.mark.skipif(not HEALTHDCAT_TEMPLATE.exists(), reason="the HealthDCAT-AP reference template is not beside the checkout")
def test_a_healthdcat_ap_record_naming_its_sources_with_dct_source_is_rejected_for_p03(engine):
    """A9 + A8: the record says where it comes from only with dct:source and has a data-collection
    activity with no recognised technique: it has a source (no P-01), is not derived, and P-03 says
    what to add."""
    (result,) = _certify(engine, HEALTHDCAT_TEMPLATE).results
    requirements = {f.requirement for f in result.findings}
    assert not result.is_derived and result.verdict == "rejected"
    assert "P-03" in requirements and "P-01" not in requirements


def test_dct_source_alone_makes_a_derived_dataset(engine):
    (result, *_) = [r for r in _certify(engine, DATA / "valid" / "dct-source-names-the-source.ttl").results if r.is_derived]
    assert result.verdict == "certified" and result.classification.derivation_depth == "primary"


@pytest.mark.parametrize("name, expected", [
    ("aggregate-d4-native-json-numbers.jsonld", set()),
    ("Q-02-accuracy-native-json-number-below-threshold.jsonld", {("Q-02", "Violation")}),
])
def test_json_ld_numbers_are_compared_by_value(engine, name, expected):
    """A4: JSON-LD numbers are xsd:double; 0.90 / 0.95 / 0.95 as doubles meet the thresholds, 0.9499 does not."""
    result = _certify(engine, DATA / "jsonld" / name).result_for("https://cdc.example-province.gov.cn/data/ili-weekly-counts")
    assert _found(result) == expected
    assert result.verdict == ("certified" if not expected else "rejected")


def test_a_number_written_as_a_string_is_reported_by_the_number_shape(engine):
    result = _certify(engine, DATA / "invalid" / "Q-02-accuracy-as-string.ttl").results[-1]
    (finding,) = result.findings
    assert finding.shape.endswith("#Q-02-NumberShape") and finding.value == "0.97"


def test_the_models_performance_is_not_the_datasets_quality(engine):
    """A3/Q-02: a model accuracy of 0.88 does not reject scores whose own accuracy is 0.96."""
    run = _certify(engine, DATA / "valid" / "model-accuracy-below-dataset-threshold.ttl")
    scores = run.result_for("https://data.hospital-c.example.cn/ds/readmission-risk-scores")
    assert scores.verdict == "certified"
    low = engine.certify(_read("valid", "model-accuracy-below-dataset-threshold.ttl").replace(
        b"dcert:AccuracyMetric ; dqv:value 0.96 ]", b"dcert:AccuracyMetric ; dqv:value 0.94 ]"), filename="x.ttl", on=ON)
    (finding,) = low.result_for("https://data.hospital-c.example.cn/ds/readmission-risk-scores").findings
    assert (finding.requirement, finding.value) == ("Q-02", "0.94")
    assert finding.path == "<http://www.w3.org/ns/dqv#hasQualityMeasurement>/<http://www.w3.org/ns/dqv#value>"


def _read(kind, name) -> bytes:
    return (DATA / kind / name).read_bytes()


def test_grades_that_disagree_show_and_judge_the_least_protective(engine):
    """A8: declared D2 and dpv:PseudonymisedData (D1): S-01 'grades disagree', D1 shown, level L4, S-02 judges D1."""
    result = _certify(engine, DATA / "overlaps" / "S-01-S-02-grades-disagree.ttl").result_for(
        "https://data.hospital-a.example.cn/ds/t2d-cohort-deid")
    c = result.classification.classification
    assert (c.deidentification_grade, c.sensitivity_level) == ("D1", "L4")
    found = {(f.requirement, f.shape.rsplit("#", 1)[-1], f.value) for f in result.findings}
    assert {r for r, _, _ in found} == {"S-01", "S-02"}
    assert any(s == "S-01-GradeConflictShape" for _, s, _ in found)
    assert ("S-02", "S-02-MinimumGradeShape", "https://w3id.org/derivecert#D1") in found


def test_an_unknown_special_category_counts_for_the_level_but_is_not_listed(engine):
    data = _read("valid", "deidentified-d2-diabetes-research.ttl").replace(
        b"dcert:subjectGranularity dcert:GR-IND ;", b"dcert:subjectGranularity dcert:GR-IND ;\n  dcert:specialCategory dcert:SP-HIV ;")
    result = engine.certify(data, filename="x.ttl", on=ON).result_for("https://data.hospital-a.example.cn/ds/t2d-cohort-deid")
    c = result.classification.classification
    assert c.special == [] and c.sensitivity_level == "L4" and c.level_candidates == ["L3", "L4"]
    assert ("Q-03", "Warning") in _found(result)  # the unknown code is reported (A6)


@pytest.mark.parametrize("edit, expected", [
    # D3 declared, D4 from sector-health:HealthAggregatedData: D3 is judged, D4's small-cell rule is not asked
    ((b"dcert:privacyModel [ a dcert:SmallCellRule ; dcert:minCellSize 10 ] , ", b"dcert:privacyModel "), {("S-01", "Violation")}),
    # ... while D3's own evidence is
    ((b" , [ a dcert:DifferentialPrivacyGuarantee ; dcert:epsilon 0.5 ]", b""), {("S-01", "Violation"), ("S-03", "Violation")}),
])
def test_when_grades_disagree_s03_judges_the_least_protective_grade(engine, edit, expected):
    data = _read("invalid", "S-01-conflicting-grades.ttl")
    assert edit[0] in data
    result = engine.certify(data.replace(*edit), filename="x.ttl", on=ON).result_for(
        "https://cdc.example-province.gov.cn/data/ili-weekly-counts")
    assert result.classification.classification.deidentification_grade == "D3"
    assert _found(result) == expected


# ---- A2: strict defaults where facts are missing ------------------------------------------------

DEID_FOCUS = "https://data.hospital-a.example.cn/ds/t2d-cohort-deid"


def _notice_terms(result) -> list[str]:
    return [n["term"].rsplit("#", 1)[-1] for n in result.to_dict()["notices"]]


def test_d2_data_without_granularity_is_individual_level_and_says_so(engine):
    data = _read("valid", "deidentified-d2-diabetes-research.ttl").replace(b"  dcert:subjectGranularity dcert:GR-IND ;\n", b"")
    result = engine.certify(data, filename="x.ttl", on=ON).result_for(DEID_FOCUS)
    c = result.classification.classification
    assert c.granularity is None and c.personal_information is True
    assert result.verdict == "certified"
    assert _notice_terms(result) == ["IndividualLevelByDefault"]
    notice = result.to_dict()["notices"][0]["message"]
    assert notice["zh"] and "individual-level" in notice["en"]
    # the individual-level requirements now apply: without a retention period, S-08 is reported
    bare = data.replace(b"  healthdcatap:retentionPeriod", b"  healthdcatap:retentionPeriodX")
    assert ("S-08", "Warning") in _found(engine.certify(bare, filename="x.ttl", on=ON).result_for(DEID_FOCUS))


def test_dpv_only_pseudonymised_record_is_personal_information(engine):
    """Every DPV-only record lacks dcert:subjectGranularity: D1 from dpv:PseudonymisedData is personal."""
    data = _read("valid", "fused-psychiatric-claims-d1.ttl")
    assert b"dcert:subjectGranularity dcert:GR-IND" in data
    data = data.replace(b"dcert:subjectGranularity dcert:GR-IND", b"dcert:dataModality dcert:MOD-TAB")
    results = [r for r in engine.certify(data, filename="x.ttl", on=ON).results if r.is_derived]
    assert results and all(r.classification.classification.personal_information for r in results)
    assert all("IndividualLevelByDefault" in _notice_terms(r) for r in results)


def test_anonymised_data_without_granularity_is_not_individual_level(engine):
    data = _read("valid", "model-output-readmission-risk.ttl")
    assert b"dcert:subjectGranularity" in data
    data = b"\n".join(l for l in data.split(b"\n") if b"dcert:subjectGranularity" not in l)
    result = engine.certify(data, filename="x.ttl", on=ON).result_for("https://data.hospital-c.example.cn/ds/readmission-risk-scores")
    assert result.classification.classification.personal_information is False
    assert _notice_terms(result) == [] and result.verdict == "certified"


def test_no_grade_counts_as_d0_for_the_level_and_s01_is_reported(engine):
    result = _certify(engine, DATA / "invalid" / "S-01-no-grade.ttl").result_for(DEID_FOCUS)
    c = result.classification.classification
    assert c.deidentification_grade is None and c.sensitivity_level == "L4" and c.level_candidates == ["L4"]
    assert _found(result) == {("S-01", "Violation")}
    assert _notice_terms(result) == ["GradeNotStated"]


def test_the_explanation_names_the_default_it_applied(engine):
    data = _read("valid", "deidentified-d2-diabetes-research.ttl").replace(b"  dcert:subjectGranularity dcert:GR-IND ;\n", b"")
    cls, reasons = engine.explain(Graph().parse(data=data, format="turtle"), DEID_FOCUS)
    personal = next(r for r in reasons if r.fact.endswith("personal derived data"))
    text = personal.text()
    assert "granularity not declared (not declared: strict default, A2)" in text
    assert "de-identification grade D2" in text


# ---- A6: unknown terms and codes ------------------------------------------------------------------

def test_a_misspelt_property_is_a_notice_naming_the_known_term(engine):
    data = _read("valid", "deidentified-d2-diabetes-research.ttl").replace(
        b"dcert:deidentificationGrade dcert:D2 ;", b"dcert:deIdentificationGrade dcert:D2 ;")
    result = engine.certify(data, filename="x.ttl", on=ON).result_for(DEID_FOCUS)
    assert ("S-01", "Violation") in _found(result)  # the grade is missing, as far as anything can read
    typo = [n for n in result.to_dict()["notices"] if n["term"].endswith("#deIdentificationGrade")]
    assert [n["did_you_mean"] for n in typo] == ["https://w3id.org/derivecert#deidentificationGrade"]
    assert typo[0]["message"]["zh"] and "did you mean dcert:deidentificationGrade" in typo[0]["message"]["en"]


def test_an_unknown_code_is_reported_by_its_requirement_with_the_nearest_code(engine):
    data = _read("valid", "deidentified-d2-diabetes-research.ttl").replace(
        b"dcert:generationTechnique dcert:GT-DEID ;", b"dcert:generationTechnique dcert:GT-DEIDD ;")
    result = engine.certify(data, filename="x.ttl", on=ON).result_for(DEID_FOCUS).to_dict()
    p03 = [f for f in result["findings"] if f["requirement"] == "P-03"]
    assert [f.get("did_you_mean") for f in p03] == ["https://w3id.org/derivecert#GT-DEID"]
    assert not [n for n in result["notices"] if n["term"].endswith("GT-DEIDD")]  # reported once, by P-03


def test_an_unknown_code_no_requirement_reads_is_a_notice_and_keeps_the_verdict(engine):
    data = _read("valid", "deidentified-d2-diabetes-research.ttl").replace(
        b"dcert:consentScope dcert:AS-CLIN , dcert:AS-RES ;", b"dcert:consentScope dcert:AS-CLIN , dcert:AS-RES , dcert:AS-RESEARCH ;")
    result = engine.certify(data, filename="x.ttl", on=ON).result_for(DEID_FOCUS)
    assert result.verdict == "certified"
    assert [(n["term"].rsplit("#", 1)[-1], n.get("did_you_mean", "").rsplit("#", 1)[-1]) for n in result.to_dict()["notices"]] == [
        ("AS-RESEARCH", "AS-RES")]


# ---- HealthDCAT-AP ages and counts (read by the rules in ontology/rules/) -------------------------

CKAN_RECORD = HEALTHDCAT_TEMPLATE.parents[1] / "ckanext-dcat_dataset_health.ttl"


@pytest.mark.skipif(not (HEALTHDCAT_TEMPLATE.exists() and CKAN_RECORD.exists()), reason="HealthDCAT-AP reference records not beside the checkout")
@pytest.mark.parametrize("record", [HEALTHDCAT_TEMPLATE, CKAN_RECORD], ids=["template-ages-7", "ckan-ages-0-110"])
def test_real_healthdcat_records_with_children_under_14_are_sp_minor(engine, record):
    """Both real records state a typical age range reaching below 14 (7-7, 0-110)."""
    classified = engine.classify(record.read_bytes(), filename=record.name)
    assert all(item["classification"]["special"] == ["SP-MINOR"] for item in classified)


def _ages(min_age: int, max_age: int) -> bytes:
    return _read("valid", "deidentified-d2-diabetes-research.ttl").replace(
        b"  healthdcatap:numberOfRecords 182344 ;",
        b'  healthdcatap:numberOfRecords 182344 ;\n  healthdcatap:minTypicalAge "%d"^^xsd:nonNegativeInteger ;\n'
        b'  healthdcatap:maxTypicalAge "%d"^^xsd:nonNegativeInteger ;' % (min_age, max_age))


@pytest.mark.parametrize("ages, special, level", [((6, 13), ["SP-MINOR"], "L4"), ((14, 17), [], "L3"), ((0, 80), ["SP-MINOR"], "L4")])
def test_a_typical_age_below_14_makes_the_data_sp_minor(engine, ages, special, level):
    result = engine.certify(_ages(*ages), filename="x.ttl", on=ON).result_for(DEID_FOCUS)
    c = result.classification.classification
    assert (c.special, c.sensitivity_level) == (special, level)


def test_a_count_of_unique_individuals_is_individual_level_evidence(engine):
    """Anonymised (D3) scores with no granularity are not individual-level by default (A2), unless
    they count their unique individuals (HealthDCAT-AP): then Q-05 / S-08 apply. An aggregate (D4)
    that counts its individuals stays group-level (tests/data/valid/dpv-healthdcatap-only-aggregate.ttl)."""
    drop = (b"dcert:subjectGranularity", b"healthdcatap:numberOfRecords", b"healthdcatap:retentionPeriod")
    data = b"\n".join(l for l in _read("valid", "model-output-readmission-risk.ttl").split(b"\n") if not any(d in l for d in drop))
    focus = "https://data.hospital-c.example.cn/ds/readmission-risk-scores"
    assert engine.certify(data, filename="x.ttl", on=ON).result_for(focus).verdict == "certified"
    counted = data.replace(b"  dcert:privacyModel", b"  healthdcatap:numberOfUniqueIndividuals 18211 ;\n  dcert:privacyModel")
    assert counted != data
    result = engine.certify(counted, filename="x.ttl", on=ON).result_for(focus)
    assert {"Q-05", "S-08"} <= {f.requirement for f in result.findings}
    assert result.classification.classification.personal_information is False


def test_the_materialised_graph_reads_the_description_in_place_and_leaves_it_alone(engine):
    """The conclusions (the second pass's GradeNotStated included) are laid over the parsed
    description's store, not added to it nor to a copy of it."""
    from rdflib.namespace import RDF

    from derivecert.rdfstore import Layered, index
    from derivecert.vocab import DCERT

    graph, _ = engine.load((DATA / "invalid" / "S-01-no-grade.ttl").read_bytes(), filename="x.ttl")
    stated = set(graph)
    materialised = engine.materialise(graph)
    assert isinstance(materialised.store, Layered) and materialised.store.base is graph.store
    assert set(graph) == stated  # the description is not written
    marked = set(index(materialised).subjects(RDF.type, DCERT.GradeNotStated))
    assert DEID_FOCUS in {str(ds) for ds in marked}  # no grade stated: the second pass marked it
    assert all((ds, RDF.type, DCERT.GradeNotStated) not in graph for ds in marked)
    assert stated < set(materialised) and len(materialised) == len(set(materialised))
