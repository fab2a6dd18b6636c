"""SPARQL 1.1 query results written by the engine (pyoxigraph's `QuerySolutions.serialize`, in
JSON, XML, CSV or TSV), from the store's `QueryOutcome` so that the result limit applies first.

The cut rows reach the engine as SPARQL TSV, whose cells are the engine's own N-Triples
rendering of each term (`str(term)`): a lossless hand-over, parsed back by
`pyoxigraph.parse_query_results`; no result format is written here.
"""

from __future__ import annotations

import pyoxigraph as ox


def _cell(term) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Triple):  # an RDF 1.2 triple term: str() gives no delimiters
        return f"<<( {_cell(term.subject)} {_cell(term.predicate)} {_cell(term.object)} )>>"
    return str(term)


def engine_results(outcome) -> ox.QuerySolutions | ox.QueryBoolean:
    """The outcome of a SELECT or ASK as the engine's own results object."""
    if outcome.form == "ask":
        return ox.parse_query_results(b"true" if outcome.boolean else b"false", format=ox.QueryResultsFormat.TSV)
    lines = ["\t".join("?" + v for v in outcome.variables)]
    lines += ["\t".join(_cell(t) for t in row) for row in outcome.rows]
    return ox.parse_query_results(("\n".join(lines) + "\n").encode("utf-8"), format=ox.QueryResultsFormat.TSV)


def serialise_results(outcome, fmt: ox.QueryResultsFormat) -> bytes:
    return engine_results(outcome).serialize(format=fmt) or b""
