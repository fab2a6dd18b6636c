"""Issue 8 as an attacker tried it, against a real `derivecert serve` seeded with examples/.

Each hostile request gets its 4xx (or 503) problem naming the limit that refused it, nothing is
stored, and the server answers `/healthz` within a second afterwards (and, for the slow cases,
while the work is under way).  A listener on 127.0.0.1 stands for every host a request tries to
make the server reach: it must never receive a connection.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from hostile import CERTIFIED, DERIVED, billion_laughs, blank_node_clique, deep_jsonld, many_datasets

from .servers import Listener, free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "demo-token-city-hospital"  # the public demo token of examples/derivecert.toml
LIMITS = """
[limits]
max_body_bytes = 2000000
sparql_timeout_s = 10
canonicalise_timeout_s = 1
certify_timeout_s = 30
sparql_parse_timeout_s = 1
sparql_memory_mb = 256
max_query_bytes = 150000
"""

pytestmark = pytest.mark.usefixtures("need_engine")


@pytest.fixture(scope="module")
def listener():
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`derivecert serve` on 127.0.0.1, seeded with examples/, with short limits for the tests."""
    tmp = tmp_path_factory.mktemp("hostile")
    settings = (ROOT / "examples" / "derivecert.toml").read_text(encoding="utf-8")
    settings = re.sub(r"\[store\].*?(?=\n\[)", "", settings, flags=re.S)
    settings = re.sub(r"\[limits\].*?(?=\n\[)", LIMITS, settings, flags=re.S)
    config = tmp / "derivecert.toml"
    config.write_text(settings, encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "serve.log"  # a file, not a pipe: a full pipe would block the server's logging
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "derivecert.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--store", str(tmp / "store"), "--config", str(config), "--seed", str(ROOT / "examples")],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"serve exited: {log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("serve did not answer in time")
            time.sleep(0.2)
        with httpx.Client(base_url=base, trust_env=False, timeout=60) as client:
            client.process = proc
            yield client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def datasets_filed(server) -> int:
    return server.get("/healthz").json()["datasets"]


def assert_healthy(server):
    """The server is alive and answers /healthz within a second."""
    assert server.process.poll() is None, "the server process died"
    assert server.get("/healthz", timeout=1.0).status_code == 200


def assert_problem(resp, status: int, code: str, limit: str | None = None):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code and body["detail"] and body.get("hint"), body
    assert "Traceback" not in resp.text
    if limit:
        assert body["limit"] == limit and f"limits.{limit}" in body["detail"], body
    return body


def certify(server, data: bytes, content_type: str | None = "text/turtle", endpoint: str = "certify", **headers):
    if content_type:
        headers["Content-Type"] = content_type
    return server.post(f"/v1/{endpoint}", content=data, headers=headers)


ENDPOINTS = pytest.mark.parametrize("endpoint", ["certify", "classify", "validate"])


# -- 3. one request must not kill or freeze the service -------------------------------------


@ENDPOINTS
def test_xml_entities_are_refused_before_parsing(server, endpoint):
    resp = certify(server, billion_laughs(), "application/rdf+xml", endpoint)
    body = assert_problem(resp, 422, "unsafe-input")
    assert "DOCTYPE" in body["detail"]
    assert_healthy(server)


@ENDPOINTS
@pytest.mark.parametrize("content_type", ["application/ld+json", None], ids=["declared", "sniffed"])
def test_deeply_nested_jsonld_is_refused_before_the_parser_sees_it(server, content_type, endpoint):
    resp = certify(server, deep_jsonld(3500), content_type, endpoint)
    assert_problem(resp, 422, "unsafe-input", limit="max_jsonld_depth")
    assert_healthy(server)


def test_a_blank_node_clique_is_too_ambiguous_to_canonicalise_and_nothing_freezes(server):
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(certify, server, blank_node_clique(10))
        time.sleep(0.3)  # the digest is under way in a worker: every endpoint still answers
        assert_healthy(server)
        resp = pending.result()
    body = assert_problem(resp, 422, "too-ambiguous-to-canonicalise", limit="canonicalise_timeout_s")
    assert DERIVED in body["detail"]
    assert_healthy(server)


def test_a_small_clique_still_certifies(server):
    resp = certify(server, blank_node_clique(4))
    assert resp.status_code == 200, resp.text
    verdicts = {r["dataset"]: r["verdict"] for r in resp.json()["results"]}
    assert verdicts[DERIVED] == "certified"


@ENDPOINTS
def test_too_many_datasets_are_refused_while_parsing(server, endpoint):
    resp = certify(server, many_datasets(14_525), endpoint=endpoint)
    assert_problem(resp, 413, "input-too-large", limit="max_datasets")
    assert_healthy(server)


@pytest.mark.parametrize("payload, status, code", [
    (billion_laughs(), 422, "unsafe-input"),
    (blank_node_clique(10), 422, "too-ambiguous-to-canonicalise"),
    (many_datasets(600), 413, "input-too-large"),
], ids=["xml-entities", "clique", "many-datasets"])
def test_hostile_submissions_store_nothing(server, payload, status, code):
    before = datasets_filed(server)
    content_type = "application/rdf+xml" if payload.startswith(b"<?xml") else "text/turtle"
    resp = server.put("/v1/institutions/city-hospital/datasets", content=payload,
                      headers={"Content-Type": content_type, "Authorization": f"Bearer {TOKEN}"})
    assert_problem(resp, status, code)
    assert datasets_filed(server) == before
    assert_healthy(server)


# -- 4. SPARQL analysis off the event loop, with its own size and time limits -----------------


def _slow_query(kilobytes: int) -> str:
    """A long disjunction: rdflib's parser takes ~0.14 s per kilobyte of it."""
    return "SELECT * WHERE { ?s ?p ?o FILTER(" + " || ".join(f"?o = {i}" for i in range(kilobytes * 1024 // 14)) + ") }"


def test_a_query_too_slow_to_analyse_is_refused_and_the_loop_stays_free(server):
    query = _slow_query(30)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(server.post, "/sparql", content=query.encode(),
                              headers={"Content-Type": "application/sparql-query"})
        time.sleep(0.3)
        assert_healthy(server)
        resp = pending.result()
    assert_problem(resp, 400, "invalid-query", limit="sparql_parse_timeout_s")
    assert_healthy(server)


def test_a_query_over_the_size_limit_is_refused_unread(server):
    resp = server.post("/sparql", content=_slow_query(200).encode(),
                       headers={"Content-Type": "application/sparql-query"})
    assert_problem(resp, 413, "query-too-large", limit="max_query_bytes")


# -- 5. SPARQL workers have a memory limit --------------------------------------------------

CARTESIAN = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i"
DOUBLING = ("SELECT ?s WHERE { BIND(\"0123456789abcdef\" AS ?s0) "
            + " ".join(f"BIND(CONCAT(?s{i}, ?s{i}) AS ?s{i + 1})" for i in range(40))
            + " BIND(STRLEN(?s40) AS ?s) }")


@pytest.mark.parametrize("query", [CARTESIAN, DOUBLING], ids=["order-by-cartesian-product", "string-doubling"])
def test_a_query_past_the_worker_memory_limit_is_refused_naming_it(server, query):
    resp = server.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert resp.status_code == 400, resp.text
    assert "limits.sparql_memory_mb" in resp.json()["detail"]
    assert_healthy(server)
    ok = server.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "application/sparql-results+json"})
    assert ok.status_code == 200 and ok.json()["boolean"] is True, ok.text  # the worker was replaced


# -- medium: Content-Encoding, charset, FROM --------------------------------------------------


def _verdicts(resp) -> dict:
    assert resp.status_code == 200, resp.text
    return {r["dataset"]: r["verdict"] for r in resp.json()["results"]}


def test_gzip_and_deflate_bodies_are_decompressed(server):
    plain = _verdicts(certify(server, CERTIFIED.read_bytes()))
    assert _verdicts(certify(server, gzip.compress(CERTIFIED.read_bytes()), **{"Content-Encoding": "gzip"})) == plain
    assert _verdicts(certify(server, zlib.compress(CERTIFIED.read_bytes()), **{"Content-Encoding": "deflate"})) == plain


def test_a_compression_bomb_is_refused_at_the_body_limit(server):
    bomb = gzip.compress(b"#" * 50_000_000)  # 50 MB of comment in ~50 KB
    assert len(bomb) < 100_000
    resp = certify(server, bomb, **{"Content-Encoding": "gzip"})
    body = assert_problem(resp, 413, "input-too-large", limit="max_body_bytes")
    assert "decompressed" in body["detail"]
    assert_healthy(server)


def test_unsupported_or_broken_content_encodings_are_refused(server):
    assert_problem(certify(server, b"...", **{"Content-Encoding": "br"}), 415, "unsupported-content-encoding")
    assert_problem(certify(server, b"not gzip", **{"Content-Encoding": "gzip"}), 400, "invalid-content-encoding")


def test_a_utf16_body_is_read_in_its_declared_charset(server):
    text = CERTIFIED.read_text(encoding="utf-8")
    assert _verdicts(certify(server, text.encode("utf-16"), "text/turtle; charset=utf-16")) == \
        _verdicts(certify(server, text.encode("utf-8")))
    assert_problem(certify(server, b"x", "text/turtle; charset=no-such-charset"), 415, "unsupported-charset")


def test_from_names_the_default_graph(server):
    count = "SELECT (COUNT(DISTINCT ?r) AS ?n) {from} WHERE {{ ?r a <http://www.w3.org/ns/dcat#CatalogRecord> }}"

    def n(query):
        resp = server.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
        assert resp.status_code == 200, resp.text
        return int(resp.json()["results"]["bindings"][0]["n"]["value"])

    everything = n(count.format(**{"from": ""}))
    cdc = n(count.format(**{"from": "FROM <https://w3id.org/derivecert/graph/cdc-east>"}))
    cdc_search = server.get("/v1/datasets", params={"institution": "cdc-east"}).json()["total"]
    assert 0 < cdc == cdc_search < everything


# -- what stays true: no outbound connection ------------------------------------------------


def test_no_service_variant_or_update_transport_reaches_another_host(server, listener):
    target = f"http://127.0.0.1:{listener.port}/sparql"
    queries = [
        f"SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{target}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ BIND(<{target}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }} }} }}",
        f"ASK {{ FILTER EXISTS {{ SERVICE <{target}> {{ ?s ?p ?o }} }} }}",
        f"PREFIX p: <http://127.0.0.1:{listener.port}/> SELECT * WHERE {{ OPTIONAL {{ SERVICE p:sparql {{ ?s ?p ?o }} }} }}",
    ]
    updates = [f"LOAD <{target}>", f"LOAD SILENT <{target}> INTO GRAPH <urn:g>", "CLEAR ALL", "DROP ALL",
               f"INSERT DATA {{ <{target}> <urn:p> 1 }}"]
    for q in queries:
        assert server.get("/sparql", params={"query": q}).status_code in (400, 403), q
    for u in updates:
        assert server.get("/sparql", params={"update": u}).status_code == 403
        assert server.post("/sparql", content=u.encode(), headers={"Content-Type": "application/sparql-update"}).status_code == 403
        assert server.post("/sparql", data={"update": u}).status_code == 403
        assert server.get("/sparql", params={"query": u}).status_code == 403
    context = f'{{"@context": "{target}", "@id": "https://example.org/ds", "@type": "http://www.w3.org/ns/dcat#Dataset"}}'
    assert certify(server, context.encode(), "application/ld+json").status_code in (400, 422)
    time.sleep(0.3)
    assert listener.connections == 0
    assert_healthy(server)


def test_the_server_stays_small_after_the_hostile_suite(server):
    """Runs after every hostile request above (same module, file order): the server process that
    received them all still answers, and its resident memory stays bounded, because each bad
    request cost a worker process, never the server (its workers are separate processes)."""
    assert_healthy(server)
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    rss_mb = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024
    peak_mb = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
    print(f"server after the hostile suite: RSS {rss_mb:.0f} MB, peak {peak_mb:.0f} MB")
    assert peak_mb < 1024, f"the server itself grew to {peak_mb:.0f} MB: some hostile work ran in it"


# -- the worker's own limits, on the ASGI app with tighter settings ---------------------------


def _app_client(**limits):
    """The app with its own engine: the input limits are the engine's, set when it loads."""
    from fastapi.testclient import TestClient

    from derivecert.api.app import create_app, load_engine

    from .conftest import make_settings

    settings = make_settings(limits=limits)
    return TestClient(create_app(settings, engine=load_engine(settings)))


def test_a_certification_past_the_worker_memory_limit_is_refused_naming_it():
    # a native allocation that fails may hang its worker instead of aborting it: the deadline
    # ends it, and the refusal still names the memory limit it ran into
    with _app_client(certify_memory_mb=320, certify_timeout_s=20, max_datasets=100_000, max_triples=1_000_000) as client:
        resp = certify(client, many_datasets(14_525))
        assert_problem(resp, 422, "resource-limit", limit="certify_memory_mb")
        assert client.get("/healthz").status_code == 200
        assert _verdicts(certify(client, CERTIFIED.read_bytes()))[DERIVED] == "certified"


def test_a_certification_past_the_time_limit_is_stopped_naming_it():
    with _app_client(certify_timeout_s=0.1) as client:
        resp = certify(client, many_datasets(400))  # ~0.5 s of work
        assert_problem(resp, 503, "work-timeout", limit="certify_timeout_s")
        assert client.get("/healthz").status_code == 200


def test_certifications_are_served_by_bounded_workers_forked_at_startup():
    # a request pays no fork: the node forks `certify_concurrency` workers once it is warm, and
    # each serves certification after certification within the same limits
    with _app_client(certify_concurrency=2) as client:
        pool = client.app.state.services.engine_pool
        started = {process.pid for _, process in pool._idle}
        assert len(started) == 2 and os.getpid() not in started
        for _ in range(3):
            assert _verdicts(certify(client, CERTIFIED.read_bytes()))[DERIVED] == "certified"
        assert {process.pid for _, process in pool._idle} <= started
