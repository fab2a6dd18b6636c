"""Properties of the parser and the engine on generated descriptions (Hypothesis).

Descriptions are drawn from the vocabulary the engine reads (DCAT, PROV, DPV, dcert: codes) mixed
with blank nodes, odd literals and terms it does not know, in every supported format.  Whatever
is drawn: the parser gives back the graph that was written, and certification finishes without an
exception and gives the same results every time.
"""

from __future__ import annotations

from datetime import date

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Graph
from rdflib.compare import isomorphic

from derivecert.parse import parse_description

DCAT = "http://www.w3.org/ns/dcat#"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
DPV = "https://w3id.org/dpv#"
DCERT = "https://w3id.org/derivecert#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
EX = "https://example.org/"

PREDICATES = [RDF_TYPE, PROV + "wasDerivedFrom", PROV + "wasGeneratedBy", PROV + "used", PROV + "endedAtTime",
              PROV + "wasAssociatedWith", DCT + "title", DCT + "publisher", DCT + "source", DCT + "accessRights",
              DPV + "hasPurpose", DPV + "hasLegalBasis", DPV + "hasPersonalData",
              DCERT + "generationTechnique", DCERT + "deidentificationGrade", DCERT + "applicationScenario",
              DCERT + "subjectGranularity", DCERT + "sensitivityLevel", DCERT + "specialCategory",
              DCERT + "healthDataCategory", DCERT + "privacyModel", DCERT + "k", EX + "unknown"]
CODES = ["GT-AGG", "GT-DEID", "GT-NLP", "GT-COPY", "GT-FUSE", "D0", "D1", "D2", "D3", "D4", "L1", "L3", "L5",
         "AS-RES", "AS-CLIN", "AS-PH", "GR-IND", "GR-POP", "SP-MH", "C3", "LB-CONSENT", "NOT-A-CODE"]
CLASSES = [DCAT + "Dataset", DCERT + "DerivationActivity", PROV + "Activity", DCERT + "KAnonymity", EX + "Thing"]
FORMATS = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES,
           "application/ld+json": ox.RdfFormat.JSON_LD, "application/rdf+xml": ox.RdfFormat.RDF_XML}

iris = st.sampled_from([EX + f"ds{i}" for i in range(4)] + [EX + f"org{i}" for i in range(2)])
blanks = st.integers(0, 3).map(lambda i: ox.BlankNode(f"b{i}"))
subjects = st.one_of(iris.map(ox.NamedNode), blanks)
literals = st.one_of(
    st.text(max_size=12).map(ox.Literal),
    st.integers(-10, 10**6).map(lambda n: ox.Literal(str(n), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))),
    st.sampled_from(["0.5", "1e3", "abc", "2026-02-30", "2026-11-28T00:00:00Z"]).map(
        lambda v: ox.Literal(v, datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime"))),
    st.tuples(st.text(max_size=8), st.sampled_from(["zh", "en", "en-GB"])).map(lambda t: ox.Literal(t[0], language=t[1])),
)
objects = st.one_of(subjects, literals, st.sampled_from(CODES).map(lambda c: ox.NamedNode(DCERT + c)),
                    st.sampled_from(CLASSES).map(ox.NamedNode))
triples = st.builds(ox.Triple, subjects, st.sampled_from(PREDICATES).map(ox.NamedNode), objects)


@st.composite
def descriptions(draw):
    """(bytes, media type, triples): at least one dataset, in one of the supported formats."""
    drawn = draw(st.lists(triples, min_size=1, max_size=30))
    drawn.append(ox.Triple(ox.NamedNode(EX + "ds0"), ox.NamedNode(RDF_TYPE), ox.NamedNode(DCAT + "Dataset")))
    media_type = draw(st.sampled_from(sorted(FORMATS)))
    return ox.serialize(drawn, format=FORMATS[media_type]), media_type, drawn


def _rdflib(triples_) -> Graph:
    nt = ox.serialize(triples_, format=ox.RdfFormat.N_TRIPLES)
    return Graph().parse(data=nt.decode("utf-8"), format="nt")


PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@PROPERTY_SETTINGS
@given(descriptions())
def test_the_parser_gives_back_the_graph_that_was_written(description):
    data, media_type, drawn = description
    parsed = parse_description(data, media_type=media_type).graph
    assert isomorphic(parsed, _rdflib(drawn))


@pytest.mark.usefixtures("engine")
@PROPERTY_SETTINGS
@given(description=descriptions())
def test_any_description_certifies_without_an_exception_and_deterministically(engine, description):
    data, media_type, _ = description
    runs = [engine.certify(data, media_type=media_type, on=date(2026, 11, 28), filing_numbers=lambda: "DC-TEST")
            for _ in range(2)]
    first, second = ([r.to_dict() for r in run.results] for run in runs)
    assert first == second
    assert EX + "ds0" in {r["dataset"] for r in first}
    assert all(r["verdict"] in ("certified", "conditional", "rejected", "not-derived") for r in first)
