"""`derivecert serve` end to end: a real process seeds an empty store from examples/ and serves."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .servers import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("need_engine")


def test_serve_seeds_the_demo_catalog_and_answers(tmp_path):
    port = free_port()
    code = "import sys; from derivecert.api.app import serve; serve(sys.argv[1], int(sys.argv[2]), *sys.argv[3:])"
    args = ["127.0.0.1", str(port), str(tmp_path / "store"), str(ROOT / "examples" / "derivecert.toml"),
            str(ROOT / "examples")]
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"serve exited: {proc.stdout.read()}")
            try:
                if httpx.get(base + "/healthz", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        health = httpx.get(base + "/healthz", trust_env=False).json()
        assert health["store"] == "embedded" and health["datasets"] >= 25
        search = httpx.get(base + "/v1/datasets", params={"institution": "cdc-east"}, trust_env=False).json()
        assert search["total"] >= 6
        insts = {v["code"] for v in httpx.get(base + "/v1/datasets", trust_env=False).json()["facets"]["institution"]["values"]}
        assert insts == {"cdc-east", "city-hospital", "med-university", "health-platform"}
        q = "SELECT (COUNT(*) AS ?n) WHERE { ?r a <http://www.w3.org/ns/dcat#CatalogRecord> }"
        n = httpx.get(base + "/sparql", params={"query": q}, trust_env=False).json()["results"]["bindings"][0]["n"]["value"]
        assert int(n) == health["datasets"]
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=10)
    assert f"{base}/docs" in out and f"{base}/sparql" in out
