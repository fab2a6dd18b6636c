"""The JSON-LD context of the public vocabulary and the JSON-LD examples (issue 11): the shipped
context is what the ontology generates, its coercions give the terms authors mean, and every
example certifies alike from JSON-LD and from Turtle."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import XSD

from derivecert.jsonld_context import build_context, render, shipped, to_jsonld
from derivecert.parse import parse_description
from derivecert.resources import ontology_graph

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*/*.ttl"))
DCERT = "https://w3id.org/derivecert#"
ON = date(2026, 12, 1)
DQV_VALUE = URIRef("http://www.w3.org/ns/dqv#value")


def test_the_shipped_context_is_the_one_the_ontology_generates():
    assert json.loads(shipped()) == build_context()
    assert shipped() == render()


def test_authors_write_codes_as_strings_numbers_as_numbers_and_dates_as_dates():
    doc = {"@context": build_context()["@context"], "@id": "https://example.org/ds", "@type": "Dataset",
           "deidentificationGrade": "D2", "applicationScenario": ["AS-RES", "AS-PH"], "issued": "2026-01-02",
           "title": {"zh": "示例", "en": "example"}, "hasQualityMeasurement": {"value": 0.95},
           "privacyModel": {"@type": "KAnonymity", "k": 5}, "wasDerivedFrom": "https://example.org/src",
           "dataUseCode": ["HMB", "IRB"]}
    g = parse_description(json.dumps(doc).encode(), filename="doc.jsonld").graph
    ds = URIRef("https://example.org/ds")
    assert g.value(ds, URIRef(DCERT + "deidentificationGrade")) == URIRef(DCERT + "D2")
    assert set(g.objects(ds, URIRef(DCERT + "applicationScenario"))) == {URIRef(DCERT + "AS-RES"), URIRef(DCERT + "AS-PH")}
    assert g.value(ds, URIRef("http://purl.org/dc/terms/issued")) == Literal("2026-01-02", datatype=XSD.date)
    assert Literal("示例", lang="zh") in set(g.objects(ds, URIRef("http://purl.org/dc/terms/title")))
    assert next(g.objects(None, DQV_VALUE)).datatype == XSD.double
    k = next(g.objects(None, URIRef(DCERT + "k")))
    assert k.datatype == XSD.integer and k.toPython() == 5
    assert g.value(ds, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")) == URIRef("https://example.org/src")
    assert set(g.objects(ds, URIRef(DCERT + "dataUseCode"))) == {  # GA4GH DUO codes by their notation
        URIRef("http://purl.obolibrary.org/obo/DUO_0000006"), URIRef("http://purl.obolibrary.org/obo/DUO_0000021")}


def _same_facts(graph: Graph) -> Graph:
    """Numbers compared by value (JSON numbers are doubles, A4), date-times by instant."""
    out = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype in (XSD.decimal, XSD.double, XSD.integer, XSD.dateTime):
            o = Literal(float(o.toPython())) if o.datatype != XSD.dateTime else Literal(o.toPython())
        out.add((s, p, o))
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_example_has_a_jsonld_twin_stating_the_same_facts(path):
    twin = path.with_suffix(".jsonld")
    assert twin.is_file(), f"run: python -m derivecert.jsonld_context {path.relative_to(ROOT)}"
    turtle = Graph().parse(path, format="turtle")
    jsonld = parse_description(twin.read_bytes(), filename=twin.name).graph
    assert isomorphic(_same_facts(turtle), _same_facts(jsonld))
    assert json.loads(twin.read_text(encoding="utf-8"))["@context"] == build_context()["@context"]


def _outcomes(run) -> dict:
    out = {}
    for r in run.results:
        d = r.to_dict()
        findings = sorted((f["requirement"], f.get("path"), f["severity"]) for f in d.get("findings", []))
        # lists in document order (JSON-LD and Turtle order terms differently): compared as sets
        classification = {k: sorted(v) if isinstance(v, list) else v for k, v in d["classification"].items()}
        out[d["dataset"]] = (d["verdict"], d["is_derived"], json.dumps(classification, sort_keys=True), findings)
    return out


def test_jsonld_then_certify_equals_turtle_then_certify(engine):
    turtle = engine.certify_files(EXAMPLES, on=ON)
    jsonld = engine.certify_files([p.with_suffix(".jsonld") for p in EXAMPLES], on=ON)
    assert len(turtle.results) >= 60
    assert _outcomes(jsonld) == _outcomes(turtle)


def test_to_jsonld_writes_blank_nodes_inside_their_user():
    g = Graph().parse(ROOT / "examples" / "cdc-east" / "dengue-vector-index.ttl")
    doc = json.loads(to_jsonld(g))
    dataset = next(n for n in doc["@graph"] if n["@id"] == "https://cdc-east.example.org/dengue-vector-index")
    assert dataset["wasGeneratedBy"]["generationTechnique"] == "GT-AGG"
    assert sorted(m["value"] for m in dataset["hasQualityMeasurement"]) == [0.95, 0.97, 0.98]


# --------------------------------------------------------------------------------------------
# property: whatever an author states with the public vocabulary, to_jsonld keeps it
# --------------------------------------------------------------------------------------------

_CODES = sorted({str(c) for c in ontology_graph().subjects(URIRef("http://www.w3.org/2004/02/skos/core#notation"), None)
                 if str(c).startswith(DCERT)})
_OBJECT_PROPS = [URIRef(DCERT + p) for p in ("applicationScenario", "deidentificationGrade", "subjectGranularity",
                                             "dataModality", "healthDataCategory", "consentScope")]
_IRI_PROPS = [URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"), URIRef("http://purl.org/dc/terms/publisher"),
              URIRef("https://w3id.org/dpv#hasLegalBasis")]
_LITERALS = st.one_of(
    st.builds(lambda t, lang: Literal(t, lang=lang), st.text(min_size=1, max_size=12), st.sampled_from(["zh", "en"])),
    st.builds(Literal, st.integers(min_value=0, max_value=10**6)),
    st.builds(lambda x: Literal(round(x, 3)), st.floats(min_value=0, max_value=1, allow_nan=False)),
    st.builds(lambda t: Literal(t), st.text(min_size=1, max_size=12)),
)


@st.composite
def _graphs(draw):
    g = Graph()
    ds = URIRef("https://example.org/ds/" + draw(st.sampled_from(["a", "b"])))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            g.add((ds, draw(st.sampled_from(_OBJECT_PROPS)), URIRef(draw(st.sampled_from(_CODES)))))
        elif kind == 1:
            g.add((ds, draw(st.sampled_from(_IRI_PROPS)), URIRef("https://example.org/x/" + draw(st.sampled_from("xyz")))))
        elif kind == 2:
            prop = draw(st.sampled_from([URIRef("http://purl.org/dc/terms/title"), URIRef(DCERT + "k"), DQV_VALUE,
                                         URIRef("http://purl.org/dc/terms/issued"), *_IRI_PROPS, *_OBJECT_PROPS]))
            g.add((ds, prop, draw(st.one_of(_LITERALS, st.builds(lambda d: Literal(d), st.dates())))))
        else:
            node = BNode()
            g.add((ds, URIRef("http://www.w3.org/ns/dqv#hasQualityMeasurement"), node))
            g.add((node, DQV_VALUE, draw(_LITERALS)))
    return g


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_graphs())
def test_to_jsonld_keeps_every_fact(graph):
    text = to_jsonld(graph)
    assert isomorphic(_same_facts(parse_description(text.encode(), filename="g.jsonld").graph), _same_facts(graph))
