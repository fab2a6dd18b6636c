"""The read-only SPARQL endpoint: forms and formats, updates refused, limits, SERVICE allow-list."""

from __future__ import annotations

import csv
import io
import time

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from derivecert.api.app import create_app
from derivecert.catalog import FILINGS_GRAPH, META_GRAPH, graph_iri
from derivecert.sparql_guard import QueryError, UpdateRefused, inspect_query

from .conftest import make_settings
from .servers import Listener
from .test_api_read import DS_DM, fill, is_problem

COUNT_DATASETS = """PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
SELECT ?d WHERE { ?r a dcat:CatalogRecord ; foaf:primaryTopic ?d } ORDER BY ?d"""


def test_select_in_every_format(client, store):
    fill(store)
    r = client.get("/sparql", params={"query": COUNT_DATASETS})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/sparql-results+json")
    rows = r.json()["results"]["bindings"]
    assert len(rows) == 3 and rows[0]["d"]["type"] == "uri"
    r = client.post("/sparql", data={"query": COUNT_DATASETS}, headers={"Accept": "application/sparql-results+xml"})
    assert r.status_code == 200 and "<sparql" in r.text
    assert len(list(ox.parse_query_results(r.content, format=ox.QueryResultsFormat.XML))) == 3
    r = client.post("/sparql", content=COUNT_DATASETS, headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"})
    assert list(csv.reader(io.StringIO(r.text)))[0] == ["d"]
    r = client.get("/sparql", params={"query": COUNT_DATASETS}, headers={"Accept": "text/tab-separated-values"})
    assert r.text.splitlines()[0] == "?d" and r.text.splitlines()[1].startswith("<")
    r = client.get("/sparql", params={"query": COUNT_DATASETS, "format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")


def test_ask_construct_describe(client, store):
    fill(store)
    r = client.get("/sparql", params={"query": f"ASK {{ <{DS_DM}> ?p ?o }}"})
    assert r.json() == {"head": {}, "boolean": True}
    r = client.get("/sparql", params={"query": f"CONSTRUCT WHERE {{ <{DS_DM}> ?p ?o }}"})
    assert r.headers["content-type"].startswith("text/turtle")
    assert len(list(ox.parse(r.content, format=ox.RdfFormat.TURTLE))) > 3
    r = client.get("/sparql", params={"query": f"DESCRIBE <{DS_DM}>"}, headers={"Accept": "application/n-triples"})
    assert r.status_code == 200 and DS_DM in r.text


def test_union_default_graph_and_protocol_graph_parameters(client, store):
    fill(store)
    q = "SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE { ?r a <http://www.w3.org/ns/dcat#CatalogRecord> }"
    n = lambda **p: int(client.get("/sparql", params={"query": q, **p}).json()["results"]["bindings"][0]["n"]["value"])  # noqa: E731
    assert n() == 3
    assert n(**{"default-graph-uri": "https://w3id.org/derivecert/graph/hospital-a"}) == 1


UNRELATED = "http://unrelated.example/graph"
VIRTRDF = "http://www.openlinksw.com/schemas/virtrdf#"  # Virtuoso's own system graph


def _rows(client, query, **params) -> list[dict]:
    r = client.get("/sparql", params={"query": query, **params}, headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200, r.text
    return r.json()["results"]["bindings"]


def test_the_dataset_is_exactly_the_institutions_graphs(client, store):
    """The default graph is the union of the institutions' graphs and the named graphs are those
    graphs: the node's own graphs (`_meta`, the ledger), a server's system graphs and a graph
    written into the server behind the node's back never show, whatever the query or the request
    names."""
    fill(store)
    store.load(UNRELATED, [ox.Triple(ox.NamedNode("http://unrelated.example/s"), ox.NamedNode("http://unrelated.example/p"),
                                     ox.Literal("behind the node's back"))])
    catalog = [graph_iri(i) for i in ("hospital-a", "hospital-b", "cdc-east")]
    expected = {(str(t.subject), str(t.predicate), str(t.object)) for g in catalog for t in store.export(g)}
    term = lambda b: ox.NamedNode(b["value"]) if b["type"] == "uri" else ox.Literal(  # noqa: E731
        b["value"], language=b.get("xml:lang"), datatype=ox.NamedNode(b["datatype"]) if "datatype" in b else None)
    seen = {tuple(str(term(r[v])) for v in ("s", "p", "o")) for r in _rows(client, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }")}
    assert seen == expected and expected
    graphs = {r["g"]["value"] for r in _rows(client, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")}
    assert graphs == {g for g in catalog if store.export(g)}
    # what rdflib's SPARQLStore.contexts() asks: no graph outside the catalog's
    assert {r["g"]["value"] for r in _rows(client, "SELECT DISTINCT ?g WHERE { GRAPH ?g { } }")} <= set(catalog)
    internal = [META_GRAPH, FILINGS_GRAPH, UNRELATED, VIRTRDF]
    def empty_or_refused(query, **params):
        r = client.get("/sparql", params={"query": query, **params}, headers={"Accept": "application/sparql-results+json"})
        if g in (META_GRAPH, FILINGS_GRAPH):  # the node's own graphs, named: refused, naming the graph
            assert r.status_code == 400 and g in r.json()["detail"], r.text
        else:  # any other graph, named: an empty graph
            assert r.status_code == 200 and r.json()["results"]["bindings"] == [], r.text

    for g in internal:
        empty_or_refused("SELECT * WHERE { ?s ?p ?o }", **{"default-graph-uri": g})
        empty_or_refused("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", **{"named-graph-uri": g})
        assert _rows(client, f"SELECT * WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}") == []
        for query in (f"SELECT * FROM <{g}> WHERE {{ ?s ?p ?o }}", f"SELECT * FROM NAMED <{g}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"):
            r = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
            # named in the query: an empty graph, or refused where the server would let FROM win (Virtuoso)
            assert r.status_code == 400 or (r.status_code == 200 and r.json()["results"]["bindings"] == []), r.text


def test_updates_are_refused(client, store):
    fill(store)
    is_problem(client.post("/sparql", data={"update": "DROP ALL"}), 403, "update-refused")
    is_problem(client.post("/sparql", content="DROP ALL", headers={"Content-Type": "application/sparql-update"}), 403)
    is_problem(client.get("/sparql", params={"query": "INSERT DATA { <a:a> <a:b> <a:c> }"}), 403, "update-refused")
    is_problem(client.get("/sparql", params={"query": "DELETE WHERE { ?s ?p ?o }"}), 403)
    assert client.get("/sparql", params={"query": COUNT_DATASETS}).json()["results"]["bindings"]  # nothing changed


def test_bad_queries(client):
    is_problem(client.get("/sparql", params={"query": "SELECT WHERE {"}), 400, "invalid-query")
    is_problem(client.get("/sparql", headers={"Accept": "application/json"}), 400, "missing-query")
    is_problem(client.post("/sparql", content=b"x", headers={"Content-Type": "text/plain"}), 415)
    r = client.get("/sparql", headers={"Accept": "text/html"})  # a browser: the web interface's page
    assert r.status_code == 200 and r.url.path == "/ui/sparql" and "<form" in r.text


def test_result_limit(store, engine):
    fill(store)
    settings = make_settings(limits={"sparql_result_limit": 5})
    with TestClient(create_app(settings, engine=engine, store=store)) as c:
        r = c.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
        assert len(r.json()["results"]["bindings"]) == 5
        assert r.headers["DeriveCert-Result-Truncated"] == "true"
        r = c.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"}, headers={"Accept": "application/n-triples"})
        assert len(r.text.strip().splitlines()) == 5


def test_time_limit_stops_the_query(tmp_path, engine):
    """The worker process running a runaway query is killed at the limit."""
    from derivecert.catalog import Catalog, EmbeddedStore

    store = Catalog(EmbeddedStore(tmp_path / "slow", query_processes=1))
    store.load(graph_iri("hospital-a"), [
        ox.Triple(ox.NamedNode(f"http://e/{i}"), ox.NamedNode("http://e/p"), ox.Literal(str(i))) for i in range(3000)])
    settings = make_settings(limits={"sparql_timeout_s": 0.3})
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?x . ?b ?p ?y . ?c ?p ?z }"
    with TestClient(create_app(settings, engine=engine, store=store)) as c:
        started = time.monotonic()
        is_problem(c.get("/sparql", params={"query": slow}), 503, "query-timeout")
        assert time.monotonic() - started < 10
    # the pool replaced its killed worker: the next query runs (generous limit: CI may be loaded)
    assert store.run_query("ASK { ?s ?p ?o }", "ask", limit=1, timeout=60).boolean is True
    store.close()
    assert not [p for p in __import__("multiprocessing").active_children() if p.name == "derivecert-sparql"]


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


@pytest.mark.parametrize("template", [
    "SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ SERVICE SILENT <http://127.0.0.1:{port}/sparql> {{ ?s ?q ?r }} }} }}",
    "PREFIX e: <http://127.0.0.1:{port}/> SELECT * WHERE {{ FILTER EXISTS {{ SERVICE e:sparql {{ ?a ?b ?c }} }} }}",
    "SELECT * WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }} }} }}",
    "SELECT * WHERE {{ BIND(<http://127.0.0.1:{port}/sparql> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
    "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
    "ASK {{ SERVICE <http://127.0.0.1:{port}/sparql/> {{ ?s ?p ?o }} }}",
])
def test_service_outside_the_allow_list_is_refused_without_connecting(client, listener, template):
    query = template.format(port=listener.port)
    body = is_problem(client.get("/sparql", params={"query": query}), 400, "service-not-allowed")
    assert "allow" in body["detail"] or "allow" in body.get("hint", "")
    time.sleep(0.2)
    assert listener.connections == 0


def test_inspect_query():
    info = inspect_query("PREFIX p: <http://peer/> SELECT * { SERVICE p:sparql { ?s ?p ?o } # SERVICE <x:in-comment>\n }")
    assert info.form == "select" and info.services == ("http://peer/sparql",)
    assert inspect_query('SELECT * { ?s ?p "SERVICE <http://x/>" }').services == ()
    assert inspect_query("DESCRIBE <http://x/>").form == "graph"
    with pytest.raises(UpdateRefused):
        inspect_query("CLEAR ALL")
    with pytest.raises(QueryError):
        inspect_query("SELEKT * {}")
