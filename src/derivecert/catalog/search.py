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


def _terms(dim: str, values: list[str]) -> list[str]:
    """The filter's values as RDF terms (codes checked by CODE, concepts by name, institutions as
    literals); a value that is none of these names no term, and a filter with no term matches nothing."""
    if dim in CODED:
        terms = [sparql_iri(DCERT + v) for v in values if CODE.fullmatch(v)]
    elif dim in CONCEPT:
        terms = [sparql_iri(DCERT + CONCEPT[dim][v]) for v in values if v in CONCEPT[dim]]
    else:
        terms = [sparql_literal(v) for v in values]
    return list(dict.fromkeys(terms)) or [sparql_iri(DCERT + "__none__")]


def _filters(query: SearchQuery) -> dict[str, list[str]]:
    """The query's filters that apply (known dimension, some value), as terms, by dimension."""
    return {dim: _terms(dim, values) for dim, values in sorted(query.filters.items()) if values and dim in DIMENSIONS}


def _matching(query: SearchQuery, filters: dict[str, list[str]]) -> str:
    """The records (?rec, with their result node ?res) that have every word and pass `filters`.
    A filter is a join of the property with the VALUES of its terms: the engines run it as an
    index lookup a record, where FILTER EXISTS { ... FILTER(IN) } was a subquery a record (and,
    in the facet counts, one a dimension).  A record with two of a filter's values gives two
    rows: `_distinct` says when the callers must count or page distinct records.  Words are tested
    in a grouped subquery of their own: Virtuoso tested them on every row the joins yielded (a
    record's ten facet values: ten tests), and both engines then took about half the time
    (Virtuoso 201 -> 118 ms, Oxigraph 149 -> 95 ms for a word's facet counts at 10,000)."""
    lines = []
    words = query.words()
    if words:  # the records with the words, found once: grouped in a subquery (see below)
        match = " && ".join(f"CONTAINS(?text, {sparql_literal(w)})" for w in words)
        lines.append(f"{{ SELECT ?rec WHERE {{ ?rec idx:text ?text . FILTER({match}) }} GROUP BY ?rec }}")
    lines += [
        "?rec a dcat:CatalogRecord ; foaf:primaryTopic ?ds .",
        "?res a dcert:CertificationResult ; dct:subject ?ds .",
    ]
    for dim, terms in filters.items():
        lines.append(f"{_pattern(dim, '?f_' + dim)} VALUES ?f_{dim} {{ {' '.join(terms)} }}")
    return "\n    ".join(lines)


def _distinct(filters: dict[str, list[str]]) -> bool:
    return any(len(terms) > 1 for terms in filters.values())


def _count(filters: dict[str, list[str]]) -> str:
    return "COUNT(DISTINCT ?rec)" if _distinct(filters) else "COUNT(?rec)"


def _read(dim: str) -> str:
    """The pattern that binds ?value (and ?dim) to a record's values in `dim`; a concept
    dimension's property also holds other concepts (`inferredType`: DerivedData and the rest of
    the engine's classes), so those read only the dimension's own."""
    only = f" VALUES ?value {{ {' '.join(_terms(dim, list(CONCEPT[dim])))} }}" if dim in CONCEPT else ""
    return f"{{ {_pattern(dim, '?value')}{only} BIND({sparql_literal(dim)} AS ?dim) }}"


def sparql_search(query: SearchQuery) -> dict[str, str]:
    """The faceted search as three SPARQL SELECT queries: page, total and facet counts.  They
    read the catalog records and their datasets' result nodes, in an institution's graph.

    The facet counts follow `FacetIndex`: a dimension's counts apply every filter but its own.
    One pass over the records that pass every filter counts the result's dimensions that have no
    filter (a UNION of their properties a record), one more their institutions, and each filtered
    dimension has a pass over the records that pass the other filters.  Each pass is a grouped
    subquery of its own: Virtuoso 7.2 loses groups when one GROUP BY spans a UNION whose branches
    bind ?value to IRIs and to literals (the institutions: two of four found, at half their
    counts, at 10,000 datasets), and a pass reading the result node's properties through
    `?res ?p ?value` with VALUES of ?p took it 40 times longer than the UNION."""
    filters = _filters(query)
    order = {"-modified": "DESC(?mod) DESC(?key)", "modified": "?mod ?key"}[
        query.sort if query.sort in ("-modified", "modified") else "-modified"
    ]
    matching = _matching(query, filters)
    if _distinct(filters):  # one row a record before the page is cut
        matching = f"{{ SELECT DISTINCT ?rec WHERE {{\n    {matching} }} }}"
    page = (
        f"{PREFIXES}SELECT ?summary ?text WHERE {{ GRAPH ?g {{\n    {matching}\n    "
        "?rec idx:key ?key ; dct:modified ?mod ; idx:summary ?summary .\n    "
        f"OPTIONAL {{ ?rec idx:text ?text }} }} }}\nORDER BY {order}\n"
        f"LIMIT {int(query.limit)} OFFSET {int(query.offset)}"
    )
    total = f"{PREFIXES}SELECT ({_count(filters)} AS ?n) WHERE {{ GRAPH ?g {{\n    {_matching(query, filters)} }} }}"
    open_dims = [dim for dim in DIMENSIONS if dim not in filters and dim != "institution"]
    passes = []  # (the filters a pass applies, what it reads)
    if open_dims:
        passes.append((filters, "\n    UNION ".join(_read(dim) for dim in open_dims)))
    for dim in DIMENSIONS:
        if dim in filters or dim == "institution":
            passes.append(({d: terms for d, terms in filters.items() if d != dim}, _read(dim)))
    facets = f"{PREFIXES}SELECT ?dim ?value ?n WHERE {{\n" + "\nUNION\n".join(
        f"{{ SELECT ?dim ?value ({_count(applied)} AS ?n) WHERE {{ GRAPH ?g {{\n    {_matching(query, applied)}\n    "
        f"{reads} }} }} GROUP BY ?dim ?value }}"
        for applied, reads in passes
    ) + "\n}"
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
