"""Documentation of the model at its IRIs (issue 11): the pages generated from the Turtle hold
every term and every requirement, a node answers the paths the w3id.org redirect rules
(docs/w3id/.htaccess) send the namespace and the shapes' links to, with content negotiation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.namespace import RDFS

from derivecert.api.app import create_app
from derivecert.docs_gen import terms
from derivecert.resources import ontology_graph, shapes_source_graph
from derivecert.catalog import Catalog, EmbeddedStore

from .conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
HTACCESS = ROOT / "docs" / "w3id" / ".htaccess"
DEPLOYMENT = "https://derivecert.example.org"
DCERT = "https://w3id.org/derivecert#"
REQUIREMENT = URIRef(DCERT + "requirement")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#: a request path under w3id.org/derivecert/ for each rule's pattern
SAMPLES = {"^$": "", "^[0-9]+\\.[0-9]+\\.[0-9]+$": "0.1.0", "^docs/(ontology|requirements)$": "docs/requirements",
           "^context\\.jsonld$": "context.jsonld", "^shapes$": "shapes", "^filing/([A-Za-z0-9-]+)$": "filing/DC-20261201-NONE"}


@pytest.fixture(scope="module")
def client():
    store = Catalog(EmbeddedStore(None, query_processes=1))
    with TestClient(create_app(make_settings(), engine=False, store=store)) as c:
        yield c
    store.close()


def anchors(text: str) -> set[str]:
    return set(re.findall(r'id="([^"]+)"', text))


def test_every_term_has_its_section_in_the_ontology_page(client):
    resp = client.get("/docs/ontology")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    found = terms(ontology_graph())
    every = [t for kind in found.values() for t in kind]
    assert len(every) > 200
    assert {str(t)[len(DCERT):] for t in every} <= anchors(resp.text)


def test_every_requirement_and_shape_has_its_row_in_the_requirements_page(client):
    text = client.get("/docs/requirements").text
    shapes = shapes_source_graph()
    ids = {str(r) for r in shapes.objects(None, REQUIREMENT) if re.fullmatch(r"[PQSR]-\d\d", str(r))}
    named = {str(s)[len(DCERT):] for s in shapes.subjects(REQUIREMENT, None) if isinstance(s, URIRef)}
    assert len(ids) == 31
    assert ids | named <= anchors(text)
    assert "invalid/S-03-d3-k-below-threshold.ttl" in text     # fixtures from the checkout
    assert "P-05-DataUseEthicsApprovalShape" in text


def test_the_shapes_links_land_on_anchors_of_the_requirements_page(client):
    text = client.get("/docs/requirements").text
    links = {str(o) for o in shapes_source_graph().objects(None, RDFS.seeAlso)
             if str(o).startswith("https://w3id.org/derivecert/docs/requirements#")}
    assert len(links) == 31
    assert {link.split("#", 1)[1] for link in links} <= anchors(text)


def rules() -> list[tuple[list[str], str, str]]:
    """(Accept conditions, pattern, target) of each RewriteRule of the w3id file."""
    out, conditions = [], []
    for line in HTACCESS.read_text(encoding="utf-8").splitlines():
        if line.startswith("RewriteCond %{HTTP_ACCEPT}"):
            conditions.append(line.split()[2].replace("\\", ""))
        elif line.startswith("RewriteRule"):
            _, pattern, target, _flags = line.split()
            out.append((conditions, pattern, target))
            conditions = []
    return out


def test_the_w3id_rules_cover_the_namespace_docs_context_shapes_and_filings():
    patterns = {pattern for _, pattern, _ in rules()}
    assert patterns == set(SAMPLES)
    assert all(target.startswith(DEPLOYMENT + "/") for _, _, target in rules())


@pytest.mark.parametrize("conditions, pattern, target", rules(), ids=lambda v: str(v)[:30])
def test_a_local_node_answers_every_path_the_w3id_rules_redirect_to(client, conditions, pattern, target):
    path = SAMPLES[pattern]
    match = re.match(pattern, path)
    assert match
    local = match.expand(target.replace("$", "\\")).removeprefix(DEPLOYMENT)
    accept = conditions[0] if conditions else BROWSER
    resp = client.get(local, headers={"Accept": accept})
    if local.startswith("/v1/filings/"):  # the filings route, asked for a number it has not filed
        assert resp.status_code == 404 and "DC-20261201-NONE" in resp.json()["detail"]
        return
    assert resp.status_code == 200, (local, resp.status_code)
    if conditions:
        assert resp.headers["content-type"].startswith(accept)


@pytest.mark.parametrize("accept, expected", [("text/turtle", "text/turtle"), ("application/ld+json", "application/ld+json")])
def test_a_term_path_answers_its_triples_by_content_negotiation(client, accept, expected):
    resp = client.get("/ontology/DerivedData", headers={"Accept": accept})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(expected)
    g = Graph().parse(data=resp.text, format="turtle" if accept == "text/turtle" else "json-ld")
    assert (URIRef(DCERT + "DerivedData"), RDFS.label, None) in g


def test_browsers_are_sent_to_the_documentation(client):
    resp = client.get("/ontology/DerivedData", headers={"Accept": "text/html"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/docs/ontology#DerivedData"
    resp = client.get("/ontology", headers={"Accept": "text/html"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/docs/ontology"
    resp = client.get("/shapes", headers={"Accept": "text/html"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/docs/requirements"
    assert client.get("/ontology").headers["content-type"].startswith("text/turtle")   # */*: RDF as before


def test_an_unknown_term_is_a_404_problem(client):
    resp = client.get("/ontology/NoSuchTerm", headers={"Accept": "text/turtle"})
    assert resp.status_code == 404 and resp.json()["code"] == "unknown-term"
