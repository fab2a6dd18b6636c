"""Benchmark of text search at scale (issue 15): the ranked FTS5 index against the substring scan
it replaced, on the search indexes alone (no store), in the same run.

    python bench/text.py --quick     # 20,000 records
    python bench/text.py             # 100,000 and 1,000,000 records

Records: the titles and descriptions of examples/ (zh and en) repeated, so that every word of the
queries matches 3-19% of the catalog: a worst case for a text index (real catalogs repeat less).
Prints, last, a JSON line with, per size: the text index's build time and file size, and p50 /
p95 of the ranked search with its facets (`text_p50_ms`) and of the substring scan (`before`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from derivecert.catalog import RecordSummary, SearchQuery  # noqa: E402
from derivecert.catalog.index import FacetIndex  # noqa: E402
from derivecert.catalog.text import TextIndex  # noqa: E402

QUERIES = [("influenza", {}), ("流感", {}), ("surveillance counts", {}), ("统计", {"scenario": ["AS-PH"]}),
           ("cohorts", {}), ("心电", {}), ("hospital admissions", {}), ("结核病", {})]


def records(n: int) -> list[RecordSummary]:
    texts = []
    for path in sorted((ROOT / "examples").glob("*/*.ttl")):
        text = path.read_text(encoding="utf-8")
        zh, en = re.findall(r'dct:title "([^"]+)"@zh', text), re.findall(r'dct:title [^;]*"([^"]+)"@en', text)
        desc = re.findall(r'dct:description "([^"]+)"@en', text)
        if zh and en:
            texts.append((zh[-1], en[-1], desc[-1] if desc else ""))
    rnd = random.Random(1)
    out = []
    for j in range(n):
        zh, en, desc = texts[j % len(texts)]
        out.append(RecordSummary(
            key=f"{rnd.getrandbits(64):016x}", dataset=f"https://bench.example.org/{j}", institution="bench",
            verdict="certified", modified=f"2026-01-01T00:{j // 60 % 60:02d}:{j % 60:02d}Z", issued="2026-01-01",
            title={"zh": zh, "en": en}, codes={"scenario": [rnd.choice(["AS-PH", "AS-RES", "AS-AI"])]},
            filing=None, text=f"{zh} {en} {desc}".casefold()))
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)


def bench(n: int, workdir: Path, rounds: int) -> dict:
    entries = records(n)
    index = FacetIndex()
    index.add_many(entries)
    path = workdir / f"text-{n}.sqlite"
    text = TextIndex(path)
    started = time.perf_counter()
    text.sync("bench", index)
    out: dict = {"records": n, "build_s": round(time.perf_counter() - started, 1),
                 "file_mb": round(path.stat().st_size / 2**20, 1)}
    ranked, before = [], []
    for _ in range(rounds):
        for words, filters in QUERIES:
            query = SearchQuery(filters=filters, text=words, sort="relevance")
            t = time.perf_counter()
            index.search(query, text=text.search(words))
            ranked.append((time.perf_counter() - t) * 1000)
            index._text_cache.clear()  # the scan's cache would answer a repeated query for free
            t = time.perf_counter()
            index.search(SearchQuery(filters=filters, text=words))
            before.append((time.perf_counter() - t) * 1000)
    text.close()
    out.update(text_p50_ms=pct(ranked, 0.5), text_p95_ms=pct(ranked, 0.95),
               before_p50_ms=pct(before, 0.5), before_p95_ms=pct(before, 0.95))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="*")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([20_000] if args.quick else [100_000, 1_000_000])
    report: dict = {"bench": "text", "sizes": []}
    with tempfile.TemporaryDirectory(prefix="derivecert-bench-text-") as tmp:
        for n in sizes:
            got = bench(n, Path(tmp), rounds=5 if n >= 500_000 else 10)
            print(got, file=sys.stderr, flush=True)
            report["sizes"].append(got)
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
