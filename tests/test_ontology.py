"""The ontology: it parses, has a proper header, is consistent and coherent under HermiT, and holds
every code and public term of DOMAIN.md (issue 2).

The codes, names, public `dcert:` terms, DPV mappings and minimum grades are read from
`../shared/spec/DOMAIN.md` at test time (regular expressions over its tables and lists), never
from a copy, so that the ontology is checked against the normative text itself.
"""

from __future__ import annotations

import io
import re
import shutil
from datetime import date
from functools import lru_cache
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

import derivecert
from derivecert.resources import ONTOLOGY_IRI, ONTOLOGY_MODULES, ontology_files, ontology_graph, ontology_version

DCERT = Namespace("https://w3id.org/derivecert#")
VANN = Namespace("http://purl.org/vocab/vann/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # open namespace: a closed one trips pytest's collection
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DOMAIN_MD = SHARED / "spec" / "DOMAIN.md"
DPV_IRIS = SHARED / "reference" / "dpv" / "dpv-2.3-iris.tsv"
NAMESPACES = {
    "dcert": "https://w3id.org/derivecert#", "dpv": "https://w3id.org/dpv#", "pd": "https://w3id.org/dpv/pd#",
    "dpv-pd": "https://w3id.org/dpv/dpv-pd#", "sector-health": "https://w3id.org/dpv/sector/health#",
    "risk": "https://w3id.org/dpv/risk#",
}
# Code prefix -> the concept scheme of its dimension (docs/DESIGN.md, "Code lists").
SCHEME_OF_PREFIX = {
    "AS": "ApplicationScenarioScheme", "GT": "GenerationTechniqueScheme", "L": "SensitivityLevelScheme",
    "D": "DeidentificationGradeScheme", "GR": "SubjectGranularityScheme", "MOD": "DataModalityScheme",
    "C": "HealthDataCategoryScheme", "SP": "SpecialCategoryScheme", "LB": "LegalBasisScheme",
}
CODE = r"(?:(?:AS|GT|SP|GR|MOD|LB)(?:-[A-Z]+)+|[LDC][0-9])"
CJK = re.compile(r"[\u3400-\u9fff]")

needs_domain = pytest.mark.skipif(not DOMAIN_MD.exists(), reason=f"{DOMAIN_MD} not found (the shared spec sits beside the checkout)")
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="HermiT (owlready2) needs a Java runtime on the PATH")


# ---- reading DOMAIN.md ---------------------------------------------------------------------

@lru_cache(maxsize=1)
def domain_text() -> str:
    return DOMAIN_MD.read_text(encoding="utf-8")


def section(number: str) -> str:
    """The text of `## n.` / `### n.m` up to the next heading of the same or a higher level."""
    text = domain_text()
    level = "##" if "." not in number else "###"
    start = re.search(rf"^{level} {re.escape(number)}\.?\s", text, re.M)
    assert start, f"DOMAIN.md has no section {number}"
    stop = re.compile(r"^#{2}\s" if level == "##" else r"^#{2,3}\s", re.M).search(text, start.end())
    return text[start.start(): stop.start() if stop else len(text)]


def table_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= set("-: ") for cell in cells):
                rows.append(cells)
    return rows[1:] if rows else rows  # drop the header row


def named_items(text: str) -> dict[str, str]:
    """`CODE name` items of a list ("GR-IND 个体级, GR-GRP 群体级 (cohort / subgroup)")."""
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(rf"\b({CODE}) ([^,;.(]+?)(?= \(|,|;|\.|$)", text)}


@lru_cache(maxsize=1)
def domain_codes() -> frozenset[str]:
    return frozenset(re.findall(rf"\b{CODE}\b", section("3")))


@lru_cache(maxsize=1)
def domain_names() -> dict[tuple[str, str], str]:
    """(code, lang) -> the name DOMAIN.md gives, without its parenthesised remarks."""
    names: dict[tuple[str, str], str] = {}
    for number, with_english in (("3.1", True), ("3.2", True), ("3.4", False)):
        for cells in table_rows(section(number)):
            if re.fullmatch(CODE, cells[0]):
                names[(cells[0], "zh")] = cells[1]
                if with_english:
                    names[(cells[0], "en")] = re.sub(r"\s*\(.*?\)", "", cells[2]).strip()
    special = re.search(r"Special categories \(`SP-`\):(.*?)\.\s*A derived", section("3.3"), re.S)
    assert special, "DOMAIN.md §3.3 special-category list not found"
    items = named_items(" ".join(special.group(1).split()))
    for cells in table_rows(section("3.5")):
        items.update({code: name for code, name in named_items(cells[1]).items() if not code.startswith("LB-")})
    for code, name in items.items():
        names[(code, "zh" if CJK.search(name) else "en")] = name
    return names


@lru_cache(maxsize=1)
def domain_public_terms() -> frozenset[str]:
    text = domain_text()
    terms = set(re.findall(r"`dcert:([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)`", text))
    terms |= set(re.findall(r"`(?:dcert:)?([A-Z][A-Za-z]*Metric)`", text))  # "`dcert:CompletenessMetric`, `AccuracyMetric`, ..."
    return frozenset(terms)


def expand(curie: str) -> URIRef:
    prefix, local = curie.split(":", 1)
    return URIRef(NAMESPACES[prefix] + local)


def dpv_cell(cell: str) -> list[URIRef]:
    """`sector-health:A`, `B` -> both IRIs: a bare name takes the prefix of the name before it."""
    iris, prefix = [], None
    for token in re.findall(r"`([\w-]+:)?(\w+)`", cell):
        prefix = token[0][:-1] if token[0] else prefix
        iris.append(expand(f"{prefix}:{token[1]}"))
    return iris


# ---- helpers over the ontology -------------------------------------------------------------

def labels(graph: Graph, term: URIRef, lang: str) -> list[Literal]:
    return [o for p in (RDFS.label, SKOS.prefLabel) for o in graph.objects(term, p)
            if isinstance(o, Literal) and o.language == lang]


def code_concepts(graph: Graph) -> dict[str, URIRef]:
    """notation -> concept, for the concepts of the nine §3 code lists."""
    out = {}
    for scheme in SCHEME_OF_PREFIX.values():
        for concept in graph.subjects(SKOS.inScheme, DCERT[scheme]):
            out[str(graph.value(concept, SKOS.notation))] = concept
    return out


def hermit_world(graph: Graph):
    import owlready2

    from derivecert.reason import without_literals

    world = owlready2.World()
    data = without_literals(graph).serialize(format="nt", encoding="utf-8")
    world.get_ontology("urn:derivecert:test").load(fileobj=io.BytesIO(data), format="ntriples")
    owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    return world


# ---- parsing and modules -------------------------------------------------------------------

@pytest.mark.parametrize("module", ONTOLOGY_MODULES)
def test_module_parses_on_its_own(module: str):
    path = next(p for p in ontology_files() if p.name == module)
    graph = Graph().parse(path, format="turtle")
    assert len(graph) > 50
    assert (REPO / "ontology" / module).exists(), "the package data and the checkout must hold the same modules"


def test_modules_load_together():
    graph = ontology_graph()
    total = sum(len(Graph().parse(p, format="turtle")) for p in ontology_files())
    assert len(graph) > 1000
    assert len(graph) <= total  # modules share a few declarations, never conflict


def test_one_ontology_header():
    assert set(ontology_graph().subjects(RDF.type, OWL.Ontology)) == {ONTOLOGY_IRI}


# ---- header --------------------------------------------------------------------------------

def test_version_info_is_the_package_version():
    graph = ontology_graph()
    assert [str(v) for v in graph.objects(ONTOLOGY_IRI, OWL.versionInfo)] == [derivecert.__version__]
    assert ontology_version() == derivecert.__version__


def test_version_iri_names_the_version():
    assert list(ontology_graph().objects(ONTOLOGY_IRI, OWL.versionIRI)) == [URIRef(f"{ONTOLOGY_IRI}/{derivecert.__version__}")]


@pytest.mark.parametrize("prop", [DCTERMS.title, DCTERMS.description], ids=["title", "description"])
def test_title_and_description_in_zh_and_en(prop):
    values = list(ontology_graph().objects(ONTOLOGY_IRI, prop))
    assert sorted(v.language for v in values) == ["en", "zh"], f"one {prop} @zh and one @en"
    zh = next(v for v in values if v.language == "zh")
    assert CJK.search(zh), f"{prop}@zh is not Chinese"


def test_license_is_an_iri():
    licences = list(ontology_graph().objects(ONTOLOGY_IRI, DCTERMS.license))
    assert len(licences) == 1 and isinstance(licences[0], URIRef)


def test_created_and_modified_dates():
    graph = ontology_graph()
    created, modified = graph.value(ONTOLOGY_IRI, DCTERMS.created), graph.value(ONTOLOGY_IRI, DCTERMS.modified)
    for value in (created, modified):
        assert isinstance(value, Literal) and value.datatype == XSD.date and isinstance(value.toPython(), date)
    assert modified.toPython() >= created.toPython()


def test_preferred_prefix_and_namespace():
    graph = ontology_graph()
    assert [str(v) for v in graph.objects(ONTOLOGY_IRI, VANN.preferredNamespacePrefix)] == ["dcert"]
    assert [str(v) for v in graph.objects(ONTOLOGY_IRI, VANN.preferredNamespaceUri)] == [str(DCERT)]


# ---- consistency and coherence -------------------------------------------------------------

@pytest.mark.hermit
@needs_java
def test_consistent_and_coherent_under_hermit():
    import owlready2

    try:
        world = hermit_world(ontology_graph())
    except owlready2.OwlReadyInconsistentOntologyError:  # pragma: no cover - the failure we guard against
        pytest.fail("HermiT: the ontology is inconsistent")
    classes = {str(c.iri) for c in world.classes()}
    assert sum(iri.startswith(str(DCERT)) for iri in classes) > 100, "the ontology did not load into owlready2"
    unsatisfiable = sorted(str(c.iri) for c in world.inconsistent_classes())
    assert not unsatisfiable, f"unsatisfiable classes: {unsatisfiable}"
    # HermiT classified the union classes the shapes target: level 5 ⊑ level 4+ ⊑ level 3+.
    level4 = world[str(DCERT.Level4OrAbove)]
    assert world[str(DCERT.Level3OrAbove)] in level4.ancestors()
    assert level4 in world[str(DCERT.Level5)].ancestors()


@pytest.mark.hermit
@needs_java
def test_coherence_check_detects_an_unsatisfiable_class():
    """The check above is not vacuous: a class below two disjoint classes is reported."""
    broken = Graph()
    broken += ontology_graph()
    broken.add((DCERT.GradeD0Data, OWL.disjointWith, DCERT.GradeD4Data))
    broken.add((DCERT.Impossible, RDF.type, OWL.Class))
    broken.add((DCERT.Impossible, RDFS.subClassOf, DCERT.GradeD0Data))
    broken.add((DCERT.Impossible, RDFS.subClassOf, DCERT.GradeD4Data))
    world = hermit_world(broken)
    assert str(DCERT.Impossible) in {str(c.iri) for c in world.inconsistent_classes()}


def test_rl_closure_of_the_ontology_has_no_contradiction():
    import reasonable

    reasoner = reasonable.PyReasoner()
    reasoner.from_graph(ontology_graph())
    nothing = [t for t in reasoner.reason() if t[1] == RDF.type and t[2] == OWL.Nothing]
    assert not nothing, f"OWL 2 RL derives members of owl:Nothing: {nothing[:5]}"


# ---- the code lists of DOMAIN.md §3 --------------------------------------------------------

@needs_domain
def test_domain_parser_finds_every_dimension():
    codes = domain_codes()
    for prefix in SCHEME_OF_PREFIX:
        found = [c for c in codes if re.match(rf"{prefix}(-|[0-9])", c)]
        assert len(found) >= 3, f"parsed too few {prefix} codes from DOMAIN.md §3: {found}"


@pytest.mark.parametrize("code", sorted(domain_codes()) if DOMAIN_MD.exists() else [])
def test_domain_code_is_a_concept(code: str):
    graph = ontology_graph()
    concept = DCERT[code]
    assert (concept, RDF.type, SKOS.Concept) in graph, f"dcert:{code} is not a skos:Concept"
    assert [str(n) for n in graph.objects(concept, SKOS.notation)] == [code]
    for lang in ("zh", "en"):
        values = [o for o in graph.objects(concept, SKOS.prefLabel) if o.language == lang]
        assert len(values) == 1, f"dcert:{code} needs exactly one skos:prefLabel @{lang}, has {values}"
    prefix = code.split("-")[0] if "-" in code else code[0]
    scheme = DCERT[SCHEME_OF_PREFIX[prefix]]
    assert list(graph.objects(concept, SKOS.inScheme)) == [scheme]
    assert (concept, RDF.type, DCERT[SCHEME_OF_PREFIX[prefix].removesuffix("Scheme")]) in graph


@needs_domain
def test_no_code_beyond_domain():
    invented = sorted(set(code_concepts(ontology_graph())) - domain_codes())
    assert not invented, f"code-list concepts that DOMAIN.md §3 does not name: {invented}"


@pytest.mark.parametrize("code,lang", sorted(domain_names()) if DOMAIN_MD.exists() else [])
def test_code_label_is_domain_name(code: str, lang: str):
    label = [str(v) for v in labels(ontology_graph(), DCERT[code], lang)]
    assert label == [domain_names()[(code, lang)]], f"dcert:{code} @{lang}"


def test_emergency_is_narrower_than_public_health():
    graph = ontology_graph()
    assert (DCERT["AS-EMERG"], SKOS.broader, DCERT["AS-PH"]) in graph
    assert (DCERT["AS-PH"], SKOS.narrower, DCERT["AS-EMERG"]) in graph
    assert (DCERT["AS-EMERG"], SKOS.topConceptOf, None) not in graph


def test_ranks_follow_the_order_of_grades_and_levels():
    graph = ontology_graph()
    grades = [graph.value(DCERT[f"D{n}"], DCERT.rank).toPython() for n in range(5)]
    levels = [graph.value(DCERT[f"L{n}"], DCERT.rank).toPython() for n in range(1, 6)]
    assert grades == [0, 1, 2, 3, 4]  # docs/DESIGN.md: D0=0 .. D4=4
    assert levels == [1, 2, 3, 4, 5]  # L1=1 .. L5=5; the level is the candidate of highest rank


def test_validity_years_by_level():
    graph = ontology_graph()  # DOMAIN.md §5: default 2 years; 1 year at L4-L5
    years = {n: graph.value(DCERT[f"L{n}"], DCERT.validityYears).toPython() for n in range(1, 6)}
    assert years == {1: 2, 2: 2, 3: 2, 4: 1, 5: 1}


@needs_domain
def test_deriving_techniques_are_those_that_yield_derived_data():
    graph = ontology_graph()
    for cells in table_rows(section("3.2")):
        derived = "not derived" not in cells[3]
        assert ((DCERT[cells[0]], RDF.type, DCERT.DerivingTechnique) in graph) == derived, cells[0]


@needs_domain
def test_minimum_grades_by_scenario():
    text = " ".join(domain_text().split())
    clause = re.search(r"Minimum grade by scenario \(S-02\): (.*?)\.\s", text)
    assert clause, "DOMAIN.md §4.3 minimum-grade sentence not found"
    graph = ontology_graph()
    checked = set()
    for part in clause.group(1).split(";"):
        scenarios = re.findall(r"AS-[A-Z]+", part.split(" D")[0])
        grades = re.findall(r"\bD[0-4]\b", part)
        for scenario in scenarios:
            assert graph.value(DCERT[scenario], DCERT.minimumGrade) == DCERT[grades[0]], scenario
            relaxed = graph.value(DCERT[scenario], DCERT.minimumGradeWithSeparateConsent)
            assert relaxed == (DCERT[grades[1]] if len(grades) > 1 else None), scenario
            checked.add(scenario)
    assert checked == {c for c in domain_codes() if c.startswith("AS-")}


# ---- the public vocabulary of DOMAIN.md ----------------------------------------------------

@needs_domain
def test_domain_parser_finds_public_terms():
    terms = domain_public_terms()
    assert {"applicationScenario", "DerivationActivity", "sensitivityLevel", "AccuracyMetric"} <= terms
    assert len(terms) > 40


@pytest.mark.parametrize("name", sorted(domain_public_terms()) if DOMAIN_MD.exists() else [])
def test_public_term_is_declared_with_labels(name: str):
    graph = ontology_graph()
    term = DCERT[name]
    assert (term, RDF.type, None) in graph, f"dcert:{name} is named in DOMAIN.md but not declared"
    for lang in ("zh", "en"):
        assert len(labels(graph, term, lang)) == 1, f"dcert:{name} needs exactly one label @{lang}"


# ---- DPV alignments of DOMAIN.md, checked by reasoning ------------------------------------

def _domain_dpv_mappings() -> list[tuple[str, str, URIRef, str]]:
    """(kind, DPV term label, DPV IRI, code) for every DPV term a §3 table or sentence maps."""
    if not DOMAIN_MD.exists():
        return []
    out = []
    # DOMAIN.md §2: grades from DPV data-nature classes (as rdf:type or as a dpv:hasData value);
    # the design reads personal-data categories through dpv:hasPersonalData and dpv:hasData.
    kinds = {"3.1": ["purpose"], "3.2": ["processing"], "3.4": ["data-nature-type", "data-nature-hasData"]}
    for number, column in (("3.1", 3), ("3.2", 4), ("3.4", 3)):
        for cells in table_rows(section(number)):
            for iri in dpv_cell(cells[column]):
                for kind in kinds[number]:
                    out.append((kind, iri.n3(), iri, cells[0]))
    for curies, code in re.findall(r"((?:`[\w-]+:\w+`(?: / )?)+) impl(?:y|ies) (SP-[A-Z]+)", section("3.3")):
        for curie in re.findall(r"`([\w-]+:\w+)`", curies):
            variants = [curie, "dpv-" + curie] if curie.startswith("pd:") else [curie]  # §2: legacy dpv-pd: = pd:
            for variant in variants:
                for kind in ("personal-data-hasPersonalData", "personal-data-hasData"):
                    out.append((kind, variant, expand(variant), code))
    return out


DPV_MAPPINGS = _domain_dpv_mappings()


@lru_cache(maxsize=1)
def _materialised_dpv_examples() -> Graph:
    from rdflib.namespace import DCAT, PROV

    from derivecert.reason import get_reasoner

    dpv = Namespace(NAMESPACES["dpv"])
    data = Graph()
    for index, (kind, _, iri, _) in enumerate(DPV_MAPPINGS):
        ds = URIRef(f"https://example.org/dpv-mapping/{index}")
        data.add((ds, RDF.type, DCAT.Dataset))
        if kind == "purpose":
            data.add((ds, dpv.hasPurpose, iri))
        elif kind == "processing":
            activity = URIRef(f"https://example.org/dpv-mapping/{index}/activity")
            data.add((ds, PROV.wasGeneratedBy, activity))
            data.add((activity, RDF.type, PROV.Activity))
            data.add((activity, dpv.hasProcessing, iri))
        elif kind == "data-nature-type":
            data.add((ds, RDF.type, iri))
        elif kind in ("data-nature-hasData", "personal-data-hasData"):
            data.add((ds, dpv.hasData, iri))
        else:
            data.add((ds, dpv.hasPersonalData, iri))
    return get_reasoner("rl").materialise(data)


@needs_domain
def test_domain_names_dpv_mappings():
    kinds = {m[0] for m in DPV_MAPPINGS}
    assert kinds == {"purpose", "processing", "data-nature-type", "data-nature-hasData",
                     "personal-data-hasPersonalData", "personal-data-hasData"}
    assert len({(m[2], m[3]) for m in DPV_MAPPINGS}) >= 30


@pytest.mark.parametrize("kind,term,iri,code", DPV_MAPPINGS, ids=[f"{m[0]}:{m[1]}->{m[3]}" for m in DPV_MAPPINGS])
def test_dpv_term_implies_its_code(kind: str, term: str, iri: URIRef, code: str):
    from rdflib.namespace import PROV

    graph = _materialised_dpv_examples()
    ds = URIRef(f"https://example.org/dpv-mapping/{DPV_MAPPINGS.index((kind, term, iri, code))}")
    prop = {"purpose": DCERT.applicationScenario, "data-nature": DCERT.deidentificationGrade,
            "personal-data": DCERT.specialCategory}.get(kind.split("-has")[0].removesuffix("-type"))
    if prop is None:
        subject, prop = graph.value(ds, PROV.wasGeneratedBy), DCERT.generationTechnique
    else:
        subject = ds
    assert DCERT[code] in set(graph.objects(subject, prop)), f"{term} should imply {code}"


@needs_domain
def test_dpv_legal_bases_map_to_codes():
    graph = ontology_graph()
    cells = next(c for c in table_rows(section("3.5")) if c[0].startswith("legal basis"))
    for iri in dpv_cell(cells[1]):
        mapped = [s for p in (SKOS.exactMatch, SKOS.closeMatch) for s in graph.subjects(p, iri)]
        assert any(str(s).startswith(str(DCERT) + "LB-") for s in mapped), f"{iri} maps to no LB- code"


@pytest.mark.skipif(not DPV_IRIS.exists(), reason=f"{DPV_IRIS} not found")
def test_dpv_extension_terms_exist_in_dpv():
    """pd:, sector-health: and risk: IRIs the ontology uses are DPV 2.3 terms (catches typos)."""
    known = {line.split("\t")[1] for line in DPV_IRIS.read_text(encoding="utf-8").splitlines()[1:] if "\t" in line}
    checked = [NAMESPACES[p] for p in ("pd", "sector-health", "risk")]
    used = {str(term) for triple in ontology_graph() for term in triple
            if isinstance(term, URIRef) and any(str(term).startswith(ns) and str(term) != ns for ns in checked)}
    assert used, "expected the ontology to align with DPV extension terms"
    unknown = sorted(used - known)
    assert not unknown, f"not DPV 2.3 terms (per {DPV_IRIS.name}): {unknown}"
