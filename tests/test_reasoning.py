"""Classification by reasoning on small example descriptions (DOMAIN.md §3; issue 2).

The fixtures in `tests/data/reasoning/` are materialised with the OWL 2 RL reasoner, the engine's
default path (`tests/test_reasoner_agreement.py` shows the HermiT path infers the same). The tests
read only what the reasoner inferred: types, `dcert:levelCandidate` values and the other inferred
properties. The one step taken outside the axioms is the one DOMAIN.md §3.3 allows: the level is
the candidate of highest `dcert:rank` (就高从严), with the ranks read from the ontology.
"""

from __future__ import annotations

import json
import shutil
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from derivecert.parse import parse_file
from derivecert.reason import get_reasoner
from derivecert.resources import ontology_graph

DCERT = Namespace("https://w3id.org/derivecert#")
# Open namespaces: rdflib's closed DCAT namespace warns when pytest probes module attributes.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
PROV = Namespace("http://www.w3.org/ns/prov#")
DPV = Namespace("https://w3id.org/dpv#")
PD = Namespace("https://w3id.org/dpv/pd#")
LEGACY_PD = Namespace("https://w3id.org/dpv/dpv-pd#")
SECTOR_HEALTH = Namespace("https://w3id.org/dpv/sector/health#")
EX = Namespace("https://example.org/reasoning/")

HERE = Path(__file__).parent
FIXTURES = HERE / "data" / "reasoning"
SHARED = HERE.resolve().parents[1] / "shared"
HEALTHDCAT_RECORD = SHARED / "reference" / "healthdcat-ap" / "ckanext-dcat_dataset_health.ttl"
SPEC_EXAMPLES = SHARED / "spec" / "examples"

# The eleven derived-data types of DOMAIN.md §3.2 (docs/DESIGN.md names their classes).
TYPE_OF_TECHNIQUE = {
    "GT-AGG": "AggregatedStatisticalData", "GT-DEID": "DeidentifiedIndividualData", "GT-FEAT": "FeatureIndicatorData",
    "GT-ANNO": "AnnotatedData", "GT-NLP": "StructuredExtractionData", "GT-IMG": "ProcessedImagingSignalData",
    "GT-FUSE": "FusedData", "GT-MODEL": "ModelOutputData", "GT-TRAIN": "ModelArtefact", "GT-SYN": "SyntheticData",
    "GT-STD": "StandardisedData",
}
TYPE_CLASSES = {DCERT[name] for name in TYPE_OF_TECHNIQUE.values()}


# ---- helpers -------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def ranks() -> dict[URIRef, int]:
    """dcert:rank of every sensitivity level, read from the ontology."""
    onto = ontology_graph()
    return {level: int(onto.value(level, DCERT.rank)) for level in onto.subjects(RDF.type, DCERT.SensitivityLevel)}


def notation(term) -> str:
    return str(ontology_graph().value(term, SKOS.notation))


def candidates(graph: Graph, dataset) -> set[str]:
    return {notation(level) for level in graph.objects(dataset, DCERT.levelCandidate)}


def level(graph: Graph, dataset) -> str | None:
    """就高从严: the candidate of highest rank, or None without candidates."""
    found = list(graph.objects(dataset, DCERT.levelCandidate))
    return notation(max(found, key=lambda lv: ranks()[lv])) if found else None


def codes(graph: Graph, subject, prop) -> set[str]:
    return {notation(value) for value in graph.objects(subject, prop)}


def techniques(graph: Graph, dataset) -> set[str]:
    return {code for activity in graph.objects(dataset, PROV.wasGeneratedBy)
            for code in codes(graph, activity, DCERT.generationTechnique)}


def is_a(graph: Graph, node, cls: str) -> bool:
    return (node, RDF.type, DCERT[cls]) in graph


def dcert_types(graph: Graph, node) -> set[str]:
    return {str(t)[len(str(DCERT)):] for t in graph.objects(node, RDF.type) if str(t).startswith(str(DCERT))}


@lru_cache(maxsize=1)
def fixtures() -> Graph:
    """Every reasoning fixture, each parsed with its own blank-node scope, materialised at once."""
    data = Graph()
    for path in sorted(FIXTURES.glob("*.ttl")):
        parse_file(path, into=data)
    return get_reasoner("rl").materialise(data)


# ---- §3.3: one description per rule --------------------------------------------------------

LEVEL_CASES = [
    # rule 1: grade D4 -> L1
    ("r1-monthly-visits", {"L1"}, "L1"),
    # rule 2: grade D3 -> L2 (a special category does not raise anonymised data)
    ("r2-anonymised-cohort", {"L2"}, "L2"),
    ("r2-anonymised-depression", {"L2"}, "L2"),
    # rule 3: grade D2 -> L3
    ("r3-deidentified-admissions", {"L3"}, "L3"),
    # rule 4: grade D1 or D0 -> L4
    ("r4-pseudonymised-labs", {"L4"}, "L4"),
    ("r4-identified-features", {"L4"}, "L4"),
    # rule 5: grade D2 and a special category -> L4 (with rule 3: {L3, L4})
    ("r5-deidentified-ivf", {"L3", "L4"}, "L4"),
    ("r5-deidentified-psychiatry-notes", {"L3", "L4"}, "L4"),
    # rule 6: grade D1 or D0 and a special category -> L5 (with rule 4: {L4, L5})
    ("r6-pseudonymised-genotypes", {"L4", "L5"}, "L5"),
    ("r6-identified-paediatric-records", {"L4", "L5"}, "L5"),
    # rule 7: grade D0 and a source at L5 -> L5 (with rule 4: {L4, L5})
    ("r7-identified-hiv-extract", {"L4", "L5"}, "L5"),
    ("r7-identified-hiv-used", {"L4", "L5"}, "L5"),
    ("r7-pseudonymised-sti", {"L4", "L5"}, "L5"),
    ("r7-identified-from-derived", {"L4", "L5"}, "L5"),
    # A8: a source declared L4 whose computed level is L5 is a source at L5 (the higher of the two)
    ("r7-sti-declared-l4", {"L4", "L5"}, "L5"),
    ("r7-identified-from-declared-l4", {"L4", "L5"}, "L5"),
    # controls for rule 7: not D0, or a source below L5
    ("r7-pseudonymised-hiv", {"L4"}, "L4"),
    ("r7-identified-from-l4", {"L4"}, "L4"),
]


@pytest.mark.parametrize("name,expected_candidates,expected_level", LEVEL_CASES, ids=[c[0] for c in LEVEL_CASES])
def test_level_candidates_and_level(name: str, expected_candidates: set[str], expected_level: str):
    graph = fixtures()
    dataset = EX[name]
    assert is_a(graph, dataset, "DerivedData"), f"{name} should be derived data"
    assert candidates(graph, dataset) == expected_candidates
    assert level(graph, dataset) == expected_level


RULE_CLASSES = {
    "LevelRuleD4": "r1-monthly-visits", "LevelRuleD3": "r2-anonymised-cohort", "LevelRuleD2": "r3-deidentified-admissions",
    "LevelRuleD1OrD0": "r4-pseudonymised-labs", "LevelRuleD2Special": "r5-deidentified-ivf",
    "LevelRuleD1OrD0Special": "r6-pseudonymised-genotypes", "LevelRuleD0SourceL5": "r7-identified-hiv-extract",
}


def test_each_rule_class_has_its_own_example():
    """Every §3.3 rule class of the ontology is exercised, and its example is classified into it."""
    onto = ontology_graph()
    rule_classes = {str(c)[len(str(DCERT)):] for c in onto.subjects(SKOS.definition, None)
                    if (c, RDF.type, None) in onto and (c, RDFS.subClassOf, DCERT.LevelCandidateRule) in onto}
    assert rule_classes == set(RULE_CLASSES), "one example per rule: update RULE_CLASSES when the rules change"
    graph = fixtures()
    for rule, name in RULE_CLASSES.items():
        assert is_a(graph, EX[name], rule), f"{name} should be classified {rule}"


def test_union_classes_the_shapes_target():
    graph = fixtures()
    assert not is_a(graph, EX["r2-anonymised-cohort"], "Level3OrAbove")
    assert is_a(graph, EX["r3-deidentified-admissions"], "Level3OrAbove")
    assert not is_a(graph, EX["r3-deidentified-admissions"], "Level4OrAbove")
    assert is_a(graph, EX["r5-deidentified-ivf"], "Level4OrAbove")
    assert is_a(graph, EX["r6-pseudonymised-genotypes"], "Level5")


def test_sources_get_no_candidates():
    """Levels are computed for sourced data only: a source's declared level stays as declared."""
    graph = fixtures()
    for name in ("r1-emr", "r7-hiv-registry", "drv-ehr"):
        assert not candidates(graph, EX[name]), name


# ---- §3.2: derivation ----------------------------------------------------------------------

def test_copy_only_is_copy_data_not_derived_data():
    graph = fixtures()
    backup = EX["drv-backup"]
    assert is_a(graph, backup, "CopyData") and is_a(graph, backup, "SourcedDataset")
    assert not is_a(graph, backup, "DerivedData")
    assert not set(graph.objects(backup, RDF.type)) & TYPE_CLASSES


def test_copy_with_a_deriving_technique_is_derived():
    graph = fixtures()
    node = EX["drv-copy-and-map"]
    assert is_a(graph, node, "DerivedData") and is_a(graph, node, "StandardisedData") and is_a(graph, node, "CopyData")


def test_no_source_is_not_sourced():
    graph = fixtures()
    node = EX["drv-no-source"]
    assert not is_a(graph, node, "SourcedDataset")
    assert not is_a(graph, node, "DerivedData")
    assert not is_a(graph, node, "AggregatedStatisticalData")
    assert techniques(graph, node) == {"GT-AGG"}  # the technique is there, the source is not


def test_source_without_technique_is_neither_derived_nor_copy():
    graph = fixtures()
    node = EX["drv-no-technique"]
    assert is_a(graph, node, "SourcedDataset")
    assert not is_a(graph, node, "DerivedData") and not is_a(graph, node, "CopyData")


@pytest.mark.parametrize("name", ["drv-primary", "drv-primary-used", "drv-from-backup", "drv-from-undocumented"])
def test_primary_derived_data(name: str):
    graph = fixtures()
    assert is_a(graph, EX[name], "SourcedDataset") and is_a(graph, EX[name], "DerivedData")
    assert not is_a(graph, EX[name], "SecondaryDerivedData")


@pytest.mark.parametrize("name", ["drv-secondary", "drv-secondary-used", "drv-secondary-mixed", "drv-tertiary",
                                  "drv-from-declared"])
def test_secondary_derived_data(name: str):
    graph = fixtures()
    assert is_a(graph, EX[name], "SecondaryDerivedData")
    assert is_a(graph, EX[name], "DerivedData")


def test_only_derived_data_makes_a_source_derived():
    """A copy (GT-COPY only) or a source without a technique is not derived data (DOMAIN.md §1,
    §3.2): it is no dcert:DerivedSource, so data derived from it stays primary."""
    graph = fixtures()
    for name in ("drv-backup", "drv-no-technique", "drv-ehr"):
        assert not is_a(graph, EX[name], "DerivedSource"), name
    for name in ("drv-primary", "drv-primary-used", "drv-declared-derived"):
        assert is_a(graph, EX[name], "DerivedSource"), name


@pytest.mark.parametrize("technique", sorted(TYPE_OF_TECHNIQUE) + ["GT-COPY"])
def test_one_type_per_technique(technique: str):
    graph = fixtures()
    dataset = EX["tq-" + technique.split("-")[1].lower()]
    assert techniques(graph, dataset) == {technique}
    types = {t for t in graph.objects(dataset, RDF.type) if t in TYPE_CLASSES}
    expected = {DCERT[TYPE_OF_TECHNIQUE[technique]]} if technique in TYPE_OF_TECHNIQUE else set()
    assert types == expected
    assert is_a(graph, dataset, "DerivedData") == (technique != "GT-COPY")


def test_every_type_class_of_the_ontology_is_covered():
    onto = ontology_graph()
    declared = {c for c in onto.subjects(RDFS.subClassOf, DCERT.DerivedData)}
    assert TYPE_CLASSES <= declared
    assert declared - TYPE_CLASSES == {DCERT.PrimaryDerivedData, DCERT.SecondaryDerivedData}


# ---- interoperability: DPV / PROV / HealthDCAT-AP only -------------------------------------

def test_dpv_fixture_uses_no_project_term():
    text = (FIXTURES / "dpv-only.ttl").read_text(encoding="utf-8")
    assert "derivecert" not in text and "dcert:" not in text


DPV_CASES = [
    # name, scenarios, techniques, grade, special categories, candidates, level, extra classes
    ("dpv-incidence", {"AS-PH"}, {"GT-AGG"}, "D4", set(), {"L1"}, "L1",
     {"DerivedData", "AggregatedStatisticalData", "NonPersonalDerivedData"}),
    ("dpv-genotypes", {"AS-RES"}, {"GT-DEID", "GT-FUSE"}, "D1", {"SP-GEN"}, {"L4", "L5"}, "L5",
     {"DerivedData", "DeidentifiedIndividualData", "FusedData", "SpecialCategoryData"}),
    ("dpv-psychiatry", {"AS-AI"}, {"GT-DEID"}, "D3", {"SP-MH"}, {"L2"}, "L2",
     {"DerivedData", "DeidentifiedIndividualData", "NonPersonalDerivedData"}),
    ("dpv-paediatric-predictions", {"AS-EMERG"}, {"GT-MODEL"}, "D3", {"SP-MINOR", "SP-GEN"}, {"L2"}, "L2",
     {"DerivedData", "ModelOutputData", "SecondaryDerivedData"}),
]


@pytest.mark.parametrize("name,scenarios,techs,grade,special,cands,lvl,classes", DPV_CASES, ids=[c[0] for c in DPV_CASES])
def test_dpv_only_description_is_classified(name, scenarios, techs, grade, special, cands, lvl, classes):
    graph = fixtures()
    dataset = EX[name]
    assert codes(graph, dataset, DCERT.applicationScenario) == scenarios
    assert techniques(graph, dataset) == techs
    assert codes(graph, dataset, DCERT.deidentificationGrade) == {grade}
    assert codes(graph, dataset, DCERT.specialCategory) == special
    assert candidates(graph, dataset) == cands
    assert level(graph, dataset) == lvl
    assert classes <= dcert_types(graph, dataset)


def test_legacy_dpv_pd_namespace_alone_gives_the_special_category():
    """dpv-genotypes names its genetic data only in the legacy namespace, as HealthDCAT-AP records do."""
    text = (FIXTURES / "dpv-only.ttl").read_text(encoding="utf-8")
    block = text.split("ex:dpv-genotypes a")[1].split("\n\n")[0]
    assert "dpv-pd:Genetic" in block and "pd:Genetic" not in block.replace("dpv-pd:Genetic", "")
    assert codes(fixtures(), EX["dpv-genotypes"], DCERT.specialCategory) == {"SP-GEN"}


needs_record = pytest.mark.skipif(not HEALTHDCAT_RECORD.exists(), reason=f"{HEALTHDCAT_RECORD} not found")
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="HermiT (owlready2) needs a Java runtime on the PATH")
RECORD_DATASET = URIRef("http://example.healthdata.nl/set/dataset")


@needs_record
@pytest.mark.parametrize("reasoner", ["rl", pytest.param("hermit", marks=[needs_java, pytest.mark.hermit])])
def test_real_healthdcat_record_is_classified(reasoner: str):
    data = Graph()
    parse_file(HEALTHDCAT_RECORD, into=data)
    graph = get_reasoner(reasoner).materialise(data)
    assert len(graph) > len(data)
    assert codes(graph, RECORD_DATASET, DCERT.applicationScenario) == {"AS-RES"}  # dpv:hasPurpose dpv:AcademicResearch
    assert is_a(graph, RECORD_DATASET, "ScenarioFromPurpose-AS-RES")
    assert is_a(graph, RECORD_DATASET, "ConsentBasedSource")  # dpv:hasLegalBasis dpv:Consent
    # It names no source (prov:wasGeneratedBy an activity that uses nothing): not derived data.
    assert not is_a(graph, RECORD_DATASET, "SourcedDataset") and not is_a(graph, RECORD_DATASET, "DerivedData")
    # Its legacy dpv-pd categories (Age, Gender, HealthRecord) are no special category.
    assert not codes(graph, RECORD_DATASET, DCERT.specialCategory)


# ---- the worked examples of the spec -------------------------------------------------------

def _spec_examples() -> list[tuple[Path, dict]]:
    out = []
    for expected in sorted(SPEC_EXAMPLES.glob("*.expected.json")) if SPEC_EXAMPLES.exists() else []:
        for entry in json.loads(expected.read_text(encoding="utf-8")):
            out.append((expected.with_name(expected.name.replace(".expected.json", ".ttl")), entry))
    return out


SPEC_CASES = _spec_examples()


@pytest.mark.parametrize("path,expected", SPEC_CASES, ids=[f"{p.stem}:{e['dataset'].rsplit('/', 1)[-1]}" for p, e in SPEC_CASES])
def test_spec_example_classification(path: Path, expected: dict):
    """What the reasoner infers for the spec's worked examples matches their expected results."""
    data = Graph()
    parse_file(path, into=data)
    graph = get_reasoner("rl").materialise(data)
    dataset = URIRef(expected["dataset"])
    assert is_a(graph, dataset, "DerivedData") == expected["is_derived"]
    if "derivation_depth" in expected:
        assert ("secondary" if is_a(graph, dataset, "SecondaryDerivedData") else "primary") == expected["derivation_depth"]
    if "types" in expected:
        assert {t for t in dcert_types(graph, dataset) if DCERT[t] in TYPE_CLASSES} == set(expected["types"])
    cls = expected.get("classification", {})
    checks = {
        "scenario": lambda: codes(graph, dataset, DCERT.applicationScenario) == set(cls["scenario"]),
        "technique": lambda: techniques(graph, dataset) == set(cls["technique"]),
        "special": lambda: codes(graph, dataset, DCERT.specialCategory) == set(cls["special"]),
        "deidentification_grade": lambda: codes(graph, dataset, DCERT.deidentificationGrade) == {cls["deidentification_grade"]},
        "level_candidates": lambda: candidates(graph, dataset) == set(cls["level_candidates"]),
        "sensitivity_level": lambda: level(graph, dataset) == cls["sensitivity_level"],
        "personal_information": lambda: is_a(graph, dataset, "PersonalDerivedData") == cls["personal_information"],
    }
    failed = [key for key, check in checks.items() if key in cls and not check()]
    assert not failed, f"{path.name} {dataset}: inferred classification differs on {failed}"


# ---- property: a special category never lowers the level -----------------------------------

GRADES = [DCERT[f"D{n}"] for n in range(5)]
LEVELS = [DCERT[f"L{n}"] for n in range(1, 6)]
# A special category as a metadata author may write it: the dcert: code, or a DPV category.
SPECIAL_STATEMENTS = (
    [(DCERT.specialCategory, DCERT[c]) for c in ("SP-GEN", "SP-MH", "SP-STI", "SP-REP", "SP-MINOR")]
    + [(DPV.hasPersonalData, PD.Genetic), (DPV.hasPersonalData, LEGACY_PD.Genetic), (DPV.hasData, PD.MentalHealth),
       (DPV.hasPersonalData, LEGACY_PD.MentalHealth), (DPV.hasData, SECTOR_HEALTH.GenomicData), (DPV.hasDataSubject, DPV.Child)]
)
combination = st.tuples(
    st.sampled_from(GRADES),
    st.sampled_from(SPECIAL_STATEMENTS),
    st.none() | st.sampled_from(LEVELS),       # the source's declared level, if any
    st.sampled_from(["wasDerivedFrom", "used"]),  # how the source is named
)


def _describe(graph: Graph, name: str, grade, source, link: str, special=None) -> URIRef:
    dataset = URIRef(f"https://example.org/property/{name}")
    activity = BNode()
    graph.add((dataset, RDF.type, DCAT.Dataset))
    graph.add((dataset, PROV.wasGeneratedBy, activity))
    graph.add((activity, DCERT.generationTechnique, DCERT["GT-FEAT"]))
    graph.add((activity, PROV.used, source) if link == "used" else (dataset, PROV.wasDerivedFrom, source))
    graph.add((dataset, DCERT.deidentificationGrade, grade))
    if special is not None:
        graph.add((dataset, *special))
    return dataset


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(combination, min_size=1, max_size=6))
def test_adding_a_special_category_never_lowers_the_level(combinations):
    data = Graph()
    pairs = []
    for index, (grade, special, source_level, link) in enumerate(combinations):
        source = URIRef(f"https://example.org/property/source-{index}")
        data.add((source, RDF.type, DCAT.Dataset))
        if source_level is not None:
            data.add((source, DCERT.sensitivityLevel, source_level))
        plain = _describe(data, f"{index}-plain", grade, source, link)
        special_ds = _describe(data, f"{index}-special", grade, source, link, special)
        pairs.append((plain, special_ds, grade))
    graph = get_reasoner("rl").materialise(data)
    for plain, special_ds, grade in pairs:
        without, with_special = candidates(graph, plain), candidates(graph, special_ds)
        assert without, f"a derived dataset at {notation(grade)} always has a candidate level"
        assert without <= with_special, "adding a fact never removes a candidate"
        assert ranks()[DCERT[level(graph, special_ds)]] >= ranks()[DCERT[level(graph, plain)]]
        if grade in GRADES[:3]:  # D0-D2 with a special category: at least L4 (rules 5 and 6)
            assert ranks()[DCERT[level(graph, special_ds)]] >= 4


# ---- A3: no axiom presents a node as a dataset ---------------------------------------------
# A source typed only prov:Entity or not typed at all, or a DPV activity carrying its own purpose or
# legal basis, must never become a dcat:Dataset by inference: P-01 would then fire on it (DOMAIN.md
# §4.1, A3). One test per family of axioms that could do so, each over every axiom of the family.

LEAK = "urn:derivecert:leak:"


def _fresh(family: str, i: int, role: str) -> URIRef:
    return URIRef(f"{LEAK}{family.replace(' ', '-')}:{i}:{role}")


def _leak_probes(family: str) -> Graph:
    """Untyped nodes that satisfy, one by one, every axiom of a family."""
    from rdflib.namespace import OWL

    onto, data = ontology_graph(), Graph()
    if family == "domains and ranges":
        props = {p for p in onto.subjects(RDF.type, OWL.ObjectProperty)} | set(onto.subjects(RDFS.domain, None))
        for i, prop in enumerate(sorted(props, key=str)):
            data.add((_fresh(family, i, "s"), prop, _fresh(family, i, "o")))
    elif family == "property restrictions":
        for i, r in enumerate(sorted(onto.subjects(OWL.onProperty, None), key=str)):
            prop, value = onto.value(r, OWL.onProperty), onto.value(r, OWL.hasValue)
            if value is None:
                value = _fresh(family, i, "o")
                filler = onto.value(r, OWL.someValuesFrom)
                if isinstance(filler, URIRef) and filler != OWL.Thing:
                    data.add((value, RDF.type, filler))
            data.add((_fresh(family, i, "s"), prop, value))
    elif family == "aligned DPV classes used as types":
        aligned = {c for c in onto.subjects(RDFS.subClassOf, None) if isinstance(c, URIRef) and not str(c).startswith(str(DCERT))}
        for i, cls in enumerate(sorted(aligned, key=str)):
            data.add((_fresh(family, i, "s"), RDF.type, cls))
    elif family == "code values":
        codes = [c for c in onto.subjects(SKOS.notation, None) if str(c).startswith(str(DCERT))]
        for i, prop in enumerate(sorted({p for p in onto.subjects(RDFS.range, None) if str(p).startswith(str(DCERT))}, key=str)):
            for j, code in enumerate(sorted(codes, key=str)):
                data.add((_fresh(family, i * 1000 + j, "s"), prop, code))
    return data


@pytest.mark.parametrize("family", ["domains and ranges", "property restrictions", "aligned DPV classes used as types", "code values"])
def test_no_axiom_presents_a_node_as_a_dataset(family: str):
    data = _leak_probes(family)
    assert len(data) >= 5, "the family has axioms to probe"
    graph = get_reasoner("rl").materialise(data)
    presented = sorted(str(n) for n in graph.subjects(RDF.type, DCAT.Dataset) if str(n).startswith(LEAK))
    assert not presented, f"{len(presented)} untyped node(s) inferred dcat:Dataset, e.g. {presented[:3]}"


def test_dpv_activity_purposes_are_the_datasets_scenarios_and_keep_the_activity_an_activity():
    """A8: purposes on the generating activity are the dataset's scenarios; A3: the activity stays no dataset."""
    data = Graph().parse(data="""
        @prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix prov: <http://www.w3.org/ns/prov#> .
        @prefix dpv: <https://w3id.org/dpv#> . @prefix ex: <https://example.org/reasoning/> .
        ex:a8-counts a dcat:Dataset ; prov:wasDerivedFrom ex:a8-src ; prov:wasGeneratedBy ex:a8-activity .
        ex:a8-activity a prov:Activity ; dpv:hasPurpose dpv:ScientificResearch ; dpv:hasLegalBasis dpv:Consent ;
          dpv:hasProcessing dpv:Aggregate .
        ex:a8-src dpv:hasLegalBasis dpv:Consent ; dpv:hasPurpose dpv:AcademicResearch .""", format="turtle")
    graph = get_reasoner("rl").materialise(data)
    assert codes(graph, EX["a8-counts"], DCERT.applicationScenario) == {"AS-RES"}
    assert codes(graph, EX["a8-activity"], DCERT.purposeScenario) == {"AS-RES"}
    assert codes(graph, EX["a8-src"], DCERT.purposeScenario) == {"AS-RES"}  # the consent scope fallback (S-10)
    for node in ("a8-activity", "a8-src"):
        assert (EX[node], RDF.type, DCAT.Dataset) not in graph, node
        assert not codes(graph, EX[node], DCERT.applicationScenario), node


# ---- A9: dct:source names a source ----------------------------------------------------------

DCT_SOURCE = URIRef("http://purl.org/dc/terms/source")


def test_dct_source_with_an_iri_is_a_source_and_a_literal_is_not():
    data = Graph().parse(data="""
        @prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
        @prefix ex: <https://example.org/reasoning/> .
        ex:a9-registry-copy a dcat:Dataset ; dct:source ex:a9-his-ehr-export .
        ex:a9-statement a dcat:Dataset ; dct:source "exported from the hospital information system"@en .""", format="turtle")
    graph = get_reasoner("rl").materialise(data)
    assert is_a(graph, EX["a9-registry-copy"], "SourcedDataset")
    assert (EX["a9-registry-copy"], PROV.wasDerivedFrom, EX["a9-his-ehr-export"]) in graph
    assert not is_a(graph, EX["a9-statement"], "SourcedDataset")
    assert (EX["a9-his-ehr-export"], RDF.type, DCAT.Dataset) not in graph


def test_the_ontologys_own_dct_source_citations_make_no_term_a_source():
    """The ontology cites DOMAIN.md with dct:source on its terms; the A9 reading must not touch them."""
    import reasonable

    onto = ontology_graph()
    assert len(list(onto.subject_objects(DCT_SOURCE))) > 100
    reasoner = reasonable.PyReasoner()
    reasoner.from_graph(onto)
    closure = reasoner.reason()
    sourced = [s for s, p, o in closure if p == str(RDF.type) and o == str(DCERT.SourcedDataset)]
    assert not sourced, sourced[:5]
    # and a description naming codes (which carry citations) makes none of them a source either
    graph = get_reasoner("rl").materialise(Graph().parse(FIXTURES / "rule-3-d2.ttl"))
    for code in (DCERT.D2, DCERT.L3):
        assert not list(graph.objects(code, PROV.wasDerivedFrom)) and not is_a(graph, code, "SourcedDataset")


# ---- A8: an unknown special-category code still counts for the level --------------------------

def test_an_unknown_special_category_code_counts_as_a_special_category():
    data = Graph().parse(data="""
        @prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix prov: <http://www.w3.org/ns/prov#> .
        @prefix dcert: <https://w3id.org/derivecert#> . @prefix ex: <https://example.org/reasoning/> .
        ex:a8-unknown-special a dcat:Dataset ; prov:wasDerivedFrom ex:a8-src ;
          prov:wasGeneratedBy [ dcert:generationTechnique dcert:GT-DEID ] ;
          dcert:deidentificationGrade dcert:D2 ; dcert:specialCategory dcert:SP-HIV .""", format="turtle")
    graph = get_reasoner("rl").materialise(data)
    assert is_a(graph, EX["a8-unknown-special"], "SpecialCategoryData")
    assert candidates(graph, EX["a8-unknown-special"]) == {"L3", "L4"}
