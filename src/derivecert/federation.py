"""Federated faceted search across institutions' nodes.

Serves the filing part of the standard across certifying nodes: each node holds the catalogs
its institutions filed, and a user can ask one node about all of them.  (What a `/sparql`
query may do, SERVICE allow-list included, is checked by `derivecert.sparql_guard`.)

* `federated_search` runs a faceted search on every peer concurrently with a time limit, merges
  the hits and the facet counts, and turns a peer's failure into an error entry of a partial
  answer.  A dataset (one IRI) reached through several origins is one hit listing every origin
  (`Hit.origins`), counted once in the total and the facets; its institution is shown by the
  name its node gives (a DeriveCert peer's `/v1/institutions`), the slug where none is known.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from .catalog import DIMENSIONS, RecordSummary, SearchQuery, SearchResult, parse_sparql_search, sparql_search
from .catalog.items import facet_counts_from_json, item_from_json


# -- federated search ------------------------------------------------------------------------


@dataclass
class OriginOutcome:
    name: str
    url: str
    ok: bool
    total: int = 0
    elapsed_ms: float = 0.0
    error: str | None = None
    status: int | None = None


@dataclass
class Hit:
    """A search hit with its origin: "local" or a peer's name; `href` where to read it;
    `origins` every (origin, href, institution) that has the same dataset, this one first;
    `institution_name` the institution's names as its node gives them ({} if unknown)."""

    entry: RecordSummary
    origin: str
    href: str | None = None
    institution_name: dict[str, str] = field(default_factory=dict)
    origins: list[dict[str, Any]] = field(default_factory=list)

    def source(self) -> dict[str, Any]:
        return {"origin": self.origin, "href": self.href, "institution": self.entry.institution,
                "institution_name": self.institution_name}


@dataclass
class FederatedResult:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    origins: list[OriginOutcome]
    #: institutions' names as their nodes give them (this node's, then the peers'), for labels
    institution_names: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return any(not o.ok for o in self.origins)


def search_params(query: SearchQuery, *, offset: int, limit: int) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for dim, values in query.filters.items():
        params.extend((dim, v) for v in values)
    if query.text:
        params.append(("q", query.text))
    params += [("offset", str(offset)), ("limit", str(limit)), ("sort", query.sort), ("federated", "false")]
    return params


async def _derivecert_peer(client: httpx.AsyncClient, peer, query: SearchQuery, want: int, timeout: float, token: str | None):
    hits: list[Hit] = []
    total = 0
    facets: dict[str, dict[str, int]] = {}
    page_max = 100
    offset = 0
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    while True:
        limit = max(1, min(page_max, want - offset)) if want else 1
        url = f"{peer.url}/v1/datasets?" + urlencode(search_params(query, offset=offset, limit=limit))
        resp = await client.get(url, headers=headers, timeout=timeout)
        if resp.status_code != 200:
            raise PeerError(f"HTTP {resp.status_code}: {resp.text[:300]}", resp.status_code)
        body = resp.json()
        total = int(body.get("total", 0))
        if not facets:
            facets = facet_counts_from_json(body.get("facets") or {})
        for item in body.get("items", []):
            entry, href = item_from_json(item)
            if href and href.startswith("/"):
                href = peer.url + href
            hits.append(Hit(entry=entry, origin=peer.name, href=href))
        offset += limit
        if not want or offset >= want or offset >= total or not body.get("items"):
            break
    return total, hits[:want], facets


async def _derivecert_names(client: httpx.AsyncClient, peer, timeout: float, token: str | None) -> dict[str, dict[str, str]]:
    """The peer's institutions' names ({} when it does not say: the slugs show instead)."""
    headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    try:
        resp = await client.get(f"{peer.url}/v1/institutions", headers=headers, timeout=timeout)
        listed = resp.json().get("institutions", []) if resp.status_code == 200 else []
        return {str(i["id"]): {str(k): str(v) for k, v in (i.get("name") or {}).items()}
                for i in listed if isinstance(i, dict) and i.get("id")}
    except Exception:  # the names are a nicety: the search goes on without them
        return {}


async def _sparql_peer(client: httpx.AsyncClient, peer, query: SearchQuery, want: int, timeout: float):
    texts = sparql_search(SearchQuery(filters=query.filters, text=query.text, offset=0, limit=max(want, 1), sort=query.sort))

    async def run(text: str) -> list[dict]:
        resp = await client.post(
            peer.sparql_endpoint, content=urlencode({"query": text}).encode("ascii"),
            headers={"Accept": "application/sparql-results+json",
                     "Content-Type": "application/x-www-form-urlencoded"},
            timeout=timeout,
        )
        if resp.status_code != 200:
            raise PeerError(f"HTTP {resp.status_code}: {resp.text[:300]}", resp.status_code)
        return resp.json()["results"]["bindings"]

    page, total, facets = await asyncio.gather(run(texts["page"]), run(texts["total"]), run(texts["facets"]))
    result = parse_sparql_search(query, page if want else [], total, facets)
    hits = [Hit(entry=e, origin=peer.name, href=None) for e in result.items[:want]]
    return result.total, hits, result.facets


def peer_client() -> httpx.AsyncClient:
    """How this node calls its peers: no proxy from the environment, no redirects followed."""
    return httpx.AsyncClient(trust_env=False, follow_redirects=False)


class PeerError(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


async def federated_search(
    local: SearchResult,
    query: SearchQuery,
    peers: list,
    *,
    timeout: float,
    client: httpx.AsyncClient | None = None,
    local_href=lambda entry: None,
    tokens: dict[str, str] | None = None,
    local_names: dict[str, dict[str, str]] | None = None,
) -> FederatedResult:
    """Merge the local result (already computed for offset 0 .. offset+limit) with every peer's;
    `local_names` are this node's institutions' names."""
    want = query.offset + query.limit
    own_client = client is None
    client = client or peer_client()
    origins = [OriginOutcome(name="local", url="", ok=True, total=local.total)]
    hits = [Hit(entry=e, origin="local", href=local_href(e), institution_name=(local_names or {}).get(e.institution, {}))
            for e in local.items]
    facets: dict[str, dict[str, int]] = {dim: dict(v) for dim, v in local.facets.items()}
    total = local.total
    known_names: dict[str, dict[str, str]] = {k: v for k, v in (local_names or {}).items() if v}

    async def one(peer):
        started = time.monotonic()
        limit = peer.timeout_s or timeout
        try:
            names: dict[str, dict[str, str]] = {}
            if peer.kind == "sparql":  # a bare catalog store holds the slugs only
                res = await asyncio.wait_for(_sparql_peer(client, peer, query, want, limit), timeout=limit)
            else:
                token = (tokens or {}).get(peer.name)
                res, names = await asyncio.wait_for(asyncio.gather(
                    _derivecert_peer(client, peer, query, want, limit, token),
                    _derivecert_names(client, peer, limit, token)), timeout=limit)
            for hit in res[1]:
                hit.institution_name = names.get(hit.entry.institution, {})
            for inst, name in names.items():
                if name:  # a node that lists an institution it does not name says nothing of it
                    known_names.setdefault(inst, name)
            return peer, res, None, (time.monotonic() - started) * 1000
        except asyncio.TimeoutError:
            return peer, None, PeerError(f"no answer within {limit:g} s"), (time.monotonic() - started) * 1000
        except httpx.TimeoutException:
            return peer, None, PeerError(f"no answer within {limit:g} s"), (time.monotonic() - started) * 1000
        except httpx.HTTPError as exc:
            return peer, None, PeerError(f"unreachable: {type(exc).__name__}: {exc}"), (time.monotonic() - started) * 1000
        except PeerError as exc:
            return peer, None, exc, (time.monotonic() - started) * 1000
        except Exception as exc:  # a malformed answer must not turn into a 5xx
            return peer, None, PeerError(f"unusable answer: {type(exc).__name__}: {exc}"), (time.monotonic() - started) * 1000

    try:
        outcomes = await asyncio.gather(*(one(p) for p in peers))
    finally:
        if own_client:
            await client.aclose()
    for peer, res, err, ms in outcomes:
        url = peer.url if peer.kind == "derivecert" else peer.sparql_endpoint
        if err is not None:
            origins.append(OriginOutcome(name=peer.name, url=url, ok=False, error=str(err),
                                         status=getattr(err, "status", None), elapsed_ms=round(ms, 1)))
            continue
        p_total, p_hits, p_facets = res
        total += p_total
        hits.extend(p_hits)
        for dim, counts in p_facets.items():
            if dim not in DIMENSIONS:
                continue
            mine = facets.setdefault(dim, {})
            for code, n in counts.items():
                mine[code] = mine.get(code, 0) + n
        origins.append(OriginOutcome(name=peer.name, url=url, ok=True, total=p_total, elapsed_ms=round(ms, 1)))
    hits, repeats = dedupe(hits)
    total -= len(repeats)
    for kept, repeat in repeats:
        _uncount(facets, kept.entry, repeat.entry)
    hits = sort_hits(hits, query.sort)[query.offset:want]
    return FederatedResult(total=total, hits=hits, facets=facets, origins=origins, institution_names=known_names)


def _dims(entry: RecordSummary) -> dict[str, set[str]]:
    dims = {dim: set(values) for dim, values in entry.codes.items() if dim in DIMENSIONS}
    dims["institution"] = {entry.institution}
    dims["verdict"] = {entry.verdict}
    if entry.depth:
        dims["depth"] = {entry.depth}
    return dims


def dedupe(hits: list[Hit]) -> tuple[list[Hit], list[tuple[Hit, Hit]]]:
    """One hit per dataset IRI, the first origin's (local before the peers, peers in the
    settings' order), listing every origin; and the (kept, repeat) pairs merged into it."""
    kept: dict[str, Hit] = {}
    repeats: list[tuple[Hit, Hit]] = []
    for hit in hits:
        first = kept.get(hit.entry.dataset)
        if first is None:
            kept[hit.entry.dataset] = hit
            hit.origins = [hit.source()]
        else:
            first.origins.append(hit.source())
            repeats.append((first, hit))
            if not first.institution_name and hit.entry.institution == first.entry.institution:
                first.institution_name = hit.institution_name  # a node that names it speaks for it
    return list(kept.values()), repeats


def _uncount(facets: dict[str, dict[str, int]], kept: RecordSummary, repeat: RecordSummary) -> None:
    """A repeat counted a value its dataset already counts through the kept hit: count it once.
    (Only the hits fetched are compared: past the page, a repeat cannot be seen.)"""
    mine = _dims(kept)
    for dim, values in _dims(repeat).items():
        counts = facets.get(dim, {})
        for code in values & mine.get(dim, set()):
            if counts.get(code, 0) > 0:
                counts[code] -= 1


def sort_hits(hits: list[Hit], sort: str) -> list[Hit]:
    if sort == "title":
        return sorted(hits, key=lambda h: (_title(h.entry), h.entry.key, h.origin))
    reverse = sort == "-modified"
    return sorted(hits, key=lambda h: (h.entry.modified, h.entry.key, h.origin), reverse=reverse)


def _title(entry: RecordSummary) -> str:
    t = entry.title or {}
    return (t.get("en") or t.get("zh") or t.get("und") or next(iter(t.values()), "") or entry.dataset).casefold()
