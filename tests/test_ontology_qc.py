"""ODK-style quality control of the ontology, as data (conventions: Ontology).

Every `ontology/qc/<check>.rq` is a SPARQL SELECT that returns offending rows and opens with a
comment block naming the problem, the fix and the severity. The queries are found through the
package loader (`derivecert.resources.qc_queries()`), run over the loaded ontology
(`derivecert.resources.ontology_graph()`), and a check fails on any row, whatever its severity:
the ontology ships clean. Each check is also shown to catch the defect it describes, on a small
broken example, so that a query that silently matches nothing cannot pass for a clean ontology.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import Graph

from derivecert.resources import ontology_graph, qc_queries

QUERIES = qc_queries()
CHECKOUT_QC = Path(__file__).resolve().parents[1] / "ontology" / "qc"

PREFIXES = """
@prefix dcert: <https://w3id.org/derivecert#> .
@prefix owl:   <http://www.w3.org/2002/07/owl#> .
@prefix rdfs:  <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos:  <http://www.w3.org/2004/02/skos/core#> .
@prefix dct:   <http://purl.org/dc/terms/> .
"""
# A well-formed term, to pad the broken examples so that only the intended defect shows.
GOOD_CLASS = """
dcert:Good a owl:Class ; rdfs:label "好"@zh , "good"@en ;
  skos:definition "好的类。"@zh , "A good class."@en ;
  dct:source "DOMAIN.md §1" ; rdfs:isDefinedBy <https://w3id.org/derivecert> .
"""

# check -> (a description with exactly the defect the check is about, the term it must report)
BROKEN_EXAMPLES: dict[str, tuple[str, str]] = {
    "missing-label": ('dcert:X a owl:Class ; rdfs:label "x"@en .', "X"),
    "multiple-labels": ('dcert:X a owl:Class ; rdfs:label "甲"@zh , "x"@en , "an x"@en .', "X"),
    "missing-definition": ('dcert:X a owl:ObjectProperty ; skos:definition "An x."@en .', "X"),
    "multiple-definitions": ('dcert:X a owl:Class ; skos:definition "一。"@zh , "One."@en , "Two."@en .', "X"),
    "missing-isdefinedby": ('dcert:X a owl:Class ; rdfs:isDefinedBy <https://w3id.org/dpv> .', "X"),
    "missing-source": ('dcert:X a skos:ConceptScheme .', "X"),
    "concept-preflabel": ('dcert:L9 a skos:Concept ; skos:notation "L9" ; skos:prefLabel "第9级"@zh , "L9"@en .', "L9"),
    "concept-notation": ('dcert:S a skos:ConceptScheme . dcert:AS-X a skos:Concept ; skos:inScheme dcert:S ; skos:notation "AS-Y" .', "AS-X"),
    "concept-scheme": ('dcert:Code a owl:Class ; rdfs:subClassOf skos:Concept . dcert:C-X a skos:Concept , dcert:Code ; skos:notation "C-X" .', "C-X"),
    "skos-hierarchy": ('dcert:S a skos:ConceptScheme . dcert:C-X a skos:Concept ; skos:inScheme dcert:S ; skos:notation "C-X" .', "C-X"),
    "undeclared-term": ('dcert:X a owl:Class ; rdfs:subClassOf dcert:Undeclared .', "Undeclared"),
    "label-language-tag": ('dcert:X a owl:Class ; rdfs:label "衍生数据"@en .', "X"),
    "text-language-tag": ('dcert:X a owl:Class ; skos:definition "这是一个用英文标签标注的中文定义。"@en .', "X"),
    "duplicate-label-in-scheme": ('dcert:S a skos:ConceptScheme . dcert:A-1 skos:inScheme dcert:S ; skos:prefLabel "同名"@zh . '
                                  'dcert:A-2 skos:inScheme dcert:S ; skos:altLabel "同名"@zh .', "A-1"),
    "skos-label-clash": ('dcert:A-1 a skos:Concept ; skos:prefLabel "甲"@zh ; skos:altLabel "甲"@zh .', "A-1"),
    "duplicate-label": ('dcert:X a owl:Class ; rdfs:label "x"@en . dcert:Y a owl:Class ; rdfs:label "X"@en .', "X"),
    "duplicate-definition": ('dcert:X a owl:Class ; skos:definition "An x."@en . dcert:Y a owl:Class ; skos:definition "An x."@en .', "X"),
    "label-whitespace": ('dcert:X a owl:Class ; rdfs:label "x "@en .', "X"),
    "deprecated-term": ('dcert:X a owl:Class ; owl:deprecated true .', "X"),
    "label-case": ('dcert:X a owl:Class ; rdfs:label "Derived thing"@en .', "X"),
}
# ... and the tricky correct cases each check must not report.
CLEAN_EXAMPLES: dict[str, str] = {
    "label-language-tag": 'dcert:X a owl:Class ; rdfs:label "k 值"@zh , "D0 data"@en .',
    "text-language-tag": 'dcert:X a owl:Class ; skos:definition "The highest candidate is the level (就高从严)."@en .',
    "concept-notation": 'dcert:S a skos:ConceptScheme . dcert:NotDerived a skos:Concept ; skos:inScheme dcert:S ; skos:notation "not-derived" .',
    "concept-preflabel": 'dcert:Certified a skos:Concept ; skos:notation "certified" ; skos:prefLabel "通过认定"@zh , "certified"@en .',
    "duplicate-label-in-scheme": 'dcert:S a skos:ConceptScheme . dcert:T a skos:ConceptScheme . '
                                 'dcert:A-1 skos:inScheme dcert:S ; skos:prefLabel "公共卫生"@zh . dcert:B-1 skos:inScheme dcert:T ; skos:prefLabel "公共卫生"@zh .',
    "duplicate-label": 'dcert:X a owl:ObjectProperty ; rdfs:label "good"@en .',
    "label-case": 'dcert:X a owl:Class ; rdfs:label "PIPIA record"@en , "k"@en .',
}


def header(path: Path) -> dict[str, str]:
    """The `# key: text` fields of the opening comment block (continuation lines joined)."""
    fields: dict[str, str] = {}
    key = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        match = re.match(r"#\s*(problem|fix|severity):\s*(.*)", line)
        if match:
            key = match.group(1)
            fields[key] = match.group(2).strip()
        elif key:
            fields[key] += " " + line.lstrip("# ").strip()
    return fields


def run(path: Path, graph: Graph) -> list[tuple]:
    return [tuple(row) for row in graph.query(path.read_text(encoding="utf-8"))]


def broken_graph(snippet: str) -> Graph:
    return Graph().parse(data=PREFIXES + GOOD_CLASS + snippet, format="turtle")


def test_qc_queries_are_packaged():
    assert QUERIES, "derivecert.resources.qc_queries() found no QC query"
    if CHECKOUT_QC.exists():  # from a checkout: the package data is the checkout's ontology/qc
        assert {p.name for p in QUERIES} == {p.name for p in CHECKOUT_QC.glob("*.rq")}


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem for q in QUERIES])
def test_qc_query_header(query: Path):
    fields = header(query)
    assert fields.get("problem"), f"{query.name}: the opening comment needs '# problem:'"
    assert fields.get("fix"), f"{query.name}: the opening comment needs '# fix:'"
    assert fields.get("severity") in ("error", "warning"), f"{query.name}: '# severity: error|warning'"
    assert re.search(r"^\s*SELECT\b", query.read_text(encoding="utf-8"), re.M | re.I), f"{query.name} is not a SELECT"


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem for q in QUERIES])
def test_ontology_passes_qc(query: Path):
    rows = run(query, ontology_graph())
    fields = header(query)
    listing = "\n".join("  " + " | ".join(str(value) for value in row) for row in rows)
    assert not rows, (f"{query.name} ({fields.get('severity')}): {len(rows)} offending row(s)\n{listing}\n"
                      f"problem: {fields.get('problem')}\nfix: {fields.get('fix')}")


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem for q in QUERIES])
def test_qc_query_catches_its_defect(query: Path):
    assert query.stem in BROKEN_EXAMPLES, f"give {query.name} a broken example in BROKEN_EXAMPLES"
    snippet, term = BROKEN_EXAMPLES[query.stem]
    rows = run(query, broken_graph(snippet))
    reported = {str(row[0]) for row in rows}
    assert f"https://w3id.org/derivecert#{term}" in reported, f"{query.name} missed dcert:{term}: {rows}"
    assert "https://w3id.org/derivecert#Good" not in reported, f"{query.name} reported the well-formed term: {rows}"


@pytest.mark.parametrize("check", sorted(CLEAN_EXAMPLES))
def test_qc_query_accepts_correct_edge_cases(check: str):
    query = next(q for q in QUERIES if q.stem == check)
    rows = run(query, broken_graph(CLEAN_EXAMPLES[check]))
    assert not rows, f"{query.name} reported a correct description: {rows}"
