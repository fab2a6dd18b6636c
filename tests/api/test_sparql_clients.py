"""Real SPARQL clients against real DeriveCert nodes served by uvicorn on 127.0.0.1: SPARQLWrapper in
every return format it offers, rdflib's `SPARQLStore`, and Comunica (npm, tests/clients/) running
a federated query over two nodes and an `oxigraph serve` peer.  Also the SPARQL 1.1 Protocol's
parameters as these clients send them.  In CI (CI=true) a missing client fails, never skips."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from derivecert.api.app import create_app
from derivecert.catalog import Catalog, EmbeddedStore
from derivecert.catalog.model import graph_iri

from .conftest import make_settings
from .servers import LiveNode, OxigraphServer
from .test_api_read import DS_DM, fill, is_problem
from .test_federation import REGISTRY, UvicornNode, file_fake

ROOT = Path(__file__).resolve().parents[2]
COMUNICA = ROOT / "tests" / "clients" / "node_modules" / ".bin" / "comunica-sparql"
IDX = "https://w3id.org/derivecert/index#"
# tests/api/live_node.py files these three, one per institution
LIVE = {f"https://{inst}.example.org/ds/{i}": inst for i, inst in enumerate(["cdc-east", "hospital-a", "hospital-b"])}

PREFIXES = """PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX idx: <https://w3id.org/derivecert/index#>
"""
SELECT = PREFIXES + "SELECT ?d ?inst WHERE { ?r a dcat:CatalogRecord ; foaf:primaryTopic ?d ; idx:institution ?inst } ORDER BY ?d"
ASK_YES = PREFIXES + 'ASK { ?r idx:institution "hospital-a" }'
ASK_NO = PREFIXES + 'ASK { ?r idx:institution "nobody" }'
CONSTRUCT = PREFIXES + "CONSTRUCT { ?d dct:title ?t } WHERE { ?r foaf:primaryTopic ?d . ?d dct:title ?t }"
DESCRIBE = "DESCRIBE <https://hospital-a.example.org/ds/1>"


def need(what: str, present: bool, how: str) -> None:
    """Skip on a developer's machine without the client; in CI, where `make test` installs it, fail."""
    if not present:
        reason = f"{what} is missing: {how}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    node = LiveNode(tmp_path_factory.mktemp("clients") / "store", engine=False).start()
    yield node.base
    node.stop()


# -- the protocol ------------------------------------------------------------------------------


def test_format_takes_short_names_and_media_types(client, store):
    fill(store)
    for value, media in [("json", "application/sparql-results+json"), ("srj", "application/sparql-results+json"),
                         ("application/sparql-results+json", "application/sparql-results+json"),
                         ("xml", "application/sparql-results+xml"), ("application/xml", "application/sparql-results+xml"),
                         ("csv", "text/csv"), ("text/csv", "text/csv"),
                         ("tsv", "text/tab-separated-values"), ("text/tab-separated-values", "text/tab-separated-values")]:
        r = client.get("/sparql", params={"query": SELECT, "format": value})
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), (value, r.text)
    for value, media in [("turtle", "text/turtle"), ("ttl", "text/turtle"), ("n3", "text/turtle"),
                         ("text/turtle", "text/turtle"), ("nt", "application/n-triples"),
                         ("jsonld", "application/ld+json"), ("json-ld", "application/ld+json"),
                         ("application/ld+json", "application/ld+json"), ("json", "application/ld+json"),
                         ("rdfxml", "application/rdf+xml"), ("xml", "application/rdf+xml"),
                         ("application/rdf+xml", "application/rdf+xml")]:
        r = client.get("/sparql", params={"query": CONSTRUCT, "format": value})
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), (value, r.text)


def test_repeated_format_the_first_understood_wins(client, store):
    fill(store)
    # SPARQLWrapper's TSV: a short name and a media type; Accept is not a results type it asked for
    r = client.get("/sparql", params=[("query", SELECT), ("format", "tsv"), ("format", "text/tab-separated-values")],
                   headers={"Accept": "application/json"})
    assert r.headers["content-type"].startswith("text/tab-separated-values") and r.text.startswith("?d\t?inst")
    r = client.get("/sparql", params=[("query", SELECT), ("format", "nonsense"), ("format", "text/csv")])
    assert r.headers["content-type"].startswith("text/csv")
    r = client.post("/sparql", data={"query": CONSTRUCT, "format": ["rdf+xml", "application/rdf+xml"]})
    assert r.headers["content-type"].startswith("application/rdf+xml")
    body = is_problem(client.get("/sparql", params=[("query", SELECT), ("format", "ttl"), ("format", "pdf")]), 406)
    assert "'ttl'" in body["detail"] and "'pdf'" in body["detail"]
    assert "tsv (text/tab-separated-values)" in body["hint"] and "srj" in body["hint"]


def test_repeated_parameters_as_the_protocol_says(client, store):
    fill(store)
    is_problem(client.get("/sparql", params=[("query", SELECT), ("query", ASK_YES)]), 400, "invalid-request")
    is_problem(client.post("/sparql?query=ASK%7B%7D", data={"query": ASK_YES}), 400, "invalid-request")
    count = "SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE { ?r a <http://www.w3.org/ns/dcat#CatalogRecord> }"
    two = [("default-graph-uri", graph_iri("hospital-a")), ("default-graph-uri", graph_iri("hospital-b"))]
    r = client.get("/sparql", params=[("query", count), *two])
    assert r.json()["results"]["bindings"][0]["n"]["value"] == "2"
    named = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    r = client.post("/sparql", data={"query": named, "named-graph-uri": [graph_iri("cdc-east"), graph_iri("hospital-b")]})
    assert {b["g"]["value"] for b in r.json()["results"]["bindings"]} == {graph_iri("cdc-east"), graph_iri("hospital-b")}


def test_the_store_bookkeeping_graphs_never_show(client, store):
    fill(store)
    r = client.get("/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"})
    graphs = {b["g"]["value"] for b in r.json()["results"]["bindings"]}
    assert graphs == {graph_iri(i) for i in ("cdc-east", "hospital-a", "hospital-b")}
    r = client.get("/sparql", params={"query": f"ASK {{ ?s <{IDX}generation> ?o }}"})
    assert r.json()["boolean"] is False  # the catalog's generation stamp is in `graph/_meta`


def test_results_are_the_engines(client, store):
    """Terms of every kind survive each results format (the engine writes them)."""
    fill(store)
    # Virtuoso 7.2 has no BNODE() ("Built-in function is not implemented"): there the column stays unbound
    blank = "" if getattr(getattr(store.backend, "dialect", None), "name", "") == "virtuoso" else "BIND(BNODE() AS ?blank) "
    q = ('SELECT ?iri ?lang ?typed ?plain ?blank ?unbound WHERE { BIND(<http://e/x> AS ?iri) '
         'BIND("标\\t题\\n\\"q\\""@zh AS ?lang) BIND(42 AS ?typed) BIND("a,b" AS ?plain) ' + blank + '}')
    import pyoxigraph as ox

    for fmt in (ox.QueryResultsFormat.JSON, ox.QueryResultsFormat.XML, ox.QueryResultsFormat.TSV):
        r = client.get("/sparql", params={"query": q, "format": fmt.media_type})
        (row,) = list(ox.parse_query_results(r.content, format=fmt))
        assert row["iri"] == ox.NamedNode("http://e/x") and row["lang"] == ox.Literal('标\t题\n"q"', language="zh")
        assert row["typed"].value == "42" and row["plain"] == ox.Literal("a,b")
        assert (isinstance(row["blank"], ox.BlankNode) if blank else row["blank"] is None) and row["unbound"] is None
    r = client.get("/sparql", params={"query": q, "format": "csv"})
    header, row = list(csv.reader(io.StringIO(r.text)))
    assert header == ["iri", "lang", "typed", "plain", "blank", "unbound"] and row[3] == "a,b" and row[5] == ""
    assert client.get("/sparql", params={"query": ASK_NO, "format": "xml"}).text.endswith("<boolean>false</boolean></sparql>")


# -- SPARQLWrapper -------------------------------------------------------------------------------


def _wrapper(base: str, query: str, fmt: str, method: str = "GET"):
    try:
        import SPARQLWrapper as sw
    except ImportError:
        need("SPARQLWrapper", False, "pip install '.[dev]'")
    w = sw.SPARQLWrapper(base + "/sparql")
    w.setQuery(query)
    w.setReturnFormat(fmt)
    w.setMethod(method)
    return w.query().convert()


def _select_rows(fmt: str, converted) -> list[tuple[str, str]]:
    """(dataset, institution) rows from what SPARQLWrapper's `convert()` returns in each format."""
    if fmt == "json":
        return [(b["d"]["value"], b["inst"]["value"]) for b in converted["results"]["bindings"]]
    if fmt == "xml":  # a DOM document
        rows = []
        for result in converted.getElementsByTagName("result"):
            cells = {b.getAttribute("name"): b.firstChild.firstChild.data for b in result.getElementsByTagName("binding")}
            rows.append((cells["d"], cells["inst"]))
        return rows
    text = converted.decode("utf-8")
    if fmt == "csv":
        header, *rows = list(csv.reader(io.StringIO(text)))
        assert header == ["d", "inst"]
        return [(r[0], r[1]) for r in rows]
    header, *lines = text.splitlines()
    assert header == "?d\t?inst"
    return [(d.strip("<>"), inst.strip('"')) for d, inst in (line.split("\t") for line in lines)]


def _ask(fmt: str, converted) -> bool:
    if fmt == "json":
        return converted["boolean"]
    if fmt == "xml":
        return converted.getElementsByTagName("boolean")[0].firstChild.data == "true"
    return {"true": True, "false": False}[converted.decode("utf-8").strip().splitlines()[-1]]


RESULT_FORMATS = ["json", "xml", "csv", "tsv"]
GRAPH_FORMATS = ["turtle", "n3", "rdf+xml", "xml", "json-ld", "json", "rdf"]


@pytest.mark.parametrize("fmt", RESULT_FORMATS)
def test_sparqlwrapper_select_and_ask(live, fmt):
    expected = sorted(LIVE.items())
    assert _select_rows(fmt, _wrapper(live, SELECT, fmt)) == expected
    assert _select_rows(fmt, _wrapper(live, SELECT, fmt, "POST")) == expected
    assert _ask(fmt, _wrapper(live, ASK_YES, fmt)) is True
    assert _ask(fmt, _wrapper(live, ASK_NO, fmt)) is False


@pytest.mark.parametrize("fmt", GRAPH_FORMATS)
def test_sparqlwrapper_construct_and_describe(live, fmt):
    from rdflib import URIRef
    from rdflib.namespace import DCTERMS

    g = _graph(_wrapper(live, CONSTRUCT, fmt))
    assert {str(s) for s in g.subjects(DCTERMS.title, None)} == set(LIVE)
    assert len(g) == 2 * len(LIVE)  # a title in English and one in Chinese each
    g = _graph(_wrapper(live, DESCRIBE, fmt, "POST"))
    assert (URIRef("https://hospital-a.example.org/ds/1"), DCTERMS.title, None) in g


def _graph(converted):
    """SPARQLWrapper parses RDF/XML and JSON-LD into a graph; Turtle and N3 it returns as text."""
    from rdflib import Graph

    return Graph().parse(data=converted, format="turtle") if isinstance(converted, bytes) else converted


# -- rdflib's SPARQLStore ------------------------------------------------------------------------


def test_rdflib_sparqlstore(live):
    from rdflib import Dataset, Graph, URIRef
    from rdflib.namespace import DCAT, RDF
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    # its default format, xml, asks for SPARQL XML results or RDF/XML: every query form
    store = SPARQLStore(live + "/sparql")
    try:
        # exactly the institutions' graphs: no `graph/_meta`, no `graph/_filings`
        assert {str(c) for c in store.contexts()} == {graph_iri(i) for i in LIVE.values()}
        ds = Dataset(store=store, default_union=True)  # no default-graph-uri: the node's union
        rows = ds.query(SELECT)
        assert sorted((str(r.d), str(r.inst)) for r in rows) == sorted(LIVE.items())
        assert len(list(ds.triples((None, RDF.type, DCAT.CatalogRecord)))) == len(LIVE)
        assert ds.query(ASK_YES).askAnswer is True
        g = ds.query(CONSTRUCT).graph
        assert {str(s) for s in g.subjects()} == set(LIVE)
        hospital_a = Graph(store=store, identifier=URIRef(graph_iri("hospital-a")))  # default-graph-uri
        assert len(list(hospital_a.triples((URIRef("https://hospital-a.example.org/ds/1"), None, None)))) > 3
        assert not list(hospital_a.triples((URIRef("https://cdc-east.example.org/ds/0"), None, None)))
    finally:
        store.close()


# -- Comunica ----------------------------------------------------------------------------------


STEWARD = "http://example.org/registries#steward"


@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    """Two DeriveCert nodes (one dataset each, both derived from the national registry) and an
    `oxigraph serve` peer that says who stewards the registry."""
    registry = OxigraphServer(tmp_path_factory.mktemp("registry")).start()
    stores = []
    try:
        httpx.post(registry.update_url, trust_env=False, headers={"Content-Type": "application/sparql-update"},
                   content=f'INSERT DATA {{ GRAPH <urn:registries> {{ <{REGISTRY}> <{STEWARD}> "National Cancer Center" }} }}'.encode()
                   ).raise_for_status()
        nodes = []
        for inst, ds, filing in [("hospital-a", "https://hospital-a.example.org/ds/cancer-incidence", "DC-20250101-HOSPA001"),
                                 ("hospital-b", "https://hospital-b.example.org/ds/oncology-features", "DC-20250101-HOSPB001")]:
            store = Catalog(EmbeddedStore(None))
            file_fake(store, inst, ds, title=f"{inst} dataset", filing=filing)
            stores.append(store)
            nodes.append(UvicornNode(create_app(make_settings(), engine=False, store=store)))
        with nodes[0] as a, nodes[1] as b:
            yield a, b, registry
    finally:
        registry.stop()
        for s in stores:
            s.close()


@pytest.mark.slow
def test_comunica_federated_query_over_two_nodes_and_an_oxigraph_peer(federation):
    need("comunica-sparql", COMUNICA.exists() and shutil.which("node") is not None,
         "install Node.js and run `npm ci` in tests/clients (make test does)")
    a, b, registry = federation
    query = PREFIXES + f"""SELECT ?dataset ?inst ?steward WHERE {{
  ?r foaf:primaryTopic ?dataset ; idx:institution ?inst .
  ?dataset prov:wasDerivedFrom ?src .
  ?src <{STEWARD}> ?steward .
}}"""
    proc = subprocess.run(
        [str(COMUNICA), f"sparql@{a}/sparql", f"sparql@{b}/sparql", f"sparql@{registry.query_url}",
         "-q", query, "-t", "application/sparql-results+json"],
        capture_output=True, text=True, timeout=180, env={**os.environ, "NODE_OPTIONS": ""},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {(r["dataset"]["value"], r["inst"]["value"], r["steward"]["value"])
            for r in json.loads(proc.stdout)["results"]["bindings"]}
    assert rows == {
        ("https://hospital-a.example.org/ds/cancer-incidence", "hospital-a", "National Cancer Center"),
        ("https://hospital-b.example.org/ds/oncology-features", "hospital-b", "National Cancer Center"),
    }


def test_protocol_on_a_fresh_app(store):
    """No institution has filed yet: the default graph is empty, not every graph of the store."""
    with TestClient(create_app(make_settings(institutions=[]), engine=False, store=store)) as c:
        r = c.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
        assert r.status_code == 200 and r.json()["results"]["bindings"] == []
        assert c.get("/sparql", params={"query": f"ASK {{ <{DS_DM}> ?p ?o }}"}).json()["boolean"] is False


def test_a_client_reading_the_endpoint_first_gets_its_service_description(client):
    """Comunica reads the endpoint (no query, Accept: RDF) before querying it: a redirect to the
    web page would make it take the page for the endpoint."""
    import pyoxigraph as ox

    r = client.get("/sparql", headers={"Accept": "application/n-quads,application/ld+json;q=0.9,text/turtle;q=0.6,text/html;q=0.2"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    r = client.get("/sparql", headers={"Accept": "text/turtle"})
    sd = "http://www.w3.org/ns/sparql-service-description#"
    triples = [q.triple for q in ox.parse(r.content, format=ox.RdfFormat.TURTLE)]
    endpoint = ox.NamedNode("http://testserver/sparql")
    assert ox.Triple(endpoint, ox.NamedNode(sd + "endpoint"), endpoint) in triples
    assert ox.Triple(endpoint, ox.NamedNode(sd + "feature"), ox.NamedNode(sd + "UnionDefaultGraph")) in triples
    assert client.get("/sparql", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303


def test_bookkeeping_graphs_stay_out_whatever_the_request_names(client, store):
    fill(store)
    q = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    # as the SPARQL 1.1 Protocol says, a dataset named in the request is exactly what is named
    r = client.get("/sparql", params={"query": q, "default-graph-uri": graph_iri("hospital-a")})
    assert r.json()["results"]["bindings"] == []
    r = client.get("/sparql", params={"query": q, "named-graph-uri": [graph_iri("hospital-a"), graph_iri("cdc-east")]})
    assert {b["g"]["value"] for b in r.json()["results"]["bindings"]} == {graph_iri(i) for i in ("cdc-east", "hospital-a")}
    r = client.get("/sparql", params={"query": q})
    assert {b["g"]["value"] for b in r.json()["results"]["bindings"]} == {graph_iri(i) for i in ("cdc-east", "hospital-a", "hospital-b")}
    r = client.get("/sparql", params={"query": f"SELECT DISTINCT ?g FROM <{graph_iri('cdc-east')}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"})
    assert "_meta" not in r.text and "_filings" not in r.text
    for where in ({"default-graph-uri": "https://w3id.org/derivecert/graph/_meta"},
                  {"named-graph-uri": "https://w3id.org/derivecert/graph/_filings"}):
        body = is_problem(client.get("/sparql", params={"query": q, **where}), 400, "invalid-request")
        assert "bookkeeping" in body["detail"]
    is_problem(client.get("/sparql", params={"query": "SELECT * FROM <https://w3id.org/derivecert/graph/_meta> { ?s ?p ?o }"}), 400)
