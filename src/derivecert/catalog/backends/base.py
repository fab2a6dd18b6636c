"""What a backend is: the storage primitives (`select`, `ask`, `construct`, `update`, `load`,
`export`, `scan`, `run_query`) and the results of users' queries.

A backend implements these only (backends/oxigraph.py, backends/remote.py) and registers itself
(backends/registry.py).  The catalog's operations, its search index, lock and generation live
in `derivecert.catalog.service.Catalog`, written once over these primitives.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ..errors import QueryTimeout
from ..sparql import sparql_iri, update_text


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
    empty graph, never "all graphs"): see `derivecert.catalog.service.Catalog.user_dataset`."""
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


class CatalogStore(ABC):
    """A backend: the primitives the catalog (`derivecert.catalog.service.Catalog`) is written
    over.  It keeps no catalog state: no index, no lock, no generation."""

    kind = "abstract"
    #: how often (s) a catalog over a store that other nodes write re-reads the store's generation
    index_check_interval_s = 0.0
    #: the time limit (s) of `scan`, the whole-catalog reads of an index rebuild (None: the
    #: backend's own); a remote store reads 100,000 records in tens of seconds, more than one
    #: query of the node is allowed (`store.timeout_s`)
    scan_timeout: float | None = None
    #: a shared store: the changes its feed keeps (a node whose index is further behind reads
    #: the whole catalog again; `store.feed_keep`)
    feed_keep = 10000

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
        """Update operations (without prefixes) as one transaction: one request by default (a
        backend whose server commits each operation of a request by itself overrides this)."""
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
        """A user's read-only query over the dataset given, both lists explicit (the catalog
        decides them: `derivecert.catalog.service.Catalog.user_dataset`)."""

    def scan(self, predicate: str) -> Iterator[tuple[Any, Any, Any]]:
        """(graph, subject, object) of every quad with this predicate in a named graph: how the
        catalog reads its records back.  A backend may answer it faster than this SELECT."""
        query = f"SELECT ?g ?s ?o WHERE {{ GRAPH ?g {{ ?s {sparql_iri(predicate)} ?o }} }}"
        for row in self.select(query, timeout=self.scan_timeout):
            yield row["g"], row["s"], row["o"]

    def _shared(self) -> bool:
        """Whether other nodes write this store too (its generation must then be re-read)."""
        return False

    @property
    def index_dir(self) -> Path | None:
        """Where the catalog may keep its search index beside the store (None: nowhere; the
        index is then rebuilt from the store at start)."""
        return None

    @property
    def text_path(self) -> Path | None:
        """Where the catalog may keep its text index (catalog/text.py) beside the store (None:
        in memory, rebuilt from the store at start)."""
        return None

    # optional: a backend without workers, buffers or connections has nothing to do here
    def warm(self) -> None:
        """Prepare for the first queries (start query workers)."""
        return None

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


def rows_of(results) -> list[dict[str, Any]]:
    """SPARQL solutions as dicts of their bound variables."""
    names = [v.value for v in results.variables]
    return [{n: sol[n] for n in names if sol[n] is not None} for sol in results]
