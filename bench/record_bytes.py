"""Where a dataset's bytes go (issue 15, lean records): `python bench/record_bytes.py --datasets N`.

The demo descriptions are certified once and each filed submission cloned N times (as
bench/catalog_scale.py clones them), written by one call of Oxigraph's bulk loader into a fresh
store; its folder's size over N is bytes_per_dataset.  Then the same store is built once without
each kind of quad (description, result nodes, filing record, ledger, catalog record ...): what
that saves is what the kind costs.  With `--baseline TREE` (a checkout of an earlier version, e.g.
`git worktree add /tmp/base main`), the earlier layout is measured the same way in the same run:
its templates are made by its own code, in a process of its own.

Why one call: Oxigraph (pyoxigraph 0.5.13, settings not exposed) writes the bulk loader's files
compressed (LZ4), and a large store's compactions keep them so, but a compaction of a small store
(under `max_bytes_for_level_base`, 512 MB a column family: a few thousand datasets) writes its one
level uncompressed (RocksDB's `compression_per_level` counts from the base level), ≈ 1.8 times as
large.  One load of N ≤ 3,000 datasets is one file a column family, never compacted: the state a
store of 100,000 reaches after `optimize()` (bench/catalog_scale.py: 33.8 kB a dataset there,
32.5 kB here at 3,000, before lean records).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

IDX = "<https://w3id.org/derivecert/index#"
BASE = "<https://w3id.org/derivecert/"
#: the catalog record's facet properties (all before issue 15's lean records; the institution and
#: the filing number since)
FACETS = {"scenario", "technique", "level", "grade", "granularity", "category", "modality", "special",
          "depth", "verdict", "institution", "filingNumber", "validUntil"}


def kind(line: str) -> str:
    """What a line of a clone's N-Quads is."""
    s, p, _ = line.split(" ", 2)
    if line.rsplit(" ", 2)[-2].endswith("/_filings>"):
        return "ledger copy of the filing"
    if s.startswith(BASE + "record/"):
        name = p[len(IDX):-1] if p.startswith(IDX) else ""
        if name in ("part", "owned"):
            return "record: ownership (idx:part, idx:owned)"
        if name in ("summary", "result", "text"):
            return f"record: idx:{name}"
        if name in FACETS:
            return "record: facet properties"
        return "record: type, topic, dates, key, titles"
    if s.startswith(BASE + "filing/"):
        return "filing record"
    if s.startswith(BASE + "result/"):
        return "result nodes"
    return "description as filed"


def template_lines(tree: Path) -> list[str]:
    """The templates' N-Quads as the code of `tree` writes them (its own process)."""
    code = ("import json, sys; sys.path.insert(0, 'bench'); import catalog_scale as cs; "
            "print(json.dumps([[t.nquads, t.dataset, t.base, t.institution] for t in cs.templates()]))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree / "src"), str(tree)])}
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(templates: list, n: int, drop: str | None, folder: Path) -> tuple[int, float]:
    """A store of n clones without the quads of kind `drop`: its size and quads a dataset."""
    import pyoxigraph as ox
    from catalog_scale import Template, clone

    shutil.rmtree(folder, ignore_errors=True)
    store = ox.Store(str(folder))
    tpl = [Template(inst, text, ds, base, {}) for text, ds, base, inst in templates]
    lines = "".join(clone(tpl[j % len(tpl)], j) for j in range(n)).splitlines()
    store.bulk_load(("\n".join(line for line in lines if drop is None or kind(line) != drop) + "\n").encode(),
                    format=ox.RdfFormat.N_QUADS)
    store.flush()
    quads = len(store)
    del store
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder, ignore_errors=True)
    return size, quads / n


def measure(name: str, templates: list, n: int, workdir: Path) -> dict:
    counts: dict[str, int] = {}
    for text, *_ in templates:
        for line in text.splitlines():
            counts[kind(line)] = counts.get(kind(line), 0) + 1
    total, quads = build(templates, n, None, workdir / "store")
    report: dict = {"layout": name, "datasets": n, "bytes_per_dataset": round(total / n),
                    "quads_per_dataset": round(quads, 1), "kinds": {}}
    for k in sorted(counts, key=lambda k: -counts[k]):
        size, _ = build(templates, n, k, workdir / "store")
        report["kinds"][k] = {"quads": round(counts[k] / len(templates), 1), "bytes": round((total - size) / n)}
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", type=int, default=3000, help="at most about 3,000 (see above)")
    ap.add_argument("--baseline", type=Path, help="a checkout of the earlier layout, measured in the same run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT / "var" if (ROOT / "var").is_dir() else None) as tmp:
        layouts = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [("this", ROOT)]
        for name, tree in layouts:
            print(json.dumps(measure(name, template_lines(tree), args.datasets, Path(tmp)), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
