"""Users' SPARQL queries on the embedded store, in worker processes that can be stopped.

Oxigraph cannot interrupt a query from the outside, and a runaway query (a cartesian product,
a huge GROUP BY) would keep a thread of the API busy long after its time limit.  So the SPARQL
endpoint's queries on an on-disk embedded store run in a small pool of worker processes, each
with a read-only view of the store (`pyoxigraph.Store.read_only`, reopened after every write of
the API's process).  A query past its time limit gets its worker killed and replaced: the limit
really stops the work.  Each worker's memory is limited too (`limits.sparql_memory_mb` beyond
what it holds idle, `RLIMIT_DATA`): an ORDER BY over a cartesian product or a string-doubling query
fails its allocation, the worker is replaced, and the query is refused naming the limit.
(A remote store stops queries itself: `oxigraph serve --timeout-s`.)
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from typing import Any


def _enc(t: Any) -> Any:
    import pyoxigraph as ox

    if t is None:
        return None
    if isinstance(t, ox.NamedNode):
        return ("u", t.value)
    if isinstance(t, ox.BlankNode):
        return ("b", t.value)
    if isinstance(t, ox.Literal):
        return ("l", t.value, t.language, t.datatype.value if t.datatype else None)
    if isinstance(t, ox.Triple):
        return ("t", _enc(t.subject), _enc(t.predicate), _enc(t.object))
    raise ValueError(f"unknown term {t!r}")


def _dec(x: Any) -> Any:
    import pyoxigraph as ox

    if x is None:
        return None
    kind = x[0]
    if kind == "u":
        return ox.NamedNode(x[1])
    if kind == "b":
        return ox.BlankNode(x[1])
    if kind == "l":
        if x[2]:
            return ox.Literal(x[1], language=x[2])
        return ox.Literal(x[1], datatype=ox.NamedNode(x[3])) if x[3] else ox.Literal(x[1])
    return ox.Triple(_dec(x[1]), _dec(x[2]), _dec(x[3]))


DEFAULT_MEMORY_MB = 1024


def _worker(path: str, conn, memory_mb: int | None) -> None:  # pragma: no cover - runs in the child process
    import pyoxigraph as ox

    from ...sandbox import limit_memory
    from .base import collect, dataset_options

    # Opening the store allocates caches (RocksDB's) that the limit must not count: open it and
    # run a first query, then limit what queries may add.
    store, generation = ox.Store.read_only(path), None
    store.query("ASK {}")
    if memory_mb:
        limit_memory(memory_mb)
    conn.send(("ready", None))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        query, form, limit, default_graphs, named_graphs, gen = msg
        try:
            if gen != generation:
                store = None  # type: ignore[assignment]  # the old view goes before the new one comes (one reservation at a time)
                store = ox.Store.read_only(path)
                generation = gen
            kwargs = dataset_options(default_graphs, named_graphs)
            outcome = collect(store.query(query, **kwargs), form, limit, float("inf"))
            conn.send(("ok", {
                "form": outcome.form, "variables": outcome.variables,
                "rows": [[_enc(t) for t in row] for row in outcome.rows],
                "boolean": outcome.boolean,
                "triples": [_enc(t) for t in outcome.triples],
                "truncated": outcome.truncated,
            }))
        except MemoryError:
            conn.send(("memory", None))
            return  # a failed allocation may have left the worker in a bad state: replace it
        except (SyntaxError, OSError, RuntimeError, ValueError) as exc:
            conn.send(("rejected", str(exc)))


class _Worker:
    def __init__(self, ctx, path: str, memory_mb: int | None):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(path, child, memory_mb), daemon=True, name="derivecert-sparql")
        self.process.start()
        child.close()
        # the query clock starts when the worker is ready, not while Python imports
        try:
            ready = self.conn.poll(60)
            if ready:
                self.conn.recv()
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.stop(kill=True)
            raise RuntimeError("a SPARQL worker process did not start")

    def stop(self, kill: bool = False) -> None:
        try:
            if kill:
                self.process.kill()
            else:
                self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


class QueryPool:
    """`size` worker processes over a read-only view of the store at `path`, each limited to
    `memory_mb` of memory beyond what it holds idle."""

    def __init__(self, path: str, size: int = 2, memory_mb: int | None = DEFAULT_MEMORY_MB):
        self.path = path
        self.size = max(1, size)
        self.memory_mb = memory_mb
        self.ctx = mp.get_context("spawn")
        self._idle: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False

    def warm(self) -> None:
        with self._cond:
            while self._count < self.size:
                self._idle.append(_Worker(self.ctx, self.path, self.memory_mb))
                self._count += 1

    def _acquire(self, timeout: float) -> _Worker:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the query pool is closed")
                if self._idle:
                    return self._idle.pop()
                if self._count < self.size:
                    self._count += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no SPARQL worker free")
                self._cond.wait(left)
        try:
            return _Worker(self.ctx, self.path, self.memory_mb)
        except Exception:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _release(self, worker: _Worker | None) -> None:
        with self._cond:
            if worker is not None and not self._closed:
                self._idle.append(worker)
            else:
                self._count -= 1
                if worker is not None:
                    threading.Thread(target=worker.stop, daemon=True).start()
            self._cond.notify()

    def run(self, query, form, limit, timeout, default_graphs, named_graphs, generation):
        """(status, payload): status "ok" with the encoded outcome, "rejected" with a message
        (the memory limit's included), or "timeout" once the worker has been killed."""
        worker = self._acquire(timeout)
        try:
            worker.conn.send((query, form, limit, default_graphs, named_graphs, generation))
            if worker.conn.poll(timeout):
                status, payload = worker.conn.recv()
                if status == "memory":
                    raise EOFError("out of memory")
                self._release(worker)
                return status, payload
        except (EOFError, OSError, BrokenPipeError):
            # the worker ran out of memory: it said so, or native code aborted on an allocation
            worker.stop(kill=True)
            self._release(None)
            return "rejected", (f"the query needed more memory than the limit of {self.memory_mb} MB per query "
                                "worker (limit limits.sparql_memory_mb); narrow it or add a LIMIT")
        worker.stop(kill=True)  # past the limit: the work stops with the process
        self._release(None)
        return "timeout", None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
        for w in idle:
            w.stop()


def decode_outcome(payload: dict):
    from .base import QueryOutcome

    return QueryOutcome(
        form=payload["form"], variables=payload["variables"],
        rows=[[_dec(t) for t in row] for row in payload["rows"]],
        boolean=payload["boolean"], triples=[_dec(t) for t in payload["triples"]],
        truncated=payload["truncated"],
    )
