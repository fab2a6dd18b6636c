"""The ontology and the shapes as package data, loaded once per process.

The Turtle files live at the top of the repository (`ontology/`, `shapes/`); the package reaches
them through `derivecert/data/`, so the same loader works from a checkout and from a wheel.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from .vocab import DCERT

ONTOLOGY_IRI = URIRef("https://w3id.org/derivecert")
SHAPES_IRI = URIRef("https://w3id.org/derivecert/shapes")
ONTOLOGY_MODULES = (
    "derivecert-core.ttl",
    "derivecert-codes.ttl",
    "derivecert-classification.ttl",
    "derivecert-alignments.ttl",
)


def data_dir(kind: str) -> Path:
    """Folder of the packaged `ontology` or `shapes` files."""
    return Path(str(resources.files("derivecert") / "data" / kind))


def ontology_files() -> list[Path]:
    return [data_dir("ontology") / name for name in ONTOLOGY_MODULES]


def shapes_files() -> list[Path]:
    return sorted(data_dir("shapes").glob("*.ttl"))


def qc_queries() -> list[Path]:
    return sorted((data_dir("ontology") / "qc").glob("*.rq"))


def rule_queries() -> list[Path]:
    """The CONSTRUCT rules that read literals for the axioms (ontology/rules/*.rq)."""
    return sorted((data_dir("ontology") / "rules").glob("*.rq"))


def _parse_all(paths: list[Path]) -> Graph:
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


@lru_cache(maxsize=1)
def ontology_graph() -> Graph:
    """All ontology modules in one graph (treat as read-only: it is shared)."""
    return _parse_all(ontology_files())


@lru_cache(maxsize=1)
def shapes_source_graph() -> Graph:
    """The shapes as written, before a threshold profile is applied."""
    return _parse_all(shapes_files())


def _version(graph: Graph, iri: URIRef) -> str:
    value = graph.value(iri, OWL.versionInfo)
    return str(value) if value is not None else "unknown"


def ontology_version() -> str:
    return _version(ontology_graph(), ONTOLOGY_IRI)


def shapes_version() -> str:
    return _version(shapes_source_graph(), SHAPES_IRI)


@lru_cache(maxsize=1)
def code_lists() -> Graph:
    """Only the code-list concepts with their facts (notation, rank, order, membership...).

    Small enough to join every data graph that SHACL validates, where SPARQL constraints read
    ranks and scenario minimum grades as data rather than as copies in Python.
    """
    onto = ontology_graph()
    out = Graph()
    from rdflib.namespace import SKOS

    for concept in set(onto.subjects(RDF.type, SKOS.Concept)):
        if isinstance(concept, URIRef) and str(concept).startswith(str(DCERT)):
            for p, o in onto.predicate_objects(concept):
                out.add((concept, p, o))
    return out
