"""The filing ledger (DOMAIN.md §5, A7).

A filing record is stored once.  While its dataset is filed, the record is in the institution's
graph beside the description and result it certifies (published with them: `/sparql`, the
dataset's RDF, the graph's export), and its status changes are written there.  When the dataset is
filed again or withdrawn, the same transaction moves the record into the ledger graph, with the
store's `idx:institution` and `idx:key` of its dataset, where nothing ever removes it: an old
number still answers (`superseded`), a withdrawn dataset's filing stays verifiable.  A store
written before this layout (every filing copied into the ledger when filed, a stale copy left in
the institution's graph) reads the same: the ledger's copy is the one read.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox

from ..vocab import DCERT, FILING_BASE
from .model import DCT, GRAPH_BASE, IDX, PREFIXES, XSD, code_of, dataset_key, graph_iri, institution_of_graph, lit
from .records import record_values
from .sparql import sparql_iri, sparql_literal, sparql_term
from .submission import Submission

FILINGS_GRAPH = GRAPH_BASE + "_filings"  # no institution slug starts with "_"
FILING_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


def filing_node(number: str) -> ox.NamedNode | None:
    """The filing record IRI of a well-formed filing number (None otherwise: never a query)."""
    return ox.NamedNode(FILING_BASE + number) if FILING_NUMBER.fullmatch(number or "") else None


def _status_node(status: str) -> ox.NamedNode:
    return ox.NamedNode(DCERT + status.capitalize())  # dcert:Valid ... (ontology: notation = local name)


def retire_filings_ops(keys: list[str], institution: str) -> list[str]:
    """Move the filing records of these records' datasets from the institution's graph into the
    ledger, before the records are deleted (same transaction): a record already there (a store of
    the previous layout) is not copied again, so the ledger's status stays the one read."""
    graph, inst = sparql_iri(graph_iri(institution)), sparql_literal(institution)
    recs = record_values(keys)
    return [
        f"INSERT {{ GRAPH {_LEDGER} {{ ?s ?p ?o . ?f idx:institution {inst} ; idx:key ?key }} }}\n"
        f"WHERE {{ VALUES ?rec {{ {recs} }}\n"
        f"  GRAPH {graph} {{ ?rec idx:key ?key ; foaf:primaryTopic ?ds . ?f a dcert:FilingRecord ; dct:subject ?ds .\n"
        "    { ?f ?p ?o BIND(?f AS ?s) } UNION { ?f ?link ?s . "
        "FILTER(isIRI(?s) && STRSTARTS(STR(?s), CONCAT(STR(?f), \"#\"))) ?s ?p ?o } }\n"
        f"  FILTER NOT EXISTS {{ GRAPH {_LEDGER} {{ ?f a dcert:FilingRecord }} }} }}"
    ]


def supersede_ops(submission: Submission, when: str) -> list[str]:
    """Earlier valid or suspended filings of the submission's datasets (in the ledger: retired by
    `retire_filings_ops` in the same transaction) become superseded by the new ones."""
    ops = []
    for rec in submission.records:
        f = filing_node(str((rec.filing or {}).get("number", "")))
        if f is not None:
            ops.append(U_SUPERSEDE.format(
                filing=sparql_term(f), dataset=sparql_iri(rec.dataset), changed=sparql_term(lit(when, XSD + "dateTime"))))
    return ops


# The ledger's own queries and updates: constant texts; queries take their values as bindings,
# updates only through `sparql_term` (the one way a value enters SPARQL text).
_LEDGER = sparql_iri(FILINGS_GRAPH)
_VALID, _SUSPENDED, _SUPERSEDED = (sparql_term(_status_node(s)) for s in ("valid", "suspended", "superseded"))
Q_FILING_ENTRY = (
    f"{PREFIXES}SELECT DISTINCT ?f ?g ?s ?p ?o WHERE {{ GRAPH ?g {{\n"
    "  { ?f ?p ?o BIND(?f AS ?s) }\n"
    "  UNION { ?f ?link ?s . FILTER(isIRI(?s) && STRSTARTS(STR(?s), CONCAT(STR(?f), \"#\"))) ?s ?p ?o }\n"
    "} }"
)
Q_FILING_STATUS = f"{PREFIXES}SELECT ?f ?g ?s WHERE {{ GRAPH ?g {{ ?f dcert:filingStatus ?s }} }}"
U_SUPERSEDE = (  # one operation of `update_text`, which gives the prefixes
    f"DELETE {{{{ GRAPH {_LEDGER} {{{{ ?old dcert:filingStatus ?s . ?old dcert:statusChanged ?c . "
    "?old dcert:statusReason ?r }} }}\n"
    f"INSERT {{{{ GRAPH {_LEDGER} {{{{ ?old dcert:filingStatus {_SUPERSEDED} ; dct:isReplacedBy {{filing}} ; "
    "dcert:statusChanged {changed} }} }}\n"
    f"WHERE {{{{ GRAPH {_LEDGER} {{{{ ?old dct:subject {{dataset}} ; dcert:filingStatus ?s .\n"
    f"  FILTER(?s IN ({_VALID}, {_SUSPENDED}) && ?old != {{filing}})\n"
    "  OPTIONAL {{ ?old dcert:statusChanged ?c }} OPTIONAL {{ ?old dcert:statusReason ?r }} }} }}"
)
U_SET_STATUS = PREFIXES + (  # in the graph the record is read from (`FilingLedger._where`)
    "DELETE {{ GRAPH ?g {{ ?f dcert:filingStatus ?s . ?f dcert:statusChanged ?c . ?f dcert:statusReason ?r }} }}\n"
    "INSERT {{ GRAPH ?g {{ ?f dcert:filingStatus {status} ; dcert:statusChanged {changed} ; dcert:statusReason {reason} }} }}\n"
    "WHERE {{ VALUES (?f ?g) {{ ({filing} {graph}) }} GRAPH ?g {{ ?f dcert:filingStatus ?s . FILTER(?s = {current})\n"
    "  OPTIONAL {{ ?f dcert:statusChanged ?c }} OPTIONAL {{ ?f dcert:statusReason ?r }} }} }}"
)


class FilingLedger:
    """The ledger's reads and the certifying body's status changes, over the backend's `select`
    and `update` (`CatalogStore`) under its lock."""

    _lock: threading.RLock

    def select(self, query: str, bindings: dict[str, Any] | None = None, *,
               timeout: float | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def update(self, update: str) -> None:
        raise NotImplementedError

    def filed_by(self, number: str) -> str | None:
        """The institution whose current record holds this filing number (the catalog's index)."""
        raise NotImplementedError

    def _where(self, number: str, rows: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
        """The graph that holds the record, and its rows: the ledger, else the graph of the
        institution whose current record holds the number (a copy anywhere else is not the
        node's: data written before descriptions were checked, issue 8)."""
        graphs = {r["g"].value for r in rows}
        if FILINGS_GRAPH in graphs:
            graph: str | None = FILINGS_GRAPH
        else:
            owner = self.filed_by(number) if graphs else None
            graph = graph_iri(owner) if owner is not None and graph_iri(owner) in graphs else None
        return graph, [r for r in rows if r["g"].value == graph]

    def filing_record(self, number: str) -> list[ox.Triple]:
        """A filing's record as issued, its life cycle, and the store's `idx:institution` and
        `idx:key` of its dataset (stated in the ledger; read from the graph it is in otherwise);
        [] for an unknown number."""
        f = filing_node(number)
        if f is None:
            return []
        graph, rows = self._where(number, self.select(Q_FILING_ENTRY, {"f": f}))
        triples = [ox.Triple(r["s"], r["p"], r["o"]) for r in rows]
        if graph is not None and graph != FILINGS_GRAPH:
            subject = next((t.object for t in triples if t.subject == f and t.predicate.value == DCT + "subject"), None)
            triples.append(ox.Triple(f, ox.NamedNode(IDX + "institution"), lit(str(institution_of_graph(graph)))))
            if isinstance(subject, ox.NamedNode):
                triples.append(ox.Triple(f, ox.NamedNode(IDX + "key"), lit(dataset_key(subject.value))))
        return triples

    def _status(self, number: str) -> tuple[str | None, str | None]:
        """The graph the filing is read from and its stored status (None, None: unknown)."""
        f = filing_node(number)
        if f is None:
            return None, None
        graph, rows = self._where(number, self.select(Q_FILING_STATUS, {"f": f}))
        return graph, (code_of(rows[0]["s"].value).lower() if rows else None)

    def filing_status(self, number: str) -> str | None:
        """The stored status of a filing (valid, superseded, suspended, revoked), None if unknown."""
        return self._status(number)[1]

    def set_filing_status(self, number: str, status: str, *, allowed: Iterable[str], reason: str, when: str) -> str | None:
        """Set a filing's status, with the reason and the time, if its stored status is one of
        `allowed` (checked again inside the update), where the record is. Returns the status it
        had (None: unknown)."""
        with self._lock:
            (graph, current), node = self._status(number), filing_node(number)
            if current is None or graph is None or node is None or current not in set(allowed):
                return current
            self.update(U_SET_STATUS.format(
                filing=sparql_term(node), graph=sparql_iri(graph), status=sparql_term(_status_node(status)),
                changed=sparql_term(lit(when, XSD + "dateTime")), reason=sparql_term(ox.Literal(reason)),
                current=sparql_term(_status_node(current))))
            return current
