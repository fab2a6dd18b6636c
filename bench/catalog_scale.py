"""The catalog at scale (issue 15): `python bench/api.py --datasets N` (bench/api.py calls `main`).

Builds, or reuses, a store of N datasets under var/bench/catalog-<N>/ with a store-level bulk
writer: the demo descriptions of examples/ are certified once by the real engine, and each
filed submission (institution graph: description, result, filing and catalog record) is cloned N times with new
IRIs, keys and filing numbers, written as N-Quads by Oxigraph's bulk loader; then the search
index is built from the records and kept beside the store, as a node keeps it.  Then:

* bytes_per_dataset: the store's folder on disk (its index folder is reported beside it);
* start_s: a catalog node (`create_app` over the store, no certification engine: its load is
  the engine's figure, `engine_load_s` in `bench/api.py --quick`) started as a process, until
  `/healthz` answers; first_search_ms: its first `GET /v1/datasets` after that;
  (start_s_without_index_file: the same start with the index file moved aside, rebuilding the
  index from the records as every start did before the file existed: the baseline);
* facet_p50_ms / facet_p99_ms: `GET /v1/datasets` with random facet filters over HTTP on
  loopback, one request at a time;
* text_p50_ms / text_p99_ms: ranked text search (zh and en, one with a filter) with its facets,
  over HTTP, with text_cpu_ms: the node's CPU a text search (/proc/<pid>/stat); text_index_mb:
  the text index's file.  `--text-only` (bench/api.py) leaves out the start without the index
  file and times the text searches first, in the node's first seconds, then settled;
* ingest_datasets_per_s: the bulk writer, store and index (not certification);
* peak_rss_mb: the node's peak resident memory (VmHWM) after the searches.

Disk: about bytes_per_dataset x N for the store, plus the index folder (see the JSON line), plus
as much again while Oxigraph's bulk loader runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHUNK = 2_000  # datasets a bulk_load call of the bench's store builder (see build)
#: bump when the store's record layout changes: a cached store of another layout is rebuilt
LAYOUT = "records-2"  # records-2: filings stored once, idx:owned (issue 15, lean records)


def _du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


@dataclass
class Template:
    """One filed submission as N-Quads with placeholders for a clone's identity."""

    institution: str
    nquads: str
    dataset: str
    base: str
    summary: dict



def template_text(text: str, rec) -> tuple[str, str]:
    """A certified record's RDF with placeholders where each clone differs: @J@ (clone number) in
    the dataset's IRIs and skolem IRIs, @K@ the record key, @F@ the filing number, @R@ the result
    nodes' hash (bench/api.py clones the same way); and the base of the dataset's IRIs."""
    base = rec.dataset.rsplit("/", 1)[0] + "/"
    result_hash = hashlib.sha256(rec.dataset.encode()).hexdigest()[:24]
    from derivecert.catalog import GENID_BASE

    return (text.replace(base, base + "b/@J@/").replace(rec.key, "@K@").replace(rec.filing["number"], "@F@")
            .replace(GENID_BASE, GENID_BASE + "@J@-").replace(result_hash, "@R@")), base


def demo_submissions(engine, numbers):
    """Each certifiable demo description (examples/) certified once, with filing numbers from
    `numbers` (a Catalog): (its file, its bytes, the submission it files).  Both benches clone the
    ones that file exactly one record."""
    from derivecert.catalog import build_submission

    for path in sorted(p for p in (ROOT / "examples").glob("*/*.ttl") if "rejected" not in p.name):
        data = path.read_bytes()
        taken: set[str] = set()
        run = engine.certify(data, media_type="text/turtle",
                             filing_numbers=lambda: numbers.new_filing_number("DC", taken=taken))  # noqa: B023 (called in this iteration)
        yield path, data, build_submission(path.parent.name, run.description, run.result_graph,
                                           [r.to_dict() for r in run.results])


def templates() -> list[Template]:
    """Certify the demo descriptions once and keep what filing each one writes."""
    from derivecert.api.app import load_engine
    from derivecert.catalog import Catalog, EmbeddedStore, graph_iri
    from derivecert.settings import Settings

    out = []
    for _, _, sub in demo_submissions(load_engine(Settings()), Catalog(EmbeddedStore(None))):
        if len(sub.records) != 1:
            continue
        rec = sub.records[0]
        graph = graph_iri(sub.institution)
        lines = [f"{t.subject} {t.predicate} {t.object} <{graph}> ." for t in sub.all_triples()]
        text, base = template_text("\n".join(lines) + "\n", rec)
        out.append(Template(sub.institution, text, rec.dataset, base, rec.to_json()))
    return out


def clone(t: Template, j: int) -> str:
    from derivecert.catalog import dataset_key

    dataset = t.dataset.replace(t.base, t.base + f"b/{j}/")
    return (t.nquads.replace("@J@", str(j)).replace("@K@", dataset_key(dataset))
            .replace("@F@", f"DC-BENCH-{j:08d}").replace("@R@", hashlib.sha256(dataset.encode()).hexdigest()[:24]))


class CloneStream(io.RawIOBase):
    """Clones `start` to `stop` as one N-Quads stream, made as Oxigraph's bulk loader reads it
    (no text of the whole chunk held at once)."""

    def __init__(self, tpl: list[Template], start: int, stop: int) -> None:
        self.tpl, self.done, self.stop, self.pending = tpl, start, stop, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self.pending) < len(buffer) and self.done < self.stop:
            self.pending += clone(self.tpl[self.done % len(self.tpl)], self.done).encode()
            self.done += 1
            if self.done % 100_000 == 0:
                print(f"  {self.done} datasets read", file=sys.stderr, flush=True)
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size


def build(n: int, folder: Path) -> dict:
    """The store of n datasets and its index, written by the bulk writer; what it cost."""
    import pyoxigraph as ox

    from derivecert.catalog import Catalog, EmbeddedStore

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t = time.perf_counter()
    tpl = templates()
    certify_s = time.perf_counter() - t
    store = Catalog(EmbeddedStore(folder / "store", query_processes=0))
    t = time.perf_counter()
    # Calls of CHUNK datasets, not one stream for the whole store: one stream costs ≈ 20% less CPU
    # a dataset (2.55 against 3.04 ms at 20,000), but its compacted store is not what a store
    # grown by many writes becomes. pyoxigraph's RocksDB compresses no level but the ones below
    # the base level (`compression_per_level` starts kNoCompression:kNoCompression, dynamic level
    # sizes), and `optimize()` of one stream leaves every key uncompressed in one level: 43.7 kB a
    # dataset at 100,000 against 28.0 kB for the same quads loaded in calls (same layout).
    for start in range(0, n, CHUNK):
        chunk = CloneStream(tpl, start, min(n, start + CHUNK))
        store.backend.ox.bulk_load(io.BufferedReader(chunk, 1 << 20), format=ox.RdfFormat.N_QUADS)
    store.backend.flush()
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    store.backend.ox.optimize()  # the bulk loader's files compacted, as a store settles (−45% disk)
    optimize_s = time.perf_counter() - t
    t = time.perf_counter()
    store.rebuild_index()  # reads every record back, as a start without an index file would
    rebuild_s = time.perf_counter() - t
    assert store.count() == n, (store.count(), n)
    quads = len(store.backend.ox)
    store.close()
    meta = {"layout": LAYOUT, "datasets": n, "quads": quads, "templates": len(tpl), "certify_templates_s": round(certify_s, 1),
            "bulk_load_s": round(load_s, 1), "optimize_s": round(optimize_s, 1), "index_rebuild_s": round(rebuild_s, 1),
            "ingest_datasets_per_s": round(n / (load_s + rebuild_s))}
    (folder / "meta.json").write_text(json.dumps(meta))
    return meta


def serve(store_path: str, port: int) -> None:
    """A catalog node over the store (run in its own process by `measure`)."""
    import uvicorn

    from derivecert.api.app import create_app
    from derivecert.settings import Settings

    settings = Settings(store={"kind": "embedded", "path": store_path}, access={"reads_open": True},
                        limits={"sparql_concurrency": 1})
    uvicorn.run(create_app(settings, engine=False), host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: the facet values the benches' random searches filter on (bench/api.py uses them too)
FACET_CHOICES = {
    "scenario": ["AS-PH", "AS-RES", "AS-AI", "AS-ADMIN", "AS-EMERG"],
    "level": ["L1", "L2", "L3", "L4"],
    "technique": ["GT-AGG", "GT-DEID", "GT-FEAT", "GT-ANNO"],
    "institution": ["cdc-east", "city-hospital", "med-university", "health-platform"],
    "granularity": ["GR-IND", "GR-GRP", "GR-POP"],
    "verdict": ["certified", "conditional"],
}


def random_params(k: int, seed: int = 7) -> list[list[tuple[str, str]]]:
    rnd = random.Random(seed)
    out: list[list[tuple[str, str]]] = [[]]
    while len(out) < k:
        params = [(dim, v) for dim in rnd.sample(list(FACET_CHOICES), rnd.randint(0, 3))
                  for v in rnd.sample(FACET_CHOICES[dim], rnd.randint(1, 2))]
        out.append(params + [("offset", str(rnd.choice([0, 0, 20]))), ("limit", "20")])
    return out


#: words of the example titles and descriptions, zh and en, one with a facet (issue 15)
TEXT_QUERIES = [("influenza", {}), ("流感", {}), ("surveillance counts", {}), ("统计", {"scenario": ["AS-PH"]}),
                ("cohorts", {}), ("心电", {}), ("hospital admissions", {}), ("结核病", {})]


def wait_for_node(client, base: str, proc, started: float, *, limit_s: float) -> float:
    """Seconds from `started` until the node started as `proc` answers `/healthz` with 200."""
    import httpx

    while True:
        try:
            if client.get(f"{base}/healthz").status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.perf_counter() - started > limit_s:
            raise RuntimeError("the node did not start")
        time.sleep(0.02)


def timed_search(client, base: str, params=None) -> tuple[float, dict]:
    """One `GET /v1/datasets` through HTTP: milliseconds, and the answer."""
    t = time.perf_counter()
    r = client.get(f"{base}/v1/datasets", params=params)
    ms = (time.perf_counter() - t) * 1000
    assert r.status_code == 200, r.text
    return ms, r.json()


def cpu_s(pid: int | None = None) -> float:
    """CPU seconds so far of this process (no pid) or of process `pid` (user and system)."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int | str = "self") -> int:
    """The peak resident memory (VmHWM) of this process or of process `pid`, MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return round(int(status.split("VmHWM:")[1].split()[0]) / 1024)


def measure(folder: Path, searches: int, text_only: bool = False) -> dict:
    import httpx

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(folder / "store"), str(port)], env=env)
    out: dict = {}
    try:
        with httpx.Client(timeout=60, trust_env=False) as client:
            out["start_s"] = round(wait_for_node(client, base, proc, started, limit_s=600), 2)
            out["first_search_ms"] = round(timed_search(client, base)[0], 1)

            def search_ms(params) -> float:
                return timed_search(client, base, params)[0]

            text_params = [[("q", text)] + [(dim, v) for dim, values in filters.items() for v in values]
                           for text, filters in TEXT_QUERIES]

            def text_round(suffix: str) -> None:
                """Ranked text search with its facets, through HTTP: latency, and the node's CPU."""
                cpu = cpu_s(proc.pid)
                timed = [(search_ms(params), params[0][1]) for _ in range(max(1, searches // (5 * len(TEXT_QUERIES))))
                         for params in text_params]
                out[f"text_cpu_ms{suffix}"] = round((cpu_s(proc.pid) - cpu) * 1000 / len(timed), 2)
                ms = [t for t, _ in timed]
                out[f"text_slowest{suffix}"] = [max(timed)[1], round(max(timed)[0], 1)]
                out[f"text_p50_ms{suffix}"] = round(_pct(ms, 0.5), 2)
                out[f"text_p99_ms{suffix}"] = round(_pct(ms, 0.99), 2)

            # Two rounds: the first from the node's first seconds, while it builds its maps by key,
            # IRI form and filing number in the background (5.5 s at a million, holding the GIL in
            # turns with the searches); the second, "settled", once they are built.  Text only:
            # the text searches right after the start, then the facets, then the text settled.
            for suffix in ("", "_settled"):
                if text_only and not suffix:
                    text_round(suffix)
                ms = [search_ms(params) for params in random_params(searches)]
                out[f"facet_p50_ms{suffix}"] = round(_pct(ms, 0.5), 2)
                out[f"facet_p99_ms{suffix}"] = round(_pct(ms, 0.99), 2)
                if suffix or not text_only:
                    text_round(suffix)
        out["peak_rss_mb"] = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def index_only(n: int, searches: int) -> int:
    """The search index alone at n datasets, without a store (a store of a million takes hours
    to write on this machine): records cloned from the templates' summaries, then the index's
    build, file size, load time, memory and search time in this process."""
    import gc
    import tempfile

    from derivecert.catalog import RecordSummary, dataset_key
    from derivecert.catalog.index import FacetIndex
    from derivecert.catalog.indexfile import IndexFile

    tpl = templates()
    rnd = random.Random(11)
    gc.collect()
    rss0 = _rss_mb()
    t = time.perf_counter()
    records = []
    for j in range(n):
        summary = dict(tpl[j % len(tpl)].summary)
        summary["dataset"] = summary["dataset"].rsplit("/", 1)[0] + f"/b/{j}/ds"
        summary["key"] = dataset_key(summary["dataset"])
        summary["filing"] = dict(summary["filing"] or {}, number=f"DC-BENCH-{j:08d}")
        summary["institution"] = rnd.choice(["cdc-east", "city-hospital", "med-university", "health-platform"])
        records.append(RecordSummary.from_json(summary, text=f"dataset {j} cohort"))
    index = FacetIndex()
    index.add_many(records)
    del records
    gc.collect()
    build_s = time.perf_counter() - t
    rss_index = _rss_mb() - rss0
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as tmp:
        file = IndexFile(Path(tmp) / "store.index")
        t = time.perf_counter()
        file.save(index, "g")
        save_s = time.perf_counter() - t
        size = file.snapshot.stat().st_size
        del index
        # a fresh process, as a starting node: load, maps, memory, searches
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        child = subprocess.run([sys.executable, __file__, "--load-index", tmp, str(n), str(searches)],
                               env=env, capture_output=True, text=True, check=True)
    out = {"bench": "catalog-index", "datasets": n, "index_build_s": round(build_s, 1),
           "index_file_mb": round(size / 2**20), "index_save_s": round(save_s, 2), "index_rss_mb_built": round(rss_index)}
    out.update(json.loads(child.stdout.strip().splitlines()[-1]))
    print(json.dumps(out))
    return 0


def load_index(folder: str, n: int, searches: int) -> None:
    """In a fresh process: what a starting node pays for the index file (see `index_only`)."""
    from derivecert.catalog import SearchQuery
    from derivecert.catalog.indexfile import IndexFile

    rss0 = _rss_mb()
    t = time.perf_counter()
    loaded = IndexFile(Path(folder) / "store.index").open("g")
    load_s = time.perf_counter() - t
    assert loaded is not None and len(loaded) == n
    rss_loaded = _rss_mb() - rss0
    t = time.perf_counter()
    loaded.prepare()
    prepare_s = time.perf_counter() - t
    queries = []
    for params in random_params(searches):
        filters: dict[str, list[str]] = {}
        for k, v in params:
            if k not in ("offset", "limit"):
                filters.setdefault(k, []).append(v)
        queries.append(SearchQuery(filters=filters, offset=int(dict(params).get("offset", 0))))
    t = time.perf_counter()
    loaded.search(SearchQuery())
    first_ms = (time.perf_counter() - t) * 1000
    ms = []
    for q in queries:
        t = time.perf_counter()
        loaded.search(q)
        ms.append((time.perf_counter() - t) * 1000)
    print(json.dumps({"index_load_s": round(load_s, 2), "index_rss_mb_loaded": round(rss_loaded),
                      "index_prepare_s": round(prepare_s, 2), "index_rss_mb_prepared": round(_rss_mb() - rss0),
                      "first_search_ms": round(first_ms, 1),
                      "search_p50_ms": round(_pct(ms, 0.5), 2), "search_p99_ms": round(_pct(ms, 0.99), 2)}))


def main(n: int, searches: int = 400, rebuild: bool = False, text_only: bool = False) -> int:
    folder = ROOT / "var" / "bench" / f"catalog-{n}"
    meta_file = folder / "meta.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() and not rebuild else None
    if meta is None or meta.get("layout") != LAYOUT:
        print(f"building a store of {n} datasets in {folder} ...", file=sys.stderr, flush=True)
        meta = build(n, folder)
    else:
        print(f"reusing {folder} (built {meta})", file=sys.stderr, flush=True)
    from derivecert.catalog import Catalog, EmbeddedStore

    store = Catalog(EmbeddedStore(folder / "store", query_processes=0))
    store.ensure_index()  # an index file of an older format is rebuilt here, not in the timed start
    assert store.count() == n, (store.count(), n)
    store.close()
    report = {"bench": "catalog-scale", "datasets": n, "quads": meta["quads"],
              "bytes_per_dataset": round(_du(folder / "store") / n),
              "index_bytes_per_dataset": round(_du(folder / "store.index") / n),
              "text_index_mb": round(_du(folder / "store.text.sqlite") / 2**20),
              "bulk_load_s": meta["bulk_load_s"], "index_rebuild_s": meta["index_rebuild_s"]}
    report.update(measure(folder, searches, text_only))
    if text_only:
        print(json.dumps(report))
        return 0
    # baseline, same run: the same start without the index file (what every start did before it)
    index, aside = folder / "store.index", folder / "store.index.aside"
    shutil.rmtree(aside, ignore_errors=True)
    index.rename(aside)
    try:
        before = measure(folder, 1)
    finally:
        shutil.rmtree(index, ignore_errors=True)
        aside.rename(index)
    report["start_s_without_index_file"] = before["start_s"]
    report["start_speedup"] = round(before["start_s"] / report["start_s"], 1)
    report["ingest_datasets_per_s"] = meta["ingest_datasets_per_s"]
    print(json.dumps(report))
    return 0


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--serve":
    serve(sys.argv[2], int(sys.argv[3]))
if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--load-index":
    sys.path.insert(0, str(ROOT / "src"))
    load_index(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
