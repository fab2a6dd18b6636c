"""End-to-end certification throughput (issue 4), beside two references measured in the same run.

Catalogs of N descriptions are generated from the fixture corpus (tests/data/valid and invalid:
realistic mixes of certifiable and defective descriptions), each copy with its own IRIs. Measured:

- pipeline: DeriveCert's batch path: parse every description, reason once (OWL 2 RL), validate
  once (pySHACL), decide and build every §6 result and filing record;
- naive: the obvious pipeline, pySHACL per description with inference="owlrl" and the ontology as
  ont_graph (on a sample of descriptions: it is slow);
- parse limit: pyoxigraph.parse of the same catalog, the floor no pipeline can beat.

"datasets" counts every dcat:Dataset that gets a §6 result (a description holds the derived dataset
and its sources: 2.1 datasets a description on average here); "descriptions/s" is printed beside it.
The pipeline uses all cores (`--workers`, default os.cpu_count()), as `derivecert certify` does.
Prints a table and, last, one JSON line. `--quick` runs 1,000 descriptions in under a minute.

`--scaling` (issue 14) certifies 1,000 and then 10,000 descriptions with the same engine and
prints, last, one JSON line: descriptions/s at each size, `scaling_ratio` (10k throughput over 1k
throughput: 1.0 is linear) and `peak_rss_mb`, the largest resident memory of this process or of
any worker process it ran.

`--timeline` certifies 1,000 descriptions on `--workers` processes and prints when each worker
started its first part, when each part ended and when the stream ended (wall seconds from the
call), and, last, one JSON line (`first_part_start_s`: the later of the workers' first starts;
`last_part_end_s`; `elapsed_s`). It times the engine's part function (`engine._certify_bin`) from
outside, so it also runs against an older checkout's engine (PYTHONPATH=<checkout>/src).

`--shacl` measures the SHACL step alone on one materialised batch of 1,000 descriptions (`--sizes`
to change it): seconds per 1,000 descriptions for pySHACL (the reference engine) and for the rudof
validator (from the rdflib graph, and from N-Triples text: the path without rdflib), side by side
in one run, with their ratio and whether their findings are identical; last, one JSON line.

`--steps` certifies 1,000 descriptions (`--sizes` to change it) in one process, part by part as a
worker does, and prints the CPU seconds per 1,000 descriptions of each step (parse, reasoning with
the engine's defaults, SHACL, results and filing, the collector's pass at the end of each part);
last, one JSON line. CPU seconds, not wall time: the figures hold on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

import pyoxigraph
from rdflib import Graph, URIRef

ROOT = Path(__file__).resolve().parents[1]
VOCABULARIES = ("https://w3id.org/", "http://www.w3.org/", "http://purl.org/", "http://xmlns.com/",
                "http://healthdataportal.eu/", "http://publications.europa.eu/", "http://data.europa.eu/",
                "http://purl.obolibrary.org/", "http://www.wikidata.org/", "mailto:")


def templates() -> list[str]:
    files = sorted((ROOT / "tests" / "data" / "valid").glob("*.ttl")) + sorted((ROOT / "tests" / "data" / "invalid").glob("*.ttl"))
    if not files:
        sys.exit("bench: no fixtures under tests/data/")
    return [f.read_text(encoding="utf-8") for f in files]


def catalog(n: int, seed: int = 1) -> list[bytes]:
    """N descriptions in N-Triples, each a fixture whose own IRIs are renamed to be unique."""
    rng = random.Random(seed)
    graphs = [Graph().parse(data=t, format="turtle") for t in templates()]
    out = []
    for i in range(n):
        g = graphs[rng.randrange(len(graphs))]
        copy = Graph()

        def rename(t):
            return URIRef(f"{t}-c{i}") if isinstance(t, URIRef) and not str(t).startswith(VOCABULARIES) else t  # noqa: B023 (called in this iteration)

        for s, p, o in g:
            copy.add((rename(s), p, rename(o)))
        out.append(copy.serialize(format="nt", encoding="utf-8"))
    return out


def pipeline(docs: list[bytes], workers: int) -> tuple[float, int]:
    """What `derivecert certify` does with a folder of descriptions, its results streamed out part
    by part (`Engine.certify_stream`: a registry writing them out holds one part at a time)."""
    from derivecert.engine import Engine
    engine = Engine(workers=workers)
    documents = [(f"d{i}.nt", doc) for i, doc in enumerate(docs)]
    start = time.perf_counter()
    stream = getattr(engine, "certify_stream", None)
    if stream is None:  # an engine from before issue 14 (bench/run.py run from an older checkout)
        results = len(engine.certify_documents(documents).results)
    else:
        results = 0
        for part in stream(documents):
            results += len(part.run.results if part.run is not None else part.results)
    elapsed = time.perf_counter() - start
    return elapsed, results


def naive(docs: list[bytes], sample: int) -> float:
    """Seconds per description for pySHACL per description with OWL RL inference."""
    import pyshacl

    from derivecert.resources import ontology_graph
    from derivecert.shacl import compiled_shapes

    shapes, onto = compiled_shapes(), ontology_graph()
    chosen = docs[:sample]
    start = time.perf_counter()
    for doc in chosen:
        data = Graph().parse(data=doc, format="nt")
        pyshacl.validate(data, shacl_graph=shapes, ont_graph=onto, inference="owlrl", allow_warnings=True)
    return (time.perf_counter() - start) / len(chosen)


def parse_limit(docs: list[bytes]) -> float:
    start = time.perf_counter()
    for doc in docs:
        for _ in pyoxigraph.parse(doc, format=pyoxigraph.RdfFormat.N_TRIPLES):
            pass
    return time.perf_counter() - start


def peak_mb() -> float:
    """Peak resident memory of this process or of any worker it ran (ru_maxrss is in KiB)."""
    return max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024


def warm() -> None:
    """The process-wide caches (ontology, shapes) filled, as a server's parent fills them before it
    forks workers: `Engine.warm` (a certification here would start rudof's thread pool, which the
    forked workers could not use; derivecert.shacl.rudof_validator)."""
    from derivecert.engine import Engine

    Engine().warm()


def scaling(workers: int, sizes: tuple[int, int] = (1000, 10000)) -> dict:
    """Throughput at a small and a ten times larger catalog, side by side in one run."""
    warm()
    out = {"workers": workers}
    for n in sizes:
        docs = catalog(n)
        cpu = cpu_s()
        elapsed, datasets = pipeline(docs, workers)
        cpu = cpu_s() - cpu
        del docs
        label = f"{n // 1000}k"
        out[f"descriptions_per_s_{label}"] = round(n / elapsed, 1)
        out[f"datasets_per_s_{label}"] = round(datasets / elapsed, 1)
        # CPU seconds of this process and its workers: a shared machine's load changes the wall
        # time, much less the CPU time
        out[f"descriptions_per_cpu_s_{label}"] = round(n / cpu, 1)
        print(f"{n:>6} descriptions ({datasets} datasets), {workers} workers: {out[f'descriptions_per_s_{label}']} "
              f"descriptions/s, {elapsed:.1f} s, {cpu:.1f} CPU s, peak RSS so far {peak_mb():.0f} MB", flush=True)
    small, large = (f"descriptions_per_s_{n // 1000}k" for n in sizes)
    out["scaling_ratio"] = round(out[large] / out[small], 3)
    out["cpu_scaling_ratio"] = round(out[large.replace("_per_s", "_per_cpu_s")] / out[small.replace("_per_s", "_per_cpu_s")], 3)
    out["peak_rss_mb"] = round(peak_mb(), 1)
    return out


def shacl_seconds(n: int) -> dict:
    """SHACL alone on one materialised batch of n descriptions, each validator in turn, same run."""
    from datetime import date

    from derivecert.engine import Engine
    from derivecert.shacl import validate

    def materialised(count: int, seed: int) -> Graph:
        graph = Graph()
        for doc in catalog(count, seed):
            graph.parse(data=doc, format="nt")
        return Engine().materialise(graph)

    on = date(2026, 6, 1)
    warm = materialised(5, 99)
    for name in ("pyshacl", "rudof"):
        validate(warm, on=on, shacl=name)  # shapes compiled and read once per process, as in a server
    data = materialised(n, 1)
    text = data.serialize(format="nt")
    runs = {}
    for label, name, given in (("pyshacl", "pyshacl", data), ("rudof", "rudof", data), ("rudof_ntriples", "rudof", text)):
        wall, cpu = time.perf_counter(), time.process_time()
        findings = validate(given, on=on, shacl=name).findings
        runs[label] = (time.perf_counter() - wall, time.process_time() - cpu, findings)
    per_1k = 1000 / n
    out = {"descriptions": n, "triples": len(data)}
    for label, (wall, cpu, _) in runs.items():
        out[f"shacl_s_{label}_per_1k"] = round(wall * per_1k, 2)
        out[f"shacl_cpu_s_{label}_per_1k"] = round(cpu * per_1k, 2)
    out["shacl_speedup"] = round(runs["pyshacl"][0] / runs["rudof"][0], 2)
    out["shacl_speedup_ntriples"] = round(runs["pyshacl"][0] / runs["rudof_ntriples"][0], 2)

    def key(findings):
        return sorted((str(f.focus), f.requirement, f.severity, f.path or "", f.value or "",
                       sorted(f.message.items())) for f in findings)

    reference = key(runs["pyshacl"][2])
    out["findings"] = len(reference)
    out["shacl_parity"] = all(key(runs[label][2]) == reference for label in ("rudof", "rudof_ntriples"))
    print(f"SHACL, {n} descriptions ({out['triples']} triples, {out['findings']} findings), seconds per 1,000: "
          f"pySHACL {out['shacl_s_pyshacl_per_1k']} | rudof {out['shacl_s_rudof_per_1k']} "
          f"(from N-Triples {out['shacl_s_rudof_ntriples_per_1k']}) | {out['shacl_speedup']}x "
          f"({out['shacl_speedup_ntriples']}x) | same findings: {out['shacl_parity']}", flush=True)
    return out


_TIMED: list = []  # the engine's part function and the log file, while `timeline` runs


def _timed_part(indexes):
    """The engine's part function, its wall times logged (module-level: the pool pickles it by name)."""
    part, log = _TIMED
    started = time.time()
    out = part(indexes)
    with open(log, "a", encoding="utf-8") as f:  # one short write a part: lines stay whole
        f.write(json.dumps([os.getpid(), started, time.time(), len(indexes)]) + "\n")
    return out


def timeline(n: int, workers: int) -> dict:
    """Wall times of one run's parts, as each worker saw them (appended to a file: workers are forked)."""
    import tempfile

    from derivecert import engine as engine_module

    warm()
    docs = catalog(n)
    log = Path(tempfile.mkstemp(prefix="derivecert-timeline-")[1])
    part = engine_module._certify_bin
    _TIMED[:] = [part, log]
    engine_module._certify_bin = _timed_part
    try:
        start, cpu = time.time(), cpu_s()
        elapsed, datasets = pipeline(docs, workers)
        cpu = cpu_s() - cpu
    finally:
        engine_module._certify_bin = part
        _TIMED.clear()
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    log.unlink()
    firsts: dict = {}
    for pid, began, ended, size in sorted(rows, key=lambda row: row[1]):
        firsts.setdefault(pid, began)
        print(f"worker {pid}: part of {size} from {began - start:6.2f} s to {ended - start:6.2f} s", flush=True)
    out = {"descriptions": n, "workers": workers, "datasets": datasets, "elapsed_s": round(elapsed, 3),
           "first_part_start_s": round(max(firsts.values()) - start, 3),
           "last_part_end_s": round(max(row[2] for row in rows) - start, 3),
           "parts_run": len(rows), "descriptions_per_s": round(n / elapsed, 1), "cpu_s": round(cpu, 2),
           "descriptions_per_cpu_s": round(n / cpu, 1), "peak_rss_mb": round(peak_mb(), 1)}
    print(f"{n} descriptions, {workers} workers: first parts started by {out['first_part_start_s']} s, "
          f"last part ended at {out['last_part_end_s']} s, stream ended at {out['elapsed_s']} s", flush=True)
    return out


def steps(n: int) -> dict:
    """CPU seconds per 1,000 descriptions by step, in this one process: the catalog certified in
    parts of the engine's batch size, each part as a worker certifies it (`_certify_part` with the
    collector paused). The steps are timed by wrapping the engine's own step functions: parse
    (`_load_documents`), reasoning with the engine's defaults (`Engine.materialise`), SHACL
    (`validate`), results and filing (the rest of `certify_graph`), and the collector (the full
    collection that ends each part's pause)."""
    import derivecert.engine as engine_module
    from derivecert.engine import Engine, collector_paused

    engine = Engine(workers=1)
    engine.warm()
    documents = [(f"d{i}.nt", doc) for i, doc in enumerate(catalog(n))]
    spent = {"parse": 0.0, "reasoning": 0.0, "shacl": 0.0}

    def timed(step, function):
        def call(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[step] += time.process_time() - start
        return call

    engine_module._load_documents = timed("parse", engine_module._load_documents)
    Engine.materialise = timed("reasoning", Engine.materialise)
    engine_module.validate = timed("shacl", engine_module.validate)
    total = collected = 0.0
    for first in range(0, n, engine.batch_size):
        start = time.process_time()
        with collector_paused():
            engine_module._certify_part(engine, documents[first:first + engine.batch_size], {})
            paused = time.process_time()
        collected += time.process_time() - paused
        total += time.process_time() - start
    per_1k = 1000 / n
    out = {"descriptions": n, **{f"cpu_s_{step}_per_1k": round(s * per_1k, 3) for step, s in spent.items()}}
    out["cpu_s_results_per_1k"] = round((total - collected - sum(spent.values())) * per_1k, 3)
    out["cpu_s_collector_per_1k"] = round(collected * per_1k, 3)
    out["cpu_s_per_1k"] = round(total * per_1k, 3)
    print(f"{n} descriptions, one process, CPU s per 1,000: parse {out['cpu_s_parse_per_1k']} | reasoning "
          f"{out['cpu_s_reasoning_per_1k']} | SHACL {out['cpu_s_shacl_per_1k']} | results and filing "
          f"{out['cpu_s_results_per_1k']} | collector {out['cpu_s_collector_per_1k']} | all {out['cpu_s_per_1k']}",
          flush=True)
    return out


def cpu_s() -> float:
    """User + system CPU seconds of this process and of the workers it has waited for."""
    return sum(r.ru_utime + r.ru_stime for r in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))


def report(name: str, result: dict) -> None:
    """The result kept as bench/results/<name>.json and printed as the run's last line."""
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 descriptions, naive sample of 20")
    parser.add_argument("--scaling", action="store_true", help="1,000 then 10,000 descriptions: throughput ratio, peak RSS")
    parser.add_argument("--shacl", action="store_true", help="the SHACL step alone: pySHACL vs rudof, seconds per 1,000")
    parser.add_argument("--timeline", action="store_true", help="when each worker's parts start and end, 1,000 descriptions")
    parser.add_argument("--steps", action="store_true", help="CPU s per step per 1,000 descriptions, one process")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--naive-sample", type=int, default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    args = parser.parse_args()
    if args.scaling:
        report("scaling", scaling(args.workers))
        return
    if args.timeline:
        print(json.dumps(timeline((args.sizes or [1000])[0], args.workers)))
        return
    if args.steps:
        report("steps", steps((args.sizes or [1000])[0]))
        return
    if args.shacl:
        report("shacl", shacl_seconds((args.sizes or [1000])[0]))
        return
    sizes = args.sizes or ([1000] if args.quick else [100, 1000, 10000])
    sample = args.naive_sample or (20 if args.quick else 40)

    # Warm the process-wide caches (ontology, shapes) so every size measures steady state.
    warm()
    rows, last = [], {}
    for n in sizes:
        docs = catalog(n)
        triples = sum(doc.count(b"\n") for doc in docs)
        cpu = cpu_s()
        elapsed, datasets = pipeline(docs, args.workers)
        cpu = cpu_s() - cpu
        per_naive = naive(docs, min(sample, n))
        limit = parse_limit(docs)
        last = {
            "descriptions": n, "workers": args.workers, "datasets": datasets, "triples": triples,
            "datasets_per_s": round(datasets / elapsed, 1),
            "descriptions_per_s": round(n / elapsed, 1),
            # a shared machine's load changes the wall time, much less the CPU time
            "cpu_s": round(cpu, 1), "descriptions_per_cpu_s": round(n / cpu, 1),
            "baseline_datasets_per_s": round(datasets / n / per_naive, 2),
            "ratio": round((n / elapsed) * per_naive, 1),
            "parse_limit_datasets_per_s": round(datasets / limit, 1),
            "fraction_of_parse_limit": round(limit / elapsed, 4),
            "peak_rss_mb": round(peak_mb(), 1),
        }
        rows.append(last)
        print(f"{n:>6} descriptions ({datasets} datasets, {triples} triples), {args.workers} workers: "
              f"pipeline {last['datasets_per_s']:>8} datasets/s ({last['descriptions_per_s']} descriptions/s) | "
              f"naive {last['baseline_datasets_per_s']:>6}/s | ratio {last['ratio']:>6}x | parse limit "
              f"{last['parse_limit_datasets_per_s']:>9}/s | peak RSS {last['peak_rss_mb']} MB", flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "run.json").write_text(json.dumps(rows, indent=2))
    print(json.dumps(last))


if __name__ == "__main__":
    main()
