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
* CPU seconds (the machine is shared: wall-clock figures move with its load, CPU much less):
  `cpu_s` of the command and its certification workers, `command_cpu_s` of the command alone
  (filing, the store, unpickling the workers' results), `baseline_cpu_ms_per_dataset`;
* peak memory at each size: of the certification workers (`worker_private_mb`, their own pages:
  bounded by the batch) and of the command (`command_rss_mb`: the batches in flight and the
  store, whose write buffers are flushed after every batch); both flat as the input grows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            return int(f.read().split("VmRSS:")[1].split()[0]) / 1024
    except (OSError, IndexError):
        return 0.0


def _private_mb(pid: int) -> float:
    """Memory of a forked worker that is its own (not the pages it shares with its parent)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return sum(int(fields[k].split()[0]) for k in ("Private_Clean", "Private_Dirty")) / 1024
    except (OSError, KeyError, ValueError):
        return 0.0


def _cpu_s(pid: int) -> float:
    """CPU seconds of a process so far (all its threads, not its children)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children and theirs (a command and its workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _children(pid: int) -> list[int]:
    """Child processes of `pid`, whichever of its threads started them."""
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(x) for x in f.read().split())
    except OSError:
        pass
    return out


def run_load(files: Path, store: Path, batch_size: int) -> dict:
    """`derivecert load` in a new process: wall time, its summary line, and the peak RSS of the
    command (which holds the store) and the private memory of its largest certification worker
    (a forked worker's RSS also counts the pages it shares with the command), sampled from /proc."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DERIVECERT_")},
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "derivecert.cli", "load", str(files), "--institution", INSTITUTION,
                             "--store", str(store), "--batch-size", str(batch_size)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    command_mb = worker_mb = command_cpu = 0.0
    while proc.poll() is None:
        command_mb = max(command_mb, _rss_mb(proc.pid))
        command_cpu = max(command_cpu, _cpu_s(proc.pid))
        worker_mb = max([worker_mb, *(_private_mb(c) for c in _children(proc.pid))])
        time.sleep(0.2)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    lines = out.strip().splitlines()
    return {"exit": proc.returncode, "seconds": round(elapsed, 2), "cpu_s": round(_children_cpu() - cpu_before, 1),
            "command_cpu_s": round(command_cpu, 1), "command_rss_mb": round(command_mb, 1),
            "worker_private_mb": round(worker_mb, 1), "summary": lines[-1] if lines else err[-2000:]}


def baseline(files: list[Path], store_dir: Path) -> tuple[float, float]:
    """Datasets/s filing one file at a time, as a PUT each (engine warm, in process), and the
    CPU milliseconds a dataset."""
    from derivecert.api.app import load_engine
    from derivecert.catalog import Catalog, EmbeddedStore, file_submission
    from derivecert.settings import Settings

    engine = load_engine(Settings())
    store = Catalog(EmbeddedStore(store_dir, query_processes=0))
    try:
        filed = 0
        started, cpu = time.perf_counter(), time.process_time()
        for path in files:
            taken: set[str] = set()
            run = engine.certify(path.read_bytes(), media_type="text/turtle",
                                 filing_numbers=lambda: store.new_filing_number("DC", taken=taken))  # noqa: B023 (called in this iteration)
            filed += len(file_submission(store, INSTITUTION, run).datasets)
        return filed / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / max(filed, 1)
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
        per_s, cpu_ms = baseline(sorted((work / "baseline-files").iterdir()), work / "baseline-store")
        report["baseline_datasets_per_s"] = round(per_s, 1)
        report["baseline_cpu_ms_per_dataset"] = round(cpu_ms, 1)
        print(f"one by one: {per_s:.1f} datasets/s", file=sys.stderr, flush=True)
        for n in sizes:
            write_clones(work / f"files-{n}", n)
            got = run_load(work / f"files-{n}", work / f"store-{n}", args.batch_size)
            got["files"] = n
            got["load_datasets_per_s"] = round(n / got["seconds"], 1)
            got["speedup"] = round(got["load_datasets_per_s"] / per_s, 2)
            got["cpu_ms_per_file"] = round(got["cpu_s"] * 1000 / n, 1)
            got["command_cpu_ms_per_file"] = round(got["command_cpu_s"] * 1000 / n, 1)
            report["sizes"].append(got)
            print(f"load {n} files: {got}", file=sys.stderr, flush=True)
    largest = report["sizes"][-1]
    report["load_datasets_per_s"] = largest["load_datasets_per_s"]
    report["speedup_vs_one_by_one"] = largest["speedup"]
    report["load_cpu_ms_per_file"] = largest["cpu_ms_per_file"]
    report["command_cpu_ms_per_file"] = largest["command_cpu_ms_per_file"]
    report["worker_private_mb_by_files"] = {s["files"]: s["worker_private_mb"] for s in report["sizes"]}
    report["command_rss_mb_by_files"] = {s["files"]: s["command_rss_mb"] for s in report["sizes"]}
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
