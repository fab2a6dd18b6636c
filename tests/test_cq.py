"""Competency questions of the ontology, W3C-test style (conventions: Ontology).

Each `tests/cq/CQ-NN.rq` is a SPARQL query; `CQ-NN.expected.srj` holds its expected answer as
SPARQL 1.1 Query Results JSON. A query's header names its data with `# data: data/<file>.ttl`
lines: those descriptions are materialised with the OWL 2 RL reasoner (the engine's default
path) and queried together with the ontology. A query without data asks the ontology alone (its
axioms and code lists). Results are compared as multisets of bindings, order-insensitively.
The questions, in Chinese and English, and their expected answers are listed in
`tests/cq/README.md`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef

from derivecert.parse import parse_file
from derivecert.reason import get_reasoner
from derivecert.resources import ontology_graph

CQ_DIR = Path(__file__).parent / "cq"
QUERIES = sorted(CQ_DIR.glob("CQ-*.rq"))
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def data_files(query_text: str) -> tuple[Path, ...]:
    return tuple(CQ_DIR / name for name in re.findall(r"^# data: (\S+)", query_text, re.M))


@lru_cache(maxsize=None)
def graph_for(files: tuple[Path, ...]) -> Graph:
    """The ontology plus the materialised descriptions of `files`."""
    graph = Graph()
    graph += ontology_graph()
    if files:
        data = Graph()
        for path in files:
            parse_file(path, into=data)
        graph += get_reasoner("rl").materialise(data)
    return graph


def _term_json(term) -> dict:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    out = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype is not None and str(term.datatype) != XSD_STRING:
        out["datatype"] = str(term.datatype)
    return out


def _normalise(term: dict) -> tuple:
    kind = "literal" if term["type"] == "typed-literal" else term["type"]
    if kind == "bnode":
        return ("bnode",)  # blank-node labels are not comparable across result sets
    datatype = term.get("datatype", XSD_STRING if kind == "literal" and "xml:lang" not in term else None)
    return (kind, term["value"], datatype, (term.get("xml:lang") or "").lower() or None)


def as_srj(result) -> dict:
    variables = [str(v) for v in result.vars]
    bindings = []
    for row in result:
        binding = {}
        for var in result.vars:
            value = row[var]
            if value is not None:
                binding[str(var)] = _term_json(value)
        bindings.append(binding)
    return {"head": {"vars": variables}, "results": {"bindings": bindings}}


def multiset(srj: dict) -> Counter:
    return Counter(frozenset((var, _normalise(term)) for var, term in binding.items())
                   for binding in srj["results"]["bindings"])


def _show(binding: frozenset) -> str:
    return ", ".join(f"{var}={value[1]}" for var, value in sorted(binding))


def test_there_are_at_least_twelve_competency_questions():
    assert len(QUERIES) >= 12
    for query in QUERIES:
        assert query.with_suffix(".expected.srj").exists(), f"{query.name} has no expected results"


def test_every_question_is_in_the_readme():
    readme = (CQ_DIR / "README.md").read_text(encoding="utf-8")
    for query in QUERIES:
        assert re.search(rf"^\|\s*{query.stem}\s*\|", readme, re.M), f"{query.stem} missing from tests/cq/README.md"


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem for q in QUERIES])
def test_competency_question(query: Path):
    text = query.read_text(encoding="utf-8")
    assert re.search(rf"^# {query.stem} zh: \S", text, re.M) and re.search(rf"^# {query.stem} en: \S", text, re.M), \
        f"{query.name} must state its question in zh and en"
    files = data_files(text)
    for path in files:
        assert path.exists(), f"{query.name} names missing data {path}"
    expected = json.loads(query.with_suffix(".expected.srj").read_text(encoding="utf-8"))
    actual = as_srj(graph_for(files).query(text))

    assert sorted(actual["head"]["vars"]) == sorted(expected["head"]["vars"]), "projected variables differ"
    want, got = multiset(expected), multiset(actual)
    missing = ["  - " + _show(b) for b in (want - got).elements()]
    unexpected = ["  + " + _show(b) for b in (got - want).elements()]
    assert not missing and not unexpected, f"{query.stem} answers differ from {query.stem}.expected.srj:\n" + "\n".join(missing + unexpected)


def test_comparison_is_order_insensitive_and_exact():
    """The comparison itself: order does not matter, multiplicity and datatypes do."""
    a = {"head": {"vars": ["x"]}, "results": {"bindings": [
        {"x": {"type": "literal", "value": "1"}}, {"x": {"type": "uri", "value": "urn:a"}}]}}
    b = {"head": {"vars": ["x"]}, "results": {"bindings": list(reversed(a["results"]["bindings"]))}}
    assert multiset(a) == multiset(b)
    c = {"head": {"vars": ["x"]}, "results": {"bindings": a["results"]["bindings"] * 2}}
    assert multiset(a) != multiset(c)
    typed = {"head": {"vars": ["x"]}, "results": {"bindings": [
        {"x": {"type": "literal", "value": "1", "datatype": "http://www.w3.org/2001/XMLSchema#integer"}},
        {"x": {"type": "uri", "value": "urn:a"}}]}}
    assert multiset(a) != multiset(typed)
    assert _normalise(_term_json(Literal("v"))) == _normalise({"type": "literal", "value": "v"})
