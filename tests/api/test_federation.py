"""Across institutions: two real `oxigraph serve` processes hold two other institutions'
catalogs; a third DeriveCert node runs in uvicorn.  SERVICE joins the three catalogs, the
federated search merges and marks origins, a peer down or silent gives a partial answer."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from derivecert.api.app import create_app
from derivecert.catalog import Catalog, EmbeddedStore, RemoteStore, build_submission

from .conftest import make_settings
from .fakes import fake_run
from .servers import Listener, OxigraphServer, free_port
from .test_api_read import is_problem

REGISTRY = "https://registry.example.org/national-cancer-registry"


def file_fake(store, institution, dataset, **kw):
    g, rg, results = fake_run(dataset, source=REGISTRY, **kw)
    store.replace(build_submission(institution, g, rg, results))


@pytest.fixture(scope="module")
def peers(tmp_path_factory):
    """Two oxigraph servers, each with one institution's catalog written by our RemoteStore."""
    north = OxigraphServer(tmp_path_factory.mktemp("north")).start()
    south = OxigraphServer(tmp_path_factory.mktemp("south")).start()
    try:
        for server, inst, ds, kw in [
            (north, "hospital-north", "https://north.example.org/ds/tumour-stage-stats",
             dict(title="Tumour stage statistics", scenario=("AS-PH",), filing="DC-20250101-NORTH001")),
            (south, "hospital-south", "https://south.example.org/ds/oncology-features",
             dict(title="Oncology cohort features", scenario=("AS-RES",), level="L3", grade="D2",
                  granularity="GR-IND", filing="DC-20250101-SOUTH001")),
        ]:
            s = Catalog(RemoteStore(server.query_url, server.update_url, server.gsp_url))
            file_fake(s, inst, ds, **kw)
            s.close()
        yield north, south
    finally:
        north.stop()
        south.stop()


class UvicornNode:
    """Another DeriveCert node in this process, on a free port."""

    def __init__(self, app):
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def west_node():
    store = Catalog(EmbeddedStore(None))
    file_fake(store, "hospital-west", "https://west.example.org/ds/pathology-ai-labels",
              title="Pathology AI labels", scenario=("AS-AI",), technique=("GT-ANNO",), filing="DC-20250101-WEST0001")
    settings = make_settings(node_name="West node")
    with UvicornNode(create_app(settings, engine=False, store=store)) as url:
        yield url
    store.close()


@pytest.fixture
def local_store(tmp_path):
    store = Catalog(EmbeddedStore(tmp_path / "local", query_processes=1))
    file_fake(store, "hospital-a", "https://hospital-a.example.org/ds/cancer-incidence",
              title="Cancer incidence by district", scenario=("AS-PH",), filing="DC-20250101-LOCAL001")
    yield store
    store.close()


def node(local_store, peers_config, **limits):
    settings = make_settings(peers=peers_config, limits={"federation_timeout_s": 2.0, **limits})
    return TestClient(create_app(settings, engine=False, store=local_store))


def test_service_joins_three_catalogs(local_store, peers):
    north, south = peers
    cfg = [{"name": "north", "url": north.query_url, "kind": "sparql"},
           {"name": "south", "url": south.query_url, "kind": "sparql"}]
    query = f"""PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX idx: <https://w3id.org/derivecert/index#>
SELECT ?src ?local ?localInst ?north ?northInst ?south ?southInst WHERE {{
  ?lr foaf:primaryTopic ?local ; idx:institution ?localInst . ?local prov:wasDerivedFrom ?src .
  SERVICE <{north.query_url}> {{ ?nr foaf:primaryTopic ?north ; idx:institution ?northInst . ?north prov:wasDerivedFrom ?src }}
  SERVICE <{south.query_url}> {{ ?sr foaf:primaryTopic ?south ; idx:institution ?southInst . ?south prov:wasDerivedFrom ?src }}
}}"""
    with node(local_store, cfg) as c:
        r = c.post("/sparql", data={"query": query})
        assert r.status_code == 200, r.text
        rows = r.json()["results"]["bindings"]
        assert len(rows) == 1
        row = {k: v["value"] for k, v in rows[0].items()}
        assert row["src"] == REGISTRY
        assert (row["localInst"], row["northInst"], row["southInst"]) == ("hospital-a", "hospital-north", "hospital-south")


def test_service_outside_the_allow_list_is_refused(local_store, peers):
    north, _ = peers
    listener = Listener()
    try:
        with node(local_store, [{"name": "north", "url": north.query_url, "kind": "sparql"}]) as c:
            q = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{listener.port}/query> {{ ?s ?p ?o }} }}"
            body = is_problem(c.get("/sparql", params={"query": q}), 400, "service-not-allowed")
            assert north.query_url in body["hint"]
            time.sleep(0.2)
            assert listener.connections == 0
    finally:
        listener.close()


def test_the_per_origin_count_of_issue_12_runs(local_store, peers):
    """UNION of a local part and a SERVICE part, with PREFIX and GROUP BY: valid SPARQL 1.1 that
    rdflib's parser refused; the engine's parser reads it, and it runs across the two nodes."""
    from .test_sparql_guard import PER_ORIGIN

    north, _ = peers
    with node(local_store, [{"name": "north", "url": north.query_url, "kind": "sparql"}]) as c:
        r = c.post("/sparql", data={"query": PER_ORIGIN.format(peer=north.query_url)})
        assert r.status_code == 200, r.text
        rows = {b["src"]["value"]: int(b["institutions"]["value"]) for b in r.json()["results"]["bindings"]}
        assert rows == {"local": 1, "peer": 1}
        # another spelling of the same endpoint (scheme case, a fragment) is the same peer
        variant = north.query_url.replace("http://", "HTTP://") + "#peer"
        r = c.post("/sparql", data={"query": PER_ORIGIN.format(peer=variant)})
        assert r.status_code == 200, r.text


def test_federated_search_over_sparql_peers_and_a_derivecert_node(local_store, peers, west_node):
    north, south = peers
    cfg = [{"name": "north", "url": north.query_url, "kind": "sparql"},
           {"name": "south", "url": south.query_url, "kind": "sparql"},
           {"name": "west", "url": west_node, "kind": "derivecert"}]
    with node(local_store, cfg) as c:
        local_only = c.get("/v1/datasets").json()
        assert local_only["total"] == 1 and "origins" not in local_only
        body = c.get("/v1/datasets", params={"federated": "true"}).json()
        assert body["total"] == 4 and body["partial"] is False and body["errors"] == [], body["errors"]
        origins = {i["origin"]: i for i in body["items"]}
        assert set(origins) == {"local", "north", "south", "west"}
        assert origins["west"]["links"]["self"].startswith(west_node + "/v1/datasets/")
        assert origins["local"]["links"]["self"].startswith("/v1/datasets/")
        inst = {v["code"]: v["count"] for v in body["facets"]["institution"]["values"]}
        assert inst == {"hospital-a": 1, "hospital-north": 1, "hospital-south": 1, "hospital-west": 1}
        scen = {v["code"]: v["count"] for v in body["facets"]["scenario"]["values"]}
        assert scen == {"AS-PH": 2, "AS-RES": 1, "AS-AI": 1}
        assert {o["name"]: o["total"] for o in body["origins"]} == {"local": 1, "north": 1, "south": 1, "west": 1}

        ph = c.get("/v1/datasets", params={"federated": "true", "scenario": "AS-PH"}).json()
        assert ph["total"] == 2 and {i["origin"] for i in ph["items"]} == {"local", "north"}
        text = c.get("/v1/datasets", params={"federated": "true", "q": "oncology"}).json()
        assert [i["origin"] for i in text["items"]] == ["south"]
        page = c.get("/v1/datasets", params={"federated": "true", "limit": 2, "offset": 2}).json()
        assert len(page["items"]) == 2 and page["total"] == 4


def test_a_peer_down_or_silent_gives_a_partial_answer(local_store, peers):
    north, _ = peers
    silent = Listener(hold=True)  # accepts connections, never answers
    dead_port = free_port()
    cfg = [{"name": "north", "url": north.query_url, "kind": "sparql"},
           {"name": "down", "url": f"http://127.0.0.1:{dead_port}", "kind": "derivecert"},
           {"name": "silent", "url": f"http://127.0.0.1:{silent.port}/query", "kind": "sparql", "timeout_s": 0.5}]
    try:
        with node(local_store, cfg) as c:
            started = time.monotonic()
            r = c.get("/v1/datasets", params={"federated": "true"})
            elapsed = time.monotonic() - started
            assert r.status_code == 200
            body = r.json()
            assert body["partial"] is True and body["total"] == 2
            errors = {e["peer"]: e for e in body["errors"]}
            assert set(errors) == {"down", "silent"}
            assert "unreachable" in errors["down"]["detail"] or "connect" in errors["down"]["detail"].lower()
            assert "0.5" in errors["silent"]["detail"]
            assert {o["name"]: o["ok"] for o in body["origins"]} == {"local": True, "north": True, "down": False, "silent": False}
            assert elapsed < 5
    finally:
        silent.close()


def test_a_peer_stopped_mid_session(tmp_path, local_store):
    server = OxigraphServer(tmp_path / "ephemeral").start()
    s = Catalog(RemoteStore(server.query_url, server.update_url, server.gsp_url))
    file_fake(s, "hospital-east", "https://east.example.org/ds/x", filing="DC-20250101-EAST0001")
    s.close()
    cfg = [{"name": "east", "url": server.query_url, "kind": "sparql"}]
    try:
        with node(local_store, cfg) as c:
            assert c.get("/v1/datasets", params={"federated": "true"}).json()["total"] == 2
            server.stop()
            body = c.get("/v1/datasets", params={"federated": "true"}).json()
            assert body["partial"] is True and body["total"] == 1 and body["errors"][0]["peer"] == "east"
            # a SERVICE to the allow-listed but stopped peer is an error answer, not a crash
            r = c.get("/sparql", params={"query": f"SELECT * WHERE {{ SERVICE <{server.query_url}> {{ ?s ?p ?o }} }}"})
            assert r.status_code in (400, 502, 503) and r.headers["content-type"].startswith("application/problem+json")
            r = c.get("/sparql", params={"query": f"SELECT * WHERE {{ SERVICE SILENT <{server.query_url}> {{ ?s ?p ?o }} }}"})
            assert r.status_code == 200
    finally:
        server.stop()


def test_derivecert_peer_forwarding_is_not_recursive(west_node):
    body = httpx.get(f"{west_node}/v1/datasets", params={"federated": "true"}, trust_env=False).json()
    assert body["total"] == 1  # the west node has no peers: only its own catalog


@pytest.fixture(scope="module")
def west_named_node():
    """A second DeriveCert node with the west node's dataset, whose institution it names."""
    store = Catalog(EmbeddedStore(None))
    file_fake(store, "hospital-west", "https://west.example.org/ds/pathology-ai-labels",
              title="Pathology AI labels", scenario=("AS-AI",), technique=("GT-ANNO",), filing="DC-20250101-WEST0002")
    settings = make_settings(node_name="West mirror", institutions=[
        {"id": "hospital-west", "name": {"zh": "西区医院", "en": "West District Hospital"}}])
    with UvicornNode(create_app(settings, engine=False, store=store)) as url:
        yield url
    store.close()


def test_a_dataset_reached_through_several_peers_is_one_hit_with_every_origin(local_store, peers, west_node, west_named_node):
    north, _ = peers
    cfg = [{"name": "north", "url": north.query_url, "kind": "sparql"},
           {"name": "north-mirror", "url": north.query_url, "kind": "sparql"},  # the same store, twice
           {"name": "west", "url": west_node, "kind": "derivecert"},
           {"name": "west-mirror", "url": west_named_node, "kind": "derivecert"}]
    with node(local_store, cfg) as c:
        body = c.get("/v1/datasets", params={"federated": "true"}).json()
        assert body["partial"] is False, body["errors"]
        by_dataset = {i["dataset"]: i for i in body["items"]}
        assert len(body["items"]) == len(by_dataset) == 3 and body["total"] == 3
        north_hit = by_dataset["https://north.example.org/ds/tumour-stage-stats"]
        assert [o["origin"] for o in north_hit["origins"]] == ["north", "north-mirror"]
        west_hit = by_dataset["https://west.example.org/ds/pathology-ai-labels"]
        assert west_hit["origin"] == "west"
        assert [o["origin"] for o in west_hit["origins"]] == ["west", "west-mirror"]
        assert west_hit["origins"][0]["links"]["self"].startswith(west_node + "/v1/datasets/")
        assert west_hit["origins"][1]["links"]["self"].startswith(west_named_node + "/v1/datasets/")
        # names as the nodes give them: the mirror names hospital-west, this node its own institutions
        assert west_hit["institution_name"] == {"zh": "西区医院", "en": "West District Hospital"}
        local_hit = by_dataset["https://hospital-a.example.org/ds/cancer-incidence"]
        assert local_hit["institution_name"] == {"zh": "甲医院", "en": "Hospital A"}
        assert local_hit["origins"] == [{"origin": "local", "institution": "hospital-a",
                                         "institution_name": {"zh": "甲医院", "en": "Hospital A"},
                                         "links": {"self": local_hit["links"]["self"]}}]
        # counted once in the facets too
        inst = {v["code"]: v["count"] for v in body["facets"]["institution"]["values"]}
        assert inst == {"hospital-a": 1, "hospital-north": 1, "hospital-west": 1}
        labels = {v["code"]: v["label"]["en"] for v in body["facets"]["institution"]["values"]}
        assert labels == {"hospital-a": "Hospital A", "hospital-north": "hospital-north",  # a bare store names none
                          "hospital-west": "West District Hospital"}
        scen = {v["code"]: v["count"] for v in body["facets"]["scenario"]["values"]}
        assert scen == {"AS-PH": 2, "AS-AI": 1}
        assert {o["name"]: o["total"] for o in body["origins"]} == {
            "local": 1, "north": 1, "north-mirror": 1, "west": 1, "west-mirror": 1}
        # the web page shows the name, and both origins
        page = c.get("/ui/datasets", params={"federated": "true", "lang": "en"}).text
        assert "West District Hospital" in page and "west-mirror" in page
