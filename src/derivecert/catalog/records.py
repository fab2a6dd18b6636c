"""The record layout: the constant SPARQL texts the catalog reads and writes its records with,
and the check that a record read back is one the catalog could have written."""

from __future__ import annotations

import json
from typing import Any

import pyoxigraph as ox

from ..vocab import BASE
from .model import (
    CATALOG,
    META_GRAPH,
    PREFIXES,
    RecordSummary,
    dataset_key,
    graph_iri,
    is_institution_id,
    record_iri,
)
from .sparql import sparql_iri, sparql_literal

RESERVED_PREFIX = BASE + "/"  # IRIs only this node mints (descriptions naming one are refused)


def record_values(keys: list[str]) -> str:
    """The records of `keys` as the terms of a `VALUES ?rec { ... }` block."""
    return " ".join(sparql_iri(record_iri(k)) for k in keys)


def _generation_ops(generation: str) -> list[str]:
    meta, catalog = sparql_iri(META_GRAPH), sparql_iri(CATALOG)
    return [
        f"DELETE WHERE {{ GRAPH {meta} {{ {catalog} idx:generation ?x }} }}",
        f"INSERT DATA {{ GRAPH {meta} {{ {catalog} idx:generation {sparql_literal(generation)} }} }}",
    ]


#: the change feed of a shared store (README "Scale out", DESIGN.md "Remote stores"): each write
#: records, in the transaction that sets its generation, the keys it changed, under a sequence
#: number one more than the feed's head, so another node applies the write instead of reading
#: every record again.  All of it is in the node's `_meta` graph and `idx:` vocabulary, which a
#: submission may never name (`submission.check_description`).
FEED = CATALOG + "/feed/"
#: a change of more keys than this is recorded as "every key" (`*`): readers rebuild their index
FEED_MAX_KEYS = 5000
#: a node prunes the feed at one of this many of its writes (pruning scans the feed: 3 ms at
#: 1,000 entries on `oxigraph serve`, where the write itself takes 2.5 ms)
FEED_PRUNE_EVERY = 100


def _feed_ops(generation: str, keys: list[str], keep: int, prune: bool = False) -> list[str]:
    """Record a write in the feed, in the write's own transaction, before its new generation
    (`_generation_ops`): with `prune`, the entries more than `keep` numbers before the head are
    dropped (a scan of the feed: a node prunes at one write in `FEED_PRUNE_EVERY`, so the feed
    holds at least `keep` entries and a few hundred more); the new entry takes the number after
    the head's (the highest, should writers that raced have left two), names the generation it
    replaces (`idx:prev`: a write that kept no feed shows as a generation no entry names) and
    becomes the head.  (Virtuoso 7.2.5 gives no solution for a WHERE of an unmatched OPTIONAL
    and a BIND, so both are read by aggregates, which have one solution on every server.)"""
    meta, catalog = sparql_iri(META_GRAPH), sparql_iri(CATALOG)
    entry = sparql_iri(FEED + generation)
    changed = "*" if len(keys) > FEED_MAX_KEYS else " ".join(sorted(set(keys)))
    # first, the feed's lock row replaced: on Virtuoso the row is then locked until this
    # transaction ends, so a concurrent writer reads the head after it (one number each)
    locked = [f"DELETE WHERE {{ GRAPH {meta} {{ {catalog} idx:feedLock ?x }} }}",
              f"INSERT DATA {{ GRAPH {meta} {{ {catalog} idx:feedLock {sparql_literal(generation)} }} }}"]
    pruned = [
        f"DELETE {{ GRAPH {meta} {{ ?c ?p ?o }} }} WHERE {{ GRAPH {meta} {{ {catalog} idx:feedSeq ?n . "
        f"?c idx:seq ?s FILTER(?s <= ?n - {int(keep)}) ?c ?p ?o }} }}",
    ] if prune else []
    return locked + pruned + [
        f"INSERT {{ GRAPH {meta} {{ {entry} idx:seq ?next ; idx:generation {sparql_literal(generation)} ; "
        f"idx:keys {sparql_literal(changed)} ; idx:prev ?prev }} }}\n"
        f"WHERE {{ {{ SELECT (MAX(?m) AS ?n) WHERE {{ GRAPH {meta} {{ {catalog} idx:feedSeq ?m }} }} }} "
        f"{{ SELECT (GROUP_CONCAT(STR(?g); separator=\" \") AS ?prev) WHERE {{ GRAPH {meta} {{ {catalog} idx:generation ?g }} }} }} "
        "BIND(COALESCE(?n + 1, 1) AS ?next) }",
        f"DELETE WHERE {{ GRAPH {meta} {{ {catalog} idx:feedSeq ?m }} }}",
        f"INSERT {{ GRAPH {meta} {{ {catalog} idx:feedSeq ?s }} }} WHERE {{ GRAPH {meta} {{ {entry} idx:seq ?s }} }}",
    ]


def q_feed(seqs: list[int], *, keys: bool = False) -> str:
    """SELECT the feed's entries of these sequence numbers (the node's own integers, looked up
    one by one rather than filtering the whole feed): number, generation and the generations it
    replaced, with the keys it changed if `keys`."""
    values = " ".join(str(int(n)) for n in seqs)
    more = " ; idx:keys ?keys" if keys else ""
    return (f"{PREFIXES}SELECT ?seq ?gen ?prev{' ?keys' if keys else ''} WHERE {{ VALUES ?seq {{ {values} }} "
            f"GRAPH {sparql_iri(META_GRAPH)} {{ ?c idx:seq ?seq ; idx:generation ?gen ; idx:prev ?prev{more} }} }}")


def q_summaries(keys: list[str]) -> str:
    """SELECT the summaries and search texts of the records of `keys` (`model.KEY` only), in any graph."""
    # the OPTIONAL outside the GRAPH block: inside it, `oxigraph serve` scanned every summary
    # (220 ms for one key at 20,000 datasets, against 0.7 ms)
    return (f"{PREFIXES}SELECT ?g ?rec ?summary ?text WHERE {{ VALUES ?rec {{ {record_values(keys)} }} "
            "GRAPH ?g { ?rec idx:summary ?summary } OPTIONAL { GRAPH ?g { ?rec idx:text ?text } } }")


def _delete_records_ops(keys: list[str], institution: str, owned: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Delete records and the subjects only they own, in the institution's graph only: whatever
    another graph says about the same IRIs is never touched.  `owned`: the subjects the records'
    `idx:owned` literals list (`owned_subjects`, read by the catalog under its lock); the
    subjects their `idx:part` links name go unless another record links them too."""
    graph = sparql_iri(graph_iri(institution))
    recs = record_values(keys)
    ops = []
    if owned:
        subjects = " ".join(sparql_iri(s) for s in sorted(owned))
        ops.append(f"DELETE {{ GRAPH {graph} {{ ?s ?p ?o }} }} WHERE {{ VALUES ?s {{ {subjects} }} GRAPH {graph} {{ ?s ?p ?o }} }}")
    return ops + [
        f"DELETE {{ GRAPH {graph} {{ ?s ?p ?o }} }} WHERE {{\n"
        f"  VALUES ?rec {{ {recs} }}\n"
        f"  GRAPH {graph} {{ ?rec idx:part ?s .\n"
        f"    FILTER NOT EXISTS {{ ?other idx:part ?s . FILTER(?other NOT IN ({recs.replace(' ', ', ')})) }}\n"
        "    ?s ?p ?o } }",
        f"DELETE {{ GRAPH {graph} {{ ?rec ?p ?o }} }} WHERE {{ VALUES ?rec {{ {recs} }} GRAPH {graph} {{ ?rec ?p ?o }} }}",
    ]


def valid_summary(graph: ox.NamedNode | Any, record: ox.NamedNode | Any, summary: dict) -> bool:
    """A record counts only where the store itself could have written it: in the graph of the
    institution it names, at the IRI of its dataset's key."""
    try:
        key, dataset, institution = summary["key"], summary["dataset"], summary["institution"]
        return (
            isinstance(graph, ox.NamedNode) and isinstance(record, ox.NamedNode)
            and is_institution_id(institution) and graph.value == graph_iri(institution)
            and key == dataset_key(dataset) and record.value == record_iri(key)
        )
    except (KeyError, TypeError, ValueError):
        return False


def stored_summary(graph: Any, record: Any, summary: Any, text: str = "") -> RecordSummary | None:
    """A record's `idx:summary` literal as read from the store, with its search text; None when
    it is not a JSON object or the store could not have written it there (`valid_summary`)."""
    value = json_object(summary.value) if isinstance(summary, ox.Literal) else None
    if value is None or not valid_summary(graph, record, value):
        return None
    return RecordSummary.from_json(value, text=text)


# The store's own queries: constant texts, values bound by name (see `sparql_term`).
Q_GENERATION = (f"{PREFIXES}SELECT ?x WHERE {{ GRAPH {sparql_iri(META_GRAPH)} "
                f"{{ {sparql_iri(CATALOG)} idx:generation ?x }} }}")
#: the store's generation and the feed's head (absent: no write kept a feed); writers that raced
#: may leave two of either
Q_HEAD = (f"{PREFIXES}SELECT ?x ?head WHERE {{ GRAPH {sparql_iri(META_GRAPH)} {{ {sparql_iri(CATALOG)} idx:generation ?x "
          f"OPTIONAL {{ {sparql_iri(CATALOG)} idx:feedSeq ?head }} }} }}")
Q_SUMMARIES = (f"{PREFIXES}SELECT ?g ?rec ?summary ?text WHERE {{ GRAPH ?g {{ ?rec a dcat:CatalogRecord ; "
               "idx:summary ?summary . OPTIONAL { ?rec idx:text ?text } } }")
Q_RECORD = (f"{PREFIXES}SELECT ?g ?rec ?result ?summary ?issued ?modified WHERE {{ GRAPH ?g {{ "
            "?rec idx:result ?result ; idx:summary ?summary ; dct:issued ?issued ; dct:modified ?modified } }")
Q_DATASET = (f"{PREFIXES}CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{\n"
             "  { ?rec idx:part ?s . ?s ?p ?o }\n"
             "  UNION { ?rec ?p ?o BIND(?rec AS ?s) FILTER(?p NOT IN (idx:part, idx:owned, idx:text, idx:result, idx:summary)) }\n"
             "} }")


def q_owned(keys: list[str]) -> str:
    """SELECT the `idx:owned` literals of the records of `keys` in graph ?g, in one query."""
    recs = record_values(keys)
    return f"{PREFIXES}SELECT ?g ?rec ?owned WHERE {{ VALUES ?rec {{ {recs} }} GRAPH ?g {{ ?rec idx:owned ?owned }} }}"


def owned_iris(rows: list[dict[str, Any]]) -> set[str]:
    """The subjects listed by `idx:owned` literals (rows of `q_owned`: IRIs relative to the node's
    own IRI space), so a literal can never make a deletion reach a subject a description named."""
    out = set()
    for row in rows:
        for path in row["owned"].value.split():
            try:
                out.add(ox.NamedNode(RESERVED_PREFIX + path).value)
            except ValueError:  # not written by this node
                continue
    return out


def q_subjects(owned: set[str]) -> str:
    """CONSTRUCT the triples of the owned subjects in graph ?g (`Q_DATASET`'s other half)."""
    values = " ".join(sparql_iri(s) for s in sorted(owned))
    return f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }}"


Q_FILING_NUMBER = f"{PREFIXES}ASK {{ GRAPH ?g {{ ?rec idx:filingNumber ?number }} }}"


def _first_filed(entries: list[RecordSummary]) -> list[RecordSummary]:
    """One record per dataset key: where two graphs hold one (data written before records were
    checked), the first filed keeps it, as `replace` would have decided."""
    best: dict[str, RecordSummary] = {}
    for e in entries:
        kept = best.get(e.key)
        if kept is None or (e.issued, e.institution) < (kept.issued, kept.institution):
            best[e.key] = e
    return list(best.values())


def json_object(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
