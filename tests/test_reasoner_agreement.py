"""The two reasoning paths agree (issue 2): OWL 2 RL (`reasonable`) and OWL 2 DL (HermiT, owlready2).

On every description the project holds (tests/data/**, the competency-question data, the spec's
worked examples and the real HealthDCAT-AP record), both paths must infer the same `dcert:` types
and the same `dcert:` property values for every dcat:Dataset and every generating activity.

HermiT costs a JVM start per call, so all descriptions are materialised in one call per path.
To keep that merge faithful, descriptions must not leak into each other: blank nodes are scoped
per file by `derivecert.parse.parse_file`, and every IRI that the ontology does not mention (the
datasets, activities and agents of a description) is renamed per file. Renaming individuals the
axioms never name changes no entailment, so the merged run infers, file by file, what separate
runs would. Files the parser rejects (fixtures of malformed input) are not descriptions and are
left out; if the merged HermiT run fails, the files are retried one by one to name the culprit.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Namespace, URIRef
from rdflib.namespace import RDF

from derivecert.errors import DeriveCertError, ReasonerError
from derivecert.parse import parse_file
from derivecert.reason import get_reasoner
from derivecert.resources import ontology_graph

pytestmark = [
    pytest.mark.hermit,
    pytest.mark.skipif(shutil.which("java") is None, reason="HermiT (owlready2) needs a Java runtime: no `java` on the PATH"),
]

DCERT = "https://w3id.org/derivecert#"
DCAT = Namespace("http://www.w3.org/ns/dcat#")
PROV = Namespace("http://www.w3.org/ns/prov#")
TESTS = Path(__file__).parent
SHARED = TESTS.resolve().parents[1] / "shared"
RENAMED = "urn:derivecert:agreement:"


def description_files() -> list[Path]:
    files = sorted((TESTS / "data").rglob("*.ttl")) + sorted((TESTS / "cq" / "data").glob("*.ttl"))
    files += sorted((SHARED / "spec" / "examples").glob("*.ttl"))
    record = SHARED / "reference" / "healthdcat-ap" / "ckanext-dcat_dataset_health.ttl"
    return files + ([record] if record.exists() else [])


def _ontology_iris() -> set:
    return {term for triple in ontology_graph() for term in triple if isinstance(term, URIRef)}


def _scoped(graph: Graph, index: int, keep: set) -> Graph:
    """`graph` with the IRIs the ontology does not mention renamed into a per-file space."""
    vocabulary = set(graph.predicates()) | set(graph.objects(None, RDF.type))

    def rename(term):
        if isinstance(term, URIRef) and term not in keep and term not in vocabulary:
            return URIRef(f"{RENAMED}{index}:{term}")
        return term

    out = Graph()
    for s, p, o in graph:
        out.add((rename(s), p, rename(o)))
    return out


def _original(term) -> str:
    text = str(term)
    return text.split(":", 4)[-1] if text.startswith(RENAMED) else text


def _facts(graph: Graph, node) -> set[tuple[str, str]]:
    """The dcert: types and dcert: property values of `node`."""
    out = set()
    for p, o in graph.predicate_objects(node):
        if p == RDF.type and str(o).startswith(DCERT):
            out.add(("a", str(o)[len(DCERT):]))
        elif str(p).startswith(DCERT) and not isinstance(o, BNode):
            out.add((str(p)[len(DCERT):], _original(o)))
        elif str(p).startswith(DCERT):
            out.add((str(p)[len(DCERT):], "_:node"))
    return out


def _compared_nodes(*graphs: Graph) -> set:
    nodes = set()
    for graph in graphs:
        nodes |= set(graph.subjects(RDF.type, DCAT.Dataset))
        nodes |= {a for _, a in graph.subject_objects(PROV.wasGeneratedBy)}
    return nodes


def _disagreements(rl: Graph, hermit: Graph) -> list[str]:
    lines = []
    for node in sorted(_compared_nodes(rl, hermit), key=str):
        a, b = _facts(rl, node), _facts(hermit, node)
        if a != b:
            lines.append(f"{_original(node)}: only rl {sorted(a - b)}; only hermit {sorted(b - a)}")
    return lines


@pytest.fixture(scope="module")
def merged() -> tuple[Graph, dict[int, Path], list[str]]:
    keep = _ontology_iris()
    graph, files, rejected = Graph(), {}, []
    for index, path in enumerate(description_files()):
        try:
            parsed = parse_file(path).graph
        except DeriveCertError as exc:  # a fixture of malformed input, not a description
            rejected.append(f"{path}: {exc}")
            continue
        files[index] = path
        graph += _scoped(parsed, index, keep)
    return graph, files, rejected


def test_there_are_descriptions_to_compare(merged):
    graph, files, _ = merged
    names = {p.name for p in files.values()}
    assert any(p.parent.name == "reasoning" for p in files.values()), "tests/data/reasoning fixtures missing"
    assert "ckanext-dcat_dataset_health.ttl" in names or not (SHARED / "reference").exists()
    assert len(set(graph.subjects(RDF.type, DCAT.Dataset))) >= 40


def test_renaming_keeps_files_apart_and_ontology_terms_intact(merged):
    graph, files, _ = merged
    for s, p, o in graph:
        for term in (s, o):
            if isinstance(term, URIRef) and str(term).startswith(DCERT):
                assert not str(term).startswith(RENAMED)
    # the same dataset IRI written in two files becomes two nodes
    scoped = [_scoped(Graph().parse(data="<https://example.org/x> a <http://www.w3.org/ns/dcat#Dataset> .", format="turtle"), i, set())
              for i in (1, 2)]
    assert set(scoped[0].subjects()) != set(scoped[1].subjects())


def test_rl_and_hermit_agree_on_every_description(merged):
    graph, files, _ = merged
    started = time.perf_counter()
    rl = get_reasoner("rl").materialise(graph)
    try:
        hermit = get_reasoner("hermit").materialise(graph)
    except ReasonerError as exc:
        failing = []
        for index, path in files.items():  # name the description HermiT cannot take
            sub = _scoped(parse_file(path).graph, index, _ontology_iris())
            try:
                get_reasoner("hermit").materialise(sub)
            except ReasonerError as inner:
                failing.append(f"{path}: {inner}")
        pytest.fail(f"HermiT failed on the merged descriptions ({exc}); per file: {failing or 'none fails alone'}")
    elapsed = time.perf_counter() - started

    inferred = [t for t in rl if t not in graph and str(t[1]) == DCERT + "levelCandidate"]
    assert inferred, "the RL path inferred no level candidate at all: the comparison would be vacuous"
    problems = _disagreements(rl, hermit)
    assert not problems, (f"rl and hermit disagree on {len(problems)} node(s) "
                          f"({len(files)} files, {elapsed:.1f}s):\n" + "\n".join(problems))


def test_comparison_detects_a_disagreement():
    """The comparison is not vacuous: one missing inferred fact is reported."""
    ds = URIRef("https://example.org/agreement/ds")
    a, b = Graph(), Graph()
    for g in (a, b):
        g.add((ds, RDF.type, DCAT.Dataset))
        g.add((ds, URIRef(DCERT + "levelCandidate"), URIRef(DCERT + "L3")))
    a.add((ds, URIRef(DCERT + "levelCandidate"), URIRef(DCERT + "L4")))
    assert _disagreements(a, b) == [f"{ds}: only rl [('levelCandidate', '{DCERT}L4')]; only hermit []"]
