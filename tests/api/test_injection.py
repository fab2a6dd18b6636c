"""Identifiers from requests never become query text (issue 8, items 1 and 7, `%00`).

Path parameters are checked against their exact format (a dataset key or an absolute IRI, an
institution slug) and answered with a 4xx naming the format; the store binds values as terms,
and the one function that writes a term into SPARQL text (`sparql_term`, for updates and the
remote backend) is shown on arbitrary text to be unable to leave its term."""

from __future__ import annotations

from urllib.parse import quote

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivecert import catalog as store_mod
from derivecert.catalog import dataset_key, sparql_term, values_clause

from .servers import Listener
from .test_api_read import DS_DM, fill, is_problem


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


def crafted_ids(port: int) -> dict[str, str]:
    # `\u003A` is ':' to the SPARQL parser, so these pass a naive "looks like an IRI" test
    service = f"http\\u003A//127.0.0.1:{port}/sparql"
    return {
        "service": f"0000000000000000> ?p ?o }} SERVICE <{service}> {{ ?a ?b ?c }} }} #",
        "cartesian": "0000000000000000> ?p ?o } ?a ?b ?c . ?d ?e ?f . ?h ?i ?j . ?k ?l ?m } #",
        "nul": "\x00",
        "nul in a key": "00000000\x0000000000",
        "brace": "}",
        "relative": "datasets/1",
    }


@pytest.mark.parametrize("name", list(crafted_ids(1)))
def test_crafted_dataset_ids_are_refused_before_any_query(client, store, listener, name):
    fill(store)
    ident = crafted_ids(listener.port)[name]
    for accept in ("application/json", "text/turtle"):
        body = is_problem(client.get("/v1/datasets/" + quote(ident, safe=""), headers={"Accept": accept}),
                          400, "invalid-identifier")
        assert "16 hexadecimal digits" in body["hint"]
        assert "SELECT" not in body["detail"] and "CONSTRUCT" not in body["detail"]
    assert listener.connections == 0


def test_crafted_ids_cannot_withdraw(client, store, listener):
    fill(store)
    from .conftest import auth

    ident = crafted_ids(listener.port)["service"]
    r = client.delete("/v1/institutions/hospital-a/datasets/" + quote(ident, safe=""), headers=auth("hospital-a"))
    is_problem(r, 400, "invalid-identifier")
    assert listener.connections == 0
    assert client.get(f"/v1/datasets/{dataset_key(DS_DM)}").status_code == 200


def test_a_dataset_is_found_by_key_in_any_case_and_by_iri(client, store):
    fill(store)
    key = dataset_key(DS_DM)
    assert client.get(f"/v1/datasets/{key.upper()}").json()["dataset"] == DS_DM
    assert client.get("/v1/datasets/" + quote(DS_DM, safe="")).json()["id"] == key
    is_problem(client.get("/v1/datasets/" + quote("https://nowhere.example.org/x", safe="")), 404, "not-found")


@pytest.mark.parametrize("institution", ["a b", "a>b", "\x00", "A", "x" * 80, "_meta", "é", "a\nb"])
def test_institution_graph_with_an_invalid_id_is_404(client, institution):
    body = is_problem(client.get("/v1/institutions/" + quote(institution, safe="") + "/graph"),
                      404, "unknown-institution")
    assert body["hint"]


def test_filings_with_crafted_numbers_are_404(client, store, listener):
    fill(store)
    for number in ("DC-1> } SERVICE <x> {", "\x00", "DC-20250101-DM000001 "):
        is_problem(client.get("/v1/filings/" + quote(number, safe=""), headers={"Accept": "text/turtle"}), 404)
    assert listener.connections == 0


# -- the one escaping function -----------------------------------------------------------------

ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
IRI_LIKE = st.builds(lambda tail: "http://example.org/" + tail,
                     st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ANY_TEXT, st.sampled_from([None, "en", "zh-Hans"]))
def test_any_literal_stays_one_literal_in_query_text(text, lang):
    term = ox.Literal(text, language=lang) if lang else ox.Literal(text)
    rows = list(ox.Store().query(f"SELECT ?x ?y WHERE {{ BIND({sparql_term(term)} AS ?x) BIND(1 AS ?y) }}"))
    assert len(rows) == 1 and rows[0]["x"] == term and rows[0]["y"].value == "1"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(IRI_LIKE)
def test_any_iri_is_refused_or_stays_one_iri_in_query_text(text):
    try:
        term = ox.NamedNode(text)
    except ValueError:
        return  # refused: it never reaches any text
    query = "SELECT ?x ?y WHERE { BIND(" + sparql_term(term) + " AS ?x) BIND(1 AS ?y) }"
    rows = list(ox.Store().query(query))
    assert len(rows) == 1 and rows[0]["x"] == term and rows[0]["y"].value == "1"


def test_only_iris_and_literals_enter_query_text():
    with pytest.raises(TypeError):
        sparql_term(ox.BlankNode())
    with pytest.raises(TypeError):
        sparql_term("<http://example.org/> } DROP ALL ; INSERT DATA {")  # a str is not a term
    with pytest.raises(ValueError):
        store_mod.sparql_iri("http://example.org/> } SERVICE <http://127.0.0.1:1/> {")
    with pytest.raises(ValueError):
        store_mod.record_iri("0000000000000000> ?p ?o")
    with pytest.raises(ValueError):
        store_mod.graph_iri("a> ?p ?o")


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.tuples(ANY_TEXT, st.sampled_from([None, "en", "zh-Hans"])), min_size=1, max_size=4))
def test_insert_data_writes_exactly_the_triples_given(literals):
    """`insert_data` has Oxigraph write a submission's triples at once: whatever a literal holds,
    the update stores those triples and nothing else, in that graph and no other."""
    s, p = ox.NamedNode("http://example.org/s"), ox.NamedNode("http://example.org/p")
    triples = {ox.Triple(s, p, ox.Literal(text, language=lang) if lang else ox.Literal(text)) for text, lang in literals}
    store = ox.Store()
    store.update(store_mod.update_text([store_mod.insert_data("http://example.org/g", triples)]))
    assert {q.triple for q in store} == triples
    assert {q.graph_name for q in store} == {ox.NamedNode("http://example.org/g")}


def test_insert_data_refuses_a_blank_node():
    with pytest.raises(TypeError):
        store_mod.insert_data("http://example.org/g", [ox.Triple(ox.BlankNode(), ox.NamedNode("http://example.org/p"),
                                                                   ox.Literal("x"))])


def test_values_clause_binds_like_substitution():
    s = ox.Store()
    g, rec = ox.NamedNode("https://w3id.org/derivecert/graph/a"), ox.NamedNode("https://e.org/r")
    s.add(ox.Quad(rec, ox.NamedNode("https://e.org/p"), ox.Literal('x" } ;'), g))
    s.add(ox.Quad(ox.NamedNode("https://e.org/other"), ox.NamedNode("https://e.org/p"), ox.Literal("y"), g))
    q = "SELECT ?g ?rec ?o WHERE { GRAPH ?g { ?rec <https://e.org/p> ?o } }"
    bound = list(s.query(q + values_clause({"g": g, "rec": rec})))
    substituted = list(s.query(q, substitutions={ox.Variable("g"): g, ox.Variable("rec"): rec}))
    assert [r["o"] for r in bound] == [r["o"] for r in substituted] == [ox.Literal('x" } ;')]


def test_the_text_of_internal_queries_never_reaches_a_client(caplog):
    """A remote server that refuses the store's own queries, quoting them as Oxigraph does:
    clients get a 503 naming no query; the node's log keeps the server's answer."""
    import httpx
    from fastapi.testclient import TestClient

    from derivecert.api.app import create_app
    from derivecert.catalog import RemoteStore

    from .conftest import make_settings

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="Parser error: " + request.content.decode()[:200])

    store = RemoteStore("http://127.0.0.1:9/query", "http://127.0.0.1:9/update")
    store.client = httpx.Client(transport=httpx.MockTransport(refuse))
    with TestClient(create_app(make_settings(), engine=False, store=store)) as client:
        for path in ("/v1/datasets", "/v1/datasets/0123456789abcdef", "/v1/filings/DC-1"):
            body = is_problem(client.get(path), 503, "store-unavailable")
            assert "SELECT" not in body["detail"] and "PREFIX" not in body["detail"]
    assert any("Parser error" in r.getMessage() for r in caplog.records)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(ANY_TEXT, min_size=1, max_size=3), st.lists(ANY_TEXT, min_size=1, max_size=3), ANY_TEXT)
def test_search_in_sparql_keeps_any_filter_value_a_term(codes, institutions, text):
    """The faceted search written in SPARQL (sent to plain-SPARQL peers) with arbitrary filter
    values and words: each text is one valid query that matches nothing in an empty store."""
    from derivecert.catalog import SearchQuery, sparql_search

    query = SearchQuery(filters={"scenario": codes, "institution": institutions}, text=text)
    for name, sparql in sparql_search(query).items():
        rows = list(ox.Store().query(sparql))
        assert rows == [] or (name == "total" and rows[0]["n"].value == "0")
