"""The embedded backend: Oxigraph in this process, on disk or in memory."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ..errors import QueryRejected, QueryTimeout
from .base import CatalogStore, collect, dataset_options, rows_of
from .querypool import DEFAULT_MEMORY_MB, QueryPool, decode_outcome
from .registry import register

log = logging.getLogger("derivecert.catalog")

#: update text written before `flush` writes the store's buffers out (≈ 400 documents of a bulk
#: load, ≈ 40 MB of Oxigraph's buffers): a flush every batch of 50 cost the load ≈ 1 ms CPU a
#: document more in RocksDB's flushes and compactions of small files (bench/load.py)
FLUSH_AFTER_BYTES = 8 << 20


class EmbeddedStore(CatalogStore):
    """Oxigraph in this process: on disk (`path`) or in memory (`path=None`)."""

    def __init__(self, path: str | Path | None = None, *, query_processes: int = 2, query_memory_mb: int | None = None):
        """`query_processes` > 0 runs users' SPARQL (`run_query`) of an on-disk store in that
        many worker processes, so that the time limit stops runaway queries (querypool)."""
        self.path = Path(path) if path else None
        self._writes = 0
        self._unflushed = 0  # bytes of update text since the last flush
        self.query_pool = None
        self._flusher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="derivecert-flush")
        self._flushing: Future | None = None
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            self.kind = "embedded"
            self.ox = ox.Store(str(self.path))
            if query_processes > 0:
                self.query_pool = QueryPool(str(self.path), query_processes, query_memory_mb or DEFAULT_MEMORY_MB)
        else:
            self.kind = "memory"
            self.ox = ox.Store()

    def _query(self, query: str, bindings: dict[str, Any] | None):
        """One of the store's own queries, its variables bound without any text."""
        substitutions = {ox.Variable(name): term for name, term in (bindings or {}).items()}
        return self.ox.query(query, substitutions=substitutions or None)

    def select(self, query, bindings=None, *, timeout=None):
        return rows_of(self._query(query, bindings))

    def ask(self, query, bindings=None):
        return bool(self._query(query, bindings))

    def construct(self, query, bindings=None):
        return list(self._query(query, bindings))

    def update(self, update: str) -> None:
        self.ox.update(update)
        self._writes += 1
        self._unflushed += len(update)

    def scan(self, predicate):
        """An index scan instead of a SPARQL query."""
        for q in self.ox.quads_for_pattern(None, ox.NamedNode(predicate), None, None):
            if isinstance(q.graph_name, ox.NamedNode):
                yield q.graph_name, q.subject, q.object

    @property
    def index_dir(self) -> Path | None:
        """``<store>.index`` beside the store's directory (Oxigraph owns the directory itself)."""
        return self.path.with_name(self.path.name + ".index") if self.path is not None else None

    @property
    def text_path(self) -> Path | None:
        """``<store>.text.sqlite`` beside the store's directory (the text index, catalog/text.py)."""
        return self.path.with_name(self.path.name + ".text.sqlite") if self.path is not None else None

    def load(self, graph: str, triples: list[ox.Triple]) -> None:
        g = ox.NamedNode(graph)
        self.ox.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, g) for t in triples)
        self._writes += 1

    def export(self, graph: str) -> list[ox.Triple]:
        return [q.triple for q in self.ox.quads_for_pattern(None, None, None, ox.NamedNode(graph))]

    def run_query(self, query, form, *, limit, timeout, default_graphs=None, named_graphs=None):
        default_graphs, named_graphs = list(default_graphs or []), list(named_graphs or [])
        if self.query_pool is not None:
            try:
                status, payload = self.query_pool.run(
                    query, form, limit, timeout, default_graphs, named_graphs, self._writes)
            except TimeoutError as exc:
                raise QueryTimeout("no query worker became free in time") from exc
            except RuntimeError as exc:  # workers cannot start here (e.g. an unguarded __main__)
                log.warning(
                    "SPARQL worker processes unavailable (%s): queries run in-process, without a hard time limit", exc)
                self.query_pool.close()
                self.query_pool = None
                return self.run_query(query, form, limit=limit, timeout=timeout,
                                      default_graphs=default_graphs, named_graphs=named_graphs)
            if status == "timeout":
                raise QueryTimeout("the query ran past the time limit")
            if status == "rejected":
                raise QueryRejected(payload)
            return decode_outcome(payload)
        deadline = time.monotonic() + timeout
        kwargs = dataset_options(default_graphs, named_graphs)
        try:
            results = self.ox.query(query, **kwargs)
            return collect(results, form, limit, deadline)
        except SyntaxError as exc:
            raise QueryRejected(str(exc)) from exc
        except OSError as exc:  # SERVICE failures, I/O
            raise QueryRejected(str(exc)) from exc
        except RuntimeError as exc:
            raise QueryRejected(str(exc)) from exc

    def warm(self) -> None:
        if self.query_pool is not None:
            self.query_pool.warm()

    def flush(self) -> None:
        """Oxigraph keeps writes in memory buffers until flushed: ≈ 100 KB a replacement, 500 MB
        after 5,000 (bench/load.py).  Called after every batch, it flushes once
        `FLUSH_AFTER_BYTES` of updates were written since the last, so a bulk load's memory stays
        flat.  The flush runs in the background (Oxigraph releases the GIL: a load files its next
        batch meanwhile, ≈ 2 ms a document of disk writes off its path); one at a time, and an
        error of one is raised by the next flush or by `close`."""
        if self.path is None or self._unflushed < FLUSH_AFTER_BYTES:
            return
        self._unflushed = 0
        self._settle_flush()
        self._flushing = self._flusher.submit(self.ox.flush)

    def _settle_flush(self) -> None:
        """Wait for the flush in the background, raising its error."""
        if self._flushing is not None:
            flushing, self._flushing = self._flushing, None
            flushing.result()

    def close(self) -> None:
        if self.query_pool is not None:
            self.query_pool.close()
        if self.path is not None:
            try:
                self._settle_flush()
                self.ox.flush()
            except Exception:  # pragma: no cover - best effort at shutdown
                pass
        self._flusher.shutdown()
        del self.ox


@register("memory")
def open_memory(settings: Any) -> EmbeddedStore:
    return EmbeddedStore(None)


@register("embedded")
def open_embedded(settings: Any) -> EmbeddedStore:
    workers = settings.limits.sparql_concurrency if settings.store.query_processes else 0
    return EmbeddedStore(settings.store.path, query_processes=workers,
                         query_memory_mb=settings.limits.sparql_memory_mb)
