"""Unknown dcert: terms of a batch (derivecert.unknown.UnknownTerms, A6): found once per batch, each
charged to the datasets whose description uses it (itself, its blank nodes, its activities, its
sources), whatever else the batch holds."""

from __future__ import annotations

from rdflib import Graph, URIRef

from derivecert.parse import parse_description
from derivecert.unknown import UnknownTerms

BATCH = b"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix prov: <http://www.w3.org/ns/prov#> .
@prefix dcert: <https://w3id.org/derivecert#> . @prefix ex: <https://example.org/> .
ex:derived a dcat:Dataset ; prov:wasDerivedFrom ex:source ;
  prov:wasGeneratedBy [ dcert:generationTechnique dcert:GT-AGGG ] .
ex:source a dcat:Dataset ; dcert:sensitivityLevl dcert:L3 .
ex:other a dcat:Dataset ; dcert:applicationScenario dcert:AS-RES ; <http://purl.org/dc/terms/references> ex:derived .
ex:user a dcat:Dataset ; prov:wasDerivedFrom ex:other .
ex:typo a dcat:Dataset ; dcert:applicationScenario dcert:AS-RESEARCH .
"""


def _terms(found: UnknownTerms, name: str) -> list[str]:
    return [str(t).rsplit("#", 1)[-1] for t in found.of(URIRef("https://example.org/" + name))]


def test_each_dataset_is_charged_the_unknown_terms_of_its_own_description():
    graph = parse_description(BATCH, media_type="text/turtle").graph
    found = UnknownTerms(graph)
    assert _terms(found, "derived") == ["GT-AGGG", "sensitivityLevl"]  # its activity's, its source's
    assert _terms(found, "source") == ["sensitivityLevl"]
    assert _terms(found, "other") == []  # it points at a dataset with unknown terms: not its description
    assert _terms(found, "user") == []
    assert _terms(found, "typo") == ["AS-RESEARCH"]
    notices = found.notices(URIRef("https://example.org/typo"), reported=set())
    assert [n.get("did_you_mean", "").rsplit("#", 1)[-1] for n in notices] == ["AS-RES"]
    assert found.notices(URIRef("https://example.org/typo"), reported={"https://w3id.org/derivecert#AS-RESEARCH"}) == []


def test_a_graph_of_any_store_gives_the_same_terms():
    graph = parse_description(BATCH, media_type="text/turtle").graph
    memory = Graph()
    memory += graph
    for name in ("derived", "source", "other", "user", "typo"):
        assert _terms(UnknownTerms(memory), name) == _terms(UnknownTerms(graph), name)
