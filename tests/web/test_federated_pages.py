"""The catalog and SPARQL pages across nodes: a peer DeriveCert node (uvicorn on 127.0.0.1)
holds one institution's catalog; the pages offer and show it."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from derivecert.api.app import create_app
from api.conftest import make_settings
from api.test_federation import UvicornNode, file_fake
from derivecert.catalog import Catalog, EmbeddedStore


@pytest.fixture(scope="module")
def peer_url():
    store = Catalog(EmbeddedStore(None))
    file_fake(store, "hospital-west", "https://west.example.org/ds/pathology-ai-labels",
              title="Pathology AI labels", scenario=("AS-AI",), technique=("GT-ANNO",), filing="DC-20250101-WEST0001")
    with UvicornNode(create_app(make_settings(node_name="West"), engine=False, store=store)) as url:
        yield url
    store.close()


@pytest.fixture
def client(peer_url):
    app = create_app(make_settings(peers=[{"name": "west", "url": peer_url}]), engine=False)
    with TestClient(app) as c:
        c.cookies.set("derivecert-lang", "en")
        yield c


def test_the_catalog_offers_peers_and_marks_their_datasets(client):
    assert 'name="federated"' in client.get("/ui/datasets").text
    page = client.get("/ui/datasets", params={"federated": "true"}).text
    assert 'data-origin="west"' in page and "Pathology AI labels" in page
    assert "https://west.example.org/ds/pathology-ai-labels" in page


def test_the_sparql_page_has_a_service_example_per_peer_and_runs_it(client, peer_url):
    page = client.get("/ui/sparql", params={"example": "peer-west"}).text
    assert f"SERVICE &lt;{peer_url}/sparql&gt;" in page
    query = html.unescape(re.search(r'<textarea id="query"[^>]*>(.*?)</textarea>', page, re.S).group(1))
    r = client.post("/ui/sparql", data={"query": query})
    assert r.status_code == 200 and 'data-form="select"' in r.text
    assert "https://west.example.org/ds/pathology-ai-labels" in r.text
