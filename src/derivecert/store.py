"""The catalog store: filed descriptions, certification results and filing records (备案).

Serves §5 of DOMAIN.md (a filing number unique in the store, the filing linked to the dataset)
and the catalog the API searches.  Two backends share every SPARQL text below:

* `EmbeddedStore`: an Oxigraph store (pyoxigraph) on disk, or in memory;
* `RemoteStore`: any SPARQL 1.1 server, through the SPARQL 1.1 Protocol (query, update) and the
  Graph Store Protocol (bulk load, export): Oxigraph server, Apache Jena Fuseki, GraphDB...
  The server should answer queries over the union of its named graphs by default
  (``oxigraph serve --union-default-graph``, Fuseki ``tdb2:unionDefaultGraph true``); the
  store's own queries name their graphs, so only users' SPARQL depends on it.

Layout, one named graph per institution (``https://w3id.org/derivecert/graph/<institution>``)
holding, for each certified or conditional dataset:

* the description as filed (blank nodes skolemised to ``.../.well-known/genid/...`` IRIs, so that
  they can be deleted precisely later);
* the engine's result nodes and filing record;
* a ``dcat:CatalogRecord`` (``https://w3id.org/derivecert/record/<key>``) with the facet summary:
  the §6 classification codes as direct properties (``idx:scenario dcert:AS-PH`` ...), the
  verdict, the filing number, a lower-cased search text, the §6 JSON, and ``idx:part`` links to
  every subject the submission contributed for that dataset.

Replacing a dataset is one SPARQL UPDATE request (one transaction) on the institution's graph
only: delete the subjects only the old record owned, delete the old record, insert the new
description, result, filing and record.  Subjects shared by several records (an agent, a source
described in several submissions) stay while any record lists them; their triples are the union
of what the live submissions said.

Trust (issue 8): the store's query texts are constants and values are bound as terms
(`sparql_term` is the only way a value enters SPARQL text); a submission may not use the node's
own IRI space or the engine's output vocabulary (`check_description`); the index accepts a
record only in the graph of the institution it names (`_valid_summary`); and a dataset IRI, or a
look-alike of it (`iri_lookalike_form`), belongs to the institution that filed it first.

Search does not run SPARQL: `FacetIndex` keeps the facet summary of every record as bitsets
(Python ints), so facet counts at 100,000 datasets take milliseconds.  The same search is
also written in SPARQL (`sparql_search`) for peers that are plain SPARQL endpoints holding a
DeriveCert catalog, and the two are tested to agree.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

log = logging.getLogger("derivecert.store")

# -- IRIs ---------------------------------------------------------------------------------

BASE = "https://w3id.org/derivecert"
DCERT = BASE + "#"
IDX = BASE + "/index#"
GRAPH_BASE = BASE + "/graph/"
RECORD_BASE = BASE + "/record/"
GENID_BASE = BASE + "/.well-known/genid/"
FILING_IRI_BASE = BASE + "/filing/"  # the engine's filing record IRIs (derivecert.filing)
META_GRAPH = GRAPH_BASE + "_meta"
CATALOG = BASE + "/catalog"

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_JSON = "http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON"
XSD = "http://www.w3.org/2001/XMLSchema#"

PREFIXES = f"""PREFIX idx: <{IDX}>
PREFIX dcert: <{DCERT}>
PREFIX dcat: <{DCAT}>
PREFIX dct: <{DCT}>
PREFIX foaf: <{FOAF}>
PREFIX xsd: <{XSD}>
"""

#: facet dimensions: name -> (vocabulary slug or None for literal values, reader of a §6 dict)
DIMENSIONS: dict[str, tuple[str | None, Callable[[dict], list[str]]]] = {
    "scenario": ("application-scenario", lambda r: _cls(r, "scenario")),
    "technique": ("generation-technique", lambda r: _cls(r, "technique")),
    "level": ("sensitivity-level", lambda r: _cls(r, "sensitivity_level")),
    "grade": ("deidentification-grade", lambda r: _cls(r, "deidentification_grade")),
    "granularity": ("subject-granularity", lambda r: _cls(r, "granularity")),
    "category": ("health-data-category", lambda r: _cls(r, "category")),
    "modality": ("data-modality", lambda r: _cls(r, "modality")),
    "special": ("special-category", lambda r: _cls(r, "special")),
    "depth": (None, lambda r: [r["derivation_depth"]] if r.get("derivation_depth") else []),
    "verdict": (None, lambda r: [r["verdict"]]),
    "institution": (None, lambda r: []),  # filled from the submission, not the result
}
CODED = {name for name, (slug, _) in DIMENSIONS.items() if slug}

STORABLE_VERDICTS = ("certified", "conditional")
#: what search results and the index keep of a filing (the whole record: /v1/filings/{number})
SUMMARY_FILING = ("number", "issued", "valid_until", "certifying_body", "sha256")

#: facet dimension -> (§6 classification key, single-valued in §6)
SECTION6 = {
    "scenario": ("scenario", False), "technique": ("technique", False),
    "granularity": ("granularity", True), "modality": ("modality", False),
    "category": ("category", False), "special": ("special", False),
    "grade": ("deidentification_grade", True), "level": ("sensitivity_level", True),
}


def codes_to_classification(codes: dict[str, list[str]]) -> dict[str, Any]:
    """Facet codes of a record in the §6 `classification` shape."""
    out: dict[str, Any] = {}
    for dim, (name, single) in SECTION6.items():
        values = list(codes.get(dim, []))
        out[name] = (values[0] if values else None) if single else values
    return out


def classification_to_codes(classification: dict[str, Any]) -> dict[str, list[str]]:
    return {dim: _cls({"classification": classification}, name) for dim, (name, _) in SECTION6.items()}


def _cls(result: dict, name: str) -> list[str]:
    value = (result.get("classification") or {}).get(name)
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [str(value)]


#: the exact formats of the identifiers the store builds IRIs from (checked with `fullmatch`)
KEY = re.compile(r"[0-9a-f]{16}")
INSTITUTION_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
CODE = re.compile(r"[A-Za-z0-9-]{1,32}")


def dataset_key(dataset_iri: str) -> str:
    """Stable short id of a dataset in URLs: 16 hex digits of the SHA-256 of its IRI."""
    return hashlib.sha256(dataset_iri.encode("utf-8")).hexdigest()[:16]


def is_key(value: str) -> bool:
    return KEY.fullmatch(value) is not None


def is_institution_id(value: str) -> bool:
    return INSTITUTION_ID.fullmatch(value) is not None


def graph_iri(institution: str) -> str:
    if not is_institution_id(institution):
        raise ValueError(f"not an institution id: {institution!r}")
    return GRAPH_BASE + institution


def record_iri(key: str) -> str:
    if not is_key(key):
        raise ValueError(f"not a dataset key: {key!r}")
    return RECORD_BASE + key


def institution_of_graph(iri: str) -> str | None:
    if iri.startswith(GRAPH_BASE) and is_institution_id(iri[len(GRAPH_BASE):]):
        return iri[len(GRAPH_BASE):]
    return None


def iri_lookalike_form(iri: str) -> str:
    """The form under which two dataset IRIs name the same thing for ownership: scheme and host
    case-folded (RFC 3986 §6.2.2.1), default port and trailing slashes dropped.  A dataset filed
    as ``https://h.org/ds/1`` is the same dataset as ``HTTPS://H.ORG/ds/1/``."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(iri)
        port = parts.port
    except ValueError:
        return iri
    if not parts.scheme or not parts.netloc:  # urn:, tag:, ...: only the scheme is case-free
        scheme, _, rest = iri.partition(":")
        return f"{scheme.lower()}:{rest.rstrip('/')}"
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host += f":{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{scheme}://{netloc}{path}{query}{fragment}"


def code_of(value: str) -> str:
    """`https://w3id.org/derivecert#AS-PH` -> `AS-PH` (literals pass through)."""
    return value[len(DCERT):] if value.startswith(DCERT) else value


def now_utc() -> datetime:
    return datetime.now(UTC)


# -- errors -------------------------------------------------------------------------------


class StoreError(Exception):
    """The store could not be read or written (backend down, bad answer)."""

    code = "store-unavailable"
    status = 503
    hint: str | None = None
    extensions: dict[str, Any] = {}  # problem+json members; instances set their own


class QueryTimeout(StoreError):
    code = "query-timeout"
    status = 503


class ConflictError(StoreError):
    """The dataset is already filed by another institution (under this IRI or a look-alike)."""

    code = "dataset-conflict"
    status = 409
    hint = ("a dataset IRI belongs to the institution that filed it first (IRIs differing only in the "
            "case of scheme and host, the default port or a trailing '/' are the same dataset); "
            "that institution may withdraw it")

    def __init__(self, dataset: str, holder: "RecordSummary"):
        filed_as = "" if holder.dataset == dataset else f" as {holder.dataset}"
        super().__init__(f"{dataset} is filed by another institution ({holder.institution}){filed_as}")
        self.extensions = {"dataset": dataset, "holder": holder.institution, "filed_as": holder.dataset}


class ReservedTermError(StoreError):
    """A submission uses IRIs that only this node writes (its bookkeeping, results, filings)."""

    code = "reserved-term"
    status = 400
    hint = ("remove these terms: IRIs under https://w3id.org/derivecert/ and the vocabulary of "
            "certification results and filing records are written by the node, never by a submission")

    def __init__(self, terms: list[str]):
        shown = ", ".join(f"<{t}>" for t in terms[:5]) + (f" and {len(terms) - 5} more" if len(terms) > 5 else "")
        super().__init__(f"the description uses reserved term(s): {shown}")
        self.extensions = {"terms": terms}


class QueryRejected(StoreError):
    """The backend refused the query (syntax it does not support, SERVICE failure...)."""

    code = "query-failed"
    status = 400


# -- submissions ---------------------------------------------------------------------------


@dataclass
class RecordSummary:
    """One catalog record as the search index keeps it (also stored as `idx:summary` JSON)."""

    key: str
    dataset: str
    institution: str
    verdict: str
    modified: str
    issued: str
    title: dict[str, str]
    codes: dict[str, list[str]]
    filing: dict[str, Any] | None
    depth: str | None = None
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "dataset": self.dataset, "institution": self.institution,
            "verdict": self.verdict, "modified": self.modified, "issued": self.issued,
            "title": self.title, "codes": self.codes, "filing": self.filing,
            "depth": self.depth,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], text: str = "") -> "RecordSummary":
        return cls(
            key=data["key"], dataset=data["dataset"], institution=data["institution"],
            verdict=data["verdict"], modified=data["modified"], issued=data["issued"],
            title=data.get("title") or {}, codes=data.get("codes") or {},
            filing=data.get("filing"), depth=data.get("depth"), text=text,
        )

    def dimension_values(self, dim: str) -> list[str]:
        if dim == "institution":
            return [self.institution]
        if dim == "verdict":
            return [self.verdict]
        if dim == "depth":
            return [self.depth] if self.depth else []
        return self.codes.get(dim, [])


@dataclass
class Submission:
    """What one accepted submission writes: quads for the institution graph and its records."""

    institution: str
    quads: list[ox.Triple]          # triples of the institution graph (description, results)
    records: list[RecordSummary]
    parts: dict[str, set[str]]      # record key -> subjects (IRIs) it owns
    results: dict[str, dict]        # record key -> §6 result dict

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.records]

    def record_triples(self, key: str) -> list[ox.Triple]:
        rec = next(r for r in self.records if r.key == key)
        return _record_triples(rec, self.results[key], self.parts[key])

    def all_triples(self) -> list[ox.Triple]:
        out = list(self.quads)
        for rec in self.records:
            out.extend(self.record_triples(rec.key))
        return out


def _lit(value: str, datatype: str | None = None) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(value)


def _record_triples(rec: RecordSummary, result: dict, parts: set[str]) -> list[ox.Triple]:
    r = ox.NamedNode(record_iri(rec.key))
    nn = ox.NamedNode
    t: list[ox.Triple] = [
        ox.Triple(r, nn(RDF_TYPE), nn(DCAT + "CatalogRecord")),
        ox.Triple(r, nn(FOAF + "primaryTopic"), nn(rec.dataset)),
        ox.Triple(r, nn(DCT + "issued"), _lit(rec.issued, XSD + "dateTime")),
        ox.Triple(r, nn(DCT + "modified"), _lit(rec.modified, XSD + "dateTime")),
        ox.Triple(r, nn(IDX + "key"), _lit(rec.key)),
        ox.Triple(r, nn(IDX + "institution"), _lit(rec.institution)),
        ox.Triple(r, nn(IDX + "verdict"), _lit(rec.verdict)),
        ox.Triple(r, nn(IDX + "text"), _lit(rec.text)),
        ox.Triple(r, nn(IDX + "summary"), _lit(json.dumps(rec.to_json(), ensure_ascii=False), RDF_JSON)),
        ox.Triple(r, nn(IDX + "result"), _lit(json.dumps(result, ensure_ascii=False), RDF_JSON)),
    ]
    for lang, title in rec.title.items():
        t.append(ox.Triple(r, nn(DCT + "title"), ox.Literal(title, language=lang) if lang != "und" else ox.Literal(title)))
    if rec.depth:
        t.append(ox.Triple(r, nn(IDX + "depth"), _lit(rec.depth)))
    for dim in CODED:
        for code in rec.codes.get(dim, []):
            t.append(ox.Triple(r, nn(IDX + dim), nn(DCERT + code)))
    if rec.filing and rec.filing.get("number"):
        t.append(ox.Triple(r, nn(IDX + "filingNumber"), _lit(str(rec.filing["number"]))))
        if rec.filing.get("valid_until"):
            t.append(ox.Triple(r, nn(IDX + "validUntil"), _lit(str(rec.filing["valid_until"]), XSD + "date")))
    for s in sorted(parts):
        t.append(ox.Triple(r, nn(IDX + "part"), nn(s)))
    return t


#: classes whose instances only the engine writes: results, findings, filings and their parts
ENGINE_OUTPUT_CLASSES = ("CertificationResult", "Finding", "FilingRecord", "CertificationActivity", "CertifyingBody")


@functools.lru_cache(maxsize=1)
def reserved_vocabulary() -> frozenset[str]:
    """The engine's output vocabulary, read from the ontology: the classes above and every
    property whose `rdfs:domain` is one of them (`dcert:verdict`, `dcert:filingNumber`, ...)."""
    from rdflib import URIRef
    from rdflib.namespace import RDFS

    from .resources import ontology_graph

    graph = ontology_graph()
    classes = {URIRef(DCERT + name) for name in ENGINE_OUTPUT_CLASSES}
    props = {p for c in classes for p in graph.subjects(RDFS.domain, c)}
    return frozenset(str(t) for t in classes | props)


def reserved_terms(description) -> list[str]:
    """The IRIs of a description (rdflib graph) that only this node may write: anything in its
    own IRI space ``https://w3id.org/derivecert/...`` (graphs, catalog records, index terms,
    results, filing records, skolem IRIs) and the engine's output vocabulary."""
    from rdflib import Literal, URIRef

    vocabulary = reserved_vocabulary()
    found: set[str] = set()
    for triple in description:
        for term in triple:
            if isinstance(term, Literal):
                term = term.datatype
            if isinstance(term, URIRef) and (term.startswith(BASE + "/") or str(term) in vocabulary):
                found.add(str(term))
    return sorted(found)


def check_description(description) -> None:
    """Refuse a description that uses reserved terms (`ReservedTermError`, naming them)."""
    terms = reserved_terms(description)
    if terms:
        raise ReservedTermError(terms)


def build_submission(
    institution: str,
    description,
    result_graph,
    results: list[dict],
    *,
    now: datetime | None = None,
) -> Submission:
    """Turn an engine run (rdflib graphs + §6 dicts) into what the store writes.

    Only certified and conditional results become records.  Each record owns the subjects
    reachable from its dataset, and those that reach it (its result and filing nodes), without
    passing through another record's dataset; description subjects reached by no record (a
    catalog node, a free-standing agent) are shared by all the submission's records.  Result
    graph nodes of datasets that are not stored (sources, not derived) are dropped.
    """
    from rdflib import BNode, URIRef

    from .parse import to_oxigraph

    check_description(description)
    when = (now or now_utc()).isoformat().replace("+00:00", "Z")
    stored = [r for r in results if r.get("verdict") in STORABLE_VERDICTS]
    stored.sort(key=lambda r: dataset_key(r["dataset"]))
    datasets = {URIRef(r["dataset"]) for r in stored}

    desc_triples = list(description)
    res_triples = list(result_graph) if result_graph is not None else []
    out_edges: dict[Any, set] = {}
    in_edges: dict[Any, set] = {}
    desc_subjects, res_subjects = set(), set()
    for s, p, o in desc_triples:
        desc_subjects.add(s)
        out_edges.setdefault(s, set()).add(o)
        in_edges.setdefault(o, set()).add(s)
    for s, p, o in res_triples:
        res_subjects.add(s)
        out_edges.setdefault(s, set()).add(o)
        in_edges.setdefault(o, set()).add(s)
    subjects = desc_subjects | res_subjects

    def walk(starts: Iterable, edges: dict, stop: set) -> set:
        seen: set = set()
        todo = [n for n in starts if n not in stop]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            for nxt in edges.get(node, ()):
                if nxt in subjects and nxt not in seen and nxt not in stop:
                    todo.append(nxt)
        return seen

    parts_nodes: dict[Any, set] = {}
    for ds in datasets:
        others = datasets - {ds}
        fwd = walk(out_edges.get(ds, ()), out_edges, others | {ds})
        bwd = walk(in_edges.get(ds, ()), in_edges, others | {ds})
        bwd_fwd = walk(bwd, out_edges, others | {ds})
        parts_nodes[ds] = {ds} | fwd | bwd | bwd_fwd
    owned = set().union(*parts_nodes.values()) if parts_nodes else set()
    orphans = {s for s in desc_subjects if s not in owned}
    for ds in datasets:
        parts_nodes[ds] |= orphans

    genids: dict[Any, ox.NamedNode] = {}

    def genid(node) -> ox.NamedNode:
        if node not in genids:
            genids[node] = ox.NamedNode(GENID_BASE + uuid.uuid4().hex)
        return genids[node]

    def term(node) -> Any:
        return to_oxigraph(node, genid)

    keep_res = owned
    quads: list[ox.Triple] = []
    seen_t: set = set()
    for s, p, o in desc_triples + [t for t in res_triples if t[0] in keep_res]:
        if (s, p, o) in seen_t:
            continue
        seen_t.add((s, p, o))
        quads.append(ox.Triple(term(s), term(p), term(o)))

    records, parts, by_key = [], {}, {}
    for result in stored:
        ds = URIRef(result["dataset"])
        key = dataset_key(result["dataset"])
        part_iris = {term(n).value for n in parts_nodes[ds] if isinstance(n, (URIRef, BNode))}
        title, text = _title_and_text(description, ds)
        codes = {dim: reader(result) for dim, (slug, reader) in DIMENSIONS.items() if slug}
        filing = result.get("filing")
        records.append(
            RecordSummary(
                key=key, dataset=result["dataset"], institution=institution,
                verdict=result["verdict"], modified=when, issued=when, title=title,
                codes=codes, filing={k: filing[k] for k in SUMMARY_FILING if k in filing} if filing else None,
                depth=result.get("derivation_depth"), text=text,
            )
        )
        parts[key] = part_iris
        by_key[key] = result
    return Submission(institution=institution, quads=quads, records=records, parts=parts, results=by_key)


def _title_and_text(graph, node) -> tuple[dict[str, str], str]:
    from rdflib.namespace import DCAT as RDCAT, DCTERMS

    title: dict[str, str] = {}
    for lit in graph.objects(node, DCTERMS.title):
        title.setdefault(getattr(lit, "language", None) or "und", str(lit))
    words = [str(node)]
    for pred in (DCTERMS.title, DCTERMS.description, DCTERMS.identifier, RDCAT.keyword):
        words.extend(str(v) for v in graph.objects(node, pred))
    return title, normalise_text(" ".join(words))


def normalise_text(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()


# -- search --------------------------------------------------------------------------------


@dataclass
class SearchQuery:
    """Faceted search: AND across dimensions, OR within one; `text` words must all occur."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    text: str = ""
    offset: int = 0
    limit: int = 20
    sort: str = "-modified"  # -modified | modified | title

    def words(self) -> list[str]:
        return [w for w in normalise_text(self.text).split(" ") if w]


@dataclass
class SearchResult:
    total: int
    items: list[RecordSummary]
    facets: dict[str, dict[str, int]]


class FacetIndex:
    """Facet summary of every record as bitsets: one Python int per (dimension, value).

    Ordinals follow (modified, key), so "newest first" reads the highest set bits.  Facet
    counts follow the multi-select convention: a dimension's counts apply every filter but
    its own, so the client sees the alternatives it could add.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.entries: list[RecordSummary | None] = []
        self.by_key: dict[str, int] = {}
        self.by_form: dict[str, set[str]] = {}  # look-alike form of a dataset IRI -> keys
        self.live = 0
        self.masks: dict[str, dict[str, int]] = {dim: {} for dim in DIMENSIONS}
        self._text_cache: dict[str, int] = {}
        self._blob: str | None = None
        self._starts: list[int] = []
        self.entries_dims: list[dict[str, set[str]]] = []
        self.generation = 0

    def __len__(self) -> int:
        return len(self.by_key)

    def get(self, key: str) -> RecordSummary | None:
        i = self.by_key.get(key)
        return self.entries[i] if i is not None else None

    def lookalikes(self, dataset: str) -> list[RecordSummary]:
        """Records whose dataset IRI is `dataset` or a look-alike of it (`iri_lookalike_form`)."""
        return [self.get(k) for k in sorted(self.by_form.get(iri_lookalike_form(dataset), ()))]

    def find_filing(self, number: str) -> RecordSummary | None:
        for entry in self.entries:
            if entry is not None and entry.filing and entry.filing.get("number") == number:
                return entry
        return None

    def add_many(self, entries: Iterable[RecordSummary]) -> None:
        entries = sorted(entries, key=lambda e: (e.modified, e.key))
        if self.by_key:
            for entry in entries:
                self.add(entry)
            return
        # bulk build: one bytearray per (dimension, value), turned into an int once (O(n))
        n = len(entries)
        size = (n + 8) // 8
        live = bytearray(size)
        tables: dict[str, dict[str, bytearray]] = {dim: {} for dim in DIMENSIONS}
        for i, entry in enumerate(entries):
            if entry.key in self.by_key:  # a duplicate key: the later one wins
                old = self.by_key[entry.key]
                self.entries[old] = None
                live[old >> 3] &= ~(1 << (old & 7)) & 0xFF
                for dim, values in self.entries_dims[old].items():
                    for value in values:
                        tables[dim][value][old >> 3] &= ~(1 << (old & 7)) & 0xFF
            self.entries.append(entry)
            self.by_key[entry.key] = i
            self.by_form.setdefault(iri_lookalike_form(entry.dataset), set()).add(entry.key)
            byte, bit = i >> 3, 1 << (i & 7)
            live[byte] |= bit
            dims = {dim: set(values) for dim, values in entry.codes.items() if values and dim in tables}
            dims["institution"] = {entry.institution}
            dims["verdict"] = {entry.verdict}
            if entry.depth:
                dims["depth"] = {entry.depth}
            for dim, values in dims.items():
                table = tables[dim]
                for value in values:
                    arr = table.get(value)
                    if arr is None:
                        arr = table[value] = bytearray(size)
                    arr[byte] |= bit
            self.entries_dims.append(dims)
        self.entries_dims = []
        self.live = int.from_bytes(live, "little")
        self.masks = {dim: {v: int.from_bytes(a, "little") for v, a in t.items()} for dim, t in tables.items()}
        self.masks = {dim: {v: m for v, m in t.items() if m} for dim, t in self.masks.items()}
        self._changed()

    def add(self, entry: RecordSummary) -> None:
        self.remove(entry.key)
        i = len(self.entries)
        bit = 1 << i
        self.entries.append(entry)
        self.by_key[entry.key] = i
        self.by_form.setdefault(iri_lookalike_form(entry.dataset), set()).add(entry.key)
        self.live |= bit
        for dim in DIMENSIONS:
            table = self.masks[dim]
            for value in set(entry.dimension_values(dim)):
                table[value] = table.get(value, 0) | bit
        self._changed()

    def remove(self, key: str) -> bool:
        i = self.by_key.pop(key, None)
        if i is None:
            return False
        entry = self.entries[i]
        self.entries[i] = None
        form = iri_lookalike_form(entry.dataset)
        self.by_form[form].discard(key)
        if not self.by_form[form]:
            del self.by_form[form]
        bit = 1 << i
        self.live ^= bit
        for dim in DIMENSIONS:
            table = self.masks[dim]
            for value in set(entry.dimension_values(dim)):
                table[value] ^= bit
                if not table[value]:
                    del table[value]
        self._changed()
        if len(self.entries) > 1024 and len(self.by_key) * 2 < len(self.entries):
            self._compact()
        return True

    def _changed(self) -> None:
        self._text_cache.clear()
        self._blob = None
        self.generation += 1

    def _compact(self) -> None:
        alive = [e for e in self.entries if e is not None]
        self.clear()
        for e in alive:
            self.add(e)

    def _text_mask(self, word: str) -> int:
        """Records whose text contains `word`: `str.find` over one blob of all texts, so a
        rare word costs little and a common one one step per hit."""
        cached = self._text_cache.get(word)
        if cached is not None:
            return cached
        if self._blob is None:
            starts, parts, pos = [], [], 0
            for e in self.entries:
                starts.append(pos)
                text = e.text if e is not None else ""
                parts.append(text)
                pos += len(text) + 1
            self._blob, self._starts = "\x00".join(parts), starts
        blob, starts = self._blob, self._starts
        bits = bytearray((len(self.entries) + 8) // 8)
        pos = blob.find(word)
        while pos >= 0:
            i = bisect.bisect_right(starts, pos) - 1
            bits[i >> 3] |= 1 << (i & 7)
            nxt = starts[i + 1] if i + 1 < len(starts) else len(blob)
            pos = blob.find(word, nxt)
        mask = int.from_bytes(bits, "little") & self.live
        if len(self._text_cache) > 256:
            self._text_cache.clear()
        self._text_cache[word] = mask
        return mask

    def search(self, query: SearchQuery) -> SearchResult:
        base = self.live
        for word in query.words():
            base &= self._text_mask(word)
        dim_masks: dict[str, int] = {}
        for dim, values in query.filters.items():
            if dim not in self.masks or not values:
                continue
            m = 0
            for v in values:
                m |= self.masks[dim].get(v, 0)
            dim_masks[dim] = m
        hits = base
        for m in dim_masks.values():
            hits &= m
        facets: dict[str, dict[str, int]] = {}
        for dim, table in self.masks.items():
            m = base
            for other, om in dim_masks.items():
                if other != dim:
                    m &= om
            counts = {v: (m & vm).bit_count() for v, vm in table.items()}
            for v in query.filters.get(dim, []):
                counts.setdefault(v, 0)
            facets[dim] = {v: n for v, n in counts.items() if n or v in query.filters.get(dim, [])}
        total = hits.bit_count()
        items = [self.entries[i] for i in self._page(hits, query)]
        return SearchResult(total=total, items=items, facets=facets)

    def _page(self, hits: int, query: SearchQuery) -> list[int]:
        want = query.offset + query.limit
        if query.sort == "-modified" and want <= 4096:
            out, m = [], hits
            while m and len(out) < want:
                i = m.bit_length() - 1
                out.append(i)
                m ^= 1 << i
            return out[query.offset:]
        s = bin(hits)[:1:-1]  # bit i at position i
        ordinals = [i for i, c in enumerate(s) if c == "1"]
        if query.sort == "title":
            ordinals.sort(key=lambda i: (_title_key(self.entries[i]), self.entries[i].key))
        elif query.sort == "-modified":
            ordinals.reverse()
        return ordinals[query.offset:want]


def _title_key(entry: RecordSummary) -> str:
    t = entry.title
    return (t.get("en") or t.get("zh") or t.get("und") or next(iter(t.values()), "") or entry.dataset).casefold()


# -- values in SPARQL text --------------------------------------------------------------------
#
# Query and update texts are constants; values are bound as terms.  The embedded store binds
# them without text (`Store.query(substitutions=...)`).  Where text must carry a value (SPARQL
# updates, and every request to a remote server), `sparql_term` is the only way in.


def sparql_term(term: ox.NamedNode | ox.Literal) -> str:
    """A term in SPARQL syntax, safe to place in any query or update text.

    Only Oxigraph terms are accepted, and their N-Triples form is valid SPARQL: `NamedNode`
    refuses anything that is not an absolute IRI by RFC 3987 (no space or control character, none
    of < > " { } | ^ ` or backslash), so an IRI cannot close its angle brackets; a literal's
    lexical form is escaped (quote, backslash, line breaks) and its language tag and datatype
    are validated, so it cannot close its string.  Tested on arbitrary text
    (tests/api/test_injection.py)."""
    if not isinstance(term, (ox.NamedNode, ox.Literal)):
        raise TypeError(f"only IRIs and literals enter SPARQL text, not {type(term).__name__}")
    return str(term)


def sparql_iri(value: str) -> str:
    """`<value>`, or ValueError when `value` is not an absolute IRI."""
    return sparql_term(ox.NamedNode(value))


def sparql_literal(value: str) -> str:
    return sparql_term(ox.Literal(value))


def values_clause(bindings: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """A trailing ``VALUES`` clause binding each variable to one term (SPARQL 1.1 §10.2.2): what
    the embedded store does with `substitutions`, for a server that only takes text."""
    names = " ".join("?" + name for name in bindings)
    row = " ".join(sparql_term(term) for term in bindings.values())
    return f"\nVALUES ({names}) {{ ({row}) }}"


def _sparql_where(query: SearchQuery, skip: str | None = None) -> str:
    lines = [
        "?rec a dcat:CatalogRecord ; idx:key ?key ; dct:modified ?mod ; idx:summary ?summary .",
    ]
    for dim, values in sorted(query.filters.items()):
        if dim == skip or not values or dim not in DIMENSIONS:
            continue
        if dim in CODED:
            terms = ", ".join(sparql_iri(DCERT + v) for v in values if CODE.fullmatch(v))
            terms = terms or sparql_iri(DCERT + "__none__")
        else:
            terms = ", ".join(sparql_literal(v) for v in values)
        lines.append(f"FILTER EXISTS {{ ?rec idx:{dim} ?f_{dim} . FILTER(?f_{dim} IN ({terms})) }}")
    words = query.words()
    if words:
        lines.append("?rec idx:text ?text .")
        lines.append("FILTER(" + " && ".join(f"CONTAINS(?text, {sparql_literal(w)})" for w in words) + ")")
    return "\n  ".join(lines)


def sparql_search(query: SearchQuery) -> dict[str, str]:
    """The faceted search as three SPARQL SELECT queries: page, total and facet counts."""
    where = _sparql_where(query)
    order = {"-modified": "DESC(?mod) DESC(?key)", "modified": "?mod ?key", "title": "?key"}[
        query.sort if query.sort in ("-modified", "modified") else "-modified"
    ]
    page = (
        f"{PREFIXES}SELECT ?summary ?text WHERE {{ GRAPH ?g {{\n  {where}\n  "
        f"OPTIONAL {{ ?rec idx:text ?text }} }} }}\nORDER BY {order}\n"
        f"LIMIT {int(query.limit)} OFFSET {int(query.offset)}"
    )
    total = f"{PREFIXES}SELECT (COUNT(?rec) AS ?n) WHERE {{ GRAPH ?g {{\n  {where} }} }}"
    unions = []
    for dim in DIMENSIONS:
        unions.append(
            f"{{ GRAPH ?g {{ {_sparql_where(query, skip=dim)}\n  ?rec idx:{dim} ?value . }} "
            f"BIND({sparql_literal(dim)} AS ?dim) }}"
        )
    facets = (
        f"{PREFIXES}SELECT ?dim ?value (COUNT(?rec) AS ?n) WHERE {{\n"
        + "\nUNION\n".join(unions)
        + "\n} GROUP BY ?dim ?value"
    )
    return {"page": page, "total": total, "facets": facets}


def parse_sparql_search(
    query: SearchQuery, page_rows: list[dict], total_rows: list[dict], facet_rows: list[dict]
) -> SearchResult:
    """Assemble a `SearchResult` from SPARQL JSON bindings (``{"var": {"value": ...}}``)."""
    items = [
        RecordSummary.from_json(json.loads(row["summary"]["value"]), text=row.get("text", {}).get("value", ""))
        for row in page_rows
    ]
    total = int(total_rows[0]["n"]["value"]) if total_rows else 0
    facets: dict[str, dict[str, int]] = {dim: {} for dim in DIMENSIONS}
    for row in facet_rows:
        dim = row["dim"]["value"]
        if dim in facets:
            facets[dim][code_of(row["value"]["value"])] = int(row["n"]["value"])
    for dim, values in query.filters.items():
        for v in values:
            facets.setdefault(dim, {}).setdefault(v, 0)
    return SearchResult(total=total, items=items, facets=facets)


# -- SPARQL results (users' queries) ---------------------------------------------------------


@dataclass
class QueryOutcome:
    """A user's query result, cut at the result limit: SELECT rows, an ASK boolean or triples."""

    form: str                      # select | ask | graph
    variables: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    truncated: bool = False


def dataset_options(default_graphs, named_graphs) -> dict[str, Any]:
    """Oxigraph query options for the SPARQL Protocol's default-graph-uri / named-graph-uri
    (no default graph named: the union of the institutions' graphs)."""
    options: dict[str, Any] = {}
    if default_graphs:
        options["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
    else:
        options["use_default_graph_as_union"] = True
    if named_graphs:
        options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
    return options


def _collect(results, form: str, limit: int, deadline: float) -> QueryOutcome:
    if form == "ask":
        return QueryOutcome(form="ask", boolean=bool(results))
    if form == "graph":
        out = QueryOutcome(form="graph")
        for triple in results:
            if len(out.triples) >= limit:
                out.truncated = True
                break
            out.triples.append(triple)
            if time.monotonic() > deadline:
                raise QueryTimeout("the query ran past the time limit")
        return out
    variables = [v.value for v in results.variables]
    out = QueryOutcome(form="select", variables=variables)
    for solution in results:
        if len(out.rows) >= limit:
            out.truncated = True
            break
        out.rows.append([solution[v] for v in variables])
        if time.monotonic() > deadline:
            raise QueryTimeout("the query ran past the time limit")
    return out


# -- stores ----------------------------------------------------------------------------------


def _update_text(ops: list[str]) -> str:
    return PREFIXES + " ;\n".join(ops)


def _insert_data(graph: str, triples: Iterable[ox.Triple]) -> str:
    body = "\n".join(
        f"{sparql_term(t.subject)} {sparql_term(t.predicate)} {sparql_term(t.object)} ." for t in triples
    )
    return f"INSERT DATA {{ GRAPH {sparql_iri(graph)} {{\n{body}\n}} }}"


def _generation_ops(generation: str) -> list[str]:
    meta, catalog = sparql_iri(META_GRAPH), sparql_iri(CATALOG)
    return [
        f"DELETE WHERE {{ GRAPH {meta} {{ {catalog} idx:generation ?x }} }}",
        f"INSERT DATA {{ GRAPH {meta} {{ {catalog} idx:generation {sparql_literal(generation)} }} }}",
    ]


def _delete_records_ops(keys: list[str], institution: str) -> list[str]:
    """Delete records and the subjects only they own, in the institution's graph only: whatever
    another graph says about the same IRIs is never touched."""
    graph = sparql_iri(graph_iri(institution))
    recs = " ".join(sparql_iri(record_iri(k)) for k in keys)
    return [
        f"DELETE {{ GRAPH {graph} {{ ?s ?p ?o }} }} WHERE {{\n"
        f"  VALUES ?rec {{ {recs} }}\n"
        f"  GRAPH {graph} {{ ?rec idx:part ?s .\n"
        f"    FILTER NOT EXISTS {{ ?other idx:part ?s . FILTER(?other NOT IN ({recs.replace(' ', ', ')})) }}\n"
        "    ?s ?p ?o } }",
        f"DELETE {{ GRAPH {graph} {{ ?rec ?p ?o }} }} WHERE {{ VALUES ?rec {{ {recs} }} GRAPH {graph} {{ ?rec ?p ?o }} }}",
    ]


def _rows(results) -> list[dict[str, Any]]:
    """SPARQL solutions as dicts of their bound variables."""
    names = [v.value for v in results.variables]
    return [{n: sol[n] for n in names if sol[n] is not None} for sol in results]


def _valid_summary(graph: ox.NamedNode | Any, record: ox.NamedNode | Any, summary: dict) -> bool:
    """A record counts only where the store itself could have written it: in the graph of the
    institution it names, at the IRI of its dataset's key."""
    try:
        key, dataset, institution = summary["key"], summary["dataset"], summary["institution"]
        return (
            isinstance(graph, ox.NamedNode) and isinstance(record, ox.NamedNode)
            and is_institution_id(institution) and graph.value == graph_iri(institution)
            and key == dataset_key(dataset) and record.value == record_iri(key)
        )
    except (KeyError, TypeError, ValueError):
        return False


# The store's own queries: constant texts, values bound by name (see `sparql_term`).
Q_GENERATION = (f"{PREFIXES}SELECT ?x WHERE {{ GRAPH {sparql_iri(META_GRAPH)} "
                f"{{ {sparql_iri(CATALOG)} idx:generation ?x }} }}")
Q_SUMMARIES = (f"{PREFIXES}SELECT ?g ?rec ?summary ?text WHERE {{ GRAPH ?g {{ ?rec a dcat:CatalogRecord ; "
               "idx:summary ?summary . OPTIONAL { ?rec idx:text ?text } } }")
Q_RECORD = (f"{PREFIXES}SELECT ?g ?rec ?result ?summary ?issued ?modified WHERE {{ GRAPH ?g {{ "
            "?rec idx:result ?result ; idx:summary ?summary ; dct:issued ?issued ; dct:modified ?modified } }")
Q_DATASET = (f"{PREFIXES}CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{\n"
             "  { ?rec idx:part ?s . ?s ?p ?o }\n"
             "  UNION { ?rec ?p ?o BIND(?rec AS ?s) FILTER(?p NOT IN (idx:part, idx:text, idx:result, idx:summary)) }\n"
             "} }")
Q_PART = f"{PREFIXES}CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?rec idx:part ?s . ?s ?p ?o }} }}"
Q_FILING_NUMBER = f"{PREFIXES}ASK {{ GRAPH ?g {{ ?rec idx:filingNumber ?number }} }}"


# -- filing ledger (DOMAIN.md §5, A7) -------------------------------------------------------
# Every filing record the store accepts is copied into one ledger graph, which replacing or
# withdrawing a dataset never touches: a filing stays verifiable after its dataset is filed again
# (it becomes `superseded`) or withdrawn, and the certifying body's status changes live there.

FILINGS_GRAPH = GRAPH_BASE + "_filings"  # no institution slug starts with "_"
FILING_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


def filing_node(number: str) -> ox.NamedNode | None:
    """The filing record IRI of a well-formed filing number (None otherwise: never a query)."""
    return ox.NamedNode(FILING_IRI_BASE + number) if FILING_NUMBER.fullmatch(number or "") else None


def _status_node(status: str) -> ox.NamedNode:
    return ox.NamedNode(DCERT + status.capitalize())  # dcert:Valid ... (ontology: notation = local name)


def _ledger_entries(submission: Submission) -> list[tuple[RecordSummary, ox.NamedNode, list[ox.Triple]]]:
    """Each filed record's filing IRI and ledger triples: the record, and the dataset's place."""
    out = []
    for rec in submission.records:
        f = filing_node(str((rec.filing or {}).get("number", "")))
        if f is None:
            continue
        fragment = f.value + "#"
        triples = [t for t in submission.quads
                   if isinstance(t.subject, ox.NamedNode) and (t.subject == f or t.subject.value.startswith(fragment))]
        triples += [ox.Triple(f, ox.NamedNode(IDX + "institution"), _lit(submission.institution)),
                    ox.Triple(f, ox.NamedNode(IDX + "key"), _lit(rec.key))]
        out.append((rec, f, triples))
    return out


def _filing_ledger_ops(submission: Submission, when: str) -> list[str]:
    """Copy the submission's filing records into the ledger; earlier valid or suspended filings of
    the same datasets become superseded by the new ones."""
    ops = []
    for rec, f, triples in _ledger_entries(submission):
        ops.append(U_SUPERSEDE.format(
            filing=sparql_term(f), dataset=sparql_iri(rec.dataset), changed=sparql_term(_lit(when, XSD + "dateTime"))))
        ops.append(_insert_data(FILINGS_GRAPH, triples))
    return ops


# The ledger's own queries and updates: constant texts; queries take their values as bindings,
# updates only through `sparql_term` (the one way a value enters SPARQL text).
_LEDGER = sparql_iri(FILINGS_GRAPH)
_VALID, _SUSPENDED, _SUPERSEDED = (sparql_term(_status_node(s)) for s in ("valid", "suspended", "superseded"))
Q_LEDGER_ANY = f"SELECT ?s WHERE {{ GRAPH {_LEDGER} {{ ?s ?p ?o }} }} LIMIT 1"
Q_LEDGER_ENTRY = (
    f"{PREFIXES}SELECT DISTINCT ?f ?s ?p ?o WHERE {{ GRAPH {_LEDGER} {{\n"
    "  { ?f ?p ?o BIND(?f AS ?s) }\n"
    "  UNION { ?f ?link ?s . FILTER(isIRI(?s) && STRSTARTS(STR(?s), CONCAT(STR(?f), \"#\"))) ?s ?p ?o }\n"
    "} }"
)
Q_LEDGER_STATUS = f"{PREFIXES}SELECT ?f ?s WHERE {{ GRAPH {_LEDGER} {{ ?f dcert:filingStatus ?s }} }}"
U_LEDGER_BACKFILL = (
    f"{PREFIXES}INSERT {{ GRAPH {_LEDGER} {{ ?s ?p ?o . ?f dcert:filingStatus {_VALID} ; "
    "idx:institution ?inst ; idx:key ?key } }\n"
    "WHERE { GRAPH ?g { ?rec idx:filingNumber ?n ; idx:key ?key ; idx:institution ?inst .\n"
    "  ?f a dcert:FilingRecord ; dcert:filingNumber ?n .\n"
    "  { ?f ?p ?o BIND(?f AS ?s) } UNION { ?f ?link ?s . "
    "FILTER(isIRI(?s) && STRSTARTS(STR(?s), CONCAT(STR(?f), \"#\"))) ?s ?p ?o } } }"
)
U_SUPERSEDE = (  # one operation of `_update_text`, which gives the prefixes
    f"DELETE {{{{ GRAPH {_LEDGER} {{{{ ?old dcert:filingStatus ?s . ?old dcert:statusChanged ?c . "
    "?old dcert:statusReason ?r }} }}\n"
    f"INSERT {{{{ GRAPH {_LEDGER} {{{{ ?old dcert:filingStatus {_SUPERSEDED} ; dct:isReplacedBy {{filing}} ; "
    "dcert:statusChanged {changed} }} }}\n"
    f"WHERE {{{{ GRAPH {_LEDGER} {{{{ ?old dct:subject {{dataset}} ; dcert:filingStatus ?s .\n"
    f"  FILTER(?s IN ({_VALID}, {_SUSPENDED}) && ?old != {{filing}})\n"
    "  OPTIONAL {{ ?old dcert:statusChanged ?c }} OPTIONAL {{ ?old dcert:statusReason ?r }} }} }}"
)
U_SET_STATUS = (
    f"{PREFIXES}DELETE {{{{ GRAPH {_LEDGER} {{{{ ?f dcert:filingStatus ?s . ?f dcert:statusChanged ?c . "
    "?f dcert:statusReason ?r }} }}\n"
    f"INSERT {{{{ GRAPH {_LEDGER} {{{{ ?f dcert:filingStatus {{status}} ; dcert:statusChanged {{changed}} ; "
    "dcert:statusReason {reason} }} }}\n"
    f"WHERE {{{{ VALUES ?f {{{{ {{filing}} }}}} GRAPH {_LEDGER} {{{{ ?f dcert:filingStatus ?s . FILTER(?s = {{current}})\n"
    "  OPTIONAL {{ ?f dcert:statusChanged ?c }} OPTIONAL {{ ?f dcert:statusReason ?r }} }} }}"
)


class FilingLedger:
    """The ledger's reads and the certifying body's status changes (needs `select`, `update`)."""

    def ensure_ledger(self) -> None:
        """Copy into the ledger the current filings of a catalog stored before the ledger existed;
        a no-op once the ledger holds anything."""
        if not self.select(Q_LEDGER_ANY):
            self.update(U_LEDGER_BACKFILL)

    def filing_record(self, number: str) -> list[ox.Triple]:
        """A filing's ledger entry: its record as issued, its life cycle, and the store's
        `idx:institution` and `idx:key` of its dataset; [] for an unknown number."""
        f = filing_node(number)
        if f is None:
            return []
        return [ox.Triple(r["s"], r["p"], r["o"]) for r in self.select(Q_LEDGER_ENTRY, {"f": f})]

    def filing_status(self, number: str) -> str | None:
        """The stored status of a filing (valid, superseded, suspended, revoked), None if unknown."""
        f = filing_node(number)
        if f is None:
            return None
        rows = self.select(Q_LEDGER_STATUS, {"f": f})
        return code_of(rows[0]["s"].value).lower() if rows else None

    def set_filing_status(self, number: str, status: str, *, allowed: Iterable[str], reason: str, when: str) -> str | None:
        """Set a filing's status, with the reason and the time, if its stored status is one of
        `allowed` (checked again inside the update). Returns the status it had (None: unknown)."""
        with self._lock:
            current = self.filing_status(number)
            if current is None or current not in set(allowed):
                return current
            self.update(U_SET_STATUS.format(
                filing=sparql_term(filing_node(number)), status=sparql_term(_status_node(status)),
                changed=sparql_term(_lit(when, XSD + "dateTime")), reason=sparql_term(ox.Literal(reason)),
                current=sparql_term(_status_node(current))))
            return current


class CatalogStore(FilingLedger, ABC):
    """Operations of the catalog; subclasses give the primitives (select, update, load, export,
    run_query) and everything else is the same SPARQL on both backends."""

    kind = "abstract"

    def __init__(self) -> None:
        self.index = FacetIndex()
        self._lock = threading.RLock()
        self._generation: str | None = None
        self._last_check = 0.0
        self.index_check_interval_s = 0.0
        self._index_ready = False

    # primitives ----------------------------------------------------------------------------
    @abstractmethod
    def select(self, query: str, bindings: dict[str, Any] | None = None, *,
               timeout: float | None = None) -> list[dict[str, Any]]:
        """Rows as ``{var: pyoxigraph term}`` (variables that are unbound are absent); `bindings`
        binds variables of the query to terms (never pasted into the text by the caller)."""

    @abstractmethod
    def ask(self, query: str, bindings: dict[str, Any] | None = None) -> bool:
        """An ASK query of the store's own, with bound variables."""

    @abstractmethod
    def construct(self, query: str, bindings: dict[str, Any] | None = None) -> list[ox.Triple]:
        """A CONSTRUCT query of the store's own, with bound variables."""

    @abstractmethod
    def update(self, update: str) -> None:
        """One SPARQL UPDATE request: a single transaction."""

    @abstractmethod
    def load(self, graph: str, triples: list[ox.Triple]) -> None:
        """Append triples to a graph (bulk; Graph Store Protocol POST on a remote store)."""

    @abstractmethod
    def export(self, graph: str) -> list[ox.Triple]:
        """All triples of a graph (Graph Store Protocol GET on a remote store)."""

    @abstractmethod
    def run_query(
        self,
        query: str,
        form: str,
        *,
        limit: int,
        timeout: float,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> QueryOutcome:
        """A user's read-only query; the default graph is the union of the named graphs."""

    def warm(self) -> None:
        """Prepare for the first queries (start query workers, build the search index)."""
        self.ensure_ledger()
        self.ensure_index()

    def close(self) -> None:
        pass

    # catalog ---------------------------------------------------------------------------------
    def ensure_index(self) -> FacetIndex:
        """The search index, rebuilt from the store at first use or when another writer changed
        the catalog (checked at most every `index_check_interval_s` seconds)."""
        with self._lock:
            if not self._index_ready:
                self.rebuild_index()
            elif self.index_check_interval_s >= 0 and self._shared():
                now = time.monotonic()
                if now - self._last_check >= self.index_check_interval_s:
                    self._last_check = now
                    if self.read_generation() != self._generation:
                        self.rebuild_index()
            return self.index

    def _shared(self) -> bool:
        return False

    def read_generation(self) -> str | None:
        rows = self.select(Q_GENERATION)
        return rows[0]["x"].value if rows else None

    def _summaries(self) -> list[RecordSummary]:
        out = []
        for r in self.select(Q_SUMMARIES):
            summary = _json_or_none(r["summary"].value)
            if summary is not None and _valid_summary(r["g"], r["rec"], summary):
                out.append(RecordSummary.from_json(summary, text=r["text"].value if "text" in r else ""))
        return out

    def rebuild_index(self) -> None:
        """Read every record back into the search index, accepting a record only where the
        store could have written it (`_valid_summary`)."""
        with self._lock:
            generation = self.read_generation()
            entries = _first_filed(self._summaries())
            index = FacetIndex()
            index.add_many(entries)
            self.index = index
            self._generation = generation
            self._index_ready = True
            self._last_check = time.monotonic()

    def locate(self, key: str) -> str | None:
        """The institution that filed the dataset of this key (the index is the authority:
        it holds only records validated against their graph)."""
        if not is_key(key):
            return None
        entry = self.ensure_index().get(key)
        return entry.institution if entry is not None else None

    def holder_of(self, dataset: str, institution: str) -> RecordSummary | None:
        """The record of another institution than `institution` filing this dataset IRI or a
        look-alike of it (`iri_lookalike_form`), if any."""
        return next((e for e in self.ensure_index().lookalikes(dataset) if e.institution != institution), None)

    def filing_number_exists(self, number: str) -> bool:
        return self.ask(Q_FILING_NUMBER, {"number": ox.Literal(number)})

    def new_filing_number(self, prefix: str = "DC", today: date | None = None, taken: set[str] | None = None) -> str:
        """A filing number not yet in the store: ``<prefix>-<yyyymmdd>-<8 base32 chars>``."""
        day = (today or datetime.now(UTC).date()).strftime("%Y%m%d")
        alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
        for _ in range(20):
            number = f"{prefix}-{day}-" + "".join(secrets.choice(alphabet) for _ in range(8))
            if (taken is None or number not in taken) and not self.filing_number_exists(number):
                if taken is not None:
                    taken.add(number)
                return number
        raise StoreError("could not draw an unused filing number")

    def replace(self, submission: Submission) -> None:
        """Store a submission, replacing earlier versions of its datasets, in one transaction
        scoped to the institution's graph.  A dataset filed by another institution, under the
        same IRI or a look-alike of it, is a `ConflictError`."""
        if not submission.records:
            return
        with self._lock:
            index = self.ensure_index()
            for rec in submission.records:
                holder = self.holder_of(rec.dataset, submission.institution)
                if holder is not None:
                    raise ConflictError(rec.dataset, holder)
                old = index.get(rec.key)
                if old is not None:
                    rec.issued = old.issued  # first filing date survives new versions
            generation = uuid.uuid4().hex
            ops = _delete_records_ops(submission.keys, submission.institution)
            ops.append(_insert_data(graph_iri(submission.institution), submission.all_triples()))
            ops.extend(_filing_ledger_ops(submission, now_utc().isoformat().replace("+00:00", "Z")))
            ops.extend(_generation_ops(generation))
            self.update(_update_text(ops))
            for rec in submission.records:
                index.add(rec)
            self._generation = generation

    def delete(self, key: str, institution: str | None = None) -> bool:
        """Remove a dataset's record, description, result and filing from the graph of the
        institution that filed it (its shared subjects stay while another record lists them).
        With `institution`, only a dataset filed by that institution is removed."""
        with self._lock:
            owner = self.locate(key)
            if owner is None or (institution is not None and owner != institution):
                return False
            generation = uuid.uuid4().hex
            self.update(_update_text(_delete_records_ops([key], owner) + _generation_ops(generation)))
            self.index.remove(key)
            self._generation = generation
            return True

    def bulk_add(self, submissions: list[Submission]) -> None:
        """Fast load of new datasets (no replacement): for seeding and benchmarks."""
        with self._lock:
            by_graph: dict[str, list[ox.Triple]] = {}
            for sub in submissions:
                by_graph.setdefault(graph_iri(sub.institution), []).extend(sub.all_triples())
            ledger = [t for sub in submissions for _, _, ts in _ledger_entries(sub) for t in ts]
            if ledger:
                by_graph[FILINGS_GRAPH] = ledger
            for graph, triples in by_graph.items():
                self.load(graph, triples)
            generation = uuid.uuid4().hex
            self.update(_update_text(_generation_ops(generation)))
            self._generation = generation
            self.index.add_many(r for sub in submissions for r in sub.records)

    def search(self, query: SearchQuery) -> SearchResult:
        return self.ensure_index().search(query)

    def search_sparql(self, query: SearchQuery) -> SearchResult:
        """The same search in SPARQL (what a plain-SPARQL peer answers); for tests and bench."""
        texts = sparql_search(query)
        as_json = lambda rows: [{k: {"value": v.value} for k, v in r.items()} for r in rows]  # noqa: E731
        return parse_sparql_search(
            query, as_json(self.select(texts["page"])), as_json(self.select(texts["total"])),
            as_json(self.select(texts["facets"])),
        )

    def _owner_bindings(self, key: str) -> dict[str, ox.NamedNode] | None:
        """The record and its owner's graph, or None for a key that is not filed."""
        owner = self.locate(key)
        if owner is None:
            return None
        return {"rec": ox.NamedNode(record_iri(key)), "g": ox.NamedNode(graph_iri(owner))}

    def record(self, key: str) -> dict[str, Any] | None:
        """The stored record: institution, §6 result, summary, dates."""
        bindings = self._owner_bindings(key)
        rows = self.select(Q_RECORD, bindings) if bindings else []
        if not rows:
            return None
        row = rows[0]
        return {
            "key": key,
            "institution": institution_of_graph(bindings["g"].value),
            "result": json.loads(row["result"].value),
            "summary": json.loads(row["summary"].value),
            "issued": row["issued"].value,
            "modified": row["modified"].value,
        }

    def dataset_triples(self, key: str) -> list[ox.Triple]:
        """The description, result and filing of a stored dataset, with its catalog record
        (without the store's bookkeeping: parts, texts and JSON copies)."""
        bindings = self._owner_bindings(key)
        return self.construct(Q_DATASET, bindings) if bindings else []

    def filing_triples(self, key: str, number: str) -> list[ox.Triple]:
        """The filing record of a stored dataset and its certification activity."""
        bindings = self._owner_bindings(key)
        if bindings is None:
            return []
        filing = FILING_IRI_BASE + number
        return [t for node in (filing, filing + "#certification")
                for t in self.construct(Q_PART, {**bindings, "s": ox.NamedNode(node)})]

    def find_filing(self, number: str) -> str | None:
        """The dataset key of a filing number."""
        entry = self.ensure_index().find_filing(number)
        return entry.key if entry is not None else None

    def institution_counts(self) -> dict[str, int]:
        index = self.ensure_index()
        return {inst: m.bit_count() for inst, m in index.masks["institution"].items()}

    def count(self) -> int:
        return len(self.ensure_index())


def _first_filed(entries: list[RecordSummary]) -> list[RecordSummary]:
    """One record per dataset key: where two graphs hold one (data written before records were
    checked), the first filed keeps it, as `replace` would have decided."""
    best: dict[str, RecordSummary] = {}
    for e in entries:
        kept = best.get(e.key)
        if kept is None or (e.issued, e.institution) < (kept.issued, kept.institution):
            best[e.key] = e
    return list(best.values())


def _json_or_none(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class EmbeddedStore(CatalogStore):
    """Oxigraph in this process: on disk (`path`) or in memory (`path=None`)."""

    def __init__(self, path: str | Path | None = None, *, query_processes: int = 2, query_memory_mb: int | None = None):
        """`query_processes` > 0 runs users' SPARQL (`run_query`) of an on-disk store in that
        many worker processes, so that the time limit stops runaway queries (querypool)."""
        super().__init__()
        self.path = Path(path) if path else None
        self._writes = 0
        self.query_pool = None
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            self.kind = "embedded"
            self.ox = ox.Store(str(self.path))
            if query_processes > 0:
                from .querypool import DEFAULT_MEMORY_MB, QueryPool

                self.query_pool = QueryPool(str(self.path), query_processes, query_memory_mb or DEFAULT_MEMORY_MB)
        else:
            self.kind = "memory"
            self.ox = ox.Store()

    def _query(self, query: str, bindings: dict[str, Any] | None):
        """One of the store's own queries, its variables bound without any text."""
        substitutions = {ox.Variable(name): term for name, term in (bindings or {}).items()}
        return self.ox.query(query, substitutions=substitutions or None)

    def select(self, query, bindings=None, *, timeout=None):
        return _rows(self._query(query, bindings))

    def ask(self, query, bindings=None):
        return bool(self._query(query, bindings))

    def construct(self, query, bindings=None):
        return list(self._query(query, bindings))

    def update(self, update: str) -> None:
        self.ox.update(update)
        self._writes += 1

    def _summaries(self) -> list[RecordSummary]:
        """Two index scans instead of a SPARQL join: the catalog's summaries and texts."""
        texts = {(q.graph_name, q.subject): q.object.value
                 for q in self.ox.quads_for_pattern(None, ox.NamedNode(IDX + "text"), None, None)}
        out = []
        for q in self.ox.quads_for_pattern(None, ox.NamedNode(IDX + "summary"), None, None):
            summary = _json_or_none(q.object.value)
            if summary is not None and _valid_summary(q.graph_name, q.subject, summary):
                out.append(RecordSummary.from_json(summary, text=texts.get((q.graph_name, q.subject), "")))
        return out

    def load(self, graph: str, triples: list[ox.Triple]) -> None:
        g = ox.NamedNode(graph)
        self.ox.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, g) for t in triples)
        self._writes += 1

    def export(self, graph: str) -> list[ox.Triple]:
        return [q.triple for q in self.ox.quads_for_pattern(None, None, None, ox.NamedNode(graph))]

    def run_query(self, query, form, *, limit, timeout, default_graphs=None, named_graphs=None):
        if self.query_pool is not None:
            from .querypool import decode_outcome

            try:
                status, payload = self.query_pool.run(
                    query, form, limit, timeout, default_graphs, named_graphs, self._writes)
            except TimeoutError as exc:
                raise QueryTimeout("no query worker became free in time") from exc
            except RuntimeError as exc:  # workers cannot start here (e.g. an unguarded __main__)
                log.warning(
                    "SPARQL worker processes unavailable (%s): queries run in-process, without a hard time limit", exc)
                self.query_pool.close()
                self.query_pool = None
                return self.run_query(query, form, limit=limit, timeout=timeout,
                                      default_graphs=default_graphs, named_graphs=named_graphs)
            if status == "timeout":
                raise QueryTimeout("the query ran past the time limit")
            if status == "rejected":
                raise QueryRejected(payload)
            return decode_outcome(payload)
        deadline = time.monotonic() + timeout
        kwargs = dataset_options(default_graphs, named_graphs)
        try:
            results = self.ox.query(query, **kwargs)
            return _collect(results, form, limit, deadline)
        except SyntaxError as exc:
            raise QueryRejected(str(exc)) from exc
        except OSError as exc:  # SERVICE failures, I/O
            raise QueryRejected(str(exc)) from exc
        except RuntimeError as exc:
            raise QueryRejected(str(exc)) from exc

    def warm(self) -> None:
        super().warm()
        if self.query_pool is not None:
            self.query_pool.warm()

    def flush(self) -> None:
        if self.path is not None:
            self.ox.flush()

    def close(self) -> None:
        if self.query_pool is not None:
            self.query_pool.close()
        if self.path is not None:
            try:
                self.ox.flush()
            except Exception:  # pragma: no cover - best effort at shutdown
                pass
        del self.ox


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
        return _rows(ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON))

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
            return _collect(ox.parse(body, format=ox.RdfFormat.N_TRIPLES), form, limit, deadline)
        body = self._post_query(query, "application/sparql-results+json", timeout, extra, own=False)
        results = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        return _collect(results, form, limit, deadline)

    def close(self) -> None:
        self.client.close()


def open_store(settings) -> CatalogStore:
    """The backend the settings name (`settings.store`)."""
    cfg = settings.store
    if cfg.kind == "memory":
        return EmbeddedStore(None)
    if cfg.kind == "embedded":
        workers = settings.limits.sparql_concurrency if cfg.query_processes else 0
        return EmbeddedStore(cfg.path, query_processes=workers, query_memory_mb=settings.limits.sparql_memory_mb)
    auth = (cfg.username, cfg.password or "") if cfg.username else None
    return RemoteStore(
        cfg.query_url, cfg.update_url, cfg.gsp_url, timeout=cfg.timeout_s, auth=auth,
        index_check_interval_s=cfg.index_check_interval_s,
    )

