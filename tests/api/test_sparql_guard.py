"""Query inspection (derivecert.sparql_guard): all of SPARQL 1.1 accepted, SERVICE only to the
allow-list, every refusal before any connection (issue 12)."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivecert.api.app import create_app
from derivecert.catalog import Catalog, EmbeddedStore
from derivecert.sparql_guard import (
    QueryError,
    ServiceNotAllowed,
    UpdateRefused,
    check_services,
    inspect_query,
    normalise_endpoint,
    tokenize,
)

from .conftest import make_settings
from .servers import Listener
from .test_api_read import is_problem

# The per-origin count: rdflib's parser refused it ("Expected SelectQuery, found 'UNION'").
PER_ORIGIN = """PREFIX idx: <https://w3id.org/derivecert/index#>
SELECT ?src (COUNT(DISTINCT ?inst) AS ?institutions) WHERE {{
  {{ BIND("local" AS ?src) ?r idx:institution ?inst }}
  UNION
  {{ BIND("peer" AS ?src) SERVICE <{peer}> {{ ?r idx:institution ?inst }} }}
}} GROUP BY ?src ORDER BY ?src"""


def test_valid_sparql_that_rdflib_refused_is_read():
    info = inspect_query(PER_ORIGIN.format(peer="http://peer.example/sparql"))
    assert (info.form, info.keyword, info.services) == ("select", "SELECT", ("http://peer.example/sparql",))


def test_form_update_and_syntax():
    assert inspect_query("DESCRIBE <http://x/>").form == "graph"
    assert inspect_query("PREFIX : <http://x/> CONSTRUCT WHERE { ?s :p ?o }").keyword == "CONSTRUCT"
    assert inspect_query("ASK { FILTER(1 < 2) }").form == "ask"
    for update in ("CLEAR ALL", "PREFIX : <http://x/> INSERT DATA { :a :b :c }", "LOAD <http://x/>",
                   "WITH <http://g/> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }"):
        with pytest.raises(UpdateRefused):
            inspect_query(update)
    for bad, where in (("SELEKT * {}", "1:1"), ("SELECT * { ?s ?p }", "1:"), ('SELECT * { ?s ?p "open }', "line 1"),
                       ("SELECT ?x { BIND(1 AS ?x) BIND(2 AS ?x) }", "1:")):
        with pytest.raises(QueryError) as caught:
            inspect_query(bad)
        assert where in str(caught.value)
    with pytest.raises(QueryError, match="no BASE"):
        inspect_query("SELECT * { SERVICE <sparql> { ?s ?p ?o } }")
    with pytest.raises(QueryError, match="names no character"):
        inspect_query("SELECT * { SERVICE <http://x/\\U00110000> { ?s ?p ?o } }")


@pytest.mark.parametrize(("query", "services"), [
    # SERVICE words in strings, long strings, comments, IRIs and prefixed names are no SERVICE
    ('SELECT * { ?s ?p "SERVICE <http://evil/>" }', ()),
    ("SELECT * { ?s ?p '''it's\n SERVICE <http://evil/> {} ''' }", ()),
    ("SELECT * { ?s ?p ?o } # SERVICE <http://evil/> { }", ()),
    ("PREFIX e: <http://e/> SELECT * { ?s e:SERVICE <http://SERVICE/> }", ()),
    # `<` after an operand in an expression, where no IRI can start, is less-than
    ("SELECT * { ?a ?b ?c FILTER(?c<\"x>\") SERVICE <http://evil/> {} }", ("http://evil/",)),
    ("SELECT * { ?a ?b ?c FILTER(?a<?b && ?c>?d) SERVICE <http://evil/> {} }", ("http://evil/",)),
    ("SELECT * { ?a ?b ?c FILTER(?a < <http://x/>) SERVICE <http://evil/> {} }", ("http://evil/",)),
    # an escaped quote in a prefixed name's local part is no string
    ("PREFIX e: <http://e/> SELECT * { ?s e:a\\'b ?o SERVICE <http://evil/> {} FILTER(?o = 'z') }", ("http://evil/",)),
    # `#` in an IRI is no comment; \\u escapes in IRIs are read
    ("SELECT * { ?s <http://x/#p> ?o SERVICE <http\\u003A//evil/> {} }", ("http://evil/",)),
    # prefixed names, BASE, SILENT, variables, nesting, lower case, comments between
    ("PREFIX p: <http://peer/> SELECT * { SERVICE p:sparql { SERVICE ?x { } } }", ("http://peer/sparql", "?x")),
    ("BASE <http://peer/a/> SELECT * FROM <g> { service silent <../sparql> {} }", ("http://peer/sparql",)),
    ("SELECT * { SERVICE # a comment\n SILENT\t$e { } }", ("?e",)),
])
def test_service_targets_are_found_as_the_engine_reads_them(query, services):
    assert inspect_query(query).services == services


@pytest.mark.parametrize("query", [
    "SELECT * { ?a ?b ?c FILTER(?a<'x>') SERVICE <http://evil/> { ?s ?p ?o } FILTER(?b = 'y') }",
    "SELECT * { ?a ?b ?c FILTER(?a<?b&&?c>?d) SERVICE <http://evil/> {} }",
])
def test_an_iri_where_the_engine_reads_less_than_is_refused(query):
    """SPARQL's longest token is an IRI there (W3C syn-bad-26); the engine reads less-than: a
    query two servers could read differently is refused."""
    with pytest.raises(QueryError, match="longest token"):
        inspect_query(query)


HIDDEN = "SELECT * { ?a ?b ?c FILTER(?a<'x>' && EXISTS { SERVICE <http://evil/> {} }) # ')\n}"


def test_a_tokenizer_mistake_cannot_hide_a_service(monkeypatch):
    """The engine reads a comparison, EXISTS { SERVICE … } and a comment; a tokenizer that missed
    that FILTER opens an expression would read an IRI `<'x>` and a string holding the SERVICE, up
    to the quote in the comment.  The engine then parses the token view (IRIs `<x:>`, strings "s") and
    refuses it: the check fails closed."""
    with pytest.raises(QueryError, match="longest token"):
        inspect_query(HIDDEN)
    from derivecert import sparql_guard

    monkeypatch.setattr(sparql_guard, "_OPENS_EXPRESSION", set())  # the simulated mistake
    assert [t.kind for t in tokenize(HIDDEN)][-4:] == ["iri", "string", "punct", "punct"]
    with pytest.raises(QueryError, match="could not be checked"):
        inspect_query(HIDDEN)


def test_the_tokenizer_reads_what_the_grammar_says():
    kinds = [(t.kind, t.text) for t in tokenize('SELECT ?x { ?x <p> "a"@en-GB , 1.5e3 , _:b FILTER(?x<3) }')]
    assert ("iri", "<p>") in kinds and ("langtag", "@en-GB") in kinds and ("number", "1.5e3") in kinds
    assert ("bnode", "_:b") in kinds and ("punct", "<") in kinds and ("var", "?x") in kinds


@pytest.mark.parametrize("variant", [
    "HTTP://PEER.example:8080/sparql", "http://peer.example:8080/sparql/", "http://peer.example:8080/sp%61rql",
    "http://peer.example:8080/sparql#here",
])
def test_spellings_of_an_allowed_endpoint_are_allowed(variant):
    check_services(inspect_query(f"SELECT * {{ SERVICE <{variant}> {{}} }}"), {"http://peer.example:8080/sparql"})
    assert normalise_endpoint("https://Peer.Example:443/a%2fb/") == normalise_endpoint("https://peer.example/a%2Fb")


@pytest.mark.parametrize("variant", [
    "http://peer.example:8081/sparql", "https://peer.example:8080/sparql", "http://peer.example:8080/sparql/more",
    "http://user@peer.example:8080/sparql", "http://u:pw@peer.example:8080/sparql", "http://peer.example.evil/sparql",
])
def test_other_endpoints_are_refused(variant):
    with pytest.raises(ServiceNotAllowed) as caught:
        check_services(inspect_query(f"SELECT * {{ SERVICE <{variant}> {{}} }}"), {"http://peer.example:8080/sparql"})
    assert caught.value.status == 400 and variant.rpartition("@")[2] in str(caught.value)


@pytest.fixture
def listeners():
    allowed, other = Listener(), Listener()
    yield allowed, other
    allowed.close()
    other.close()


REFUSED = [
    "SELECT * {{ SERVICE <{other}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE SILENT <{other}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE <{allowed}> {{ SERVICE <{other}> {{ ?s ?p ?o }} }} }}",
    "SELECT * {{ SERVICE <{allowed}> {{ ?s ?p ?o }} OPTIONAL {{ SERVICE SILENT <{other}> {{ ?s ?p ?o }} }} }}",
    "SELECT * {{ BIND(<{allowed}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
    "SELECT * {{ VALUES ?e {{ <{allowed}> }} SERVICE SILENT ?e {{ ?s ?p ?o }} }}",
    "PREFIX o: <{other_root}> SELECT * {{ SERVICE o:sparql {{ ?s ?p ?o }} }}",
    "BASE <{other_root}x/> SELECT * {{ SERVICE <../sparql> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE <{allowed_userinfo}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE <{other_escaped}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ ?a ?b ?c FILTER(?c<\"x>\") SERVICE <{other}> {{ ?s ?p ?o }} FILTER(?b = 'y') }}",
    "SELECT * {{ FILTER NOT EXISTS {{ SERVICE <{other}> {{ ?s ?p ?o }} }} }}",
    "SELECT * {{ {{ SELECT ?s {{ SERVICE <{other}> {{ ?s ?p ?o }} }} }} }}",
    "SELECT * {{ GRAPH ?g {{ MINUS {{ SERVICE <{other}> {{ ?s ?p ?o }} }} }} }}",
    "ASK {{ SERVICE <{other}> {{ ?s ?p ?o }} }}",
    "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{other}> {{ ?s ?p ?o }} }}",
    "DESCRIBE ?s WHERE {{ SERVICE <{other}> {{ ?s ?p ?o }} }}",
]


@pytest.mark.parametrize("template", REFUSED)
def test_every_refused_variant_makes_no_connection(listeners, template):
    allowed, other = listeners
    allowed_url = f"http://127.0.0.1:{allowed.port}/sparql"
    query = template.format(
        allowed=allowed_url, other=f"http://127.0.0.1:{other.port}/sparql",
        other_root=f"http://127.0.0.1:{other.port}/", other_escaped=f"http\\u003A//127.0.0.1:{other.port}/sparql",
        allowed_userinfo=f"http://reader:secret@127.0.0.1:{allowed.port}/sparql",
    )
    store = Catalog(EmbeddedStore(None))
    with TestClient(create_app(make_settings(service_allow=[allowed_url]), engine=False, store=store)) as c:
        for send in (lambda: c.get("/sparql", params={"query": query}),
                     lambda: c.post("/sparql", content=query, headers={"Content-Type": "application/sparql-query"})):
            body = is_problem(send(), 400, "service-not-allowed")
            assert "SERVICE" in body["detail"]
            assert any(why in body["detail"] for why in ("service_allow", "variable", "user information"))
            assert "secret" not in body["detail"]
    store.close()
    time.sleep(0.2)  # a connection attempt would have reached the listeners by now
    assert allowed.connections == 0 and other.connections == 0


def test_a_service_behind_an_ambiguous_less_than_is_refused_without_connecting(listeners):
    _, other = listeners
    query = f"SELECT * {{ ?a ?b ?c FILTER(?a<'x>') SERVICE <http://127.0.0.1:{other.port}/sparql> {{ }} FILTER(?b = 'y') }}"
    store = Catalog(EmbeddedStore(None))
    with TestClient(create_app(make_settings(), engine=False, store=store)) as c:
        body = is_problem(c.get("/sparql", params={"query": query}), 400, "invalid-query")
        assert "longest token" in body["detail"] and "less-than" in body["hint"]
    store.close()
    time.sleep(0.2)
    assert other.connections == 0


def _engine_parse_sealed(query: str) -> int:
    from derivecert.sparql_guard import _engine_parse, seal

    seal()
    _engine_parse(query)  # evaluating a SERVICE here would connect, were the worker not sealed
    try:
        socket.socket().close()
    except OSError:
        return 0
    return 1


def test_analysis_workers_cannot_connect_even_to_a_service_the_tokenizer_missed(listeners):
    """The backstop: the engine's parse starts evaluating, SERVICE included; in a sealed worker
    (as `QueryAnalyser` runs them) that evaluation cannot open a socket."""
    from derivecert import sandbox

    if not sandbox.available():
        pytest.skip("bounded workers need fork")
    _, other = listeners
    pool = sandbox.BoundedPool(_engine_parse_sealed, sandbox.Bounds(memory_mb=512, timeout_s=30))
    try:
        sockets = pool.run(f"SELECT * {{ SERVICE <http://127.0.0.1:{other.port}/sparql> {{ ?s ?p ?o }} }}")
        assert sockets == 0
        assert pool.run("ASK {}") == 0  # the sealed worker serves on
    finally:
        pool.close()
    time.sleep(0.2)
    assert other.connections == 0


class Recorder:
    """Records the request line of each HTTP request it gets, and answers nothing useful."""

    def __init__(self, requests: list[str]):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = requests  # shared by the recorders, in the order of arrival
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                line = conn.recv(65536).split(b"\r\n", 1)[0].decode("latin-1")
                self.requests.append(f"{self.port} {line}")


def test_service_iris_resolve_as_the_engine_resolves_them():
    """What the check compares is what the engine calls: the engine itself (no check) runs each
    query against two recorders, and the endpoint it requested is the one `inspect_query` listed."""
    import pyoxigraph as ox

    requests: list[str] = []
    a, b = Recorder(requests), Recorder(requests)
    try:
        cases = [
            f"BASE <http://127.0.0.1:{a.port}/a/> PREFIX p: <x/> BASE <http://127.0.0.1:{b.port}/> "
            "SELECT * { SERVICE p:s {} }",
            f"BASE <http://127.0.0.1:{a.port}/a/b/c> SELECT * {{ SERVICE <../../d/./e?q=1#f> {{}} }}",
            f"BASE <http://127.0.0.1:{a.port}/a/b/> SELECT * {{ SERVICE <?x> {{}} }}",
            f"BASE <http://127.0.0.1:{a.port}/a/> SELECT * {{ SERVICE <//127.0.0.1:{b.port}/z> {{}} }}",
            f"PREFIX p: <http://127.0.0.1:{b.port}/> SELECT * {{ SERVICE p:s%2Fp\\~q {{}} }}",
            f"SELECT * {{ SERVICE <http\\u003A//127.0.0.1:{a.port}/\\u0073parql> {{}} }}",
        ]
        for query in cases:
            (target,) = inspect_query(query).services
            before = len(requests)
            try:
                list(ox.Store().query(query))
            except (OSError, RuntimeError):
                pass  # the recorders answer nothing
            deadline = time.monotonic() + 5
            while len(requests) == before and time.monotonic() < deadline:
                time.sleep(0.02)
            request = requests[before] if len(requests) > before else None
            parts = urlsplit(target)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            assert request is not None and request.split()[0] == str(parts.port), (query, target, request)
            assert request.split()[2] == path, (query, target, request)
    finally:
        a.sock.close()
        b.sock.close()


FRAGMENTS = ["SELECT", "ASK", "*", "?s", "?p", "?o", "$e", "{", "}", "(", ")", "[", "]", ".", ";", ",", "<", ">",
             "<http://a/>", "<a>", "p:x", "p:", ":x", "'", '"', "'''", '"""', "#", "\n", " ", "\\u0022", "\\", "@en",
             "^^", "1", "1.5", "SERVICE", "SILENT", "FILTER", "BIND", "AS", "EXISTS", "GROUP BY", "VALUES", "UNION",
             "PREFIX p: <http://p/>", "BASE <http://b/>", "&&", "||", "=", "!", "<<(", ")>>", "_:b", "INSERT"]


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=30))
def test_any_text_is_a_query_or_a_clear_refusal(parts):
    try:
        info = inspect_query(" ".join(parts) if len(parts) % 2 else "".join(parts))
    except (QueryError, UpdateRefused):
        return
    assert info.form in ("select", "ask", "graph")
    try:
        check_services(info, {"http://p/x"})
    except ServiceNotAllowed as exc:
        assert exc.status == 400
