"""Values in SPARQL text.

Query and update texts are constants; values are bound as terms.  The embedded store binds
them without text (`Store.query(substitutions=...)`).  Where text must carry a value (SPARQL
updates, and every request to a remote server), `sparql_term` is the only way in.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from .model import PREFIXES


def sparql_term(term: ox.NamedNode | ox.Literal | ox.BlankNode | ox.Triple) -> str:
    """A term in SPARQL syntax, safe to place in any query or update text (any other kind of term
    is a TypeError).

    Only Oxigraph terms are accepted, and their N-Triples form is valid SPARQL: `NamedNode`
    refuses anything that is not an absolute IRI by RFC 3987 (no space or control character, none
    of < > " { } | ^ ` or backslash), so an IRI cannot close its angle brackets; a literal's
    lexical form is escaped (quote, backslash, line breaks) and its language tag and datatype
    are validated, so it cannot close its string.  Tested on arbitrary text
    (tests/api/test_injection.py)."""
    if not isinstance(term, (ox.NamedNode, ox.Literal)):
        raise TypeError(f"only IRIs and literals enter SPARQL text, not {type(term).__name__}")
    return str(term)


def sparql_iri(value: str) -> str:
    """`<value>`, or ValueError when `value` is not an absolute IRI."""
    return sparql_term(ox.NamedNode(value))


def sparql_literal(value: str) -> str:
    return sparql_term(ox.Literal(value))


def values_clause(bindings: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """A trailing ``VALUES`` clause binding each variable to one term (SPARQL 1.1 §10.2.2): what
    the embedded store does with `substitutions`, for a server that only takes text."""
    names = " ".join("?" + name for name in bindings)
    row = " ".join(sparql_term(term) for term in bindings.values())
    return f"\nVALUES ({names}) {{ ({row}) }}"


def update_text(ops: list[str]) -> str:
    """One update request of several operations, with the prefixes of the store's texts."""
    return PREFIXES + " ;\n".join(ops)


def insert_data(graph: str, triples: Iterable[ox.Triple]) -> str:
    """``INSERT DATA`` of triples into one graph, every term as `sparql_term` writes it: triples
    of IRIs and literals (a predicate is always an IRI) are written by Oxigraph, all at once, in
    N-Triples, whose terms are that same syntax; any other term is refused by `sparql_term`."""
    triples = list(triples)
    if all(type(t.subject) is ox.NamedNode and type(t.object) in _TEXT_TERMS for t in triples):
        body = (ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode()  # bytes: no output file given
    else:
        body = "".join(f"{sparql_term(t.subject)} {sparql_term(t.predicate)} {sparql_term(t.object)} .\n" for t in triples)
    return f"INSERT DATA {{ GRAPH {sparql_iri(graph)} {{\n{body}}} }}"


_TEXT_TERMS = (ox.NamedNode, ox.Literal)
