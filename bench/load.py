"""Benchmark of bulk loading (issue 15): `derivecert load` against filing one file at a time.

    python bench/load.py --quick     # a few minutes: 400 and 1,600 files, one-by-one baseline on 60 of them
    python bench/load.py             # 2,000 and 8,000 files

Data: the certifiable demo descriptions of examples/ cloned into N files (every IRI under
example.org moved to its own path per clone, so each file is a new submission).

Figures, in the same run:
* `baseline_datasets_per_s`: one file at a time, as `PUT /v1/institutions/{i}/datasets` does
  (engine.certify + file_submission, in process, engine warm);
* `load_datasets_per_s`: `derivecert load DIR --institution I` as a user runs it (a new process:
  its start-up, engine loading and the bounded workers included), and `speedup` over the baseline;
* `peak_rss_mb` of the load at each size (the largest process: the command or one of its workers):
  memory is bounded by the batch, so it stays flat as the input grows.
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
sys.path.insert(0, str(ROOT / "src"))

INSTITUTION = "bench-load"


def write_clones(folder: Path, n: int) -> None:
    sources = sorted(p for p in (ROOT / "examples").glob("*/*.ttl") if "rejected" not in p.name)
    texts = [p.read_text(encoding="utf-8") for p in sources]
    folder.mkdir(parents=True)
    for j in range(n):
        text = texts[j % len(texts)].replace("example.org/", f"example.org/c{j}/")
        (folder / f"{j:07d}-{sources[j % len(sources)].name}").write_text(text, encoding="utf-8")


def run_load(files: Path, store: Path, batch_size: int) -> dict:
    """`derivecert load` in a new process; wall time, its summary line and the peak RSS of the
    largest process it started (the command itself or a bounded worker)."""
    probe = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
             "print(p.stdout.strip().splitlines()[-1] if p.stdout.strip() else p.stderr[-2000:])")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DERIVECERT_")},
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "derivecert.cli", "load", str(files),
                           "--institution", INSTITUTION, "--store", str(store),
                           "--batch-size", str(batch_size)], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    head, _, tail = proc.stdout.partition("\n")
    code, rss_kb = (int(x) for x in head.split())
    return {"exit": code, "seconds": round(elapsed, 2), "peak_rss_mb": round(rss_kb / 1024, 1), "summary": tail.strip()}


def baseline(files: list[Path], store_dir: Path) -> float:
    """Datasets/s filing one file at a time, as a PUT each (engine warm, in process)."""
    from derivecert.api.app import load_engine
    from derivecert.catalog import EmbeddedStore, file_submission
    from derivecert.settings import Settings

    engine = load_engine(Settings())
    store = EmbeddedStore(store_dir, query_processes=0)
    try:
        filed = 0
        started = time.perf_counter()
        for path in files:
            taken: set[str] = set()
            run = engine.certify(path.read_bytes(), media_type="text/turtle",
                                 filing_numbers=lambda: store.new_filing_number("DC", taken=taken))  # noqa: B023 (called in this iteration)
            filed += len(file_submission(store, INSTITUTION, run).datasets)
        return filed / (time.perf_counter() - started)
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="400 and 1,600 files")
    ap.add_argument("--batch-size", type=int, default=50,
                    help="derivecert load --batch-size (small, so both sizes hold many batches)")
    ap.add_argument("--sizes", type=int, nargs="*", help="file counts (default 2000 8000)")
    ap.add_argument("--baseline-files", type=int, default=None, help="files filed one by one for the baseline")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([400, 1600] if args.quick else [2000, 8000])
    k = args.baseline_files or (60 if args.quick else 300)
    report: dict = {"bench": "load", "quick": args.quick, "cores": os.cpu_count(), "batch_size": args.batch_size,
                    "sizes": []}
    with tempfile.TemporaryDirectory(prefix="derivecert-bench-load-") as tmp:
        work = Path(tmp)
        write_clones(work / "baseline-files", k)
        per_s = baseline(sorted((work / "baseline-files").iterdir()), work / "baseline-store")
        report["baseline_datasets_per_s"] = round(per_s, 1)
        print(f"one by one: {per_s:.1f} datasets/s", file=sys.stderr, flush=True)
        for n in sizes:
            write_clones(work / f"files-{n}", n)
            got = run_load(work / f"files-{n}", work / f"store-{n}", args.batch_size)
            got["files"] = n
            got["load_datasets_per_s"] = round(n / got["seconds"], 1)
            got["speedup"] = round(got["load_datasets_per_s"] / per_s, 2)
            report["sizes"].append(got)
            print(f"load {n} files: {got}", file=sys.stderr, flush=True)
    largest = report["sizes"][-1]
    report["load_datasets_per_s"] = largest["load_datasets_per_s"]
    report["speedup_vs_one_by_one"] = largest["speedup"]
    report["peak_rss_mb_by_files"] = {s["files"]: s["peak_rss_mb"] for s in report["sizes"]}
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
