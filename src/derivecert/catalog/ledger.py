"""The filing ledger (DOMAIN.md §5, A7).

Every filing record the store accepts is copied into one ledger graph, which replacing or
withdrawing a dataset never touches: a filing stays verifiable after its dataset is filed again
(it becomes `superseded`) or withdrawn, and the certifying body's status changes live there.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox

from ..vocab import DCERT, FILING_BASE
from .model import GRAPH_BASE, IDX, PREFIXES, XSD, RecordSummary, code_of, lit
from .sparql import insert_data, sparql_iri, sparql_term
from .submission import Submission

FILINGS_GRAPH = GRAPH_BASE + "_filings"  # no institution slug starts with "_"
FILING_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


def filing_node(number: str) -> ox.NamedNode | None:
    """The filing record IRI of a well-formed filing number (None otherwise: never a query)."""
    return ox.NamedNode(FILING_BASE + number) if FILING_NUMBER.fullmatch(number or "") else None


def _status_node(status: str) -> ox.NamedNode:
    return ox.NamedNode(DCERT + status.capitalize())  # dcert:Valid ... (ontology: notation = local name)


def ledger_entries(submission: Submission) -> list[tuple[RecordSummary, ox.NamedNode, list[ox.Triple]]]:
    """Each filed record's filing IRI and ledger triples: the record, and the dataset's place."""
    out = []
    for rec in submission.records:
        f = filing_node(str((rec.filing or {}).get("number", "")))
        if f is None:
            continue
        fragment = f.value + "#"
        triples = [t for t in submission.quads
                   if isinstance(t.subject, ox.NamedNode) and (t.subject == f or t.subject.value.startswith(fragment))]
        triples += [ox.Triple(f, ox.NamedNode(IDX + "institution"), lit(submission.institution)),
                    ox.Triple(f, ox.NamedNode(IDX + "key"), lit(rec.key))]
        out.append((rec, f, triples))
    return out


def filing_ledger_ops(submission: Submission, when: str) -> list[str]:
    """Copy the submission's filing records into the ledger; earlier valid or suspended filings of
    the same datasets become superseded by the new ones."""
    ops = []
    for rec, f, triples in ledger_entries(submission):
        ops.append(U_SUPERSEDE.format(
            filing=sparql_term(f), dataset=sparql_iri(rec.dataset), changed=sparql_term(lit(when, XSD + "dateTime"))))
        ops.append(insert_data(FILINGS_GRAPH, triples))
    return ops


# The ledger's own queries and updates: constant texts; queries take their values as bindings,
# updates only through `sparql_term` (the one way a value enters SPARQL text).
_LEDGER = sparql_iri(FILINGS_GRAPH)
_VALID, _SUSPENDED, _SUPERSEDED = (sparql_term(_status_node(s)) for s in ("valid", "suspended", "superseded"))
Q_LEDGER_ANY = f"SELECT ?s WHERE {{ GRAPH {_LEDGER} {{ ?s ?p ?o }} }} LIMIT 1"
Q_LEDGER_ENTRY = (
    f"{PREFIXES}SELECT DISTINCT ?f ?s ?p ?o WHERE {{ GRAPH {_LEDGER} {{\n"
    "  { ?f ?p ?o BIND(?f AS ?s) }\n"
    "  UNION { ?f ?link ?s . FILTER(isIRI(?s) && STRSTARTS(STR(?s), CONCAT(STR(?f), \"#\"))) ?s ?p ?o }\n"
    "} }"
)
Q_LEDGER_STATUS = f"{PREFIXES}SELECT ?f ?s WHERE {{ GRAPH {_LEDGER} {{ ?f dcert:filingStatus ?s }} }}"
U_LEDGER_BACKFILL = (
    f"{PREFIXES}INSERT {{ GRAPH {_LEDGER} {{ ?s ?p ?o . ?f dcert:filingStatus {_VALID} ; "
    "idx:institution ?inst ; idx:key ?key } }\n"
    "WHERE { GRAPH ?g { ?rec idx:filingNumber ?n ; idx:key ?key ; idx:institution ?inst .\n"
    "  ?f a dcert:FilingRecord ; dcert:filingNumber ?n .\n"
    "  { ?f ?p ?o BIND(?f AS ?s) } UNION { ?f ?link ?s . "
    "FILTER(isIRI(?s) && STRSTARTS(STR(?s), CONCAT(STR(?f), \"#\"))) ?s ?p ?o } } }"
)
U_SUPERSEDE = (  # one operation of `update_text`, which gives the prefixes
    f"DELETE {{{{ GRAPH {_LEDGER} {{{{ ?old dcert:filingStatus ?s . ?old dcert:statusChanged ?c . "
    "?old dcert:statusReason ?r }} }}\n"
    f"INSERT {{{{ GRAPH {_LEDGER} {{{{ ?old dcert:filingStatus {_SUPERSEDED} ; dct:isReplacedBy {{filing}} ; "
    "dcert:statusChanged {changed} }} }}\n"
    f"WHERE {{{{ GRAPH {_LEDGER} {{{{ ?old dct:subject {{dataset}} ; dcert:filingStatus ?s .\n"
    f"  FILTER(?s IN ({_VALID}, {_SUSPENDED}) && ?old != {{filing}})\n"
    "  OPTIONAL {{ ?old dcert:statusChanged ?c }} OPTIONAL {{ ?old dcert:statusReason ?r }} }} }}"
)
U_SET_STATUS = (
    f"{PREFIXES}DELETE {{{{ GRAPH {_LEDGER} {{{{ ?f dcert:filingStatus ?s . ?f dcert:statusChanged ?c . "
    "?f dcert:statusReason ?r }} }}\n"
    f"INSERT {{{{ GRAPH {_LEDGER} {{{{ ?f dcert:filingStatus {{status}} ; dcert:statusChanged {{changed}} ; "
    "dcert:statusReason {reason} }} }}\n"
    f"WHERE {{{{ VALUES ?f {{{{ {{filing}} }}}} GRAPH {_LEDGER} {{{{ ?f dcert:filingStatus ?s . FILTER(?s = {{current}})\n"
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

    def ensure_ledger(self) -> None:
        """Copy into the ledger the current filings of a catalog stored before the ledger existed;
        a no-op once the ledger holds anything."""
        if not self.select(Q_LEDGER_ANY):
            self.update(U_LEDGER_BACKFILL)

    def filing_record(self, number: str) -> list[ox.Triple]:
        """A filing's ledger entry: its record as issued, its life cycle, and the store's
        `idx:institution` and `idx:key` of its dataset; [] for an unknown number."""
        f = filing_node(number)
        if f is None:
            return []
        return [ox.Triple(r["s"], r["p"], r["o"]) for r in self.select(Q_LEDGER_ENTRY, {"f": f})]

    def filing_status(self, number: str) -> str | None:
        """The stored status of a filing (valid, superseded, suspended, revoked), None if unknown."""
        f = filing_node(number)
        if f is None:
            return None
        rows = self.select(Q_LEDGER_STATUS, {"f": f})
        return code_of(rows[0]["s"].value).lower() if rows else None

    def set_filing_status(self, number: str, status: str, *, allowed: Iterable[str], reason: str, when: str) -> str | None:
        """Set a filing's status, with the reason and the time, if its stored status is one of
        `allowed` (checked again inside the update). Returns the status it had (None: unknown)."""
        with self._lock:
            current, node = self.filing_status(number), filing_node(number)
            if current is None or node is None or current not in set(allowed):
                return current
            self.update(U_SET_STATUS.format(
                filing=sparql_term(node), status=sparql_term(_status_node(status)),
                changed=sparql_term(lit(when, XSD + "dateTime")), reason=sparql_term(ox.Literal(reason)),
                current=sparql_term(_status_node(current))))
            return current
