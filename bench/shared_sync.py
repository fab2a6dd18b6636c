"""Benchmark of nodes sharing one remote store (README "Scale out"): a node's start without and
with its own index file (`store.index_dir`), and what a node pays to follow one write of another
node (before the change feed: a full rebuild of its index; with it: the changed records read back).

    python bench/shared_sync.py --datasets 20000 --base /tmp/base-s1 --work /tmp/shared-sync

`oxigraph serve` (or Virtuoso, `--server virtuoso`, SQL writes) on 127.0.0.1 is filled once with N datasets cloned from the examples (kept in
--work for the next run); then, for each repeat, each code tree (`--base`: a checkout to compare
with, e.g. `git worktree add /tmp/base-s1 main`, and this one) is measured in a process of its
own, the trees alternating, so both see the same machine load:

* `start`: a node opens the catalog until its first search answers (`Catalog.ensure_index`, what
  the app does before `/healthz`): wall and CPU seconds of the node, the server's CPU seconds,
  the node's peak RSS; this tree also with an index file (`start_file`: the second start of a
  node whose folder the first start filled; `start_file_behind`: the same after 20 writes of
  another node while it was down);
* `writes`: 100 replacements by one node checking the store every second (the default), per
  write: p50 wall ms, node and server CPU ms (what the feed's entry adds to a write);
* `follow`: node B's next use (a text search) after node A replaced or deleted one dataset
  (`follow_ms`, p50 of `--follow-writes` writes; B's CPU ms and the server's); `follow_file`:
  the same with B's index file.

Prints one JSON line last.  CPU seconds are the primary figure (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from catalog_scale import cpu_s, peak_rss_mb  # this folder's (the child runs this file too)

ROOT = Path(__file__).resolve().parents[1]


# the child: one measurement, with the derivecert of the code tree it was started with -------------
def remote(store: dict, **kw):
    """A RemoteStore over the bench's server (`store`: `store_of`; Virtuoso's password from the
    environment, as a node reads it)."""
    from derivecert.catalog import RemoteStore
    from derivecert.catalog.backends.virtuoso_sql import VirtuosoSQL

    if store.get("sql_address"):
        password = os.environ["BENCH_STORE_PASSWORD"]
        kw.update(auth=(store["username"], password), dialect="virtuoso",
                  sql=VirtuosoSQL(store["sql_address"], store["username"], password))
    return RemoteStore(store["query_url"], store["update_url"], store["gsp_url"], timeout=600, **kw)


def store_of(server) -> dict:
    out = {"query_url": server.query_url, "update_url": server.update_url, "gsp_url": server.gsp_url}
    if hasattr(server, "sql_address"):
        out.update(username=server.username, sql_address=server.sql_address)
    return out


def child(mode: str, store: dict, server_pid: int, index_dir: str, writes: int) -> dict:
    from derivecert.catalog import Catalog, SearchQuery, build_submission, dataset_key
    from tests.api.fakes import fake_run

    def node(folder: str = "", interval: float = 0) -> Catalog:
        kw = {"index_dir": Path(folder)} if folder else {}
        return Catalog(remote(store, index_check_interval_s=interval, **kw))

    def write(catalog: Catalog, i: int) -> None:
        g, rg, results = fake_run(f"https://bench.example.org/follow/{i % 3}", title=f"Follow write {i}",
                                  filing=f"DC-20250101-F{i:07d}")
        catalog.replace(build_submission("hospital-bench", g, rg, results))

    out: dict = {}
    if mode == "start":
        t, cpu, server = time.perf_counter(), cpu_s(), cpu_s(server_pid)
        b = node(index_dir)
        b.ensure_index()
        b.search(SearchQuery(text="influenza"))
        out.update(start_s=round(time.perf_counter() - t, 2), cpu_s=round(cpu_s() - cpu, 2),
                   server_cpu_s=round(cpu_s(server_pid) - server, 2), count=b.count(),
                   source=getattr(b, "index_source", ""), peak_rss_mb=peak_rss_mb())
        b.close()
    elif mode == "writes":  # what a write costs its node and the server (checks every 1 s, the default)
        a = node(interval=1)
        a.ensure_index()
        walls = []
        cpu, server = cpu_s(), cpu_s(server_pid)
        for i in range(writes):
            g, rg, results = fake_run(f"https://bench.example.org/write/{os.getpid()}/{i}", title=f"Write {i}",
                                      filing=f"DC-20250101-W{i:07d}")
            t = time.perf_counter()
            a.replace(build_submission("hospital-bench", g, rg, results))
            walls.append((time.perf_counter() - t) * 1000)
        out.update(write_ms=round(statistics.median(walls), 1), write_cpu_ms=round((cpu_s() - cpu) * 1000 / writes, 1),
                   write_server_cpu_ms=round((cpu_s(server_pid) - server) * 1000 / writes, 1),
                   rebuilds=getattr(a, "rebuilds", None))
        a.close()
    elif mode == "behind":  # another node writes 20 times
        a = node()
        for i in range(20):
            write(a, 1000 + i)
        a.close()
    elif mode == "follow":
        a, b = node(), node(index_dir)
        a.ensure_index()
        b.ensure_index()
        walls, cpus, servers = [], [], []
        for i in range(writes):
            if i % 5 == 4:
                a.delete(dataset_key(f"https://bench.example.org/follow/{(i - 1) % 3}"))
            else:
                write(a, i)
            t, cpu, server = time.perf_counter(), cpu_s(), cpu_s(server_pid)
            b.search(SearchQuery(text="follow"))
            walls.append((time.perf_counter() - t) * 1000)
            cpus.append((cpu_s() - cpu) * 1000)
            servers.append((cpu_s(server_pid) - server) * 1000)
        assert b.count() == a.count(), (b.count(), a.count())
        out.update(follow_ms=round(statistics.median(walls), 1), follow_cpu_ms=round(statistics.median(cpus), 1),
                   follow_server_cpu_ms=round(statistics.median(servers), 1), peak_rss_mb=peak_rss_mb(),
                   rebuilds=getattr(b, "rebuilds", None))
        a.close()
        b.close()
    return out


def run_child(tree: Path, mode: str, server, index_dir: str = "", writes: int = 10) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree / "src"), str(tree)]),
           "BENCH_STORE_PASSWORD": getattr(server, "password", "")}
    proc = subprocess.run([sys.executable, __file__, "--child", mode, json.dumps(store_of(server)),
                           str(server.process.pid), index_dir, str(writes)], env=env, capture_output=True, text=True, cwd=tree)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load(server, n: int) -> None:
    """Fill the server with n datasets cloned from the examples (bench/remote_store.py's)."""
    sys.path[:0] = [str(ROOT), str(ROOT / "src"), str(ROOT / "bench")]
    from api import certify_examples
    from remote_store import BATCH, submissions

    from derivecert.api.app import load_engine
    from derivecert.catalog import Catalog, EmbeddedStore
    from derivecert.settings import Settings

    templates, _, _ = certify_examples(load_engine(Settings()), Catalog(EmbeddedStore(None)))
    os.environ["BENCH_STORE_PASSWORD"] = getattr(server, "password", "")
    store = Catalog(remote(store_of(server), index_check_interval_s=-1))
    t = time.perf_counter()
    for i in range(0, n, BATCH):
        store.bulk_add(submissions(templates, i, min(BATCH, n - i)))
        print(f"    loaded {i + BATCH} in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    store.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=20_000)
    ap.add_argument("--base", type=Path, required=True, help="the code tree to compare with (a checkout of main)")
    ap.add_argument("--work", type=Path, required=True, help="where the server's store is kept between runs")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--follow-writes", type=int, default=10, help="writes of node A that node B follows")
    ap.add_argument("--only", choices=["writes"], help="measure only this")
    ap.add_argument("--server", choices=["oxigraph", "virtuoso"], default="oxigraph",
                    help="virtuoso: Debian's virtuoso-opensource, writes through its SQL port")
    args = ap.parse_args(argv)
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    from tests.api.servers import OxigraphServer, VirtuosoServer

    location = args.work / f"{args.server}-{args.datasets}"
    fresh = not location.exists()
    # Virtuoso: 800 MB of buffers (bench/remote_store.py's default), rows and time above the catalog's
    server = (OxigraphServer(location) if args.server == "oxigraph" else
              VirtuosoServer(location, buffers=100_000, max_rows=10_000_000, max_query_s=600, max_query_mem="1G")).start()
    if not fresh and args.server == "virtuoso":
        raise SystemExit("a Virtuoso store is made afresh each run (its node account's password is new): remove " + str(location))
    report: dict = {"bench": "shared_sync", "datasets": args.datasets, "runs": []}
    try:
        if fresh:
            load(server, args.datasets)
        for r in range(args.repeats):
            trees = [("before", args.base), ("after", ROOT)]
            for name, tree in trees if r % 2 == 0 else trees[::-1]:
                print(f"... repeat {r}: {name}", file=sys.stderr, flush=True)
                row: dict = {"tree": name}
                row["writes"] = run_child(tree, "writes", server, writes=100)
                if args.only:
                    report["runs"].append(row)
                    print(f"    {row}", file=sys.stderr, flush=True)
                    continue
                row["start"] = run_child(tree, "start", server)
                if name == "after":
                    folder = args.work / f"node-{args.server}-{args.datasets}-{r}"  # a node's folder follows one store
                    row["start_file_first"] = run_child(tree, "start", server, str(folder))
                    row["start_file"] = run_child(tree, "start", server, str(folder))
                    run_child(tree, "behind", server)
                    row["start_file_behind"] = run_child(tree, "start", server, str(folder))
                    row["follow_file"] = run_child(tree, "follow", server, str(folder), args.follow_writes)
                row["follow"] = run_child(tree, "follow", server, writes=args.follow_writes)
                print(f"    {row}", file=sys.stderr, flush=True)
                report["runs"].append(row)
    finally:
        server.stop()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))))
        raise SystemExit(0)
    raise SystemExit(main())
