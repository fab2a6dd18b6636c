"""Benchmark of the catalog on a production SPARQL server as the remote store (issues 12, 15).

    python bench/remote_store.py --quick            # < 2 min: 2,000 datasets
    python bench/remote_store.py --sizes 10000      # any sizes
    python bench/remote_store.py --sizes 100000 --backends virtuoso \
        --virtuoso-buffers 250000 --virtuoso-max-query-s 600   # Virtuoso alone at 100,000
    python bench/remote_store.py --sizes 10000 --no-node \
        --sparql-search-baseline ../base/src/derivecert/catalog/search.py  # SPARQL search: before/after

Each backend gets the same work in the same run: the embedded Oxigraph store (the baseline),
`oxigraph serve` and Virtuoso (Debian's virtuoso-opensource, writes through its SQL port: the
atomic path; and over HTTP alone, for the price of atomicity), all on 127.0.0.1 and started
here (tests/api/servers.py; `--backends` picks some: the embedded and `oxigraph serve` bulk
loads take an hour or more at 100,000 on this machine, and bench/api.py --datasets N measures
the embedded node at scale):

* ingest: atomic replacements/s of certified submissions (`CatalogStore.replace`: the write of
  `PUT /v1/institutions/{id}/datasets`, without the engine), and bulk load datasets/s
  (`bulk_add`: the Graph Store Protocol on a remote store), submissions made batch by batch;
* start-up: the search index rebuilt from the store, seconds;
* search: faceted search p50 / p95 (the node's in-memory index, the same on every backend) and
  the same search as SPARQL run by the server (what a node rebuilding its index, or a
  plain-SPARQL peer, asks), and a whole-catalog SPARQL aggregate;
* on a remote store, a catalog node as a process of its own (`create_app` over the store as
  `store.kind = "remote"` settings, no certification engine), as bench/api.py measures the
  embedded one: `node.start_s` until `/healthz` answers (the facet and text indexes rebuilt
  from the store: a remote store keeps neither beside it), its first search, facets and ranked
  text search (zh and en, with facets) through HTTP, p50 / p99, the text searches' totals
  checked against the bench's own catalog, and the node's peak RSS; and the server's peak RSS
  (`server_peak_rss_mb`, Virtuoso);
each figure also as a ratio to the embedded store's in the same run.  Prints one JSON line last.
The node here starts without an index file; bench/shared_sync.py measures a node starting from its
own (`store.index_dir`) and following another node's writes through the store's change feed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import pyoxigraph as ox  # noqa: E402

from api import QUERIES, certify_examples, clone, pct, random_queries  # noqa: E402
from catalog_scale import TEXT_QUERIES, cpu_s, peak_rss_mb, random_params, timed_search, wait_for_node  # noqa: E402
from derivecert.catalog import Catalog, EmbeddedStore, RemoteStore, SearchQuery, Submission, sparql_search  # noqa: E402
from derivecert.catalog.backends.virtuoso_sql import VirtuosoSQL  # noqa: E402
from derivecert.catalog.model import IDX  # noqa: E402
from tests.api.servers import OxigraphServer, VirtuosoServer, free_port  # noqa: E402

RECORD = "https://w3id.org/derivecert/record/"
BATCH = 500  # submissions a bulk_add call, made batch by batch (100,000 at once: 12.6M parsed triples held)


def submissions(templates, start: int, n: int) -> list[Submission]:
    """n certified submissions cloned from the examples (new IRIs, keys and filing numbers),
    each record with its search text as the store holds it (titles and descriptions)."""
    out = []
    for j in range(start, start + n):
        t = templates[j % len(templates)]
        inst, text, rec = clone(t, j)
        triples = list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))
        own = [x for x in triples if not x.subject.value.startswith(RECORD)]
        rec.text = next((x.object.value for x in triples
                         if x.subject.value.startswith(RECORD) and x.predicate.value == IDX + "text"), "")
        out.append(Submission(inst, own, [rec], {rec.key: {x.subject.value for x in own}}, {rec.key: t.result}))
    return out


def ms_of(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


class Cpu:
    """CPU seconds a step costs this process and the server (the machine is shared: wall-clock
    rates vary with its load, CPU seconds much less)."""

    def __init__(self, server):
        self.pid = server.process.pid if server is not None else None
        self.start = (cpu_s(), cpu_s(self.pid) if self.pid is not None else 0.0)

    def spent(self) -> dict:
        out = {"bench": round(cpu_s() - self.start[0], 1)}
        if self.pid is not None:
            out["server"] = round(cpu_s(self.pid) - self.start[1], 1)
        return out


def text_queries() -> list[SearchQuery]:
    return [SearchQuery(filters=f, text=t, sort="relevance") for t, f in TEXT_QUERIES]


def bench_backend(store, server, templates, n: int, replacements: int, sparql_searches: int, baseline=None) -> dict:
    """`server`: the server's process (None: embedded), for its CPU seconds; `baseline`: another
    `sparql_search` timed beside this checkout's on the same store (`--sparql-search-baseline`)."""
    out: dict = {}
    t, cpu = time.perf_counter(), Cpu(server)
    for i in range(0, n, BATCH):  # the submissions' making is in the bench's CPU seconds
        store.bulk_add(submissions(templates, i, min(BATCH, n - i)))
    out["bulk_load_datasets_per_s"] = round(n / (time.perf_counter() - t), 1)
    out["bulk_load_cpu_s"] = cpu.spent()
    extra = submissions(templates, 50_000_000, replacements)
    t, cpu = time.perf_counter(), Cpu(server)
    for sub in extra:
        store.replace(sub)
    out["replace_per_s"] = round(replacements / (time.perf_counter() - t), 1)
    out["replace_cpu_s"] = cpu.spent()
    t, cpu = time.perf_counter(), Cpu(server)
    store.rebuild_index()
    out["index_rebuild_s"] = round(time.perf_counter() - t, 3)
    out["index_rebuild_cpu_s"] = cpu.spent()
    assert store.count() == n + replacements, (store.count(), n + replacements)
    queries = random_queries(60)
    facets = ms_of(store.search, queries)
    out["facet_p50_ms"], out["facet_p95_ms"] = round(pct(facets, 0.5), 3), round(pct(facets, 0.95), 3)
    text = ms_of(store.search, text_queries() * 5)
    out["text_p50_ms"], out["text_p95_ms"] = round(pct(text, 0.5), 3), round(pct(text, 0.95), 3)
    out["text_totals"] = [store.search(q).total for q in text_queries()]
    # the search's three queries (page, total, facet counts) timed apart, then added up; with a
    # baseline (another checkout's `sparql_search`), the two forms take turns on each search
    forms = {"": sparql_search, **({"baseline_": baseline} if baseline else {})}
    parts = {f: {"page": [], "total": [], "facets": []} for f in forms}
    cpu_s: dict[str, dict[str, float]] = {f: {} for f in forms}
    for i, q in enumerate(queries[:sparql_searches]):
        for f in sorted(forms, reverse=bool(i % 2)):
            cpu = Cpu(server)
            for name, text in forms[f](q).items():
                parts[f][name] += ms_of(store.select, [text])
            cpu_s[f] = {k: round(cpu_s[f].get(k, 0.0) + v, 1) for k, v in cpu.spent().items()}
    for f in forms:
        sparql = [sum(ms) for ms in zip(*parts[f].values(), strict=True)]
        out[f + "sparql_search_cpu_s"] = cpu_s[f]  # the embedded store's queries are the bench's CPU
        out[f + "sparql_search_p50_ms"] = round(pct(sparql, 0.5), 2)
        out[f + "sparql_search_max_ms"] = round(max(sparql), 2)
        out[f + "sparql_search_parts_p50_ms"] = {name: round(pct(ms, 0.5), 2) for name, ms in parts[f].items()}
    for q in queries[:3]:  # the server's answers are the index's (timed apart)
        assert store.search_sparql(q).total == store.search(q).total, q
    agg = ms_of(lambda _: store.run_query(QUERIES["aggregate"], "select", limit=10**6, timeout=600), range(3))
    out["sparql_aggregate_p50_ms"] = round(pct(agg, 0.5), 1)
    rows = store.run_query(QUERIES["aggregate"], "select", limit=10**6, timeout=600).rows
    out["aggregate_count"] = sum(int(row[2].value) for row in rows)  # the same on every backend
    return out


def node_settings(server, backend: str) -> dict:
    """A node's `[store]` over the bench's server, as README's recipe writes it."""
    store = {"kind": "remote", "query_url": server.query_url, "update_url": server.update_url,
             "gsp_url": server.gsp_url, "timeout_s": 600}
    if isinstance(server, VirtuosoServer):
        store.update(dialect="virtuoso", username=server.username)
        if backend == "virtuoso":
            store["sql_address"] = server.sql_address
    return store


def measure_node(server, backend: str, searches: int, expected_text_totals: list[int]) -> dict:
    """A catalog node over the remote store in its own process: start until `/healthz`
    answers, first search, facets and ranked text search through HTTP, peak RSS."""
    import httpx

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    if isinstance(server, VirtuosoServer):
        env["DERIVECERT_STORE__PASSWORD"] = server.password  # a secret setting: never on the command line
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--serve-node", str(port),
                             json.dumps(node_settings(server, backend))], env=env)
    out: dict = {}
    try:
        with httpx.Client(timeout=600, trust_env=False) as client:
            out["start_s"] = round(wait_for_node(client, base, proc, started, limit_s=1800), 2)
            out["start_cpu_s"] = round(cpu_s(proc.pid), 1)
            out["first_search_ms"] = round(timed_search(client, base)[0], 1)

            def search(params) -> tuple[float, dict]:
                return timed_search(client, base, params)

            ms = [search(params)[0] for params in random_params(searches)]
            out["facet_p50_ms"], out["facet_p99_ms"] = round(pct(ms, 0.5), 2), round(pct(ms, 0.99), 2)
            text_params = [[("q", text), ("sort", "relevance")] + [(d, v) for d, values in filters.items() for v in values]
                           for text, filters in TEXT_QUERIES]
            answers = [search(params)[1] for params in text_params]
            out["text_totals"] = [a["total"] for a in answers]
            # the node's text index, rebuilt from the remote store, finds what the bench's did
            assert out["text_totals"] == expected_text_totals, (out["text_totals"], expected_text_totals)
            assert out["text_totals"][0] and out["text_totals"][1], out["text_totals"]  # "influenza", "流感"
            ms = [search(params)[0] for _ in range(max(1, searches // (2 * len(text_params)))) for params in text_params]
            out["text_p50_ms"], out["text_p99_ms"] = round(pct(ms, 0.5), 2), round(pct(ms, 0.99), 2)
        out["peak_rss_mb"] = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return out


def serve_node(port: int, store: dict) -> None:
    """A catalog node over the remote store (run in its own process by `measure_node`)."""
    import uvicorn

    from derivecert.api.app import create_app
    from derivecert.settings import Settings

    settings = Settings(store=store, access={"reads_open": True}, limits={"sparql_concurrency": 1})
    uvicorn.run(create_app(settings, engine=False), host="127.0.0.1", port=port, log_level="warning")


def open_backend(backend: str, work: Path, n: int, args) -> tuple[Catalog, object | None]:
    if backend == "embedded":
        return Catalog(EmbeddedStore(work / f"embedded-{n}", query_processes=1)), None
    if backend == "oxigraph-serve":
        server = OxigraphServer(work / f"oxigraph-{n}").start()
        return Catalog(RemoteStore(server.query_url, server.update_url, server.gsp_url, index_check_interval_s=-1,
                                   timeout=600)), server
    server = VirtuosoServer(work / f"{backend}-{n}", buffers=args.virtuoso_buffers,
                            dirty_buffers=args.virtuoso_dirty_buffers, max_rows=args.virtuoso_max_rows,
                            max_query_s=args.virtuoso_max_query_s, max_query_mem=args.virtuoso_max_query_mem).start()
    sql = VirtuosoSQL(server.sql_address, server.username, server.password) if backend == "virtuoso" else None
    return Catalog(RemoteStore(server.query_url, server.update_url, server.gsp_url, dialect="virtuoso",
                               auth=(server.username, server.password), sql=sql,
                               index_check_interval_s=-1, timeout=600)), server


def load_sparql_search(path: Path):
    """`sparql_search` of another checkout's catalog/search.py, imported as a module of this
    package (its relative imports resolve to this checkout's model and sparql helpers)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("derivecert.catalog._baseline_search", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.sparql_search


BACKENDS = ["embedded", "oxigraph-serve", "virtuoso", "virtuoso-http"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 datasets")
    ap.add_argument("--sizes", type=int, nargs="*", help="dataset counts (default 2000 with --quick, else 10000)")
    ap.add_argument("--replacements", type=int, default=200, help="atomic replacements measured per backend")
    ap.add_argument("--backends", nargs="*", default=BACKENDS, choices=BACKENDS,
                    help="virtuoso: writes through Virtuoso's SQL port (atomic); virtuoso-http: HTTP only")
    ap.add_argument("--searches", type=int, default=200, help="facet searches through a node's HTTP")
    ap.add_argument("--sparql-searches", type=int, default=12, help="searches run as SPARQL by the server")
    ap.add_argument("--no-node", action="store_true", help="no node process over a remote store")
    ap.add_argument("--sparql-search-baseline", type=Path, metavar="SEARCH_PY",
                    help="another checkout's src/derivecert/catalog/search.py: its sparql_search takes turns "
                         "with this one's on the same store (before/after on one load)")
    # Virtuoso's virtuoso.ini (tests/api/servers.py VirtuosoServer); README "Scale out" says what 100,000 needs
    ap.add_argument("--virtuoso-buffers", type=int, default=100_000, help="NumberOfBuffers (8 KB pages)")
    ap.add_argument("--virtuoso-dirty-buffers", type=int, default=None, help="MaxDirtyBuffers (default 3/4 of buffers)")
    ap.add_argument("--virtuoso-max-rows", type=int, default=10_000_000, help="[SPARQL] ResultSetMaxRows")
    ap.add_argument("--virtuoso-max-query-s", type=int, default=120, help="[SPARQL] MaxQueryExecutionTime")
    ap.add_argument("--virtuoso-max-query-mem", default="256M", help="MaxQueryMem")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([2000] if args.quick else [10_000])
    baseline = load_sparql_search(args.sparql_search_baseline) if args.sparql_search_baseline else None

    from derivecert.api.app import load_engine
    from derivecert.settings import Settings

    report: dict = {"bench": "remote_store", "sizes": []}
    with tempfile.TemporaryDirectory(prefix="derivecert-bench-remote-") as tmp:
        work = Path(tmp)
        engine = load_engine(Settings())
        templates, _, _ = certify_examples(engine, Catalog(EmbeddedStore(None)))
        for n in sizes:
            row: dict = {"datasets": n}
            for backend in args.backends:
                print(f"... {n} datasets on {backend}", file=sys.stderr, flush=True)
                store, server = open_backend(backend, work, n, args)
                try:
                    row[backend] = bench_backend(store, server, templates, n, args.replacements, args.sparql_searches,
                                                 baseline)
                    if server is not None and not args.no_node:
                        print(f"    node over {backend}", file=sys.stderr, flush=True)
                        row[backend]["node"] = measure_node(server, backend, args.searches, row[backend]["text_totals"])
                    if isinstance(server, VirtuosoServer):
                        row[backend]["server_peak_rss_mb"] = server.peak_rss_mb()
                        row[backend]["server_config"] = {
                            "NumberOfBuffers": server.buffers,
                            "MaxDirtyBuffers": server.dirty_buffers or server.buffers * 3 // 4,
                            "ResultSetMaxRows": server.max_rows, "MaxQueryExecutionTime": server.max_query_s,
                            "MaxQueryMem": server.max_query_mem}
                finally:
                    store.close()
                    if server is not None:
                        server.stop()
                print(f"    {row[backend]}", file=sys.stderr, flush=True)
            base = row.get("embedded")
            if base:
                row["ratio_to_embedded"] = {
                    b: {k: round(v / base[k], 2) for k, v in row[b].items()
                        if isinstance(v, (int, float)) and isinstance(base.get(k), (int, float)) and base.get(k)}
                    for b in args.backends if b != "embedded" and b in row}
            report["sizes"].append(row)
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-node":
        serve_node(int(sys.argv[2]), json.loads(sys.argv[3]))
        raise SystemExit(0)
    raise SystemExit(main())
