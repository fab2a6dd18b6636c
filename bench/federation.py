"""Benchmark of querying across institutions (issue 12): a federated SPARQL query and a federated
faceted search, each beside its local-only baseline measured in the same run.

    python bench/federation.py --quick      # < 1 min: 200 datasets per node
    python bench/federation.py              # 2,000 datasets per node

Two DeriveCert nodes on 127.0.0.1 (uvicorn, embedded on-disk stores with their query worker
processes, as `derivecert serve` runs them), each with N filed datasets of two institutions;
the first lists the second as a peer.  Figures (p50 / p95 ms over HTTP to the first node):
* SPARQL: the per-origin count (`{ local } UNION { SERVICE <peer> { ... } }`, GROUP BY) against
  the same count over the local catalog only, and the per-origin count with the counting inside
  the SERVICE (the peer answers two rows instead of N);
* search: `GET /v1/datasets?federated=true` against `GET /v1/datasets`.
The ratio federated / local is the figure to watch (the peer's round trip and the merge).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from derivecert.api.app import create_app  # noqa: E402
from derivecert.catalog import Catalog, EmbeddedStore, build_submission  # noqa: E402
from derivecert.settings import Settings  # noqa: E402
from tests.api.fakes import fake_run  # noqa: E402
from tests.api.servers import free_port  # noqa: E402

IDX = "https://w3id.org/derivecert/index#"
LOCAL = f"SELECT ?inst (COUNT(?r) AS ?n) WHERE {{ ?r <{IDX}institution> ?inst }} GROUP BY ?inst"
FEDERATED = """SELECT ?origin ?inst (COUNT(?r) AS ?n) WHERE {{
  {{ BIND("local" AS ?origin) ?r <{idx}institution> ?inst }}
  UNION {{ BIND("peer" AS ?origin) SERVICE <{peer}/sparql> {{ ?r <{idx}institution> ?inst }} }}
}} GROUP BY ?origin ?inst"""
# the same counts, each origin counting its own: the peer ships two rows, not N
PUSHED = """SELECT ?origin ?inst ?n WHERE {{
  {{ BIND("local" AS ?origin) {{ SELECT ?inst (COUNT(?r) AS ?n) WHERE {{ ?r <{idx}institution> ?inst }} GROUP BY ?inst }} }}
  UNION {{ BIND("peer" AS ?origin)
    SERVICE <{peer}/sparql> {{ SELECT ?inst (COUNT(?r) AS ?n) WHERE {{ ?r <{idx}institution> ?inst }} GROUP BY ?inst }} }}
}}"""


def fill(store: Catalog, institutions: tuple[str, str], n: int) -> None:
    for i in range(n):
        inst = institutions[i % 2]
        g, rg, results = fake_run(f"https://{inst}.example.org/ds/{i}", title=f"Dataset {i} of {inst}",
                                  filing=f"DC-20250101-{inst[:4].upper()}{i:04d}")
        store.replace(build_submission(inst, g, rg, results))


def node(store: Catalog, institutions: tuple[str, ...], peers: list[dict]):
    settings = Settings(node_name="bench", store={"kind": "embedded", "path": "unused"},
                        institutions=[{"id": i, "name": {"en": i}} for i in institutions],
                        access={"reads_open": True}, peers=peers,
                        limits={"sparql_timeout_s": 30, "sparql_concurrency": 2, "federation_timeout_s": 30})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine=False, store=store),
                                           host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def timed(call, reps: int) -> list[float]:
    call()  # warm: worker processes, analysis cache, connections
    out = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return sorted(out)


def summary(ms: list[float]) -> dict:
    return {"p50_ms": round(ms[len(ms) // 2], 2), "p95_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.95))], 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    n, reps = (200, 15) if args.quick else (2000, 40)
    with tempfile.TemporaryDirectory() as tmp:
        west = Catalog(EmbeddedStore(Path(tmp) / "west", query_processes=2))
        east = Catalog(EmbeddedStore(Path(tmp) / "east", query_processes=2))
        fill(west, ("hospital-w", "cdc-w"), n)
        fill(east, ("hospital-e", "cdc-e"), n)
        west_server, west_url = node(west, ("hospital-w", "cdc-w"), [])
        east_server, east_url = node(east, ("hospital-e", "cdc-e"),
                                     [{"name": "west", "url": west_url, "kind": "derivecert"}])
        client = httpx.Client(trust_env=False, timeout=60)

        def sparql(text: str):
            def call():
                r = client.post(east_url + "/sparql", data={"query": text}, headers={"Accept": "text/csv"})
                r.raise_for_status()
            return call

        def search(federated: bool):
            def call():
                r = client.get(east_url + "/v1/datasets", params={"federated": str(federated).lower(), "limit": 20})
                r.raise_for_status()
                assert r.json()["total"] == (2 * n if federated else n)
            return call

        rows = client.post(east_url + "/sparql", data={"query": FEDERATED.format(idx=IDX, peer=west_url)},
                           headers={"Accept": "text/csv"}).text.strip().splitlines()
        assert len(rows) == 5, rows  # the header, two local institutions and the peer's two
        local_q, fed_q = timed(sparql(LOCAL), reps), timed(sparql(FEDERATED.format(idx=IDX, peer=west_url)), reps)
        pushed_q = timed(sparql(PUSHED.format(idx=IDX, peer=west_url)), reps)
        local_s, fed_s = timed(search(False), reps), timed(search(True), reps)
        client.close()
        for server in (east_server, west_server):
            server.should_exit = True
        time.sleep(0.5)
        east.close()
        west.close()
    result = {
        "datasets_per_node": n,
        "sparql": {"local": summary(local_q), "federated": summary(fed_q),
                   "ratio_p50": round(summary(fed_q)["p50_ms"] / summary(local_q)["p50_ms"], 2),
                   "federated_counting_in_service": summary(pushed_q),
                   "ratio_counting_in_service_p50": round(summary(pushed_q)["p50_ms"] / summary(local_q)["p50_ms"], 2)},
        "search": {"local": summary(local_s), "federated": summary(fed_s),
                   "ratio_p50": round(summary(fed_s)["p50_ms"] / summary(local_s)["p50_ms"], 2)},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
