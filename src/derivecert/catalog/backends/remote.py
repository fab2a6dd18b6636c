"""The remote backend: any SPARQL 1.1 server, through the SPARQL 1.1 Protocol (query, update)
and the Graph Store Protocol (bulk load, export).

What differs between servers is in one place, `Dialect` (chosen by `store.dialect`):

- results: Virtuoso 7 writes SPARQL JSON results with the pre-standard `"typed-literal"` type,
  so its results are read as SPARQL XML, which it writes to the standard;
- bound values: Virtuoso applies a trailing ``VALUES`` clause after the projection (a bound
  variable that is not selected is "No column"), so bindings go in a ``VALUES`` block at the
  start of the WHERE clause, which every SPARQL 1.1 server reads the same way;
- authentication: Virtuoso takes updates and Graph Store writes on its `/sparql-auth` and
  `/sparql-graph-crud-auth` endpoints with HTTP Digest; other servers with HTTP Basic;
- the dataset of a user's query: sent as default-graph-uri / named-graph-uri on every server,
  but Virtuoso lets a query's own FROM / FROM NAMED (and its DEFINE input:... pragmas) override
  them, so on Virtuoso a user's query that names graphs in its text is refused (the request's
  parameters name them instead).  Virtuoso 7.2.5 also answers ASK and COUNT over a
  ``GRAPH <iri>`` outside the named graphs as if it had one empty solution (true, 1): no data
  shows, but the answer is wrong; the graphs of the node's institutions are always named.
- atomicity: Virtuoso's HTTP endpoint commits each operation of an update request by itself
  (a failing operation does not undo those before it), so with `store.sql_address` set the
  catalog's writes go through Virtuoso's SQL port in one transaction (backends/virtuoso_sql.py);
- datatypes: Virtuoso 7 turns an ``xsd:duration`` into a number ("P1Y" reads back as "12")
  and refuses one in INSERT DATA, so on Virtuoso durations are stored under a datatype of the
  node's own (`VIRTUOSO_DURATION`) and read back as ``xsd:duration`` by every read of this
  module, users' queries included (a user's query comparing durations on the server does not
  see them as durations).

Everything else (blank nodes: the catalog skolemises them; language tags, which Virtuoso
lower-cases and RDF compares without case) needs no dialect.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from ..errors import QueryRejected, QueryTimeout, StoreError
from ..model import GRAPH_BASE, IDX, PREFIXES
from ..sparql import update_text, values_clause
from .base import CatalogStore, collect, rows_of
from .registry import register
from .virtuoso_sql import VirtuosoSQL

log = logging.getLogger("derivecert.catalog")

SRX = "application/sparql-results+xml"
SRJ = "application/sparql-results+json"


XSD_DURATION = "http://www.w3.org/2001/XMLSchema#duration"
#: how Virtuoso keeps a duration verbatim: a datatype it does not know
VIRTUOSO_DURATION = IDX + "xsdDuration"
# every double-quoted literal of an update text, left to right, with its datatype: the texts'
# values come from `sparql_term` (a quote inside a literal is escaped) and their constant parts
# have no double quote outside literals, so each match is one whole literal
_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"(\^\^<[^>]*>)?')


@dataclass(frozen=True)
class Dialect:
    """How one kind of SPARQL server is spoken to (see the module's docstring)."""

    name: str
    results: str = SRJ          # the results format asked for SELECT and ASK
    digest_auth: bool = False   # HTTP Digest instead of Basic for store.username / store.password
    text_dataset_wins: bool = False  # a query's FROM / FROM NAMED override the protocol's graphs
    #: datatypes the server does not keep verbatim -> the datatype they are stored under
    stored_as: tuple[tuple[str, str], ...] = ()

    def to_server_text(self, text: str) -> str:
        """An update's text with its literals' datatypes as the server keeps them."""
        if not self.stored_as:
            return text
        swap = {f"^^<{a}>": f"^^<{b}>" for a, b in self.stored_as}

        def one(m: re.Match) -> str:
            dt = m.group(1)
            return m.group(0) if dt not in swap else m.group(0)[:-len(dt)] + swap[dt]

        return _LITERAL.sub(one, text)

    def to_server(self, term):
        if self.stored_as and isinstance(term, ox.Literal):
            for a, b in self.stored_as:
                if term.datatype.value == a:
                    return ox.Literal(term.value, datatype=ox.NamedNode(b))
        return term

    def from_server(self, term):
        if self.stored_as and isinstance(term, ox.Literal):
            for a, b in self.stored_as:
                if term.datatype.value == b:
                    return ox.Literal(term.value, datatype=ox.NamedNode(a))
        return term

    def triples_to_server(self, triples):
        return [ox.Triple(t.subject, t.predicate, self.to_server(t.object)) for t in triples] if self.stored_as else triples

    def triples_from_server(self, triples):
        return [ox.Triple(t.subject, t.predicate, self.from_server(t.object)) for t in triples] if self.stored_as else triples

    @property
    def results_format(self) -> ox.QueryResultsFormat:
        return ox.QueryResultsFormat.XML if self.results == SRX else ox.QueryResultsFormat.JSON


DIALECTS = {
    "standard": Dialect("standard"),
    "virtuoso": Dialect("virtuoso", results=SRX, digest_auth=True, text_dataset_wins=True,
                        stored_as=((XSD_DURATION, VIRTUOSO_DURATION),)),
}

#: the graph a dataset with no graph is sent as: no institution slug starts with "_"
EMPTY_GRAPH = GRAPH_BASE + "_none"

# a query naming its dataset in its text: FROM [NAMED] then an IRI or a prefixed name (comments
# may stand between tokens), or a Virtuoso pragma.  Conservative: a look-alike in a string is
# refused too, never missed.
_TEXT_DATASET = re.compile(
    r"\bFROM(?:\s|#[^\n]*(?:\n|$))+(?:NAMED(?:\s|#[^\n]*(?:\n|$))+)?(?:<|[\w.\-]*:)|\bDEFINE\s",
    re.IGNORECASE)

# where a group pattern opens: bindings go first inside it (see `_bound`)
_WHERE = re.compile(r"\b(?:WHERE|ASK)\s*\{", re.IGNORECASE)


def _server_error(what: str, resp: httpx.Response) -> StoreError:
    """The server's refusal, logged with its text (which may quote the request), and answered
    to clients without it."""
    log.warning("SPARQL server refused a %s, HTTP %s: %s", what, resp.status_code, resp.text[:2000])
    return StoreError(f"the SPARQL server refused a {what} of the catalog (HTTP {resp.status_code}); "
                      "its answer is in the node's log")


class RemoteStore(CatalogStore):
    """A SPARQL 1.1 server: queries and updates over the Protocol, bulk loads and exports over
    the Graph Store Protocol."""

    kind = "remote"

    def __init__(
        self,
        query_url: str,
        update_url: str,
        gsp_url: str | None = None,
        *,
        timeout: float = 30.0,
        auth: tuple[str, str] | None = None,
        index_check_interval_s: float = 1.0,
        dialect: str = "standard",
        sql: VirtuosoSQL | None = None,
        scan_timeout: float | None = 600.0,
        index_dir: Path | None = None,
        feed_keep: int = 10000,
    ):
        super().__init__()
        self.dialect = DIALECTS[dialect]
        self.sql = sql  # Virtuoso's SQL port for atomic writes (see the module's docstring)
        self.query_url = query_url
        self.update_url = update_url
        self.gsp_url = gsp_url
        self.timeout = timeout
        http_auth = httpx.DigestAuth(*auth) if auth and self.dialect.digest_auth else auth
        self.client = httpx.Client(timeout=timeout, auth=http_auth, trust_env=False)
        self.index_check_interval_s = index_check_interval_s
        self.scan_timeout = scan_timeout  # an index rebuild's reads (`store.index_rebuild_timeout_s`)
        self.local_dir = Path(index_dir) if index_dir is not None else None  # `store.index_dir`
        if self.local_dir is not None:
            self.local_dir.mkdir(parents=True, exist_ok=True)
        self.feed_keep = feed_keep

    @property
    def index_dir(self) -> Path | None:
        """``<store.index_dir>/index``: the node's facet index file, at a position in the
        shared store's change feed (one node a folder: the file follows that node's index)."""
        return self.local_dir / "index" if self.local_dir is not None else None

    @property
    def text_path(self) -> Path | None:
        return self.local_dir / "text.sqlite" if self.local_dir is not None else None

    def _shared(self) -> bool:
        return True

    def _post_query(self, query: str, accept: str, timeout: float | None, extra: list[tuple[str, str]] | None = None,
                    *, own: bool = True) -> tuple[bytes, bool]:
        """POST a query; `own` = False for a user's query, whose refusal the user may read.  The
        server's answer to the store's own queries is logged, never sent to a client.  Returns
        the body and whether the server cut the result at its own row cap (Virtuoso says so in
        `X-SPARQL-MaxRows`, also when the result has exactly that many rows): a cut result of the
        store's own is an error (the search index would miss records), a user's is marked."""
        body = urlencode([("query", query)] + (extra or [])).encode("ascii")
        try:
            resp = self.client.post(
                self.query_url, content=body, timeout=timeout or self.timeout,
                headers={"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx.TimeoutException as exc:
            raise QueryTimeout("the SPARQL server did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise StoreError(f"SPARQL server unreachable: {exc}") from exc
        if resp.status_code >= 400:
            if resp.status_code < 500 and not own:
                raise QueryRejected(resp.text.strip()[:2000] or f"HTTP {resp.status_code}")
            raise _server_error("query", resp)
        cut = "x-sparql-maxrows" in resp.headers
        if cut and own:
            log.warning("SPARQL server cut a result of the catalog at %s rows", resp.headers["x-sparql-maxrows"])
            raise StoreError(f"the SPARQL server cut a result of the catalog at {resp.headers['x-sparql-maxrows']} rows: "
                             "raise its row cap above the catalog's size (Virtuoso: [SPARQL] ResultSetMaxRows)")
        return resp.content, cut

    @staticmethod
    def _bound(query: str, bindings: dict[str, Any] | None) -> str:
        """The protocol carries text only: bindings go in a VALUES block opening the query's
        WHERE clause (the store's own constant texts all have one), each term through
        `sparql_term`."""
        if not bindings:
            return query
        where = _WHERE.search(query)
        if where is None:
            raise ValueError("a query with bindings needs a WHERE clause")
        return query[:where.end()] + values_clause(bindings) + "\n" + query[where.end():]

    def _results(self, body: bytes):
        return ox.parse_query_results(body, format=self.dialect.results_format)

    def select(self, query, bindings=None, *, timeout=None):
        rows = rows_of(self._results(self._post_query(self._bound(query, bindings), self.dialect.results, timeout)[0]))
        if self.dialect.stored_as:
            rows = [{k: self.dialect.from_server(v) for k, v in r.items()} for r in rows]
        return rows

    def ask(self, query, bindings=None):
        return bool(self._results(self._post_query(self._bound(query, bindings), self.dialect.results, None)[0]))

    def construct(self, query, bindings=None):
        body, _ = self._post_query(self._bound(query, bindings), "application/n-triples", None)
        return self.dialect.triples_from_server(list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES)))

    def update_ops(self, ops: list[str]) -> None:
        if self.sql is not None:
            self.sql.run([self.dialect.to_server_text(PREFIXES + op) for op in ops])
        else:
            self.update(update_text(ops))

    def update(self, update: str) -> None:
        update = self.dialect.to_server_text(update)
        if self.sql is not None:
            self.sql.run([update])
            return
        try:
            resp = self.client.post(
                self.update_url, content=update.encode("utf-8"),
                headers={"Content-Type": "application/sparql-update"},
            )
        except httpx.HTTPError as exc:
            raise StoreError(f"SPARQL server unreachable: {exc}") from exc
        if resp.status_code >= 300:
            raise _server_error("update", resp)

    def _gsp(self) -> str:
        if not self.gsp_url:
            raise StoreError("store.gsp_url is not set: the Graph Store Protocol endpoint is needed")
        return self.gsp_url

    def load(self, graph: str, triples: list[ox.Triple]) -> None:
        body = ox.serialize(self.dialect.triples_to_server(triples), format=ox.RdfFormat.N_TRIPLES)
        try:
            resp = self.client.post(
                self._gsp(), params={"graph": graph}, content=body,
                headers={"Content-Type": "application/n-triples"},
            )
        except httpx.HTTPError as exc:
            raise StoreError(f"Graph Store unreachable: {exc}") from exc
        if resp.status_code >= 300:
            raise _server_error("Graph Store POST", resp)

    def export(self, graph: str) -> list[ox.Triple]:
        try:
            resp = self.client.get(self._gsp(), params={"graph": graph}, headers={"Accept": "application/n-triples"})
        except httpx.HTTPError as exc:
            raise StoreError(f"Graph Store unreachable: {exc}") from exc
        if resp.status_code == 404:
            return []
        if resp.status_code >= 300:
            raise StoreError(f"Graph Store GET failed, HTTP {resp.status_code}")
        return self.dialect.triples_from_server(list(ox.parse(resp.content, format=ox.RdfFormat.N_TRIPLES)))

    def run_query(self, query, form, *, limit, timeout, default_graphs=None, named_graphs=None):
        deadline = time.monotonic() + timeout
        if self.dialect.text_dataset_wins and _TEXT_DATASET.search(query):
            raise QueryRejected(
                "this catalog's SPARQL server lets FROM / FROM NAMED in a query override the dataset, so "
                "queries naming graphs in their text are refused here: name them with the request's "
                "default-graph-uri / named-graph-uri parameters (the default graph is every institution's)")
        # the dataset is the catalog's choice (`Catalog.user_dataset`), both lists explicit
        # the dataset goes as the protocol's parameters, never into the query's text; an empty
        # list is sent as a graph that never holds a triple (no parameter would mean "all")
        extra = [("default-graph-uri", g) for g in default_graphs or [EMPTY_GRAPH]]
        extra += [("named-graph-uri", g) for g in named_graphs or [EMPTY_GRAPH]]
        if form == "graph":
            body, cut = self._post_query(query, "application/n-triples", timeout, extra, own=False)
            out = collect(ox.parse(body, format=ox.RdfFormat.N_TRIPLES), form, limit, deadline)
            out.triples = self.dialect.triples_from_server(out.triples)
        else:
            body, cut = self._post_query(query, self.dialect.results, timeout, extra, own=False)
            out = collect(self._results(body), form, limit, deadline)
            if self.dialect.stored_as:
                out.rows = [[self.dialect.from_server(v) for v in row] for row in out.rows]
        out.truncated = out.truncated or cut
        return out

    def close(self) -> None:
        self.client.close()
        if self.sql is not None:
            self.sql.close()
        super().close()


@register("remote")
def open_remote(settings: Any) -> RemoteStore:
    cfg = settings.store
    password = cfg.password.get_secret_value() if cfg.password else ""
    auth = (cfg.username, password) if cfg.username else None
    sql = (VirtuosoSQL(cfg.sql_address, cfg.username or "", password, driver=cfg.odbc_driver, timeout=cfg.timeout_s)
           if cfg.sql_address else None)
    if cfg.dialect == "virtuoso" and sql is None:
        log.warning("store.dialect = 'virtuoso' without store.sql_address: Virtuoso commits each operation of "
                    "an update by itself, so a write that fails half-way stays half written")
    return RemoteStore(cfg.query_url, cfg.update_url, cfg.gsp_url, timeout=cfg.timeout_s, auth=auth,
                       index_check_interval_s=cfg.index_check_interval_s, dialect=cfg.dialect, sql=sql,
                       scan_timeout=cfg.index_rebuild_timeout_s, index_dir=cfg.index_dir, feed_keep=cfg.feed_keep)
