"""Labels the API and the web pages show are the ontology's (one source for each word)."""

from __future__ import annotations

from rdflib import URIRef
from rdflib.namespace import RDFS, SKOS

from derivecert.api.labels import SCHEMES, dimension_labels, value_label
from derivecert.catalog import DIMENSIONS
from derivecert.resources import ontology_graph
from derivecert.vocab import DCERT


def labels_of(subject, prop) -> dict[str, str]:
    return {o.language: str(o) for o in ontology_graph().objects(subject, prop)}


def test_each_coded_dimension_is_labelled_by_its_code_list():
    for dim, (slug, _) in DIMENSIONS.items():
        if slug:
            assert dimension_labels()[dim] == labels_of(URIRef(DCERT + SCHEMES[slug]), SKOS.prefLabel), dim
    assert dimension_labels()["verdict"] == labels_of(DCERT.VerdictScheme, SKOS.prefLabel)


def test_derivation_depths_are_labelled_by_their_classes():
    assert value_label("depth", "primary") == labels_of(DCERT.PrimaryDerivedData, RDFS.label)
    assert value_label("depth", "secondary") == labels_of(DCERT.SecondaryDerivedData, RDFS.label)
