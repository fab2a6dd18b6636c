"""What every backend shares: the catalog's operations written once in SPARQL over a few
primitives (`select`, `ask`, `construct`, `update`, `load`, `export`, `run_query`), the search
index kept beside them, and the results of users' queries.

A backend implements the primitives only (backends/oxigraph.py, backends/remote.py) and
registers itself (backends/__init__.py).  This module is over 400 lines because `CatalogStore`
is the one place where the catalog's transactions are written: replace, delete, bulk load and the
index's rebuild belong together with the constant query texts they run.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyoxigraph as ox

from ...filing import new_filing_number
from ...vocab import FILING_BASE
from ..errors import ConflictError, QueryTimeout, StoreError
from ..index import FacetIndex
from ..ledger import FILINGS_GRAPH, FilingLedger, filing_ledger_ops, ledger_entries
from ..model import (
    CATALOG,
    META_GRAPH,
    PREFIXES,
    RecordSummary,
    dataset_key,
    graph_iri,
    institution_of_graph,
    is_institution_id,
    is_key,
    now_utc,
    record_iri,
)
from ..search import SearchQuery, SearchResult, parse_sparql_search, sparql_search
from ..sparql import insert_data, sparql_iri, sparql_literal, update_text
from ..submission import Submission
from ..text import TextIndex


@dataclass
class QueryOutcome:
    """A user's query result, cut at the result limit: SELECT rows, an ASK boolean or triples."""

    form: str                      # select | ask | graph
    variables: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    truncated: bool = False


def dataset_options(default_graphs: list[str], named_graphs: list[str]) -> dict[str, Any]:
    """Oxigraph query options for a query's dataset, both lists explicit (an empty list is an
    empty graph, never "all graphs"): see `CatalogStore.user_dataset`."""
    return {"default_graph": [ox.NamedNode(g) for g in default_graphs],
            "named_graphs": [ox.NamedNode(g) for g in named_graphs]}


def collect(results, form: str, limit: int, deadline: float) -> QueryOutcome:
    if form == "ask":
        return QueryOutcome(form="ask", boolean=bool(results))
    if form == "graph":
        out = QueryOutcome(form="graph")
        for triple in results:
            if len(out.triples) >= limit:
                out.truncated = True
                break
            out.triples.append(triple)
            if time.monotonic() > deadline:
                raise QueryTimeout("the query ran past the time limit")
        return out
    variables = [v.value for v in results.variables]
    out = QueryOutcome(form="select", variables=variables)
    for solution in results:
        if len(out.rows) >= limit:
            out.truncated = True
            break
        out.rows.append([solution[v] for v in variables])
        if time.monotonic() > deadline:
            raise QueryTimeout("the query ran past the time limit")
    return out


def _generation_ops(generation: str) -> list[str]:
    meta, catalog = sparql_iri(META_GRAPH), sparql_iri(CATALOG)
    return [
        f"DELETE WHERE {{ GRAPH {meta} {{ {catalog} idx:generation ?x }} }}",
        f"INSERT DATA {{ GRAPH {meta} {{ {catalog} idx:generation {sparql_literal(generation)} }} }}",
    ]


def _delete_records_ops(keys: list[str], institution: str) -> list[str]:
    """Delete records and the subjects only they own, in the institution's graph only: whatever
    another graph says about the same IRIs is never touched."""
    graph = sparql_iri(graph_iri(institution))
    recs = " ".join(sparql_iri(record_iri(k)) for k in keys)
    return [
        f"DELETE {{ GRAPH {graph} {{ ?s ?p ?o }} }} WHERE {{\n"
        f"  VALUES ?rec {{ {recs} }}\n"
        f"  GRAPH {graph} {{ ?rec idx:part ?s .\n"
        f"    FILTER NOT EXISTS {{ ?other idx:part ?s . FILTER(?other NOT IN ({recs.replace(' ', ', ')})) }}\n"
        "    ?s ?p ?o } }",
        f"DELETE {{ GRAPH {graph} {{ ?rec ?p ?o }} }} WHERE {{ VALUES ?rec {{ {recs} }} GRAPH {graph} {{ ?rec ?p ?o }} }}",
    ]


def rows_of(results) -> list[dict[str, Any]]:
    """SPARQL solutions as dicts of their bound variables."""
    names = [v.value for v in results.variables]
    return [{n: sol[n] for n in names if sol[n] is not None} for sol in results]


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


# The store's own queries: constant texts, values bound by name (see `sparql_term`).
Q_GENERATION = (f"{PREFIXES}SELECT ?x WHERE {{ GRAPH {sparql_iri(META_GRAPH)} "
                f"{{ {sparql_iri(CATALOG)} idx:generation ?x }} }}")
Q_SUMMARIES = (f"{PREFIXES}SELECT ?g ?rec ?summary ?text WHERE {{ GRAPH ?g {{ ?rec a dcat:CatalogRecord ; "
               "idx:summary ?summary . OPTIONAL { ?rec idx:text ?text } } }")
Q_RECORD = (f"{PREFIXES}SELECT ?g ?rec ?result ?summary ?issued ?modified WHERE {{ GRAPH ?g {{ "
            "?rec idx:result ?result ; idx:summary ?summary ; dct:issued ?issued ; dct:modified ?modified } }")
Q_DATASET = (f"{PREFIXES}CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{\n"
             "  { ?rec idx:part ?s . ?s ?p ?o }\n"
             "  UNION { ?rec ?p ?o BIND(?rec AS ?s) FILTER(?p NOT IN (idx:part, idx:text, idx:result, idx:summary)) }\n"
             "} }")
Q_PART = f"{PREFIXES}CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?rec idx:part ?s . ?s ?p ?o }} }}"
Q_FILING_NUMBER = f"{PREFIXES}ASK {{ GRAPH ?g {{ ?rec idx:filingNumber ?number }} }}"


class CatalogStore(FilingLedger, ABC):
    """Operations of the catalog; subclasses give the primitives (select, update, load, export,
    run_query) and everything else is the same SPARQL on both backends."""

    kind = "abstract"

    def __init__(self) -> None:
        self.index = FacetIndex()
        #: ranked text search (catalog/text.py), kept with the facet index at every write below
        self.text = TextIndex()
        self._lock = threading.RLock()
        self._generation: str | None = None
        self._last_check = 0.0
        self.index_check_interval_s = 0.0
        self._index_ready = False
        #: the institutions of the node's settings (set by the app): their graphs are in the
        #: dataset of users' queries even before they file anything (`user_dataset`)
        self.institutions: set[str] = set()

    # primitives ----------------------------------------------------------------------------
    @abstractmethod
    def select(self, query: str, bindings: dict[str, Any] | None = None, *,
               timeout: float | None = None) -> list[dict[str, Any]]:
        """Rows as ``{var: pyoxigraph term}`` (variables that are unbound are absent); `bindings`
        binds variables of the query to terms (never pasted into the text by the caller)."""

    @abstractmethod
    def ask(self, query: str, bindings: dict[str, Any] | None = None) -> bool:
        """An ASK query of the store's own, with bound variables."""

    @abstractmethod
    def construct(self, query: str, bindings: dict[str, Any] | None = None) -> list[ox.Triple]:
        """A CONSTRUCT query of the store's own, with bound variables."""

    @abstractmethod
    def update(self, update: str) -> None:
        """One SPARQL UPDATE request: a single transaction."""

    def update_ops(self, ops: list[str]) -> None:
        """Update operations (without prefixes) as one transaction: one request by default."""
        self.update(update_text(ops))

    @abstractmethod
    def load(self, graph: str, triples: list[ox.Triple]) -> None:
        """Append triples to a graph (bulk; Graph Store Protocol POST on a remote store)."""

    @abstractmethod
    def export(self, graph: str) -> list[ox.Triple]:
        """All triples of a graph (Graph Store Protocol GET on a remote store)."""

    @abstractmethod
    def run_query(
        self,
        query: str,
        form: str,
        *,
        limit: int,
        timeout: float,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> QueryOutcome:
        """A user's read-only query; the default graph is the union of the named graphs."""

    def user_dataset(self, default_graphs: list[str] | None,
                     named_graphs: list[str] | None) -> tuple[list[str], list[str]]:
        """The dataset of a user's query (`run_query`): the default graph is the union of the
        institutions' graphs and the named graphs are those graphs, unless the request or the
        query names some (FROM, FROM NAMED, default-graph-uri, named-graph-uri), which are then
        the dataset, kept only where they are institutions' graphs.  The
        node's own graphs (`_meta`, the ledger), a server's system graphs and any other graph
        in the store never show; a graph that is not the catalog's reads as an empty one.  The
        institutions are those of the settings (`institutions`) and of the search index (records
        checked against their graph, which on a shared store other nodes may have written)."""
        filed = {i for i, mask in self.ensure_index().masks["institution"].items() if mask}
        catalog = sorted(graph_iri(i) for i in filed | self.institutions)
        if not default_graphs and not named_graphs:
            return catalog, catalog
        # as the SPARQL Protocol says: a dataset that is named is exactly what is named
        allowed = set(catalog)
        return ([g for g in default_graphs or [] if g in allowed], [g for g in named_graphs or [] if g in allowed])

    def warm(self) -> None:
        """Prepare for the first queries (start query workers, build the search index)."""
        self.ensure_ledger()
        self.ensure_index()

    def close(self) -> None:
        self.text.close()

    def flush(self) -> None:
        """Write out what the backend buffers in memory (bulk loads call it after each batch)."""

    # catalog ---------------------------------------------------------------------------------
    def ensure_index(self) -> FacetIndex:
        """The search index, rebuilt from the store at first use or when another writer changed
        the catalog (checked at most every `index_check_interval_s` seconds)."""
        with self._lock:
            if not self._index_ready:
                self.rebuild_index()
            elif self.index_check_interval_s >= 0 and self._shared():
                now = time.monotonic()
                if now - self._last_check >= self.index_check_interval_s:
                    self._last_check = now
                    if self.read_generation() != self._generation:
                        self.rebuild_index()
            return self.index

    def _shared(self) -> bool:
        return False

    def read_generation(self) -> str | None:
        rows = self.select(Q_GENERATION)
        return rows[0]["x"].value if rows else None

    def _summaries(self) -> list[RecordSummary]:
        out = []
        for r in self.select(Q_SUMMARIES):
            summary = json_object(r["summary"].value)
            if summary is not None and valid_summary(r["g"], r["rec"], summary):
                out.append(RecordSummary.from_json(summary, text=r["text"].value if "text" in r else ""))
        return out

    def rebuild_index(self) -> None:
        """Read every record back into the search index, accepting a record only where the
        store could have written it (`valid_summary`)."""
        with self._lock:
            generation = self.read_generation()
            entries = _first_filed(self._summaries())
            index = FacetIndex()
            index.add_many(entries)
            self.text.sync(generation, entries)
            self.index = index
            self._generation = generation
            self._index_ready = True
            self._last_check = time.monotonic()

    def locate(self, key: str) -> str | None:
        """The institution that filed the dataset of this key (the index is the authority:
        it holds only records validated against their graph)."""
        if not is_key(key):
            return None
        entry = self.ensure_index().get(key)
        return entry.institution if entry is not None else None

    def holder_of(self, dataset: str, institution: str) -> RecordSummary | None:
        """The record of another institution than `institution` filing this dataset IRI or a
        look-alike of it (`iri_lookalike_form`), if any."""
        return next((e for e in self.ensure_index().lookalikes(dataset) if e.institution != institution), None)

    def filing_number_exists(self, number: str) -> bool:
        return self.ask(Q_FILING_NUMBER, {"number": ox.Literal(number)})

    def new_filing_number(self, prefix: str = "DC", today: date | None = None, taken: set[str] | None = None) -> str:
        """A filing number (`derivecert.filing.new_filing_number`) not yet in the store nor in `taken`."""
        for _ in range(20):
            number = new_filing_number(today or now_utc().date(), prefix)
            if (taken is None or number not in taken) and not self.filing_number_exists(number):
                if taken is not None:
                    taken.add(number)
                return number
        raise StoreError("could not draw an unused filing number")

    def replace(self, submission: Submission) -> None:
        """Store a submission, replacing earlier versions of its datasets, in one transaction
        scoped to the institution's graph.  A dataset filed by another institution, under the
        same IRI or a look-alike of it, is a `ConflictError`."""
        if not submission.records:
            return
        with self._lock:
            index = self.ensure_index()
            for rec in submission.records:
                holder = self.holder_of(rec.dataset, submission.institution)
                if holder is not None:
                    raise ConflictError(rec.dataset, holder)
                old = index.get(rec.key)
                if old is not None:
                    rec.issued = old.issued  # first filing date survives new versions
            generation = uuid.uuid4().hex
            ops = _delete_records_ops(submission.keys, submission.institution)
            ops.append(insert_data(graph_iri(submission.institution), submission.all_triples()))
            ops.extend(filing_ledger_ops(submission, now_utc().isoformat().replace("+00:00", "Z")))
            ops.extend(_generation_ops(generation))
            self.update_ops(ops)
            for rec in submission.records:
                index.add(rec)
            self.text.update(submission.records, submission.keys, generation)
            self._generation = generation

    def delete(self, key: str, institution: str | None = None) -> bool:
        """Remove a dataset's record, description, result and filing from the graph of the
        institution that filed it (its shared subjects stay while another record lists them).
        With `institution`, only a dataset filed by that institution is removed."""
        with self._lock:
            owner = self.locate(key)
            if owner is None or (institution is not None and owner != institution):
                return False
            generation = uuid.uuid4().hex
            self.update_ops(_delete_records_ops([key], owner) + _generation_ops(generation))
            self.index.remove(key)
            self.text.update([], [key], generation)
            self._generation = generation
            return True

    def bulk_add(self, submissions: list[Submission]) -> None:
        """Fast load of new datasets (no replacement): for seeding and benchmarks."""
        with self._lock:
            by_graph: dict[str, list[ox.Triple]] = {}
            for sub in submissions:
                by_graph.setdefault(graph_iri(sub.institution), []).extend(sub.all_triples())
            ledger = [t for sub in submissions for _, _, ts in ledger_entries(sub) for t in ts]
            if ledger:
                by_graph[FILINGS_GRAPH] = ledger
            for graph, triples in by_graph.items():
                self.load(graph, triples)
            generation = uuid.uuid4().hex
            self.update_ops(_generation_ops(generation))
            self._generation = generation
            self.index.add_many(r for sub in submissions for r in sub.records)
            self.text.update([r for sub in submissions for r in sub.records], [], generation)

    def search(self, query: SearchQuery) -> SearchResult:
        """Faceted search; words in `query.text` are found by the ranked text index."""
        index = self.ensure_index()
        ranked = self.text.search(query.text, ranked=query.sort == "relevance") if query.text.strip() else None
        return index.search(query, ranked=ranked)

    def search_sparql(self, query: SearchQuery) -> SearchResult:
        """The same search in SPARQL (what a plain-SPARQL peer answers); for tests and bench."""
        texts = sparql_search(query)
        as_json = lambda rows: [{k: {"value": v.value} for k, v in r.items()} for r in rows]  # noqa: E731
        return parse_sparql_search(
            query, as_json(self.select(texts["page"])), as_json(self.select(texts["total"])),
            as_json(self.select(texts["facets"])),
        )

    def _owner_bindings(self, key: str) -> dict[str, ox.NamedNode] | None:
        """The record and its owner's graph, or None for a key that is not filed."""
        owner = self.locate(key)
        if owner is None:
            return None
        return {"rec": ox.NamedNode(record_iri(key)), "g": ox.NamedNode(graph_iri(owner))}

    def record(self, key: str) -> dict[str, Any] | None:
        """The stored record: institution, §6 result, summary, dates."""
        bindings = self._owner_bindings(key)
        rows = self.select(Q_RECORD, bindings) if bindings else []
        if not rows or bindings is None:
            return None
        row = rows[0]
        return {
            "key": key,
            "institution": institution_of_graph(bindings["g"].value),
            "result": json.loads(row["result"].value),
            "summary": json.loads(row["summary"].value),
            "issued": row["issued"].value,
            "modified": row["modified"].value,
        }

    def dataset_triples(self, key: str) -> list[ox.Triple]:
        """The description, result and filing of a stored dataset, with its catalog record
        (without the store's bookkeeping: parts, texts and JSON copies)."""
        bindings = self._owner_bindings(key)
        return self.construct(Q_DATASET, bindings) if bindings else []

    def filing_triples(self, key: str, number: str) -> list[ox.Triple]:
        """The filing record of a stored dataset and its certification activity."""
        bindings = self._owner_bindings(key)
        if bindings is None:
            return []
        filing = FILING_BASE + number
        return [t for node in (filing, filing + "#certification")
                for t in self.construct(Q_PART, {**bindings, "s": ox.NamedNode(node)})]

    def find_filing(self, number: str) -> str | None:
        """The dataset key of a filing number."""
        entry = self.ensure_index().find_filing(number)
        return entry.key if entry is not None else None

    def institution_counts(self) -> dict[str, int]:
        index = self.ensure_index()
        return {inst: m.bit_count() for inst, m in index.masks["institution"].items()}

    def count(self) -> int:
        return len(self.ensure_index())


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
