"""Faceted search: the query and result types, and the same search in SPARQL for peers that are
plain SPARQL endpoints holding a DeriveCert catalog (tested to agree with `FacetIndex`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..vocab import DCERT
from .model import CODE, CODED, DIMENSIONS, PREFIXES, RecordSummary, code_of, normalise_text
from .sparql import sparql_iri, sparql_literal


@dataclass
class SearchQuery:
    """Faceted search: AND across dimensions, OR within one; `text` words must all occur."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    text: str = ""
    offset: int = 0
    limit: int = 20
    sort: str = "-modified"  # -modified | modified | title | relevance (of the text; else -modified)

    def words(self) -> list[str]:
        return [w for w in normalise_text(self.text).split(" ") if w]


@dataclass
class SearchResult:
    total: int
    items: list[RecordSummary]
    facets: dict[str, dict[str, int]]


#: where the SPARQL form reads a dimension: the record's institution, else the property of the
#: result node (the engine's classification, in the public vocabulary) and, for a dimension whose
#: values are not codes, the concept each value is
RESULT_PROPERTY = {
    "scenario": "applicationScenario", "technique": "generationTechnique", "level": "sensitivityLevel",
    "grade": "deidentificationGrade", "granularity": "subjectGranularity", "category": "healthDataCategory",
    "modality": "dataModality", "special": "specialCategory", "verdict": "verdict", "depth": "inferredType",
}
CONCEPT = {
    "verdict": {"certified": "Certified", "conditional": "Conditional"},
    "depth": {"primary": "PrimaryDerivedData", "secondary": "SecondaryDerivedData"},
}
VALUE_OF = {dim: {concept: value for value, concept in table.items()} for dim, table in CONCEPT.items()}


def _pattern(dim: str, var: str) -> str:
    if dim == "institution":
        return f"?rec idx:institution {var} ."
    return f"?res dcert:{RESULT_PROPERTY[dim]} {var} ."


def _terms(dim: str, values: list[str]) -> str:
    if dim in CODED:
        terms = [sparql_iri(DCERT + v) for v in values if CODE.fullmatch(v)]
    elif dim in CONCEPT:
        terms = [sparql_iri(DCERT + CONCEPT[dim][v]) for v in values if v in CONCEPT[dim]]
    else:
        terms = [sparql_literal(v) for v in values]
    return ", ".join(terms) or sparql_iri(DCERT + "__none__")


def _sparql_where(query: SearchQuery, skip: str | None = None) -> str:
    lines = [
        "?rec a dcat:CatalogRecord ; idx:key ?key ; dct:modified ?mod ; idx:summary ?summary ; foaf:primaryTopic ?ds .",
        "?res a dcert:CertificationResult ; dct:subject ?ds .",
    ]
    for dim, values in sorted(query.filters.items()):
        if dim == skip or not values or dim not in DIMENSIONS:
            continue
        lines.append(f"FILTER EXISTS {{ {_pattern(dim, '?f_' + dim)} FILTER(?f_{dim} IN ({_terms(dim, values)})) }}")
    words = query.words()
    if words:
        lines.append("?rec idx:text ?text .")
        lines.append("FILTER(" + " && ".join(f"CONTAINS(?text, {sparql_literal(w)})" for w in words) + ")")
    return "\n  ".join(lines)


def sparql_search(query: SearchQuery) -> dict[str, str]:
    """The faceted search as three SPARQL SELECT queries: page, total and facet counts.  They
    read the catalog records and their datasets' result nodes, in an institution's graph."""
    where = _sparql_where(query)
    order = {"-modified": "DESC(?mod) DESC(?key)", "modified": "?mod ?key", "title": "?key"}[
        query.sort if query.sort in ("-modified", "modified") else "-modified"
    ]
    page = (
        f"{PREFIXES}SELECT ?summary ?text WHERE {{ GRAPH ?g {{\n  {where}\n  "
        f"OPTIONAL {{ ?rec idx:text ?text }} }} }}\nORDER BY {order}\n"
        f"LIMIT {int(query.limit)} OFFSET {int(query.offset)}"
    )
    total = f"{PREFIXES}SELECT (COUNT(?rec) AS ?n) WHERE {{ GRAPH ?g {{\n  {where} }} }}"
    unions = []
    for dim in DIMENSIONS:
        only = f" FILTER(?value IN ({_terms(dim, list(CONCEPT[dim]))}))" if dim in CONCEPT else ""
        unions.append(
            f"{{ GRAPH ?g {{ {_sparql_where(query, skip=dim)}\n  {_pattern(dim, '?value')}{only} }} "
            f"BIND({sparql_literal(dim)} AS ?dim) }}"
        )
    facets = (
        f"{PREFIXES}SELECT ?dim ?value (COUNT(?rec) AS ?n) WHERE {{\n"
        + "\nUNION\n".join(unions)
        + "\n} GROUP BY ?dim ?value"
    )
    return {"page": page, "total": total, "facets": facets}


def parse_sparql_search(
    query: SearchQuery, page_rows: list[dict], total_rows: list[dict], facet_rows: list[dict]
) -> SearchResult:
    """Assemble a `SearchResult` from SPARQL JSON bindings (``{"var": {"value": ...}}``)."""
    items = [
        RecordSummary.from_json(json.loads(row["summary"]["value"]), text=row.get("text", {}).get("value", ""))
        for row in page_rows
    ]
    total = int(total_rows[0]["n"]["value"]) if total_rows else 0
    facets: dict[str, dict[str, int]] = {dim: {} for dim in DIMENSIONS}
    for row in facet_rows:
        dim = row["dim"]["value"]
        if dim in facets:
            value = code_of(row["value"]["value"])
            facets[dim][VALUE_OF.get(dim, {}).get(value, value)] = int(row["n"]["value"])
    for dim, values in query.filters.items():
        for v in values:
            facets.setdefault(dim, {}).setdefault(v, 0)
    return SearchResult(total=total, items=items, facets=facets)
