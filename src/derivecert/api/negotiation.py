"""Content negotiation: one media-type table and a q-value aware `Accept` parser (RFC 9110 §12).

A `?format=` query parameter overrides `Accept`, for browsers, quick curl calls and the SPARQL
clients that send it (SPARQLWrapper, Virtuoso's convention).  It takes a short name (``json``,
``ttl``/``turtle``, ``n3``, ``jsonld``, ``nt``, ``rdfxml``, ``xml``, ``srj``, ``srx``, ``csv``,
``tsv``, ``html``) or a media type, and may be repeated: the first value the resource offers
wins (SPARQLWrapper sends ``format=tsv&format=text/tab-separated-values``).  A name is resolved
against what the resource offers, so ``xml`` is SPARQL XML results for a SELECT and RDF/XML for
a CONSTRUCT, ``json`` plain JSON where offered, else SPARQL JSON results or JSON-LD.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox
from fastapi import Request

from .problems import Problem


@dataclass(frozen=True)
class MediaType:
    name: str                    # short name used by ?format=
    media_type: str
    rdf: ox.RdfFormat | None = None
    aliases: tuple[str, ...] = ()        # other names and media types ?format= may give
    results: ox.QueryResultsFormat | None = None

    def called(self, value: str) -> bool:
        """Whether a `?format=` value names this type (case-insensitive, parameters ignored)."""
        v = base_media_type(value) or ""
        return v == self.name or v == self.media_type or v in self.aliases


JSON = MediaType("json", "application/json", results=ox.QueryResultsFormat.JSON)
HTML = MediaType("html", "text/html")
# Turtle is N3 without N3's extensions: a client asking for N3 reads Turtle
TURTLE = MediaType("ttl", "text/turtle", ox.RdfFormat.TURTLE,
                   ("turtle", "n3", "text/n3", "text/rdf+n3", "application/turtle", "application/n3"))
JSONLD = MediaType("jsonld", "application/ld+json", ox.RdfFormat.JSON_LD,
                   ("json-ld", "application/x-json+ld", "json", "application/json"))
NTRIPLES = MediaType("nt", "application/n-triples", ox.RdfFormat.N_TRIPLES, ("ntriples", "n-triples"))
RDFXML = MediaType("rdfxml", "application/rdf+xml", ox.RdfFormat.RDF_XML,
                   ("rdf", "xml-rdf", "rdf+xml", "owl", "xml", "application/xml"))
NQUADS = MediaType("nq", "application/n-quads", ox.RdfFormat.N_QUADS, ("nquads",))
TRIG = MediaType("trig", "application/trig", ox.RdfFormat.TRIG)
SRJ = MediaType("srj", "application/sparql-results+json", None,
                ("sparql-json", "json", "application/json"), ox.QueryResultsFormat.JSON)
SRX = MediaType("srx", "application/sparql-results+xml", None,
                ("sparql-xml", "xml", "application/xml"), ox.QueryResultsFormat.XML)
CSV = MediaType("csv", "text/csv", results=ox.QueryResultsFormat.CSV)
TSV = MediaType("tsv", "text/tab-separated-values", results=ox.QueryResultsFormat.TSV)

ALL = (JSON, HTML, TURTLE, JSONLD, NTRIPLES, RDFXML, NQUADS, TRIG, SRJ, SRX, CSV, TSV)
RDF_GRAPH = (TURTLE, JSONLD, NTRIPLES, RDFXML)
#: what request bodies may be: the engine parses these (by Content-Type)
INPUT_MEDIA_TYPES = (
    "text/turtle", "application/ld+json", "application/rdf+xml", "application/n-triples",
)


@dataclass(frozen=True)
class _Range:
    type: str
    subtype: str
    q: float
    params: int

    def matches(self, media_type: str) -> int:
        """Specificity of the match (-1 for none): exact 2, type/* 1, */* 0."""
        t, _, s = media_type.partition("/")
        if self.type == "*" and self.subtype == "*":
            return 0
        if self.type == t and self.subtype == "*":
            return 1
        if self.type == t and self.subtype == s:
            return 2
        return -1


def parse_accept(header: str | None) -> list[_Range]:
    ranges = []
    for part in (header or "").split(","):
        part = part.strip()
        if not part:
            continue
        fields = [f.strip() for f in part.split(";")]
        t, _, s = fields[0].lower().partition("/")
        if not t or not s:
            continue
        q, params = 1.0, 0
        for f in fields[1:]:
            k, _, v = f.partition("=")
            if k.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(v)))
                except ValueError:
                    q = 0.0
            else:
                params += 1
        ranges.append(_Range(t, s, q, params))
    return ranges


def choose(header: str | None, offered: tuple[MediaType, ...] | list[MediaType]) -> MediaType | None:
    """The offered type with the highest q (the most specific range decides a type's q); ties go
    to the server's order.  No Accept header, or only */*: the first offered."""
    ranges = parse_accept(header)
    if not ranges:
        return offered[0]
    best, best_q = None, 0.0
    for m in offered:
        q, spec = 0.0, -1
        for r in ranges:
            s = r.matches(m.media_type)
            if s > spec or (s == spec and s >= 0 and r.q > q):
                q, spec = r.q, s
        if spec >= 0 and q > best_q:
            best, best_q = m, q
    return best


def by_format(values: list[str], offered: tuple[MediaType, ...] | list[MediaType]) -> MediaType | None:
    """The first offered type a `?format=` value names, trying the values in order."""
    for value in values:
        for m in offered:
            if m.called(value):
                return m
    return None


def negotiate(
    request: Request, offered: tuple[MediaType, ...] | list[MediaType], formats: list[str] | None = None
) -> MediaType:
    """Pick the answer format from `?format=` (every value given, `formats` if the caller read
    them from elsewhere, e.g. a form body) or `Accept`, or raise 406 listing the offers."""
    values = [v for v in (request.query_params.getlist("format") if formats is None else formats) if v]
    if values:
        m = by_format(values, offered)
        if m is None:
            shown = ", ".join(f"format={v!r}" for v in values)
            raise Problem(
                406, "not-acceptable", f"{shown}: not a format offered here",
                hint="use one of: " + ", ".join(f"{o.name} ({o.media_type})" for o in offered),
            )
        return m
    m = choose(request.headers.get("accept"), offered)
    if m is None:
        raise Problem(
            406, "not-acceptable",
            f"none of the requested types ({request.headers.get('accept')}) is offered here",
            hint="accept one of: " + ", ".join(o.media_type for o in offered),
        )
    return m


def base_media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";")[0].strip().lower() or None
