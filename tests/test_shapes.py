"""The SHACL shapes of the identification requirements (DOMAIN.md §4) and their fixture corpus.

- tests/data/valid/*.ttl: complete descriptions whose focus dataset gets no finding at all.
- tests/data/invalid/<ID>-<what>.ttl: descriptions that break exactly one requirement (the header
  says which, with which severity, on which dataset, and why).

Reports are compared structurally (requirement, focus, path, severity), never by message text
(models: pySHACL's DASH tests; mobilityDCAT-AP's positive / negative folders).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
from functools import lru_cache
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH

import derivecert
from derivecert import defaults
from derivecert.errors import ConfigurationError
from derivecert.reason import get_reasoner
from derivecert.resources import SHAPES_IRI, shapes_files, shapes_source_graph, shapes_version
from derivecert.vocab import DCERT

# The SHACL step of the engine (derivecert.shacl).
V = importlib.import_module("derivecert.shacl")

HERE = Path(__file__).parent
DATA = HERE / "data"
VALID = sorted((DATA / "valid").glob("*.ttl"))
INVALID = sorted((DATA / "invalid").glob("*.ttl"))
#: Fixtures whose one defect breaks two requirements by design (docs/DESIGN.md "overlaps").
OVERLAPS = sorted((DATA / "overlaps").glob("*.ttl"))
#: The date fixtures are validated on (authorizations expire relative to it, P-04).
ON = dt.date(2026, 11, 28)
SPEC_CANDIDATES = [HERE.resolve().parents[1] / "shared" / "spec"]  # ../shared beside the checkout
ID = re.compile(r"^[PQSR]-\d\d$")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def header(path: Path) -> dict:
    """The fixture's header comments: focus, expected {(requirement, severity)}, why."""
    text = path.read_text(encoding="utf-8")
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        match = re.match(r"#\s*(requirement|severity|focus|why|base):\s*(.*)$", line)
        if match:
            fields[match.group(1)] = match.group(2).strip()
    assert "focus" in fields, f"{path.name}: no '# focus:' header"
    focus = URIRef(fields["focus"].strip("<>"))
    expected: set = set()
    if "requirement" in fields:
        ids = [x.strip() for x in fields["requirement"].split(",")]
        severities = [x.strip() for x in fields["severity"].split(",")]
        if len(severities) == 1:
            severities *= len(ids)
        assert len(severities) == len(ids), f"{path.name}: one severity per requirement"
        expected = set(zip(ids, severities))
    return {"focus": focus, "expected": expected, "why": fields.get("why", "")}


@lru_cache(maxsize=None)
def materialised(path: Path) -> Graph:
    """What the shapes see: the description, the inferences and the strict defaults (A2)."""
    return defaults.materialise(get_reasoner("rl"), Graph().parse(path, format="turtle"))


@lru_cache(maxsize=None)
def validation(path: Path, thresholds: tuple = ()):
    return V.validate(materialised(path), on=ON, thresholds=dict(thresholds) or None)


def on_focus(findings, focus) -> set:
    return {(f.requirement, f.severity) for f in findings if f.focus == focus}


def spec_path(name: str) -> Path:
    for folder in SPEC_CANDIDATES:
        if (folder / name).exists():
            return folder / name
    pytest.skip(f"the shared spec ({name}) is not next to the checkout")


def spec_requirement_ids() -> list[str]:
    """The requirement IDs of DOMAIN.md §4, read from its tables (the spec, not a copied list)."""
    text = spec_path("DOMAIN.md").read_text(encoding="utf-8")
    section = text[text.index("## 4."):text.index("## 5.")]
    ids = re.findall(r"^\|\s*([PQSR]-\d\d)\s*\|", section, re.M)
    assert len(ids) == len(set(ids))
    return ids


def shape_graph() -> Graph:
    return V.compiled_shapes()


def citable_shapes(g: Graph) -> set:
    """Shapes a report can cite: shapes with a target, and the property shapes under them."""
    targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
    out = {s for t in targets for s in g.subjects(t, None)}
    out |= {p for s in list(out) for p in g.objects(s, SH.property)}
    return out


# --------------------------------------------------------------------------------------------
# the corpus
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_fixture_has_no_finding(path):
    head = header(path)
    assert not head["expected"], "a valid fixture names no requirement"
    result = validation(path)
    assert (head["focus"], RDF.type, URIRef("http://www.w3.org/ns/dcat#Dataset")) in materialised(path)
    found = [f for f in result.findings if f.focus == head["focus"]]
    assert found == [], "\n".join(f"{f.requirement} {f.severity} {f.path} {f.message.get('en')}" for f in found)
    # the other datasets of the description: sources report P-01 only, derived ones nothing
    for f in result.findings:
        assert f.requirement == "P-01", (f.focus, f.requirement, f.message.get("en"))


@pytest.mark.parametrize("path", OVERLAPS, ids=lambda p: p.name)
def test_overlap_fixture_reports_each_requirement_once(path):
    head = header(path)
    assert len(head["expected"]) > 1
    assert on_focus(validation(path).findings, head["focus"]) == head["expected"]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_fixture_breaks_exactly_its_requirement(path):
    head = header(path)
    assert head["expected"], f"{path.name} names no requirement"
    assert head["why"], f"{path.name} does not say why"
    assert len(head["expected"]) == 1, "an invalid fixture breaks one requirement (overlaps live in data/overlaps)"
    assert path.name.startswith(sorted(head["expected"])[0][0] + "-"), "file name starts with its requirement ID"
    result = validation(path)
    assert on_focus(result.findings, head["focus"]) == head["expected"]
    if any(sev == "Violation" for _, sev in head["expected"]):
        assert not result.conforms


@pytest.mark.parametrize("path", VALID + INVALID + OVERLAPS, ids=lambda p: p.name)
def test_findings_are_structural(path):
    """Every finding names one requirement, a severity, the dataset, and a named shape."""
    shapes = shape_graph()
    requirements = V.shape_requirements(shapes)
    for f in validation(path).findings:
        assert ID.match(f.requirement)
        assert f.severity in {"Violation", "Warning"}
        assert (f.focus, RDF.type, URIRef("http://www.w3.org/ns/dcat#Dataset")) in materialised(path)
        assert f.path is None or isinstance(f.path, str)
        shape = URIRef(f.shape)
        assert requirements.get(shape) == f.requirement
        assert (shape, DCERT.requirement, Literal(f.requirement)) in shapes, "cited shapes are named and carry the ID"
        assert f.message.get("zh") and f.message.get("en"), f"{f.requirement}: message in zh and en"
        assert "{?" not in f.message["en"] and "{?" not in f.message["zh"]


def test_batch_gives_the_same_findings_as_one_by_one():
    """The whole corpus in one validate() call: each dataset gets what it gets alone."""
    batch = Graph()
    expected = {}
    for i, path in enumerate(VALID + INVALID + OVERLAPS):
        def rename(term, i=i):
            if isinstance(term, URIRef) and ".example" in term:
                return URIRef(f"{term}-{i}")
            return term
        for s, p, o in Graph().parse(path, format="turtle"):
            batch.add((rename(s), p, rename(o)))
        head = header(path)
        expected[rename(head["focus"])] = head["expected"]
    result = V.validate(defaults.materialise(get_reasoner("rl"), batch), on=ON)
    for focus, want in expected.items():
        assert on_focus(result.findings, focus) == want, focus


def test_q02_findings_are_attributed_to_the_dataset():
    path = DATA / "invalid" / "Q-02-completeness-below-threshold.ttl"
    head = header(path)
    (finding,) = [f for f in validation(path).findings if f.focus == head["focus"]]
    assert finding.path == "<http://www.w3.org/ns/dqv#hasQualityMeasurement>/<http://www.w3.org/ns/dqv#value>"
    assert finding.value == "0.89"


def test_sparql_findings_name_source_and_scenario():
    path = DATA / "invalid" / "P-04-scenario-not-authorized.ttl"
    head = header(path)
    (finding,) = [f for f in validation(path).findings if f.focus == head["focus"]]
    assert finding.path == str(DCERT.sourceAuthorization)
    assert finding.value == "https://data.hospital-b.example.cn/ds/t2d-ehr-extract"
    assert "AS-DRUG" in finding.message["en"] and "AS-DRUG" in finding.message["zh"]


# --------------------------------------------------------------------------------------------
# the validation date
# --------------------------------------------------------------------------------------------

def test_authorization_expiry_is_relative_to_the_validation_date():
    path = DATA / "invalid" / "P-04-authorization-expired.ttl"
    focus = header(path)["focus"]
    assert on_focus(V.validate(materialised(path), on=dt.date(2026, 6, 30)).findings, focus) == set()
    assert on_focus(V.validate(materialised(path), on=dt.date(2026, 7, 1)).findings, focus) == {("P-04", "Violation")}


def test_the_input_cannot_set_the_validation_date():
    path = DATA / "invalid" / "P-04-authorization-expired.ttl"
    graph = Graph().parse(path, format="turtle")
    graph.add((V.CONTEXT_NODE, DCTERMS.date, Literal(dt.date(2000, 1, 1))))
    graph.add((V.CONTEXT_NODE, RDF.type, DCERT.CertificationActivity))
    result = V.validate(get_reasoner("rl").materialise(graph), on=ON)
    assert on_focus(result.findings, header(path)["focus"]) == {("P-04", "Violation")}


def test_validate_leaves_the_materialised_graph_unchanged():
    path = DATA / "valid" / "fused-psychiatric-claims-d1.ttl"
    graph = get_reasoner("rl").materialise(Graph().parse(path, format="turtle"))
    before = set(graph)
    V.validate(graph, on=ON)
    assert set(graph) == before


# --------------------------------------------------------------------------------------------
# coverage of the spec
# --------------------------------------------------------------------------------------------

def test_every_requirement_of_the_spec_has_a_shape_and_a_failing_fixture():
    ids = spec_requirement_ids()
    assert len(ids) == 31  # P-01..P-10 (P-10: DOMAIN.md §7 A1), Q-01..Q-08, S-01..S-11, R-01..R-02
    shapes = shape_graph()
    with_shape = {str(r) for r in shapes.objects(None, DCERT.requirement)}
    failing = {req for path in INVALID for req, _ in header(path)["expected"]}
    assert set(ids) - with_shape == set(), "requirements without a shape"
    assert set(ids) - failing == set(), "requirements without an invalid fixture"
    assert with_shape - set(ids) == set(), "shapes naming a requirement the spec does not have"


def test_two_severity_requirements_have_both_severities_in_shapes_and_fixtures():
    shapes = shape_graph()
    for req in ("Q-01", "Q-03", "R-01"):
        severities = {shapes.value(s, SH.severity) for s in shapes.subjects(DCERT.requirement, Literal(req))}
        assert severities == {SH.Violation, SH.Warning}, req
        seen = {sev for path in INVALID for r, sev in header(path)["expected"] if r == req}
        assert seen == {"Violation", "Warning"}, req


def test_severities_follow_the_spec():
    text = spec_path("DOMAIN.md").read_text(encoding="utf-8")
    section = text[text.index("## 4."):text.index("## 5.")]
    rows = dict(re.findall(r"^\|\s*([PQSR]-\d\d)\s*\|.*\|\s*([^|]+?)\s*\|\s*$", section, re.M))
    shapes = shape_graph()
    for req, severity_text in rows.items():
        severities = {str(shapes.value(s, SH.severity)).split("#")[-1]
                      for s in shapes.subjects(DCERT.requirement, Literal(req)) if (s, SH.severity, None) in shapes}
        allowed = {word for word in ("Violation", "Warning") if word in severity_text}
        assert severities and severities <= allowed, (req, severities, severity_text)


# --------------------------------------------------------------------------------------------
# the shapes themselves
# --------------------------------------------------------------------------------------------

def test_cited_shapes_are_named_and_documented_in_both_languages():
    shapes = shape_graph()
    documented = citable_shapes(shapes) | set(shapes.subjects(DCERT.requirement, None))
    assert len(documented) > 30
    for shape in documented:
        assert isinstance(shape, URIRef), f"a citable shape is a blank node: {shape}"
        for prop in (SH.name, SH.description, SH.message):
            langs = {o.language for o in shapes.objects(shape, prop) if isinstance(o, Literal)}
            assert {"zh", "en"} <= langs, f"{shape}: {prop} in zh and en"
        assert shapes.value(shape, SH.severity) in {SH.Violation, SH.Warning}, shape
        requirement = shapes.value(shape, DCERT.requirement)
        assert requirement is not None and ID.match(str(requirement)), shape
        assert str(shape).startswith(f"{DCERT}{requirement}-"), f"{shape} is named after its requirement"
        assert (shape, RDFS.seeAlso, URIRef(f"https://w3id.org/derivecert/docs/requirements#{requirement}")) in shapes


def test_sparql_constraints_carry_messages_in_both_languages():
    shapes = shape_graph()
    constraints = list(shapes.objects(None, SH.sparql))
    assert len(constraints) == 3  # P-04, S-02, S-10: the cross-record rules
    for c in constraints:
        assert {m.language for m in shapes.objects(c, SH.message)} == {"zh", "en"}
        assert "$this" in str(shapes.value(c, SH.select))


def test_shapes_conform_to_shacl_for_shacl():
    from pyshacl.entrypoints import meta_validate

    for graph in (shapes_source_graph(), V.compiled_shapes(), V.compiled_shapes({"MinK": 7, "MaxEpsilon": 0.5})):
        conforms, _report, text = meta_validate(graph)
        assert conforms, text


def test_shapes_version_is_the_package_version():
    assert shapes_version() == derivecert.__version__
    graph = shapes_source_graph()
    assert (SHAPES_IRI, RDF.type, OWL.Ontology) in graph
    assert {t.language for t in graph.objects(SHAPES_IRI, DCTERMS.title)} == {"zh", "en"}


def test_shapes_are_package_data_one_file_per_family():
    names = {p.name for p in shapes_files()}
    assert {"process.ttl", "quality.ttl", "security-privacy.ttl", "rights.ttl", "thresholds.ttl"} <= names
    family = {"process.ttl": "P", "quality.ttl": "Q", "security-privacy.ttl": "S", "rights.ttl": "R"}
    for path in shapes_files():
        if path.name in family:
            reqs = {str(r) for r in Graph().parse(path, format="turtle").objects(None, DCERT.requirement)}
            assert reqs and all(r.startswith(family[path.name] + "-") for r in reqs), path.name


def test_shapes_target_sourced_datasets_except_p01():
    """Only P-01 looks at every dcat:Dataset; the other shapes never re-derive the classification."""
    shapes = shape_graph()
    for shape, cls in shapes.subject_objects(SH.targetClass):
        if cls == URIRef("http://www.w3.org/ns/dcat#Dataset"):
            assert shapes.value(shape, DCERT.requirement) == Literal("P-01")
        else:
            assert str(cls).startswith(str(DCERT)), (shape, cls)
    for text in shapes.objects(None, SH.select):
        # the cross-record rules read the inferred classes (dcert:ConsentBasedSource ...), never the
        # facts the classification is computed from
        for raw in ("subjectGranularity", "levelCandidate", "generationTechnique", "hasLegalBasis",
                    "hasPurpose", "sensitivityLevel", "healthDataCategory", "specialCategory"):
            assert raw not in str(text), raw


# --------------------------------------------------------------------------------------------
# thresholds
# --------------------------------------------------------------------------------------------

def test_thresholds_live_only_in_the_profile():
    source = shapes_source_graph()
    for prop in (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive):
        assert not list(source.subject_objects(prop)), "numeric thresholds belong in thresholds.ttl"
    defaults = V.threshold_defaults()
    assert defaults == {"MinK": 5, "MaxEpsilon": 1.0, "MinSmallCellSize": 5, "MinCompleteness": 0.9,
                        "MinAccuracy": 0.95, "MinConsistency": 0.95, "MinKappa": 0.6}
    used = {str(p).split("#")[-1] for p in source.objects(None, DCERT.thresholdParameter)}
    assert used == set(defaults), "every parameter is used by a shape, and every shape's parameter is declared"
    for name in defaults:
        param = DCERT[name]
        assert {o.language for o in source.objects(param, RDFS.label)} == {"zh", "en"}
        assert source.value(param, DCERT.shaclParameter) in {SH.minInclusive, SH.maxInclusive}


def test_compiled_shapes_apply_the_profile_and_are_cached():
    default = V.compiled_shapes()
    assert V.compiled_shapes() is default
    assert V.compiled_shapes({"MinK": 5}) is default  # an override equal to the default is the default profile
    strict = V.compiled_shapes({"MinK": 7})
    assert strict is V.compiled_shapes({"dcert:MinK": 7.0})
    values = {(str(p).split("#")[-1], o) for n, p in strict.subject_objects(DCERT.thresholdParameter)
              for o in strict.objects(n, SH.minInclusive)}
    assert ("MinK", Literal(7)) in values and ("MinCompleteness", Literal("0.90", datatype=URIRef(
        "http://www.w3.org/2001/XMLSchema#decimal"))) in values


@pytest.mark.parametrize("name, value, fixture, requirement", [
    ("MinK", 7, "boundary-k-at-threshold.ttl", ("S-03", "Violation")),
    ("MaxEpsilon", 0.5, "boundary-epsilon-at-threshold.ttl", ("S-03", "Violation")),
    ("MinSmallCellSize", 6, "boundary-min-cell-size-at-threshold.ttl", ("S-03", "Violation")),
    ("MinCompleteness", 0.91, "boundary-quality-at-thresholds.ttl", ("Q-02", "Violation")),
    ("MinAccuracy", 0.96, "boundary-quality-at-thresholds.ttl", ("Q-02", "Violation")),
    ("MinConsistency", 0.951, "boundary-quality-at-thresholds.ttl", ("Q-02", "Violation")),
    ("MinKappa", 0.7, "boundary-kappa-at-threshold.ttl", ("Q-07", "Warning")),
])
def test_each_threshold_can_be_raised(name, value, fixture, requirement):
    path = DATA / "valid" / fixture
    focus = header(path)["focus"]
    assert on_focus(validation(path).findings, focus) == set()
    assert on_focus(validation(path, ((name, value),)).findings, focus) == {requirement}


def test_a_lower_threshold_lets_a_below_threshold_fixture_pass():
    path = DATA / "invalid" / "S-03-d3-k-below-threshold.ttl"
    assert on_focus(validation(path, (("MinK", 4),)).findings, header(path)["focus"]) == set()


def test_threshold_profile_file(tmp_path):
    profile = tmp_path / "strict.ttl"
    profile.write_text(
        "@prefix dcert: <https://w3id.org/derivecert#> .\n"
        "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
        "<#strict> a dcert:ThresholdProfile .\n"
        "dcert:MinK rdf:value 7 .\n"
        "[] dcert:thresholdParameter dcert:MinKappa ; rdf:value 0.65 .\n", encoding="utf-8")
    overrides = V.load_threshold_profile(profile)
    assert overrides == {"MinK": 7.0, "MinKappa": 0.65}
    path = DATA / "valid" / "boundary-k-at-threshold.ttl"
    result = V.validate(materialised(path), on=ON, thresholds=overrides)
    assert on_focus(result.findings, header(path)["focus"]) == {("S-03", "Violation")}


def test_bad_threshold_profiles_are_configuration_errors(tmp_path):
    with pytest.raises(ConfigurationError):
        V.compiled_shapes({"MinQ": 3})
    with pytest.raises(ConfigurationError):
        V.compiled_shapes({"MinK": "seven"})
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix dcert: <https://w3id.org/derivecert#> .\n"
                   "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
                   "dcert:MinSmallCells rdf:value 3 .\n", encoding="utf-8")
    with pytest.raises(ConfigurationError):
        V.load_threshold_profile(bad)
    with pytest.raises(ConfigurationError):
        V.load_threshold_profile(tmp_path / "missing.ttl")


# --------------------------------------------------------------------------------------------
# the two worked examples of the spec
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["e1_pathology_nlp_certified", "e2_fused_mental_health_rejected"])
def test_spec_examples(name):
    description = spec_path(f"examples/{name}.ttl")
    expected = json.loads(spec_path(f"examples/{name}.expected.json").read_text(encoding="utf-8"))
    result = V.validate(get_reasoner("rl").materialise(Graph().parse(description, format="turtle")), on=ON)
    for item in expected:
        found = {f.requirement for f in result.findings if f.focus == URIRef(item["dataset"])}
        if "findings" in item:
            assert sorted(found) == sorted(f["requirement"] for f in item["findings"]), item["dataset"]
        assert set(item.get("findings_include", [])) <= found, item["dataset"]
        assert not set(item.get("findings_exclude", [])) & found, item["dataset"]
        if item.get("verdict") == "certified":
            assert not found


# --------------------------------------------------------------------------------------------
# scenario hierarchy: AS-EMERG lies within AS-PH (skos:broader in the code list)
# --------------------------------------------------------------------------------------------

def _variant(name: str, *edits: tuple[str, str]) -> Graph:
    text = (DATA / "valid" / name).read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    return Graph().parse(data=text, format="turtle")


def test_a_narrower_scenario_lies_within_a_broader_consent_and_authorization():
    name = "deidentified-d2-diabetes-research.ttl"
    focus = header(DATA / "valid" / name)["focus"]
    within = _variant(name,
                      ("dcert:consentScope dcert:AS-CLIN , dcert:AS-RES ;", "dcert:consentScope dcert:AS-CLIN , dcert:AS-PH ;"),
                      ("dcert:authorizedScenario dcert:AS-RES ;", "dcert:authorizedScenario dcert:AS-PH ;"),
                      ("dcert:applicationScenario dcert:AS-RES ;", "dcert:applicationScenario dcert:AS-EMERG ;"))
    assert on_focus(V.validate(get_reasoner("rl").materialise(within), on=ON).findings, focus) == set()
    outside = _variant(name,
                       ("dcert:consentScope dcert:AS-CLIN , dcert:AS-RES ;", "dcert:consentScope dcert:AS-CLIN , dcert:AS-EMERG ;"),
                       ("dcert:authorizedScenario dcert:AS-RES ;", "dcert:authorizedScenario dcert:AS-EMERG ;"),
                       ("dcert:applicationScenario dcert:AS-RES ;", "dcert:applicationScenario dcert:AS-PH ;"))
    assert on_focus(V.validate(get_reasoner("rl").materialise(outside), on=ON).findings, focus) == {
        ("P-04", "Violation"), ("S-10", "Violation")}


def test_s02_exception_needs_every_personal_source_to_have_separate_consent():
    """DOMAIN.md §4.3: 'every personal source has LB-SEP-CONSENT covering the scenario'."""
    name = "fused-psychiatric-claims-d1.ttl"
    focus = header(DATA / "valid" / name)["focus"]
    legal_duty = _variant(name, ("dpv:hasLegalBasis dcert:LB-SEP-CONSENT ;\n  dcert:consentScope dcert:AS-RES ;\n  dcert:sensitivityLevel dcert:L4 .",
                                 "dpv:hasLegalBasis dcert:LB-LEGAL-DUTY ;\n  dcert:sensitivityLevel dcert:L4 ."))
    assert on_focus(V.validate(get_reasoner("rl").materialise(legal_duty), on=ON).findings, focus) == {("S-02", "Violation")}
    non_personal = _variant(name, ("dpv:hasLegalBasis dcert:LB-SEP-CONSENT ;\n  dcert:consentScope dcert:AS-RES ;\n  dcert:sensitivityLevel dcert:L4 .",
                                   "dpv:hasLegalBasis dcert:LB-CONTRACT ;\n  dcert:deidentificationGrade dcert:D4 ;\n  dcert:sensitivityLevel dcert:L1 ."))
    assert on_focus(V.validate(get_reasoner("rl").materialise(non_personal), on=ON).findings, focus) == set()
    no_ethics = _variant(name, ('  dcert:ethicsApproval [ a dcert:EthicsApproval ; dct:identifier "UY-IRB-88" ; dct:issued "2025-12-01"^^xsd:date ] ;\n', ""))
    assert on_focus(V.validate(get_reasoner("rl").materialise(no_ethics), on=ON).findings, focus) == {
        ("S-02", "Violation"), ("P-05", "Violation")}


@pytest.mark.parametrize("readme", ["README.md", "shapes/README.md"])
def test_readme_requirement_table_is_true(readme):
    """The "Requirements → shapes → fixtures" table: one row per spec requirement, naming shapes that
    carry the ID and fixtures whose header names it."""
    text = (HERE.parent / readme).read_text(encoding="utf-8")
    rows = re.findall(r"^\|\s*([PQSR]-\d\d)\s*\|(.*)\|\s*$", text, re.M)
    assert [rid for rid, _ in rows] == spec_requirement_ids()
    shapes = shape_graph()
    for rid, rest in rows:
        cells = [c.strip() for c in rest.split("|")]
        named = set(re.findall(r"`([PQSR]-\d\d-\w+)`", cells[2]))
        assert named == {str(s).split("#")[-1] for s in shapes.subjects(DCERT.requirement, Literal(rid))}, rid
        for kind, name in re.findall(r"`(invalid|overlaps)/([\w.-]+)`", cells[4]):
            assert rid in {r for r, _ in header(DATA / kind / name)["expected"]}, (rid, name)


# --------------------------------------------------------------------------------------------
# GA4GH DUO consent codes on sources (issue 11): S-10 reads the scopes and exclusions the
# ontology maps them to, P-05 the IRB modifier
# --------------------------------------------------------------------------------------------

def test_duo_ethics_approval_is_reported_by_its_own_shape():
    path = DATA / "invalid" / "P-05-duo-ethics-approval-required.ttl"
    focus = header(path)["focus"]
    shapes = {str(f.shape).split("#")[-1] for f in validation(path).findings if f.focus == focus}
    assert shapes == {"P-05-DataUseEthicsApprovalShape"}


@pytest.mark.parametrize("codes, scenario, outside", [
    ("obo:DUO_0000042", "dcert:AS-AI", set()),                  # GRU: any research
    ("obo:DUO_0000011", "dcert:AS-AI", {"S-10"}),               # POA: ancestry research only (AS-RES)
    ("obo:DUO_0000011", "dcert:AS-RES", set()),
    ("obo:DUO_0000004", "dcert:AS-EDU", set()),                 # NRES: everything
    ("obo:DUO_0000004 , obo:DUO_0000045", "dcert:AS-IND", {"S-10"}),   # NPU excludes industrial products
    ("obo:DUO_0000028 , obo:DUO_0000029", "dcert:AS-AI", {"S-10"}),   # IS, RTN: no scope at all
])
def test_duo_codes_bound_the_scenarios_of_derived_data(codes, scenario, outside):
    name = "duo-consent-codes-model-development.ttl"
    g = _variant(name, ("dcert:dataUseCode obo:DUO_0000006 , obo:DUO_0000046 , obo:DUO_0000021 ;", f"dcert:dataUseCode {codes} ;"),
                 ("dcert:applicationScenario dcert:AS-AI ;", f"dcert:applicationScenario {scenario} ;"))
    focus = header(DATA / "valid" / name)["focus"]
    found = {r for r, _ in on_focus(V.validate(get_reasoner("rl").materialise(g), on=ON).findings, focus)}
    assert found & {"S-10"} == outside
