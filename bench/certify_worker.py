"""What a bounded worker adds to one `POST /v1/certify`: the latency of a certification in a
forked, limited child process (derivecert.sandbox, the API's default) against the same call in
the API's own process (the fallback where fork is missing), over HTTP through the ASGI app.

Prints the median of each and their ratio; `--requests N` (default 40) per mode.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

DESCRIPTION = ROOT / "tests" / "api" / "data" / "pathology-nlp-certified.ttl"


def timings(client, body: bytes, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        resp = client.post("/v1/certify", content=body, headers={"Content-Type": "text/turtle"})
        out.append(time.perf_counter() - start)
        assert resp.status_code == 200, resp.text
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from derivecert.api import deps
    from derivecert.api.app import create_app, load_engine
    from derivecert.settings import Settings

    settings = Settings(store={"kind": "memory"})
    engine = load_engine(settings)
    body = DESCRIPTION.read_bytes()
    samples: dict[str, list[float]] = {"worker": [], "in_process": []}
    available = deps.sandbox.available
    with TestClient(create_app(settings, engine=engine)) as client:
        timings(client, body, 3)
        # interleaved, so that load from elsewhere on the machine weighs on both modes alike
        for _ in range(args.requests):
            samples["worker"] += timings(client, body, 1)
            deps.sandbox.available = lambda: False  # the in-process fallback
            try:
                samples["in_process"] += timings(client, body, 1)
            finally:
                deps.sandbox.available = available
    medians = {mode: statistics.median(values) for mode, values in samples.items()}
    row = {"requests": args.requests,
           "worker_ms": round(medians["worker"] * 1000, 1),
           "in_process_ms": round(medians["in_process"] * 1000, 1),
           "ratio": round(medians["worker"] / medians["in_process"], 2)}
    print(f"POST /v1/certify, median of {args.requests}: bounded worker {row['worker_ms']} ms, "
          f"in-process {row['in_process_ms']} ms, ratio {row['ratio']}x")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "certify_worker.json").write_text(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
