"""What stays true of the catalog under load and crashes, with real processes (issue 8):

* 8 writer processes × 200 concurrent writes to one SPARQL server: 1,600 of 1,600 present, whole;
* a writer killed with SIGKILL in the middle of its writes: every acknowledged write is there and
  whole, no write is half there, and the store reopens consistent (index = records on disk);
* the API server killed with SIGKILL while filing concurrent submissions: every 201 is on disk.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from derivecert import catalog as store_mod
from derivecert.catalog import Catalog, EmbeddedStore, RemoteStore, SearchQuery, build_submission, dataset_key, graph_iri

from .fakes import fake_run

WRITER = str(Path(__file__).with_name("writer.py"))
pytestmark = pytest.mark.durability


def dataset(writer: int, i: int) -> str:
    return f"https://writer-{writer}.example.org/ds/{i}"


def shape_of_writes() -> tuple[int, int, int]:
    """(triples of a dataset as served, triples each write adds to its institution's graph,
    triples its writes share: the publisher all of them name), measured on a memory store with
    the writes the writer processes make."""
    s = Catalog(EmbeddedStore(None))
    sizes = []
    for i in range(2):
        g, rg, results = fake_run(dataset(0, i), title="t", filing=f"DC-20250101-W000000{i}")
        s.replace(build_submission("hospital-a", g, rg, results))
        sizes.append(graph_size(s, "hospital-a"))
    served = len(s.dataset_triples(dataset_key(dataset(0, 0))))
    s.close()
    per_write = sizes[1] - sizes[0]
    return served, per_write, sizes[0] - per_write


def check_whole(store, writer: int, target: int, title: str, served: int) -> None:
    key = dataset_key(dataset(writer, target))
    record = store.record(key)
    assert record is not None, f"acknowledged write {writer}/{target} is missing"
    assert record["summary"]["title"]["en"] == title
    triples = store.dataset_triples(key)
    assert len(triples) == served, f"{writer}/{target}: {len(triples)} triples, expected {served}"
    titles = {t.object.value for t in triples if t.predicate.value == store_mod.DCT + "title"}
    assert title in titles


def graph_size(store, institution: str) -> int:
    return len(store.export(graph_iri(institution)))


def run_writers(args_of, count: int) -> list[list[str]]:
    procs = [subprocess.Popen([sys.executable, WRITER, *args_of(w)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in range(count)]
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        outputs.append(out.splitlines())
    return outputs


def test_1600_concurrent_writes_from_8_processes_are_all_present(oxigraph_server):
    oxigraph_server.clear()
    server = oxigraph_server
    outputs = run_writers(lambda w: ["remote", server.query_url, server.update_url, str(w), "200", "0"], 8)
    assert sum(len(lines) for lines in outputs) == 1600
    store = Catalog(RemoteStore(server.query_url, server.update_url, server.gsp_url, index_check_interval_s=0))
    try:
        served, per_write, shared = shape_of_writes()
        assert store.count() == 1600
        for w in range(8):
            for line in outputs[w][::20]:  # every 20th write in full (all 1,600 are counted above)
                _, target, title = line.split(" ", 2)
                check_whole(store, w, int(target), title, served)
        # nothing else was written: the graphs hold exactly 1,600 writes' triples
        assert graph_size(store, "hospital-a") + graph_size(store, "hospital-b") == 1600 * per_write + 2 * shared
    finally:
        store.close()


def planned_write(writer: int, i: int, every: int) -> tuple[int, str]:
    """The dataset and title of the writer's i-th write (as tests/api/writer.py plans them)."""
    target = i - 3 if every and i % every == every - 1 else i
    return target, f"writer {writer} dataset {target} version {i}"


def test_sigkill_keeps_every_acknowledged_write_whole_and_none_half_written(tmp_path):
    path = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, WRITER, "embedded", str(path), "1", "100000", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    while len(lines) < 300:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()[-3000:]
        lines.append(line.rstrip("\n"))
    proc.kill()  # SIGKILL, mid-write: the writer never pauses between writes
    lines += proc.stdout.read().splitlines()  # acknowledged before the kill landed
    proc.wait(timeout=10)
    proc.stdout.close()
    proc.stderr.close()
    acked: dict[int, str] = {}
    for i, line in enumerate(lines):
        target, title = planned_write(1, i, 5)
        assert line == f"ACK {target} {title}"
        acked[target] = title  # a later version replaces an earlier one
    in_flight_target, in_flight_title = planned_write(1, len(lines), 5)

    store = Catalog(EmbeddedStore(path, query_processes=0))  # reopens after the crash
    try:
        served, per_write, shared = shape_of_writes()
        for target, title in acked.items():
            if target == in_flight_target and store.record(dataset_key(dataset(1, target)))["summary"]["title"]["en"] == in_flight_title:
                title = in_flight_title  # the replacement in flight landed whole
            check_whole(store, 1, target, title, served)
        # the write in flight when the process died is whole or absent, never half there
        n = store.count()
        if in_flight_target in acked:
            assert n == len(acked)
        else:
            assert n in (len(acked), len(acked) + 1)
            if n > len(acked):
                check_whole(store, 1, in_flight_target, in_flight_title, served)
        assert graph_size(store, "hospital-a") == n * per_write + shared
        # the index rebuilt from disk agrees with the records on disk
        records = store.run_query(
            store_mod.PREFIXES + "SELECT ?r WHERE { ?r a dcat:CatalogRecord }", "select", limit=10**6, timeout=30)
        assert len(records.rows) == n
    finally:
        store.close()


@pytest.mark.usefixtures("need_engine")
def test_sigkill_of_the_api_server_keeps_every_acknowledged_filing(tmp_path):
    """The whole path: a live node certifying and filing concurrent PUTs is killed with SIGKILL;
    every submission it answered 201 is in the reopened store with the filing it announced."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from .conftest import auth
    from .servers import LiveNode
    from .test_api_write import CERTIFIED

    node = LiveNode(tmp_path / "store").start()
    acked: dict[str, str] = {}  # dataset IRI -> filing number answered with 201
    stop = False

    def submit(i: int) -> None:
        iri = f"https://hospital-x.example.org/pathology-structured-{i}"
        body = CERTIFIED.replace(b"h:pathology-structured", f"<{iri}>".encode())
        try:
            r = httpx.put(f"{node.base}/v1/institutions/hospital-a/datasets", content=body, timeout=30,
                          headers={"Content-Type": "text/turtle", **auth("hospital-a")}, trust_env=False)
        except httpx.HTTPError:
            return  # the node died with this request in flight: not acknowledged
        if r.status_code == 201:
            acked[iri] = r.json()["datasets"][0]["filing"]["number"]

    def client(first: int) -> None:
        i = first
        while not stop:
            submit(i)
            i += 2

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(client, first) for first in (0, 1)]
        while len(acked) < 12 and all(not f.done() for f in futures):
            time.sleep(0.05)
        node.kill()
        stop = True
        for f in futures:
            f.result(timeout=60)
    assert len(acked) >= 12

    store = Catalog(EmbeddedStore(tmp_path / "store", query_processes=0))
    try:
        for iri, number in acked.items():
            record = store.record(dataset_key(iri))
            assert record is not None, f"acknowledged filing of {iri} is missing"
            assert record["result"]["verdict"] == "certified" and record["result"]["filing"]["number"] == number
            assert store.find_filing(number) == dataset_key(iri)
            served = {(t.subject.value, t.predicate.value) for t in store.dataset_triples(dataset_key(iri))}
            assert (iri, store_mod.DCT + "title") in served and (iri, store_mod.RDF_TYPE) in served
        # 3 seeded datasets, the acknowledged ones, and at most one in flight per client, whole
        assert len(acked) + 3 <= store.count() <= len(acked) + 3 + 2
        for entry in store.search(SearchQuery(limit=100)).items:
            served = {(t.subject.value, t.predicate.value) for t in store.dataset_triples(entry.key)}
            assert (entry.dataset, store_mod.DCT + "title") in served
    finally:
        store.close()
