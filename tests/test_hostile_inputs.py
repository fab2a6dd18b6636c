"""Hostile descriptions against the library and the command line (issue 8, item 3), and the
bounded workers they run in (derivecert.sandbox).

Each refusal is checked for its error class, its HTTP status, the limit it names and, on the
command line, exit code 2 with a message and no traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from derivecert import sandbox
from derivecert.errors import (
    CanonicalisationLimitError,
    InputError,
    InputTooLargeError,
    ResourceLimitError,
    UnsafeInputError,
    WorkTimeoutError,
)
from derivecert.sparql_guard import QueryCache, inspect_query
from derivecert.parse import InputLimits, json_depth, parse_description
from derivecert.settings import LimitSettings
from hostile import CERTIFIED, DERIVED, billion_laughs, blank_node_clique, deep_jsonld, many_datasets, nested_blank_nodes

needs_fork = pytest.mark.skipif(not sandbox.available(), reason="bounded workers need fork")


# -- checks before and while parsing ----------------------------------------------------------


def test_rdfxml_with_entity_declarations_is_refused_before_parsing():
    with pytest.raises(UnsafeInputError) as caught:
        parse_description(billion_laughs(), media_type="application/rdf+xml")
    assert caught.value.status == 422 and "DOCTYPE" in caught.value.message


def test_rdfxml_without_a_doctype_still_parses():
    plain = billion_laughs().replace(billion_laughs().split(b"<rdf:RDF")[0], b"").replace(b"&lol9;", b"lol")
    assert len(parse_description(plain, media_type="application/rdf+xml").graph) == 2


@pytest.mark.parametrize("media_type", ["application/ld+json", None], ids=["declared", "sniffed"])
def test_jsonld_nested_past_the_limit_is_refused_before_the_parser(media_type):
    with pytest.raises(UnsafeInputError) as caught:
        parse_description(deep_jsonld(3500), media_type=media_type)
    assert caught.value.limit == "max_jsonld_depth"
    assert "limits.max_jsonld_depth" in caught.value.message


def test_jsonld_at_the_depth_limit_parses():
    assert len(parse_description(deep_jsonld(10), media_type="application/ld+json",
                                 limits=InputLimits(max_jsonld_depth=12)).graph) == 12


def test_json_depth_skips_brackets_in_strings():
    assert json_depth(b'{"a": "[[[[{{{{", "b": [[1]]}') == 3


@pytest.mark.parametrize("limits, name", [
    (InputLimits(max_datasets=100), "max_datasets"),
    (InputLimits(max_triples=1000), "max_triples"),
], ids=["datasets", "triples"])
def test_parsing_stops_at_the_first_item_past_a_count_limit(limits, name):
    with pytest.raises(InputTooLargeError) as caught:
        parse_description(many_datasets(600), media_type="text/turtle", limits=limits)
    assert caught.value.status == 413 and caught.value.limit == name


def test_blank_nodes_past_the_limit_are_refused():
    with pytest.raises(InputTooLargeError) as caught:
        parse_description(blank_node_clique(12), media_type="text/turtle", limits=InputLimits(max_blank_nodes=20))
    assert caught.value.limit == "max_blank_nodes"


def test_limits_in_the_settings_reach_the_parser():
    limits = LimitSettings(max_datasets=3, max_jsonld_depth=5).input_limits()
    assert limits == InputLimits(max_triples=InputLimits.max_triples, max_datasets=3,
                                 max_blank_nodes=InputLimits.max_blank_nodes, max_jsonld_depth=5)


# -- bounded workers ----------------------------------------------------------------------------


def _sleep(seconds):
    time.sleep(seconds)


def _allocate(megabytes):
    return len(bytearray(megabytes * 1024 * 1024))


def _crash():
    os.kill(os.getpid(), signal.SIGSEGV)


def _ask_parent(numbers):
    return [numbers(), numbers()]


def _slow_phase():
    with sandbox.phase("canonicalise", CanonicalisationLimitError("too ambiguous", limit="canonicalise_timeout_s")):
        time.sleep(30)


def _raise_input_error():
    raise InputError("bad input", where="x.ttl:1:2", hint="fix it", limit="max_triples")


@needs_fork
def test_a_worker_past_its_deadline_is_killed_and_named():
    with pytest.raises(WorkTimeoutError) as caught:
        sandbox.run_bounded(_sleep, 30, bounds=sandbox.Bounds(timeout_s=0.5))
    assert caught.value.status == 503 and caught.value.limit == "certify_timeout_s"


@needs_fork
def test_a_worker_past_its_memory_limit_fails_alone():
    with pytest.raises(ResourceLimitError) as caught:
        sandbox.run_bounded(_allocate, 2048, bounds=sandbox.Bounds(memory_mb=128))
    assert caught.value.limit == "certify_memory_mb" and "128 MB" in caught.value.message
    assert sandbox.run_bounded(_allocate, 16, bounds=sandbox.Bounds(memory_mb=128)) == 16 * 1024 * 1024


@needs_fork
def test_a_worker_that_crashes_is_a_clear_error_not_a_dead_caller():
    with pytest.raises(ResourceLimitError) as caught:
        sandbox.run_bounded(_crash, bounds=sandbox.Bounds())
    assert "SIGSEGV" in caught.value.message


@needs_fork
def test_a_phase_is_held_to_its_own_budget():
    bounds = sandbox.Bounds(timeout_s=60, phases={"canonicalise": 0.5})
    with pytest.raises(CanonicalisationLimitError):
        sandbox.run_bounded(_slow_phase, bounds=bounds)


@needs_fork
def test_callables_stay_in_the_parent_and_errors_cross_intact():
    counter = iter(range(1, 100))
    assert sandbox.run_bounded(_ask_parent, numbers=lambda: next(counter), bounds=sandbox.Bounds()) == [1, 2]
    with pytest.raises(InputError) as caught:
        sandbox.run_bounded(_raise_input_error, bounds=sandbox.Bounds())
    assert (caught.value.where, caught.value.hint, caught.value.limit) == ("x.ttl:1:2", "fix it", "max_triples")


def _sockets_held() -> int:
    import stat

    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            count += stat.S_ISSOCK(os.fstat(int(name)).st_mode)
        except OSError:
            pass
    return count


@needs_fork
def test_a_worker_keeps_no_socket_of_the_server_but_its_pipe():
    """A worker forked from the server must not hold the listening socket or clients' connections:
    a connection the server closed would stay open in it, and the client's next request on it
    would wait for ever (seen as a browser that loads no more pages from the node)."""
    import socket

    listening, (client, server_side) = socket.socket(), socket.socketpair()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    try:
        assert _sockets_held() >= 3
        assert sandbox.run_bounded(_sockets_held, bounds=sandbox.Bounds()) == 1  # its pipe to the parent
        pool = sandbox.BoundedPool(_sockets_held, sandbox.Bounds())
        try:
            assert pool.run() == 1
        finally:
            pool.close()
    finally:
        for s in (listening, client, server_side):
            s.close()


@needs_fork
def test_the_clique_digest_is_refused_as_too_ambiguous(engine):
    bounds = LimitSettings(canonicalise_timeout_s=1).certify_bounds()
    with pytest.raises(CanonicalisationLimitError) as caught:
        sandbox.run_bounded(engine.certify, blank_node_clique(10), media_type="text/turtle", bounds=bounds)
    assert caught.value.where == DERIVED and "too ambiguous to canonicalise" in caught.value.message


def test_the_filed_description_of_deeply_nested_blank_nodes_needs_no_recursion():
    from derivecert.filing import description_of
    from rdflib import URIRef

    graph = parse_description(nested_blank_nodes(5000), media_type="text/turtle").graph
    assert len(description_of(graph, URIRef(DERIVED))) > 5000


@needs_fork
def test_deeply_nested_blank_nodes_are_refused_naming_a_limit(engine):
    bounds = LimitSettings(canonicalise_timeout_s=1).certify_bounds()
    with pytest.raises((CanonicalisationLimitError, ResourceLimitError)) as caught:
        sandbox.run_bounded(engine.certify, nested_blank_nodes(1000), media_type="text/turtle", bounds=bounds)
    assert caught.value.status == 422 and caught.value.limit in ("canonicalise_timeout_s", "certify_memory_mb")


@needs_fork
def test_hermit_runs_in_a_bounded_worker():
    """The memory limit counts allocations, not reservations: HermiT's JVM reserves gigabytes."""
    from derivecert.engine import Engine

    run = sandbox.run_bounded(Engine(reasoner="hermit").certify, CERTIFIED.read_bytes(), media_type="text/turtle",
                              bounds=LimitSettings().certify_bounds())
    assert {str(r.dataset): r.verdict for r in run.results}[DERIVED] == "certified"


@needs_fork
def test_a_certification_through_a_worker_equals_one_in_process(engine):
    kwargs = dict(media_type="text/turtle", filing_numbers=lambda: "DC-TEST")
    here = engine.certify(CERTIFIED.read_bytes(), **kwargs)
    there = sandbox.run_bounded(engine.certify, CERTIFIED.read_bytes(), bounds=sandbox.Bounds(), **kwargs)
    assert [r.to_dict() for r in there.results] == [r.to_dict() for r in here.results]


def _pid_or_sleep(seconds):
    time.sleep(seconds)
    return os.getpid()


@needs_fork
def test_a_pool_worker_serves_call_after_call_and_is_replaced_past_a_limit():
    pool = sandbox.BoundedPool(_pid_or_sleep, sandbox.Bounds(timeout_s=0.5), size=1)
    try:
        first, second = pool.run(0), pool.run(0)
        assert first == second != os.getpid()  # one worker, not a fork per call
        with pytest.raises(WorkTimeoutError):
            pool.run(30)
        assert pool.run(0) not in (first, os.getpid())  # killed, and replaced
    finally:
        pool.close()


def _pid_and_numbers(numbers=None):
    return os.getpid(), [numbers(), numbers()] if numbers else []


@needs_fork
def test_a_pool_worker_asks_the_parent_for_callables_and_retires_after_its_calls():
    counter = iter(range(1, 100))
    pool = sandbox.BoundedPool(_pid_and_numbers, sandbox.Bounds(timeout_s=30), size=1, max_calls=2)
    try:
        first, numbers = pool.run(numbers=lambda: next(counter))
        assert numbers == [1, 2]  # the callable ran here, in the parent
        assert pool.run()[0] == first  # the same worker again: no fork per call
        third, numbers = pool.run(numbers=lambda: next(counter))
        assert third not in (first, os.getpid()) and numbers == [3, 4]  # retired after two calls
    finally:
        pool.close()


@needs_fork
def test_a_pool_forked_up_front_serves_without_forking():
    pool = sandbox.BoundedPool(_pid_or_sleep, sandbox.Bounds(timeout_s=30), size=2)
    try:
        pool.start()
        started = {process.pid for _, process in pool._idle}
        assert len(started) == 2
        assert {pool.run(0) for _ in range(4)} <= started
    finally:
        pool.close()


@needs_fork
def test_query_analysis_has_its_own_size_and_time_limits():
    from derivecert.sparql_guard import QueryAnalyser, QueryError, QueryTooLarge

    analyser = QueryAnalyser(LimitSettings(max_query_bytes=50_000, sparql_parse_timeout_s=0.5))
    try:
        with pytest.raises(QueryTooLarge) as caught:
            analyser.analyse("SELECT * WHERE { ?s ?p ?o } #" + "x" * 50_000)
        assert caught.value.status == 413 and caught.value.limit == "max_query_bytes"
        slow = "SELECT * WHERE { ?s ?p ?o FILTER(" + " || ".join(f"?o = {i}" for i in range(3000)) + ") }"
        with pytest.raises(QueryError) as caught:
            analyser.analyse(slow)
        assert caught.value.status == 400 and caught.value.limit == "sparql_parse_timeout_s"
        assert analyser.analyse("ASK { ?s ?p ?o }").form == "ask"
        assert len(analyser.cache) == 1  # only what was analysed
    finally:
        analyser.close()


# -- the query cache (issue 8, item 6) -----------------------------------------------------------


def test_the_query_cache_is_bounded_by_bytes_and_keeps_no_query_text():
    cache = QueryCache(max_bytes=10_000)
    info = inspect_query("SELECT * WHERE { ?s ?p ?o }")
    texts = [f"SELECT * WHERE {{ ?s ?p ?o }} # {i} " + "x" * 1_900_000 for i in range(200)]
    for text in texts:
        cache.put(text, info)
    assert cache.bytes <= 10_000 and 0 < len(cache) < 200
    assert cache.get(texts[-1]) == info and cache.get(texts[0]) is None
    assert all(len(k) == 32 for k in cache._items)


def test_from_and_from_named_are_read_from_the_query():
    info = inspect_query("PREFIX g: <https://g.example/> SELECT * FROM g:a FROM NAMED g:b WHERE { ?s ?p ?o }")
    assert info.default_graphs == ("https://g.example/a",) and info.named_graphs == ("https://g.example/b",)


# -- the command line: same limits, exit 2 ------------------------------------------------------


def _cli(*args, env=None):
    proc = subprocess.run([sys.executable, "-m", "derivecert.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("name, payload, limit", [
    ("laughs.rdf", billion_laughs(), "DOCTYPE"),
    ("deep.jsonld", deep_jsonld(3500), "limits.max_jsonld_depth"),
    ("clique.ttl", blank_node_clique(10), "limits.canonicalise_timeout_s"),
    ("many.ttl", many_datasets(14_525), "limits.max_datasets"),
], ids=["xml-entities", "deep-jsonld", "clique", "many-datasets"])
def test_the_cli_refuses_hostile_files_with_exit_2(tmp_path, name, payload, limit):
    path = tmp_path / name
    path.write_bytes(payload)
    code, out, err = _cli("certify", path, env={"DERIVECERT_LIMITS__CANONICALISE_TIMEOUT_S": "1"})
    assert code == 2, (out, err)
    assert limit in " ".join(err.split()) and "Traceback" not in err and "hint:" in err


def test_the_cli_reads_its_limits_from_the_settings(tmp_path):
    path = tmp_path / "certified.ttl"
    path.write_bytes(CERTIFIED.read_bytes())
    code, _, err = _cli("certify", path, env={"DERIVECERT_LIMITS__MAX_TRIPLES": "10"})
    assert code == 2 and "limits.max_triples" in " ".join(err.split())


def _ends_and_collects():
    import gc

    return sandbox.ends_after_this_call(), gc.isenabled()


def _certify_batch_collector(engine):
    """In a one-shot worker, a bulk load's batch leaves the collector off: its garbage goes when
    the worker exits, so the full collection that ends a certification is skipped."""
    import gc

    from derivecert.catalog.bulk import certify_batch

    certify_batch(engine, [("a.ttl", CERTIFIED.read_bytes())], filing_numbers=lambda: "DC-T-1")
    return gc.isenabled()


@needs_fork
def test_only_a_one_shot_worker_ends_after_its_call_and_skips_the_last_collection(engine):
    assert not sandbox.ends_after_this_call()  # this process goes on
    assert sandbox.run_bounded(_ends_and_collects, bounds=sandbox.Bounds()) == (True, True)
    assert sandbox.run_bounded(_certify_batch_collector, engine, bounds=sandbox.Bounds()) is False
    pool = sandbox.BoundedPool(_ends_and_collects, sandbox.Bounds(timeout_s=30), size=1)
    try:
        assert pool.run() == (False, True)  # a pool worker serves call after call: it collects
    finally:
        pool.close()
    import gc

    from derivecert.catalog.bulk import certify_batch

    certify_batch(engine, [("a.ttl", CERTIFIED.read_bytes())], filing_numbers=lambda: "DC-T-1")
    assert gc.isenabled()  # in process, the collector is paused for the batch only
