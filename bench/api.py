"""Benchmark of the catalog store and API (issue 5): ingest, faceted search and SPARQL.

    python bench/api.py --quick      # < 1 min: 2,000 datasets, prints one final JSON line
    python bench/api.py              # 10,000 and 100,000 datasets (embedded store on disk)
    python bench/api.py --certify-only --requests 200   # single certification p50 / p99 only
    python bench/api.py --quick --datasets 100000   # the catalog at scale: bench/catalog_scale.py
    python bench/api.py --datasets 1000000 --text-only   # its text search alone (no start without index file)

Data: the certified demo descriptions of examples/ are certified once by the real engine, then
cloned (new IRIs, keys, filing numbers) into N stored datasets with their descriptions,
results, filing records and catalog records: what N real submissions would store.

Figures, each beside its baseline, rdflib's in-memory SPARQL on the same quads:
* ingest: end-to-end submissions/s (engine + atomic replace) and store-only replacements/s;
* faceted search p50 / p95 (filters, multi-select facet counts, text), against the same search
  written in SPARQL (`derivecert.catalog.sparql_search`) run by rdflib;
* two typical SPARQL queries p50 / p95 on Oxigraph (through the API's query worker processes)
  against rdflib.
* single certification (issue 14): `POST /v1/certify` p50 / p99, one description a call, beside
  the engine's own time for the same call.
Targets: faceted search p50 <= 50 ms at 100,000 datasets; SPARQL >= 10x faster than rdflib;
single certification p50 <= 15 ms.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import uuid
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

import pyoxigraph as ox  # noqa: E402

from derivecert.catalog import (  # noqa: E402
    Catalog,
    EmbeddedStore,
    RecordSummary,
    SearchQuery,
    Submission,
    build_submission,
    dataset_key,
    graph_iri,
    sparql_search,
)
from derivecert.catalog.records import _generation_ops  # noqa: E402
from derivecert.catalog.sparql import update_text as _update_text  # noqa: E402
from catalog_scale import FACET_CHOICES, TEXT_QUERIES, demo_submissions, template_text  # noqa: E402  (what both benches share)

QUERIES = {
    # one dataset's certification, as a client would ask for it (@D@: a stored dataset IRI)
    "lookup": """PREFIX dct: <http://purl.org/dc/terms/>
PREFIX dcert: <https://w3id.org/derivecert#>
SELECT ?title ?verdict ?level ?filing WHERE {
  <@D@> dct:title ?title .
  ?r dct:subject <@D@> ; dcert:verdict ?verdict ; dcert:sensitivityLevel ?level ; dcert:filing ?filing .
}""",
    # a selective join over the catalog: model-development datasets at L3 with English titles
    "join": """PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX dcert: <https://w3id.org/derivecert#>
SELECT ?d ?title ?filing WHERE {
  ?d a dcat:Dataset ; dcert:applicationScenario dcert:AS-AI ; dct:title ?title .
  ?r dct:subject ?d ; dcert:sensitivityLevel dcert:L3 ; dcert:filing ?filing .
  FILTER(lang(?title) = "en")
} LIMIT 100""",
    # an aggregate over every result: datasets per scenario and sensitivity level
    "aggregate": """PREFIX dcert: <https://w3id.org/derivecert#>
SELECT ?scenario ?level (COUNT(?r) AS ?n) WHERE {
  ?r a dcert:CertificationResult ; dcert:applicationScenario ?scenario ; dcert:sensitivityLevel ?level .
} GROUP BY ?scenario ?level""",
}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def timed(fn, reps: int, budget_s: float | None = None, min_runs: int = 3) -> list[float]:
    out = []
    started = time.perf_counter()
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
        if budget_s is not None and time.perf_counter() - started > budget_s and len(out) >= min_runs:
            break
    return out


def summary(ms: list[float]) -> dict:
    return {"p50_ms": round(pct(ms, 0.5), 3), "p95_ms": round(pct(ms, 0.95), 3), "runs": len(ms)}


# -- data -------------------------------------------------------------------------------------


@dataclass
class Template:
    """One certified submission as N-Triples text with placeholders for a clone's identity."""

    institution: str
    text: str          # N-Triples of the institution graph, record included
    summary: dict
    result: dict
    text_body: str


def certify_examples(engine, store) -> tuple[list[Template], list[tuple[str, bytes]], float]:
    templates, inputs = [], []
    started = time.perf_counter()
    for path, data, sub in demo_submissions(engine, store):
        inputs.append((path.parent.name, data))
        if len(sub.records) != 1:
            continue
        rec = sub.records[0]
        text, base = template_text("\n".join(f"{t.subject} {t.predicate} {t.object} ." for t in sub.all_triples()) + "\n", rec)
        templates.append(Template(path.parent.name, text, rec.to_json(), sub.results[rec.key], text_body=base))
    return templates, inputs, time.perf_counter() - started


def clone(t: Template, j: int) -> tuple[str, str, RecordSummary]:
    dataset = t.summary["dataset"].replace(t.text_body, t.text_body + f"b/{j}/")
    key = dataset_key(dataset)
    number = f"DC-BENCH-{j:08d}"
    text = (t.text.replace("@J@", str(j)).replace("@K@", key).replace("@F@", number)
            .replace("@R@", hashlib.sha256(dataset.encode()).hexdigest()[:24]))
    s = dict(t.summary, key=key, dataset=dataset, filing=dict(t.summary["filing"] or {}, number=number))
    rec = RecordSummary.from_json(s)
    return t.institution, text, rec


def load_clones(store: Catalog, templates: list[Template], n: int, quads_out: list[str] | None = None) -> float:
    """Bulk-load n cloned datasets (N-Quads through `bulk_load`); returns seconds."""
    started = time.perf_counter()
    chunk: list[str] = []
    for j in range(n):
        inst, text, _rec = clone(templates[j % len(templates)], j)
        g = graph_iri(inst)
        lines = [line[:-1] + f"<{g}> ." for line in text.splitlines() if line]
        chunk.extend(lines)
        if quads_out is not None:
            quads_out.extend(lines)
        if len(chunk) > 400_000 or j == n - 1:
            store.backend.ox.bulk_load(("\n".join(chunk) + "\n").encode("utf-8"), format=ox.RdfFormat.N_QUADS)
            chunk = []
    store.backend._writes += 1
    store.update(_update_text(_generation_ops(uuid.uuid4().hex)))  # what the store's writes do
    return time.perf_counter() - started


def random_queries(k: int, seed: int = 7) -> list[SearchQuery]:
    rnd = random.Random(seed)
    out = [SearchQuery()]
    while len(out) < k:
        filters = {}
        for dim in rnd.sample(list(FACET_CHOICES), rnd.randint(0, 3)):
            filters[dim] = rnd.sample(FACET_CHOICES[dim], rnd.randint(1, 2))
        text = rnd.choice(["", "", "", "cohort", "influenza", "统计"])
        out.append(SearchQuery(filters=filters, text=text, offset=rnd.choice([0, 0, 20]), limit=20))
    return out




def text_p50_ms(store, reps: int) -> float:
    """p50 of ranked text search (catalog/text.py) with its facets, through `store.search`."""
    queries = [SearchQuery(filters=f, text=t, sort="relevance") for t, f in TEXT_QUERIES]
    for q in queries:
        store.search(q)  # warm: SQLite's pages in the cache
    ms = [timed(lambda q=q: store.search(q), 1)[0] for q in queries * max(1, reps // len(queries))]
    return round(pct(ms, 0.5), 3)


def http_search_ms(store, queries: list[SearchQuery]) -> list[float]:
    """The same searches through the API (`GET /v1/datasets`: HTTP, validation, labels, JSON)."""
    from fastapi.testclient import TestClient

    from derivecert.api.app import create_app
    from derivecert.settings import Settings

    app = create_app(Settings(store={"kind": "memory"}), engine=False, store=store)
    out = []
    with TestClient(app) as client:
        client.get("/v1/datasets")
        for q in queries:
            params = [(dim, v) for dim, values in q.filters.items() for v in values]
            params += [("q", q.text), ("offset", q.offset), ("limit", q.limit)]
            t = time.perf_counter()
            r = client.get("/v1/datasets", params=params)
            out.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
    return out


def certify_only(requests: int) -> int:
    """Single certification alone: the examples' certifiable descriptions, one a request."""
    from derivecert.api.app import load_engine
    from derivecert.settings import Settings

    engine = load_engine(Settings())
    http, direct = certify_single_ms(engine, example_bodies(), requests)
    print(json.dumps({"bench": "api", "certify_single": {
        "p50_ms": round(pct(http, 0.5), 2), "p99_ms": round(pct(http, 0.99), 2),
        "engine_p50_ms": round(pct(direct, 0.5), 2), "runs": len(http)}}))
    return 0


def example_bodies() -> list[bytes]:
    """The examples' certifiable descriptions, one a request."""
    return [p.read_bytes() for p in sorted((ROOT / "examples").glob("*/*.ttl")) if "rejected" not in p.name]


def certify_single_ms(engine, bodies: list[bytes], reps: int) -> tuple[list[float], list[float]]:
    """One description per request, `POST /v1/certify` through the API's HTTP stack (the ASGI test
    client: no socket), and the same certification called on the engine in this process."""
    from fastapi.testclient import TestClient

    from derivecert.api.app import create_app
    from derivecert.settings import Settings

    app = create_app(Settings(store={"kind": "memory"}), engine=engine)
    http, direct = [], []
    with TestClient(app) as client:
        client.post("/v1/certify", content=bodies[0], headers={"Content-Type": "text/turtle"})
        for i in range(reps):
            body = bodies[i % len(bodies)]
            t = time.perf_counter()
            r = client.post("/v1/certify", content=body, headers={"Content-Type": "text/turtle"})
            http.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
    # the engine in this process last: once rudof has validated here, a worker forked from this
    # process could not run it in place (derivecert.shacl.rudof_validator), and the HTTP figures
    # would measure its fresh-interpreter fallback
    for i in range(reps):
        t = time.perf_counter()
        engine.certify(bodies[i % len(bodies)], media_type="text/turtle")
        direct.append((time.perf_counter() - t) * 1000)
    return http, direct


# -- baselines ---------------------------------------------------------------------------------


def rdflib_dataset(quads: list[str]):
    from rdflib import Dataset

    ds = Dataset(default_union=True)
    ds.parse(data="\n".join(quads) + "\n", format="nquads")
    return ds


def rdflib_search(ds, q: SearchQuery) -> None:
    for text in sparql_search(q).values():
        list(ds.query(text))


# -- main ---------------------------------------------------------------------------------------


def bench_size(n: int, templates, workdir: Path, *, baseline: bool, reps: int, budget: float) -> dict:
    store = Catalog(EmbeddedStore(workdir / f"store-{n}", query_processes=1))
    quads: list[str] | None = [] if baseline else None
    out: dict = {"datasets": n}
    try:
        load_s = load_clones(store, templates, n, quads)
        t = time.perf_counter()
        store.rebuild_index()
        out["bulk_load_s"] = round(load_s, 2)
        out["index_rebuild_s"] = round(time.perf_counter() - t, 3)
        out["quads"] = len(store.backend.ox)
        assert store.count() == n, (store.count(), n)
        queries = random_queries(reps)
        store.search(SearchQuery())  # warm
        ms = [timed(lambda q=q: store.search(q), 1)[0] for q in queries]
        out["facet_search"] = summary(ms)
        out["facet_search_http"] = summary(http_search_ms(store, queries))
        out["text_p50_ms"] = text_p50_ms(store, reps)
        it = iter(queries)
        out["facet_search_as_oxigraph_sparql"] = summary(timed(lambda: store.search_sparql(next(it)), len(queries), budget / 2, 1))
        probe = clone(templates[0], n // 2)[2].dataset
        texts = {name: text.replace("@D@", probe) for name, text in QUERIES.items()}
        for name, text in texts.items():
            store.run_query(text, "select", limit=10**6, timeout=120)  # warm: worker + read-only view
            ms = timed(lambda text=text: store.run_query(text, "select", limit=10**6, timeout=120), reps, budget)
            out[f"sparql_{name}"] = summary(ms)
        if baseline:
            t = time.perf_counter()
            ds = rdflib_dataset(quads)
            out["rdflib_load_s"] = round(time.perf_counter() - t, 2)
            quads.clear()
            it = iter(queries)
            base = {"facet_search": summary(timed(lambda: rdflib_search(ds, next(it)), len(queries), budget, 1))}
            for name, text in texts.items():
                base[f"sparql_{name}"] = summary(timed(lambda text=text: list(ds.query(text)), reps, budget / 2, 1))
            out["rdflib"] = base
            out["speedup"] = {k: round(base[k]["p50_ms"] / out[k]["p50_ms"], 1) for k in base if out.get(k)}
            del ds
            gc.collect()
    finally:
        store.close()
    t = time.perf_counter()  # a restart: open the store and rebuild the search index from it
    reopened = Catalog(EmbeddedStore(workdir / f"store-{n}", query_processes=0))
    try:
        assert reopened.count() == n
        out["cold_start_s"] = round(time.perf_counter() - t, 3)
    finally:
        reopened.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    ap.add_argument("--sizes", type=int, nargs="*", help="dataset counts (default 10000 100000)")
    ap.add_argument("--rdflib-max", type=int, default=20_000, help="largest size with the rdflib baseline")
    ap.add_argument("--certify-only", action="store_true", help="only POST /v1/certify p50 / p99 (no store)")
    ap.add_argument("--requests", type=int, default=None, help="single certifications to time")
    ap.add_argument("--datasets", type=int, help="the catalog at scale (bench/catalog_scale.py): a store of this "
                    "many datasets, built or reused under var/bench/; start, search, disk and memory")
    ap.add_argument("--rebuild", action="store_true", help="with --datasets: build the store again")
    ap.add_argument("--index-only", action="store_true", help="with --datasets: the search index alone, no store")
    ap.add_argument("--text-only", action="store_true", help="with --datasets: text search first seconds and settled, "
                    "without the start without the index file")
    args = ap.parse_args(argv)
    if args.certify_only:
        return certify_only(args.requests or 200)
    if args.datasets:
        import catalog_scale

        if args.index_only:
            return catalog_scale.index_only(args.datasets, searches=200 if args.quick else 1000)
        return catalog_scale.main(args.datasets, searches=200 if args.quick else 1000, rebuild=args.rebuild,
                                  text_only=args.text_only)
    sizes = args.sizes or ([800] if args.quick else [10_000, 100_000])
    reps = 30 if args.quick else 200
    budget = 3.0 if args.quick else 60.0

    from derivecert.api.app import load_engine
    from derivecert.settings import Settings

    report: dict = {"bench": "api", "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="derivecert-bench-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        engine = load_engine(Settings())
        report["engine_load_s"] = round(time.perf_counter() - t, 2)

        # single certification (issue 14): p50 / p99 of POST /v1/certify, one description a call;
        # first, before this process certifies anything itself (see certify_single_ms)
        http, direct = certify_single_ms(engine, example_bodies(), 100 if args.quick else 400)
        report["certify_single"] = {"p50_ms": round(pct(http, 0.5), 2), "p99_ms": round(pct(http, 0.99), 2),
                                    "engine_p50_ms": round(pct(direct, 0.5), 2), "runs": len(http)}
        print(f"POST /v1/certify: p50 {report['certify_single']['p50_ms']} ms, p99 {report['certify_single']['p99_ms']} ms "
              f"(engine alone p50 {report['certify_single']['engine_p50_ms']} ms)", file=sys.stderr, flush=True)

        # ingest end to end: engine + atomic replace, one submission at a time
        store = Catalog(EmbeddedStore(work / "ingest", query_processes=0))
        templates, inputs, _ = certify_examples(engine, store)
        rounds = 1 if args.quick else 3
        t = time.perf_counter()
        filed = 0
        for _ in range(rounds):
            for inst, data in inputs[::2] if args.quick else inputs:
                taken: set[str] = set()
                run = engine.certify(data, media_type="text/turtle",
                                     filing_numbers=lambda: store.new_filing_number("DC", taken=taken))  # noqa: B023 (called in this iteration)
                results = [r.to_dict() for r in run.results]
                if any(r["verdict"] == "rejected" for r in results):
                    continue
                store.replace(build_submission(inst, run.description, run.result_graph, results))
                filed += 1
        elapsed = time.perf_counter() - t
        report["ingest_end_to_end"] = {"submissions": filed, "per_s": round(filed / elapsed, 1)}


        # store-only: atomic replacement of already certified submissions (clones)
        k = 200 if args.quick else 2000
        subs = []
        for j in range(k):
            inst, text, rec = clone(templates[j % len(templates)], 10_000_000 + j)
            triples = list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))
            rec.text = ""
            subs.append(Submission(inst, [t for t in triples if not t.subject.value.startswith("https://w3id.org/derivecert/record/")],
                                   [rec], {rec.key: {t.subject.value for t in triples
                                                     if not t.subject.value.startswith("https://w3id.org/derivecert/record/")}},
                                   {rec.key: templates[j % len(templates)].result}))
        t = time.perf_counter()
        for sub in subs:
            store.replace(sub)
        report["ingest_store_only"] = {"replacements": k, "per_s": round(k / (time.perf_counter() - t), 1)}
        store.close()
        report["templates"] = len(templates)

        report["sizes"] = []
        for n in sizes:
            print(f"... {n} datasets", file=sys.stderr, flush=True)
            report["sizes"].append(bench_size(n, templates, work, baseline=n <= args.rdflib_max, reps=reps, budget=budget))

    largest = report["sizes"][-1]
    report["targets"] = {
        "facet_p50_ms_at_largest": largest["facet_search"]["p50_ms"],
        "facet_p50_le_50ms": largest["facet_search"]["p50_ms"] <= 50,
        "sparql_speedup_vs_rdflib": {k: v for s in report["sizes"] for k, v in s.get("speedup", {}).items()
                                     if k.startswith("sparql_")},
    }
    for s in report["sizes"]:
        print(f"n={s['datasets']:>7}: facets p50 {s['facet_search']['p50_ms']} ms p95 {s['facet_search']['p95_ms']} ms; "
              + "; ".join(f"{q} p50 {s['sparql_' + q]['p50_ms']} ms" for q in QUERIES)
              + (f"; speedup vs rdflib {s['speedup']}" if "speedup" in s else ""), file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
