"""The remote backend: any SPARQL 1.1 server, through the SPARQL 1.1 Protocol (query, update)
and the Graph Store Protocol (bulk load, export)."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from ..errors import QueryRejected, QueryTimeout, StoreError
from ..sparql import values_clause
from .base import CatalogStore, collect, rows_of
from .registry import register

log = logging.getLogger("derivecert.catalog")

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
    ):
        super().__init__()
        self.query_url = query_url
        self.update_url = update_url
        self.gsp_url = gsp_url
        self.timeout = timeout
        self.client = httpx.Client(timeout=timeout, auth=auth, trust_env=False)
        self.index_check_interval_s = index_check_interval_s

    def _shared(self) -> bool:
        return True

    def _post_query(self, query: str, accept: str, timeout: float | None, extra: list[tuple[str, str]] | None = None,
                    *, own: bool = True) -> bytes:
        """POST a query; `own` = False for a user's query, whose refusal the user may read.  The
        server's answer to the store's own queries is logged, never sent to a client."""
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
        return resp.content

    @staticmethod
    def _bound(query: str, bindings: dict[str, Any] | None) -> str:
        """The protocol carries text only: bindings go in a trailing VALUES clause, each term
        through `sparql_term`."""
        return query + values_clause(bindings) if bindings else query

    def select(self, query, bindings=None, *, timeout=None):
        body = self._post_query(self._bound(query, bindings), "application/sparql-results+json", timeout)
        return rows_of(ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON))

    def ask(self, query, bindings=None):
        body = self._post_query(self._bound(query, bindings), "application/sparql-results+json", None)
        return bool(ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON))

    def construct(self, query, bindings=None):
        body = self._post_query(self._bound(query, bindings), "application/n-triples", None)
        return list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))

    def update(self, update: str) -> None:
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
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
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
        return list(ox.parse(resp.content, format=ox.RdfFormat.N_TRIPLES))

    def run_query(self, query, form, *, limit, timeout, default_graphs=None, named_graphs=None):
        deadline = time.monotonic() + timeout
        extra = [("default-graph-uri", g) for g in default_graphs or []]
        extra += [("named-graph-uri", g) for g in named_graphs or []]
        if form == "graph":
            body = self._post_query(query, "application/n-triples", timeout, extra, own=False)
            return collect(ox.parse(body, format=ox.RdfFormat.N_TRIPLES), form, limit, deadline)
        body = self._post_query(query, "application/sparql-results+json", timeout, extra, own=False)
        results = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        return collect(results, form, limit, deadline)

    def close(self) -> None:
        self.client.close()
        super().close()


@register("remote")
def open_remote(settings: Any) -> RemoteStore:
    cfg = settings.store
    auth = (cfg.username, cfg.password.get_secret_value() if cfg.password else "") if cfg.username else None
    return RemoteStore(cfg.query_url, cfg.update_url, cfg.gsp_url, timeout=cfg.timeout_s, auth=auth,
                       index_check_interval_s=cfg.index_check_interval_s)
