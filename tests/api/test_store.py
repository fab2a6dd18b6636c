"""The catalog store on both backends: atomic replacement, ownership, filing numbers, search."""

from __future__ import annotations

import time

import pyoxigraph as ox
import pytest

from derivecert import catalog as store_mod
from derivecert.catalog import records as store_base
from derivecert.catalog import (
    Catalog,
    GENID_BASE,
    ConflictError,
    EmbeddedStore,
    RemoteStore,
    SearchQuery,
    build_submission,
    dataset_key,
    graph_iri,
    open_store,
)
from derivecert.settings import Settings

from .conftest import remote_store
from .fakes import fake_run
from .servers import VirtuosoServer, free_port

DS1 = "https://fake.example.org/ds/1"
DS2 = "https://fake.example.org/ds/2"
DS3 = "https://fake.example.org/ds/3"


def submit(store, inst, dataset, **kw):
    g, rg, results = fake_run(dataset, **kw)
    sub = build_submission(inst, g, rg, results)
    store.replace(sub)
    return sub


def count(store, query):
    return len(store.run_query(store_mod.PREFIXES + query, "select", limit=10**6, timeout=10).rows)


def test_submission_is_stored_with_record_result_and_filing(store):
    sub = submit(store, "hospital-a", DS1, filing="DC-20250101-AAAA0001")
    key = dataset_key(DS1)
    assert sub.keys == [key]
    rec = store.record(key)
    assert rec["institution"] == "hospital-a"
    assert rec["result"]["verdict"] == "certified"
    assert rec["summary"]["codes"]["scenario"] == ["AS-PH"]
    triples = store.dataset_triples(key)
    preds = {t.predicate.value for t in triples}
    assert "http://purl.org/dc/terms/title" in preds
    assert "https://w3id.org/derivecert#filingNumber" in preds  # the engine's filing node
    assert store_mod.IDX + "part" not in preds  # bookkeeping stays out
    # blank nodes were skolemised
    assert any(t.object.value.startswith(GENID_BASE) for t in triples if isinstance(t.object, ox.NamedNode))
    # the source's "not-derived" result node is not stored
    assert count(store, 'SELECT ?r WHERE { ?r dcert:verdict dcert:NotDerived }') == 0
    assert store.find_filing("DC-20250101-AAAA0001") == key
    assert store.filing_number_exists("DC-20250101-AAAA0001")
    assert not store.filing_number_exists("DC-20250101-ZZZZ9999")


def test_union_default_graph_and_named_graph(store):
    submit(store, "hospital-a", DS1)
    submit(store, "hospital-b", DS2, filing="DC-20250101-BBBB0002")
    assert count(store, "SELECT ?d WHERE { ?d a dcat:Dataset ; dct:title ?t FILTER(lang(?t)='en') }") == 2
    q = f"SELECT ?d WHERE {{ GRAPH <{graph_iri('hospital-b')}> {{ ?d a dcat:Dataset ; dct:title ?t FILTER(lang(?t)='en') }} }}"
    assert count(store, q) == 1


def test_replacement_removes_the_previous_version(store):
    submit(store, "hospital-a", DS1, title="Old title", filing="DC-20250101-OLD00001")
    issued = store.record(dataset_key(DS1))["issued"]
    submit(store, "hospital-a", DS1, title="New title", filing="DC-20250101-NEW00001", level="L2", grade="D3")
    assert count(store, 'SELECT ?s WHERE { ?s a dcat:Dataset ; dct:title "Old title"@en }') == 0
    assert count(store, 'SELECT ?s WHERE { ?s a dcat:Dataset ; dct:title "New title"@en }') == 1
    # one quality measurement, one activity: the old skolemised nodes are gone
    assert count(store, "SELECT ?m WHERE { ?m <http://www.w3.org/ns/dqv#value> ?v }") == 1
    assert count(store, "SELECT ?a WHERE { ?a a dcert:DerivationActivity }") == 1
    assert not store.filing_number_exists("DC-20250101-OLD00001")
    assert store.find_filing("DC-20250101-NEW00001") == dataset_key(DS1)
    rec = store.record(dataset_key(DS1))
    assert rec["issued"] == issued
    assert store.search(SearchQuery(filters={"level": ["L1"]})).total == 0
    assert store.search(SearchQuery(filters={"level": ["L2"]})).total == 1
    assert store.count() == 1


def test_a_record_links_what_others_may_share_and_lists_what_the_node_minted_for_it(store):
    sub = submit(store, "hospital-a", DS1, filing="DC-20250101-AAAA0001")
    key = sub.keys[0]
    assert sub.parts[key] == {DS1, DS1 + "-source", "https://fake.example.org/hospital"}  # idx:part links
    owned = sub.owned[key]  # one idx:owned literal: skolem IRIs, result and filing nodes
    assert all(iri.startswith("https://w3id.org/derivecert/") for iri in owned)
    assert any(iri.startswith(GENID_BASE) for iri in owned) and any("/filing/" in iri for iri in owned)
    submit(store, "hospital-a", DS1, filing="DC-20250101-AAAA0002")
    for iri in owned:  # replaced: gone from the institution's graph (the old filing is in the ledger)
        assert count(store, f"SELECT ?p WHERE {{ <{iri}> ?p ?o }}") == 0
    assert store.filing_status("DC-20250101-AAAA0001") == "superseded"


def test_shared_subjects_live_while_a_record_lists_them(store):
    submit(store, "hospital-a", DS1)
    submit(store, "hospital-a", DS2, filing="DC-20250101-BBBB0002")
    hospital = 'SELECT ?n WHERE { <https://fake.example.org/hospital> <http://xmlns.com/foaf/0.1/name> ?n }'
    assert count(store, hospital) == 1
    assert store.delete(dataset_key(DS1))
    assert count(store, hospital) == 1
    assert count(store, "SELECT ?s WHERE { ?s a dcat:Dataset ; dct:title ?t }") == 2  # DS2 en + zh
    assert store.delete(dataset_key(DS2))
    assert count(store, hospital) == 0
    assert count(store, "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } FILTER(?g NOT IN (<%s>, <%s>)) }"
                 % (store_mod.META_GRAPH, store_mod.FILINGS_GRAPH)) == 0
    assert store.filing_status("DC-20250101-BBBB0002") == "valid"  # the filing ledger outlives withdrawal (A7)
    assert not store.delete(dataset_key(DS2))


def test_literals_read_back_as_written(store):
    """Datatypes and language tags survive every write and read path (a server that does not
    keep one verbatim, as Virtuoso with xsd:duration, is handled by its dialect)."""
    from rdflib import Literal, URIRef
    from rdflib.namespace import XSD

    g, rg, results = fake_run(DS1)
    review, dcert = URIRef("https://w3id.org/derivecert#reviewCycle"), "https://w3id.org/derivecert#"
    g.add((URIRef(DS1), review, Literal("P1Y", datatype=XSD.duration)))
    g.add((URIRef(DS1), URIRef(dcert + "note"), Literal("多 \"quoted\" ^^<x> \\", lang="zh")))
    store.replace(build_submission("hospital-a", g, rg, results))  # SPARQL UPDATE
    extra = ox.Triple(ox.NamedNode(DS2), ox.NamedNode(str(review)), ox.Literal("P1DT2H", datatype=ox.NamedNode(str(XSD.duration))))
    store.load(graph_iri("hospital-b"), [extra])  # Graph Store Protocol
    duration = ox.NamedNode(str(XSD.duration))
    written = {(t.subject.value, t.object) for t in store.dataset_triples(dataset_key(DS1)) if t.predicate.value == str(review)}
    assert written == {(DS1, ox.Literal("P1Y", datatype=duration))}
    assert extra in [ox.Triple(t.subject, t.predicate, t.object) for t in store.export(graph_iri("hospital-b"))]
    rows = store.run_query(f"SELECT ?o WHERE {{ <{DS1}> <{review}> ?o }}", "select", limit=10, timeout=10).rows
    assert rows == [[ox.Literal("P1Y", datatype=duration)]]
    notes = store.run_query(f"SELECT ?o WHERE {{ <{DS1}> <{dcert}note> ?o }}", "select", limit=10, timeout=10).rows
    assert [(n.value, n.language) for [n] in notes] == [("多 \"quoted\" ^^<x> \\", "zh")]


def test_a_dataset_belongs_to_one_institution(store):
    submit(store, "hospital-a", DS1)
    with pytest.raises(ConflictError):
        submit(store, "hospital-b", DS1)
    assert store.locate(dataset_key(DS1)) == "hospital-a"


def test_filing_numbers_are_unique(store):
    submit(store, "hospital-a", DS1, filing="DC-20250101-AAAA0001")
    taken: set[str] = set()
    numbers = {store.new_filing_number("DC", taken=taken) for _ in range(50)}
    assert len(numbers) == 50 and "DC-20250101-AAAA0001" not in numbers
    assert all(n.startswith("DC-") for n in numbers)


def test_rejected_and_not_derived_results_are_not_records(store):
    g, rg, results = fake_run(DS1, verdict="rejected")
    sub = build_submission("hospital-a", g, rg, results)
    assert sub.records == []
    store.replace(sub)
    assert store.count() == 0


def test_replacement_is_atomic(store, monkeypatch):
    """A request that fails at its last operation leaves the catalog as it was.  The failures: a
    LOAD of a dead address, and a CREATE of a graph that exists.  Virtuoso's LOAD commits on its
    own even inside a SQL transaction (the catalog never loads by URL), so it gets the second."""
    submit(store, "hospital-a", DS1, title="Kept title")
    dead = f"http://127.0.0.1:{free_port()}/nothing.ttl"
    failures = [f"CREATE GRAPH <{graph_iri('hospital-a')}>"]
    if not (isinstance(store.backend, RemoteStore) and store.backend.dialect.name == "virtuoso"):
        failures.append(f"LOAD <{dead}>")
    original = store_base._generation_ops
    for failure in failures:
        monkeypatch.setattr(store_base, "_generation_ops", lambda gen, failure=failure: original(gen) + [failure])
        with pytest.raises(Exception):
            submit(store, "hospital-a", DS1, title="Lost title")
        monkeypatch.setattr(store_base, "_generation_ops", original)
        assert count(store, 'SELECT ?s WHERE { ?s a dcat:Dataset ; dct:title "Kept title"@en }') == 1
        assert count(store, 'SELECT ?s WHERE { ?s a dcat:Dataset ; dct:title "Lost title"@en }') == 0


def test_virtuoso_over_http_alone_commits_operation_by_operation(virtuoso_server):
    """Why Virtuoso's writes go through its SQL port (backends/virtuoso_sql.py): over its HTTP
    endpoint, the operations before a failing one stay written.  Should a Virtuoso release make
    its HTTP updates atomic, this fails, and the SQL path can go."""
    virtuoso_server.clear()
    s = Catalog(RemoteStore(virtuoso_server.query_url, virtuoso_server.update_url, virtuoso_server.gsp_url,
                            auth=(virtuoso_server.username, virtuoso_server.password), dialect="virtuoso",
                            index_check_interval_s=0))
    try:
        submit(s, "hospital-a", DS1, title="Kept title")
        with pytest.raises(store_mod.StoreError):
            s.update(store_mod.PREFIXES + f'INSERT DATA {{ GRAPH <{graph_iri("hospital-a")}> {{ <{DS1}> '
                     f'<http://purl.org/dc/terms/title> "Half written"@en }} }} ;\nCREATE GRAPH <{graph_iri("hospital-a")}>')
        assert count(s, 'SELECT ?s WHERE { ?s dct:title "Half written"@en }') == 1
    finally:
        s.close()


def test_a_server_cutting_results_at_its_row_cap_is_an_error_not_a_smaller_catalog(virtuoso_server, tmp_path):
    """Virtuoso cuts every result at `[SPARQL] ResultSetMaxRows` (10,000 by default): the index
    rebuilt from a cut result would silently miss records, so the store refuses it; a user's
    query cut there is marked truncated."""
    server = VirtuosoServer(tmp_path / "capped", max_rows=5).start()  # the fixture checked it is installed
    s = Catalog(remote_store(server, index_check_interval_s=0))
    try:
        subs = []
        for i in range(6):
            g, rg, results = fake_run(f"https://fake.example.org/capped/{i}", filing=f"DC-20250101-CAPD{i:04d}")
            subs.append(build_submission("hospital-a", g, rg, results))
        assert s.count() == 0
        s.bulk_add(subs)  # the index follows the node's own writes
        out = s.run_query("SELECT ?s WHERE { ?s ?p ?o }", "select", limit=100, timeout=30)
        assert out.truncated and len(out.rows) == 5
        with pytest.raises(store_mod.StoreError, match="ResultSetMaxRows"):
            s.rebuild_index()  # as at a restart
    finally:
        s.close()
        server.stop()


class SlowScans:
    """A SPARQL query endpoint in front of a server that answers the whole-catalog reads of an
    index rebuild (`CatalogStore.scan`) `delay` seconds late, as a server holding 100,000
    datasets does (bench/remote_store.py: tens of seconds), and every other query at once."""

    def __init__(self, query_url: str, delay: float):
        import http.server
        import threading

        import httpx

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if body.startswith(b"query=SELECT+%3Fg+%3Fs+%3Fo+"):  # `scan`'s text, form-encoded
                    time.sleep(outer.delay)
                r = httpx.post(query_url, content=body, trust_env=False, timeout=30,
                               headers={k: self.headers[k] for k in ("Accept", "Content-Type")})
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("content-type", "text/plain"))
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            def log_message(self, *args):
                pass

        self.delay = delay
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/query"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_index_rebuild_may_take_longer_than_one_query(oxigraph_server):
    """Rebuilding the index reads the whole catalog: at 100,000 datasets on Virtuoso, 20 to 80 s.
    Under one query's time limit (`store.timeout_s`, 30 s) such a node could never build its
    index, at start or after another node's write; the rebuild's reads have their own limit
    (`store.index_rebuild_timeout_s`), the node's other queries keep theirs."""
    oxigraph_server.clear()
    writer = Catalog(remote_store(oxigraph_server, index_check_interval_s=0))
    submit(writer, "hospital-a", DS1)
    writer.close()
    slow = SlowScans(oxigraph_server.query_url, delay=2.5)
    nodes = [Catalog(RemoteStore(slow.url, oxigraph_server.update_url, oxigraph_server.gsp_url, timeout=1.5,
                                 index_check_interval_s=0, scan_timeout=limit)) for limit in (None, 20)]
    try:
        with pytest.raises(store_mod.QueryTimeout):
            nodes[0].rebuild_index()  # the rebuild under one query's limit, as before
        assert nodes[1].search(SearchQuery()).total == 1  # its first use rebuilds the index
        with pytest.raises(store_mod.QueryTimeout):  # an ordinary query keeps store.timeout_s
            nodes[1].select("SELECT ?g ?s ?o WHERE { GRAPH ?g { ?s ?p ?o } }")
    finally:
        for node in nodes:
            node.close()
        slow.close()
    settings = Settings(store={"kind": "remote", "query_url": slow.url, "update_url": slow.url,
                               "index_rebuild_timeout_s": 900})
    remote = open_store(settings)
    assert (remote.scan_timeout, remote.timeout) == (900, 30)
    remote.close()


def test_search_facets_and_text(store):
    submit(store, "hospital-a", DS1, title="Influenza weekly counts", scenario=("AS-PH", "AS-EMERG"))
    submit(store, "hospital-b", DS2, title="Diabetes cohort features", scenario=("AS-RES",),
           technique=("GT-FEAT", "GT-DEID"), level="L3", grade="D2", granularity="GR-IND",
           filing="DC-20250101-BBBB0002", verdict="conditional")
    res = store.search(SearchQuery())
    assert res.total == 2
    assert res.facets["scenario"] == {"AS-PH": 1, "AS-EMERG": 1, "AS-RES": 1}
    assert res.facets["institution"] == {"hospital-a": 1, "hospital-b": 1}
    assert res.facets["verdict"] == {"certified": 1, "conditional": 1}
    res = store.search(SearchQuery(filters={"scenario": ["AS-RES"]}))
    assert [i.dataset for i in res.items] == [DS2]
    # multi-select: the scenario counts ignore the scenario filter, the others apply it
    assert res.facets["scenario"]["AS-PH"] == 1
    assert res.facets["level"] == {"L3": 1}
    assert store.search(SearchQuery(text="influenza")).total == 1
    assert store.search(SearchQuery(text="INFLUENZA weekly")).total == 1
    assert store.search(SearchQuery(text="中文")).total == 2
    assert store.search(SearchQuery(text="influenza diabetes")).total == 0
    assert store.search(SearchQuery(filters={"scenario": ["AS-PH"], "level": ["L3"]})).total == 0


def test_index_rebuilds_from_the_store(store, tmp_path):
    submit(store, "hospital-a", DS1)
    submit(store, "hospital-b", DS2, filing="DC-20250101-BBBB0002")
    before = store.search(SearchQuery())
    store.rebuild_index()
    after = store.search(SearchQuery())
    assert after.total == before.total == 2
    assert after.facets == before.facets
    assert [i.key for i in after.items] == [i.key for i in before.items]


def test_sparql_search_agrees_with_the_index(store):
    submit(store, "hospital-a", DS1, title="Influenza weekly counts", scenario=("AS-PH", "AS-EMERG"))
    submit(store, "hospital-b", DS2, title="Diabetes cohort", scenario=("AS-RES",), level="L3",
           filing="DC-20250101-BBBB0002")
    for q in (SearchQuery(), SearchQuery(filters={"scenario": ["AS-RES", "AS-PH"], "institution": ["hospital-a"]}),
              SearchQuery(text="diabetes"), SearchQuery(filters={"level": ["L3"]}, limit=1)):
        a, b = store.search(q), store.search_sparql(q)
        assert a.total == b.total
        assert {k: v for k, v in a.facets.items() if v} == {k: v for k, v in b.facets.items() if v}
        assert [i.key for i in a.items] == [i.key for i in b.items]


def test_sparql_search_agrees_with_the_index_across_dimensions(store):
    """The SPARQL form on every backend (Virtuoso too): filters in several dimensions, words with
    filters, the institution facet, the verdict and depth concepts, a record holding two of a
    filter's values (counted and paged once), and queries that match nothing."""
    submit(store, "hospital-a", DS1, title="Influenza weekly counts", scenario=("AS-PH", "AS-EMERG"),
           technique=("GT-AGG", "GT-DEID"))
    submit(store, "hospital-b", DS2, title="Diabetes cohort", scenario=("AS-RES",), level="L3",
           filing="DC-20250101-BBBB0002", verdict="conditional", depth="secondary")
    submit(store, "hospital-b", DS3, title="Influenza cohort", scenario=("AS-PH", "AS-RES"), level="L2",
           filing="DC-20250101-BBBB0003")
    both = SearchQuery(filters={"scenario": ["AS-PH", "AS-EMERG"]})
    queries = [
        SearchQuery(),
        both,
        SearchQuery(filters={"scenario": ["AS-PH", "AS-RES"], "level": ["L2", "L3"], "institution": ["hospital-b"]}),
        SearchQuery(filters={"scenario": ["AS-PH"], "technique": ["GT-DEID", "GT-AGG"]}, text="influenza"),
        SearchQuery(filters={"institution": ["hospital-a", "hospital-b"]}, text="cohort", sort="modified"),
        SearchQuery(filters={"verdict": ["conditional"]}),
        SearchQuery(filters={"depth": ["primary"], "verdict": ["certified", "conditional"]}, limit=1, offset=1),
        SearchQuery(filters={"institution": ["nowhere"]}),  # matches nothing
        SearchQuery(filters={"scenario": ["not a code!"], "depth": ["tertiary"]}),  # no valid term: nothing
        SearchQuery(text="influenza diabetes"),  # no record has both words
    ]
    for q in queries:
        a, b = store.search(q), store.search_sparql(q)
        assert a.total == b.total, q
        assert {k: v for k, v in a.facets.items() if v} == {k: v for k, v in b.facets.items() if v}, q
        assert [i.key for i in a.items] == [i.key for i in b.items], q
    # DS1 holds both filtered scenarios: one record, one item; each dimension's counts ignore its own filter
    res = store.search_sparql(both)
    assert res.total == 2 and len(res.items) == 2
    assert res.facets["scenario"] == {"AS-PH": 2, "AS-EMERG": 1, "AS-RES": 2}
    assert res.facets["institution"] == {"hospital-a": 1, "hospital-b": 1}
    res = store.search_sparql(SearchQuery(filters={"verdict": ["conditional"], "institution": ["hospital-b"]}))
    assert res.facets["verdict"] == {"certified": 1, "conditional": 1}
    assert res.facets["institution"] == {"hospital-b": 1}
    assert res.facets["depth"] == {"secondary": 1}
    empty = store.search_sparql(SearchQuery(filters={"institution": ["nowhere"]}))
    assert empty.total == 0 and empty.items == []
    assert empty.facets["institution"] == {"hospital-a": 1, "hospital-b": 2, "nowhere": 0}
    assert not any(v for dim, v in empty.facets.items() if dim != "institution")


@pytest.mark.parametrize("server_fixture", ["oxigraph_server", "virtuoso_server"])
def test_remote_index_follows_another_writer(request, server_fixture):
    """Two nodes over one shared store (the national recipe): each sees the other's writes."""
    server = request.getfixturevalue(server_fixture)
    server.clear()
    a = Catalog(remote_store(server, index_check_interval_s=0))
    b = Catalog(remote_store(server, index_check_interval_s=0))
    try:
        assert a.count() == 0
        submit(b, "hospital-a", DS1)
        assert a.count() == 1
        b.delete(dataset_key(DS1))
        assert a.count() == 0
    finally:
        a.close()
        b.close()


def test_user_queries_truncate_and_time_out(store):
    submit(store, "hospital-a", DS1)
    out = store.run_query("SELECT * WHERE { ?s ?p ?o }", "select", limit=3, timeout=10)
    assert out.truncated and len(out.rows) == 3
    assert store.run_query("ASK { ?s a <http://www.w3.org/ns/dcat#CatalogRecord> }", "ask", limit=3, timeout=10).boolean
    out = store.run_query("CONSTRUCT WHERE { ?s a ?t }", "graph", limit=2, timeout=10)
    assert out.truncated and len(out.triples) == 2
    with pytest.raises(store_mod.QueryRejected):
        store.run_query("SELECT * WHERE { ?s ?p }", "select", limit=3, timeout=10)


def test_bulk_add_then_search(store):
    subs = []
    for i in range(30):
        g, rg, results = fake_run(f"https://fake.example.org/bulk/{i}", filing=f"DC-20250101-BULK{i:04d}",
                                  level=("L1", "L2", "L3")[i % 3])
        subs.append(build_submission(("hospital-a", "hospital-b")[i % 2], g, rg, results))
    store.bulk_add(subs)
    assert store.search(SearchQuery(filters={"level": ["L3"]})).total == 10
    store.rebuild_index()
    assert store.search(SearchQuery(filters={"institution": ["hospital-b"]})).total == 15
    assert store.find_filing("DC-20250101-BULK0007") == dataset_key("https://fake.example.org/bulk/7")


def test_embedded_store_persists(tmp_path):
    s = Catalog(EmbeddedStore(tmp_path / "persist"))
    submit(s, "hospital-a", DS1)
    s.close()
    s2 = Catalog(EmbeddedStore(tmp_path / "persist"))
    try:
        assert s2.count() == 1
        assert s2.record(dataset_key(DS1))["institution"] == "hospital-a"
    finally:
        s2.close()



def ledger_triples(store) -> list[dict]:
    return store.select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{store_mod.FILINGS_GRAPH}> {{ ?s ?p ?o }} }}")


def test_a_filing_is_stored_once_and_moves_to_the_ledger_when_its_dataset_is_filed_again(store):
    submit(store, "hospital-a", DS1, filing="DC-20250101-AAAA0001")
    assert not ledger_triples(store)  # in the institution's graph only, beside what it certifies
    assert count(store, "SELECT ?f WHERE { ?f a dcert:FilingRecord ; dcert:filingStatus dcert:Valid }") == 1
    record = sorted(map(str, store.filing_record("DC-20250101-AAAA0001")))
    assert any('index#institution> "hospital-a"' in t for t in record)
    assert any(f'index#key> "{dataset_key(DS1)}"' in t for t in record)
    assert store.set_filing_status("DC-20250101-AAAA0001", "suspended", allowed={"valid"}, reason="r",
                                   when="2026-01-01T00:00:00Z") == "valid"
    assert count(store, "SELECT ?f WHERE { ?f dcert:filingStatus dcert:Suspended }") == 1  # /sparql sees today's
    submit(store, "hospital-a", DS1, filing="DC-20250101-AAAA0002")
    assert store.filing_status("DC-20250101-AAAA0001") == "superseded"  # moved, then superseded
    moved = sorted(map(str, store.filing_record("DC-20250101-AAAA0001")))
    assert {t for t in moved if "filingStatus" not in t and "status" not in t and "isReplacedBy" not in t} == \
        {t for t in record if "filingStatus" not in t}
    assert store.filing_status("DC-20250101-AAAA0002") == "valid"
    assert store.delete(dataset_key(DS1))
    assert store.filing_status("DC-20250101-AAAA0002") == "valid"  # withdrawn: still verifiable (A7)
    assert count(store, "SELECT ?f WHERE { ?f a dcert:FilingRecord }") == 0


def test_a_store_of_the_previous_layout_reads_its_ledger_copy_first(store):
    """Before filings were stored once, each was also copied into the ledger when filed, where
    status changes went, leaving the institution graph's copy `valid`."""
    sub = submit(store, "hospital-a", DS1, filing="DC-20250101-AAAA0001")
    f = ox.NamedNode("https://w3id.org/derivecert/filing/DC-20250101-AAAA0001")
    copy = [t for t in sub.quads if t.subject == f or t.subject.value.startswith(f.value + "#")]
    copy = [t for t in copy if t.predicate.value != "https://w3id.org/derivecert#filingStatus"]
    copy += [ox.Triple(f, ox.NamedNode("https://w3id.org/derivecert#filingStatus"), ox.NamedNode("https://w3id.org/derivecert#Revoked")),
             ox.Triple(f, ox.NamedNode(store_mod.IDX + "institution"), ox.Literal("hospital-a")),
             ox.Triple(f, ox.NamedNode(store_mod.IDX + "key"), ox.Literal(dataset_key(DS1)))]
    store.update(store_mod.update_text([store_mod.insert_data(store_mod.FILINGS_GRAPH, copy)]))
    assert store.filing_status("DC-20250101-AAAA0001") == "revoked"
    assert "<https://w3id.org/derivecert#Revoked>" in " ".join(map(str, store.filing_record("DC-20250101-AAAA0001")))
    submit(store, "hospital-a", DS1, filing="DC-20250101-AAAA0002")  # the stale copy is not moved over it
    assert store.filing_status("DC-20250101-AAAA0001") == "revoked"
    statuses = [r for r in ledger_triples(store) if r["p"].value.endswith("#filingStatus") and r["s"] == f]
    assert len(statuses) == 1


def test_a_filing_copy_in_another_graph_is_not_the_filing(store):
    """Only the ledger's copy, or the one in the graph of the institution whose record holds the
    number, is read (a copy elsewhere was written behind the node's back: issue 8)."""
    submit(store, "hospital-a", DS1, filing="DC-20250101-AAAA0001")
    f = ox.NamedNode("https://w3id.org/derivecert/filing/DC-20250101-AAAA0001")
    status = ox.NamedNode("https://w3id.org/derivecert#filingStatus")
    store.update(store_mod.update_text([store_mod.insert_data(graph_iri("hospital-b"), [
        ox.Triple(f, status, ox.NamedNode("https://w3id.org/derivecert#Revoked"))])]))
    assert store.filing_status("DC-20250101-AAAA0001") == "valid"
    assert store.set_filing_status("DC-20250101-AAAA0001", "suspended", allowed={"valid"}, reason="r",
                                   when="2026-01-01T00:00:00Z") == "valid"
    assert store.filing_status("DC-20250101-AAAA0001") == "suspended"
    q = f"SELECT ?s WHERE {{ GRAPH <{graph_iri('hospital-b')}> {{ <{f.value}> <{status.value}> ?s }} }}"
    assert [r["s"].value for r in store.select(q)] == ["https://w3id.org/derivecert#Revoked"]  # untouched


def test_settings_open_a_virtuoso_store():
    import httpx
    from pydantic import ValidationError

    from derivecert.catalog import open_store
    from derivecert.settings import Settings

    urls = {"kind": "remote", "query_url": "http://127.0.0.1:1/sparql", "update_url": "http://127.0.0.1:1/sparql-auth",
            "gsp_url": "http://127.0.0.1:1/sparql-graph-crud-auth", "username": "derivecert", "password": "secret"}
    s = open_store(Settings(store={**urls, "dialect": "virtuoso", "sql_address": "127.0.0.1:1"}))
    try:
        assert isinstance(s, RemoteStore) and s.dialect.name == "virtuoso" and s.sql is not None
        assert isinstance(s.client.auth, httpx.DigestAuth)  # Virtuoso's /sparql-auth
        assert "secret" not in repr(Settings(store=urls).store)  # a SecretStr
    finally:
        s.close()
    with pytest.raises(ValidationError, match="sql_address"):
        Settings(store={**urls, "sql_address": "127.0.0.1:1"})  # the SQL path is Virtuoso's
