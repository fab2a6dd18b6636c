"""Benchmark of the catalog on a production SPARQL server as the remote store (issues 12, 15).

    python bench/remote_store.py --quick            # < 2 min: 2,000 datasets
    python bench/remote_store.py --sizes 10000      # any sizes

Each backend gets the same work in the same run: the embedded Oxigraph store (the baseline),
`oxigraph serve` and Virtuoso (Debian's virtuoso-opensource, writes through its SQL port: the
atomic path; and over HTTP alone, for the price of atomicity), all on 127.0.0.1 and started
here (tests/api/servers.py):

* ingest: atomic replacements/s of certified submissions (`CatalogStore.replace`: the write of
  `PUT /v1/institutions/{id}/datasets`, without the engine), and bulk load datasets/s
  (`bulk_add`: the Graph Store Protocol on a remote store);
* start-up: the search index rebuilt from the store, seconds;
* search: faceted search p50 / p95 (the node's in-memory index, the same on every backend) and
  the same search as SPARQL run by the server (what a node rebuilding its index, or a
  plain-SPARQL peer, asks), and a whole-catalog SPARQL aggregate;
each figure also as a ratio to the embedded store's in the same run.  Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import json
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
from derivecert.catalog import Catalog, EmbeddedStore, RemoteStore, Submission  # noqa: E402
from derivecert.catalog.backends.virtuoso_sql import VirtuosoSQL  # noqa: E402
from tests.api.servers import OxigraphServer, VirtuosoServer  # noqa: E402

RECORD = "https://w3id.org/derivecert/record/"


def submissions(templates, start: int, n: int) -> list[Submission]:
    """n certified submissions cloned from the examples (new IRIs, keys and filing numbers)."""
    out = []
    for j in range(start, start + n):
        t = templates[j % len(templates)]
        inst, text, rec = clone(t, j)
        triples = list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))
        own = [x for x in triples if not x.subject.value.startswith(RECORD)]
        rec.text = ""
        out.append(Submission(inst, own, [rec], {rec.key: {x.subject.value for x in own}}, {rec.key: t.result}))
    return out


def ms_of(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def bench_backend(store, templates, n: int, replacements: int) -> dict:
    out: dict = {}
    subs = submissions(templates, 0, n)
    t = time.perf_counter()
    for i in range(0, n, 500):
        store.bulk_add(subs[i:i + 500])
    out["bulk_load_datasets_per_s"] = round(n / (time.perf_counter() - t), 1)
    extra = submissions(templates, 50_000_000, replacements)
    t = time.perf_counter()
    for sub in extra:
        store.replace(sub)
    out["replace_per_s"] = round(replacements / (time.perf_counter() - t), 1)
    t = time.perf_counter()
    store.rebuild_index()
    out["index_rebuild_s"] = round(time.perf_counter() - t, 3)
    assert store.count() == n + replacements, (store.count(), n + replacements)
    queries = random_queries(60)
    facets = ms_of(store.search, queries)
    out["facet_p50_ms"], out["facet_p95_ms"] = round(pct(facets, 0.5), 3), round(pct(facets, 0.95), 3)
    sparql = ms_of(store.search_sparql, queries[:12])
    out["sparql_search_p50_ms"] = round(pct(sparql, 0.5), 2)
    for q in queries[:3]:  # the server's answers are the index's (timed apart)
        assert store.search_sparql(q).total == store.search(q).total, q
    agg = ms_of(lambda _: store.run_query(QUERIES["aggregate"], "select", limit=10**6, timeout=600), range(3))
    out["sparql_aggregate_p50_ms"] = round(pct(agg, 0.5), 1)
    rows = store.run_query(QUERIES["aggregate"], "select", limit=10**6, timeout=600).rows
    out["aggregate_count"] = sum(int(row[2].value) for row in rows)  # the same on every backend
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 datasets")
    ap.add_argument("--sizes", type=int, nargs="*", help="dataset counts (default 2000 with --quick, else 10000)")
    ap.add_argument("--replacements", type=int, default=200, help="atomic replacements measured per backend")
    ap.add_argument("--backends", nargs="*", default=["embedded", "oxigraph-serve", "virtuoso", "virtuoso-http"])
    args = ap.parse_args(argv)
    sizes = args.sizes or ([2000] if args.quick else [10_000])

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
                server = None
                if backend == "embedded":
                    store = Catalog(EmbeddedStore(work / f"embedded-{n}", query_processes=1))
                elif backend == "oxigraph-serve":
                    server = OxigraphServer(work / f"oxigraph-{n}").start()
                    store = Catalog(RemoteStore(server.query_url, server.update_url, server.gsp_url, index_check_interval_s=-1))
                else:
                    server = VirtuosoServer(work / f"{backend}-{n}", buffers=100_000).start()
                    sql = VirtuosoSQL(server.sql_address, server.username, server.password) if backend == "virtuoso" else None
                    store = Catalog(RemoteStore(server.query_url, server.update_url, server.gsp_url, dialect="virtuoso",
                                                auth=(server.username, server.password), sql=sql,
                                                index_check_interval_s=-1, timeout=600))
                try:
                    row[backend] = bench_backend(store, templates, n, args.replacements)
                finally:
                    store.close()
                    if server is not None:
                        server.stop()
                print(f"    {row[backend]}", file=sys.stderr, flush=True)
            base = row.get("embedded")
            if base:
                row["ratio_to_embedded"] = {
                    b: {k: round(v / base[k], 2) for k, v in row[b].items() if base.get(k)}
                    for b in args.backends if b != "embedded" and b in row}
            report["sizes"].append(row)
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
