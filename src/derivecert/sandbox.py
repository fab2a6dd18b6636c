"""Untrusted work in bounded, killable child processes (DOMAIN.md §2: the input is untrusted).

A description of a few kilobytes can cost gigabytes or hours (nested XML entities, a clique of
blank nodes for RDFC-1.0, a JSON-LD parser's stack).  Checks before parsing catch the known
shapes of such input; this module is the backstop for the unknown ones: `run_bounded` runs one
call in a forked child process with

* a memory limit (`RLIMIT_DATA`): the child may allocate `memory_mb` beyond what it inherited,
  then an allocation fails (Python's `MemoryError`, or an abort in native code);
* a wall-clock deadline, after which the parent kills the child: the work really stops;
* optional per-phase budgets: code running in the child marks a phase (`with phase(...)`),
  e.g. the RDFC-1.0 digest, and the parent holds it to its own, shorter, deadline.

Whatever happens in the child (an exception, an abort, a segmentation fault) reaches the caller
as a `DeriveCertError` that names the limit; the calling process never shares the fate of the
child.  The child is forked, so the ontology and shapes the parent loaded are shared
copy-on-write and a worker costs a fork, not a reload (a lock another thread of the parent held
at the fork stays held in the child: the deadline ends such a worker like any other).  Callables
passed as keyword arguments stay in the parent (the child calls them through the pipe), e.g. the
store's filing numbers.  `BoundedPool` keeps such workers forked once (the API's engine calls:
at start-up), each held to the same limits and retired after `max_calls`.

Over 400 lines because the one-shot child and the pool share the pipe protocol and the limits,
and belong together.
"""

from __future__ import annotations

import faulthandler
import gc
import multiprocessing
import os
import signal
import stat
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .errors import DeriveCertError, ResourceLimitError, WorkTimeoutError

MB = 1024 * 1024


@dataclass(frozen=True)
class Bounds:
    """Limits of one call, and the settings that hold them (named in the errors)."""

    memory_mb: int | None = 1536
    timeout_s: float | None = 60.0
    #: phase name -> seconds (see `phase`)
    phases: Mapping[str, float] = field(default_factory=dict)
    memory_setting: str = "limits.certify_memory_mb"
    timeout_setting: str = "limits.certify_timeout_s"
    #: a daemon worker is killed if its parent exits; a non-daemon one may start processes of its own
    daemon: bool = True


def available() -> bool:
    """Bounded workers need `fork` (POSIX); elsewhere the work runs in-process."""
    return "fork" in multiprocessing.get_all_start_methods()


_forking = threading.Lock()


def run_bounded(fn: Callable, *args, bounds: Bounds, **kwargs) -> Any:
    """`fn(*args, **kwargs)` in a child process within `bounds`; its result, or its error.

    Raises the child's `DeriveCertError`, `ResourceLimitError` when the child runs out of memory
    or dies, `WorkTimeoutError` past the deadline, or the error a phase declared past its budget.
    """
    remote = {k: v for k, v in kwargs.items() if callable(v)}
    ctx = multiprocessing.get_context("fork")
    with _forking:  # no other child may inherit this child's end of the pipe, or its death goes unseen
        conn, child_conn = ctx.Pipe()
        child = ctx.Process(target=_child, args=(child_conn, fn, args, kwargs, remote, bounds.memory_mb),
                            name="derivecert-bounded", daemon=bounds.daemon)
        child.start()
        child_conn.close()
    try:
        return _serve_child(conn, child, bounds, remote)
    finally:
        conn.close()
        if child.is_alive():
            child.kill()
        child.join()


def _serve_child(conn, child, bounds: Bounds, remote: dict) -> Any:
    deadline = time.monotonic() + bounds.timeout_s if bounds.timeout_s else float("inf")
    phase_deadline, phase_error = float("inf"), None
    while True:
        left = min(deadline, phase_deadline) - time.monotonic()
        if left <= 0:
            exhausted = _memory_exhausted(child.pid)
            child.kill()
            child.join()
            if exhausted:  # native code that failed an allocation may hang instead of aborting
                raise _out_of_memory(bounds)
            if phase_deadline < deadline:
                raise _rebuild(phase_error)
            raise WorkTimeoutError(
                f"the work ran past the time limit of {bounds.timeout_s:g} s and was stopped "
                f"(limit {bounds.timeout_setting})",
                hint="split the description into smaller ones, or raise the limit in the settings",
                limit=bounds.timeout_setting.removeprefix("limits."),
            )
        if not conn.poll(min(left, 3600)):
            continue
        try:
            kind, *payload = conn.recv()
        except (EOFError, OSError):
            child.join()
            raise _died(child.exitcode, bounds) from None
        if kind == "call" and payload[0] in remote:
            name, call_args = payload
            conn.send(remote[name](*call_args))
        elif kind == "phase":
            name, error = payload
            budget = bounds.phases.get(name) if name else None
            phase_deadline = time.monotonic() + budget if budget else float("inf")
            phase_error = error
        elif kind == "ok":
            return payload[0]
        elif kind == "error":
            raise _rebuild(payload[0])
        elif kind == "memory":
            raise _out_of_memory(bounds)
        elif kind == "internal":  # a bug, reported as such by the caller's handler
            raise RuntimeError(payload[0])
        else:
            raise RuntimeError(f"unexpected message from a bounded worker: {kind!r}")


class BoundedPool:
    """Up to `size` forked workers that each run `fn` call after call, every call within `bounds`:
    for work too small to pay a fork each time (the analysis of a SPARQL query, one certification
    through the API).  A worker past a limit is killed and replaced; one whose call raised a
    `DeriveCertError` serves the next; one that served `max_calls` calls is retired, so that what a
    long-lived worker accumulates (fragmented heap, caches) never eats into a call's memory limit
    for long (the limit is set once, when the worker starts: `memory_mb` beyond what it inherited).
    Callables passed as keyword arguments stay in the parent, as with `run_bounded`."""

    def __init__(self, fn: Callable, bounds: Bounds, size: int = 1, max_calls: int = 200):
        self.fn, self.bounds, self.size, self.max_calls = fn, bounds, max(1, size), max(1, max_calls)
        self._idle: list[tuple[Any, Any]] = []
        self._calls: dict[int, int] = {}  # worker pid -> calls served
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._closed = False

    def run(self, *args, **kwargs) -> Any:
        if not self._slots.acquire(timeout=self.bounds.timeout_s or None):
            raise WorkTimeoutError("no worker became free in time", limit=self.bounds.timeout_setting.removeprefix("limits."),
                                   hint="try again shortly")
        remote = {k: v for k, v in kwargs.items() if callable(v)}
        plain = {k: v for k, v in kwargs.items() if k not in remote}
        worker = None
        try:
            worker = self._take()
            conn, process = worker
            conn.send((args, plain, tuple(remote)))
            result = _serve_child(conn, process, self.bounds, remote)
        except (ResourceLimitError, WorkTimeoutError):
            raise  # the worker is gone, or unfit to serve again: stopped below
        except DeriveCertError:
            if worker is not None and worker[1].is_alive():  # the call's own error: it serves on
                self._give_back(worker)
                worker = None
            raise
        else:
            self._give_back(worker)
            worker = None
            return result
        finally:
            if worker is not None:
                with self._lock:
                    self._calls.pop(worker[1].pid, None)
                _stop(*worker)
            self._slots.release()

    def _take(self):
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is closed")
            if self._idle:
                return self._idle.pop()
        return self._fork()

    def _fork(self):
        ctx = multiprocessing.get_context("fork")
        with _forking:
            conn, child_conn = ctx.Pipe()
            process = ctx.Process(target=_pool_child, args=(child_conn, self.fn, self.bounds.memory_mb),
                                  name="derivecert-bounded-pool", daemon=True)
            process.start()
            child_conn.close()
        return conn, process

    def start(self) -> None:
        """Fork the pool's workers now (the caller's caches filled), so no call pays a fork."""
        workers = [self._fork() for _ in range(self.size - len(self._idle))]
        with self._lock:
            self._idle.extend(workers)

    def _give_back(self, worker) -> None:
        pid = worker[1].pid
        with self._lock:
            self._calls[pid] = served = self._calls.get(pid, 0) + 1
            if not self._closed and served < self.max_calls:
                self._idle.append(worker)
                return
            self._calls.pop(pid, None)
        _stop(*worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            _stop(*worker)


def _stop(conn, process) -> None:
    try:
        conn.send(None)
    except OSError:
        pass
    conn.close()
    process.join(timeout=1)
    if process.is_alive():
        process.kill()
        process.join()


# -- in the child --------------------------------------------------------------------------

_channel = None  # (pid, pipe to the parent), set in a bounded child only
_one_call = None  # the pid of a `run_bounded` child: it ends after its one call


def ends_after_this_call() -> bool:
    """Whether this process is a `run_bounded` child, which exits once its call returns (its
    memory, garbage included, goes with it)."""
    return _one_call == os.getpid()


def _child(conn, fn, args, kwargs, remote, memory_mb) -> None:  # pragma: no cover - child process
    global _one_call
    _enter_child(conn, memory_mb)
    _one_call = os.getpid()
    for name in remote:
        kwargs[name] = _proxy(conn, name)
    try:
        _reply(conn, fn, args, kwargs)
    finally:
        conn.close()
        os._exit(0)  # no atexit handlers or buffers inherited from the parent


def _enter_child(conn, memory_mb) -> None:  # pragma: no cover - child process
    global _channel
    _channel = (os.getpid(), conn)  # processes the child forks in turn must not use the pipe
    close_inherited_sockets(keep=conn.fileno())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    faulthandler.disable()  # a crash is the parent's to report, as a limit, not as a dump
    # What the child inherited lives as long as it does: out of the collector's sight, the full
    # collection that ends each certification (engine: the collector's pause) walks only what the
    # call made, and the inherited pages stay shared with the parent instead of being copied.
    gc.freeze()
    if memory_mb:
        limit_memory(memory_mb)


def _reply(conn, fn, args, kwargs) -> bool:  # pragma: no cover - child process
    """Run the call and send its outcome; False if the child should not serve another."""
    try:
        conn.send(("ok", fn(*args, **kwargs)))
    except DeriveCertError as exc:
        conn.send(("error", _flatten(exc)))
    except MemoryError:
        conn.send(("memory",))
        return False
    except RecursionError:
        conn.send(("error", _flatten(ResourceLimitError(
            "the description is nested too deeply to process", hint="flatten deeply nested structures"))))
    except Exception as exc:
        conn.send(("internal", f"{type(exc).__name__}: {exc}"))
        return False
    return True


def _pool_child(conn, fn, memory_mb) -> None:  # pragma: no cover - child process
    _enter_child(conn, memory_mb)
    try:
        while True:
            try:
                call = conn.recv()
            except EOFError:
                return
            if call is None:
                return
            args, kwargs, remote = call
            for name in remote:
                kwargs[name] = _proxy(conn, name)
            if not _reply(conn, fn, args, kwargs):
                return
    finally:
        conn.close()
        os._exit(0)


def close_inherited_sockets(keep: int) -> None:
    """Close every socket a forked child inherited but `keep` (its pipe to the parent).

    A child forked from the server holds copies of the listening socket, of clients' keep-alive
    connections and of the other workers' pipes.  When the server closes a connection, the copy
    keeps it open: the client sends its next request on it and waits for ever (a browser, six
    connections later, loads no page from the node); and a pipe end held by an unrelated child
    hides the death of a worker's parent from that worker.  Only sockets are closed: files and
    plain pipes the work may use stay open."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: nothing to find them by
        return
    for fd in fds:
        if fd == keep:
            continue
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)
        except OSError:
            pass  # the descriptor of the listing itself, already closed


def limit_memory(memory_mb: int) -> None:
    """RLIMIT_DATA = the data the process holds now + `memory_mb`.

    RLIMIT_DATA counts what work allocates (heap, private writable mappings) and not address
    space merely reserved: RLIMIT_AS would also count the JVM's reserved heap (HermiT cannot
    start under it), the reasoner's and allocator's reservations and other threads' stacks
    mapped in a server process, none of which an input can grow."""
    import resource  # POSIX only, as fork is

    limit = _data_size(os.getpid()) + memory_mb * MB
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def _memory_exhausted(pid: int) -> bool:
    """Whether the child holds data within 64 MB of its limit (a hang after a failed allocation)."""
    try:
        with open(f"/proc/{pid}/limits") as f:
            limit = next(line.split()[3] for line in f if line.startswith("Max data size"))
        return limit.isdigit() and _data_size(pid) >= int(limit) - 64 * MB
    except (OSError, StopIteration, IndexError, ValueError):
        return False


def _data_size(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmData:"))


def _proxy(conn, name: str) -> Callable:
    def call(*args):
        conn.send(("call", name, args))
        return conn.recv()

    return call


@contextmanager
def phase(name: str, error: DeriveCertError):
    """Mark a phase of the work; in a bounded child whose `Bounds.phases` gives `name` a budget,
    the parent stops the child past it and raises `error`.  Elsewhere, nothing happens."""
    if _channel is None or _channel[0] != os.getpid():
        yield
        return
    conn = _channel[1]
    conn.send(("phase", name, _flatten(error)))
    try:
        yield
    finally:
        conn.send(("phase", None, None))


# -- errors across the pipe ------------------------------------------------------------------


def _flatten(exc: DeriveCertError) -> tuple:
    return (type(exc), exc.message, exc.hint, exc.where, exc.limit)


def _rebuild(flat: tuple) -> DeriveCertError:
    cls, message, hint, where, limit = flat
    return cls(message, hint=hint, where=where, limit=limit)


def _out_of_memory(bounds: Bounds) -> ResourceLimitError:
    return ResourceLimitError(
        f"processing the description needs more memory than the limit of {bounds.memory_mb} MB "
        f"(limit {bounds.memory_setting})",
        hint="split the description into smaller ones, or raise the limit in the settings",
        limit=bounds.memory_setting.removeprefix("limits."),
    )


def _died(exitcode: int | None, bounds: Bounds) -> ResourceLimitError:
    """A child that ended without an answer: native code aborted on a failed allocation
    (SIGABRT), overflowed its stack (SIGSEGV), or the kernel killed it."""
    error = _out_of_memory(bounds)
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        error.message = (f"processing the description stopped its worker ({name}); "
                         f"the likeliest cause is the memory limit of {bounds.memory_mb} MB "
                         f"(limit {bounds.memory_setting})")
    return error
