"""Reading dataset descriptions (DOMAIN.md §2: the input is untrusted).

Parsing goes through Oxigraph's parsers, which are fast (≈37× rdflib's Turtle parser on this
machine) and safe by construction: they never fetch a JSON-LD remote context, never resolve an
XML external entity, and, like every parser, never follow `owl:imports` (nothing here does).
The triples are then handed to rdflib, which the reasoner and pySHACL consume.

Some inputs are small but costly, so a description is checked before and while it is parsed
(`InputLimits`, configurable as `limits.*` in the settings): RDF/XML with a DOCTYPE is refused
before the parser sees it (internal entities would be expanded: "billion laughs"), JSON-LD nested
deeper than `max_jsonld_depth` is refused before the parser sees it (the JSON-LD parser recurses
and overflows its stack), and parsing stops as soon as a description has more triples, blank
nodes or datasets than allowed.  Each refusal names the setting that decides it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef

from .errors import InputError, InputTooLargeError, UnsafeInputError, UnsupportedFormatError
from .rdfstore import add_all

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_DCAT_DATASET = "http://www.w3.org/ns/dcat#Dataset"


@dataclass(frozen=True)
class InputLimits:
    """What one description (a request, or one file of a batch) may hold.

    The defaults fit the largest real catalogs seen (tens of datasets, a few thousand triples
    per file) with a wide margin; each costs memory and time in reasoning and SHACL roughly in
    proportion.  The settings (`limits.max_triples`, ...) override them.
    """

    max_triples: int = 100_000
    max_datasets: int = 500
    max_blank_nodes: int = 20_000
    max_jsonld_depth: int = 64

    @classmethod
    def from_settings(cls, limits) -> "InputLimits":
        return cls(**{name: getattr(limits, name) for name in cls.__dataclass_fields__})


def setting_name(name: str) -> str:
    """How a user sets a limit: its settings key and environment variable."""
    return f"limits.{name} (DERIVECERT_LIMITS__{name.upper()})"

# One media-type table serves extension look-up, Content-Type parsing and the API's negotiation.
FORMATS: dict[str, tuple[ox.RdfFormat, tuple[str, ...]]] = {
    "turtle": (ox.RdfFormat.TURTLE, (".ttl",)),
    "trig": (ox.RdfFormat.TRIG, (".trig",)),
    "n-triples": (ox.RdfFormat.N_TRIPLES, (".nt",)),
    "n-quads": (ox.RdfFormat.N_QUADS, (".nq",)),
    "rdf-xml": (ox.RdfFormat.RDF_XML, (".rdf", ".owl", ".xml")),
    "json-ld": (ox.RdfFormat.JSON_LD, (".jsonld", ".json")),
}
MEDIA_TYPES = {
    "text/turtle": "turtle", "application/x-turtle": "turtle",
    "application/trig": "trig",
    "application/n-triples": "n-triples", "text/plain": "n-triples",
    "application/n-quads": "n-quads",
    "application/rdf+xml": "rdf-xml", "application/xml": "rdf-xml", "text/xml": "rdf-xml",
    "application/ld+json": "json-ld", "application/json": "json-ld",
}
RDF_SUFFIXES = tuple(s for _, suffixes in FORMATS.values() for s in suffixes)


@dataclass(frozen=True)
class Description:
    """A parsed description: its triples and where they came from."""

    graph: Graph
    source: str
    format: str
    datasets: tuple = ()  # the nodes this document types `dcat:Dataset`, in the order it does


def format_for(*, filename: str | None = None, media_type: str | None = None, data: bytes = b"") -> str:
    """Name of the format, from the media type, else the file extension, else the content."""
    if media_type:
        base = media_type.split(";")[0].strip().lower()
        if base in MEDIA_TYPES:
            return MEDIA_TYPES[base]
        if base not in ("", "application/octet-stream"):
            raise UnsupportedFormatError(
                f"unsupported media type {base!r}",
                hint="send Turtle (text/turtle), TriG, N-Triples, N-Quads, RDF/XML (application/rdf+xml) or JSON-LD (application/ld+json)",
            )
    if filename:
        suffix = Path(filename).suffix.lower()
        for name, (_, suffixes) in FORMATS.items():
            if suffix in suffixes:
                return name
    return _sniff(data, filename)


def _sniff(data: bytes, filename: str | None) -> str:
    head = data[:2048].lstrip()
    if head.startswith((b"{", b"[")):
        return "json-ld"
    if head.startswith(b"<?xml") or re.match(rb"<rdf:RDF|<RDF", head):
        return "rdf-xml"
    if re.search(rb"@prefix|@base|PREFIX|\ba\b|;\s*$", head, re.I | re.M) or head.startswith((b"#", b"<")):
        return "turtle"
    raise UnsupportedFormatError(
        f"cannot tell the RDF format of {filename or 'the input'}",
        hint="name the file with a known extension (.ttl .trig .nt .nq .rdf .jsonld) or give the media type",
    )


def to_rdflib(term, bnode_prefix: str = ""):
    """An Oxigraph term as an rdflib term (a blank node's label prefixed with `bnode_prefix`)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(bnode_prefix + term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    if datatype == "http://www.w3.org/2001/XMLSchema#string":
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(datatype))


def to_oxigraph(term, blank):
    """An rdflib term as an Oxigraph term; `blank(bnode)` says what a blank node becomes."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return blank(term)
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise ValueError(f"unsupported RDF term {term!r}")


def oxigraph_triples(graph) -> list[ox.Triple]:
    """An rdflib graph's triples as Oxigraph triples, each blank node one fresh Oxigraph blank node
    (the one blank-node mapping outside the store, which skolemises: catalog.submission)."""
    bnodes: dict = {}

    def term(t):
        return to_oxigraph(t, lambda node: bnodes.setdefault(node, ox.BlankNode()))

    return [ox.Triple(term(s), term(p), term(o)) for s, p, o in graph]


def parse_description(
    data: bytes | str,
    *,
    filename: str | None = None,
    media_type: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    into: Graph | None = None,
    limits: InputLimits = InputLimits(),
) -> Description:
    """Parse one description; named graphs of TriG / N-Quads are merged into one graph."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    where = filename or "input"
    if len(raw) > max_bytes:
        raise InputTooLargeError(
            f"description is {len(raw):,} bytes, over the limit of {max_bytes:,}",
            where=where, hint="split the catalog into several files or raise the size limit in the settings",
        )
    fmt = format_for(filename=filename, media_type=media_type, data=raw)
    check_before_parsing(raw, fmt, where, limits)
    graph = into if into is not None else Graph(store="SimpleMemory")
    # Blank-node labels are scoped per document: prefix them so two files never share a node.  The
    # prefix comes from the document (and how many came before it into this graph), not from chance,
    # so that certifying the same input twice gives the same output, blank-node labels included.
    documents = getattr(graph, "_derivecert_documents", 0)
    graph._derivecert_documents = documents + 1
    prefix = "b" + hashlib.sha256(f"{documents}\0{where}\0".encode() + raw).hexdigest()[:12]
    order = document_order(graph).setdefault(where, {})
    datasets: dict = {}  # noted while parsing, so a batch never rescans its graph for them
    # each IRI and literal is made an rdflib term (and checked, a literal's value parsed) once per
    # graph, not once per occurrence: a batch's documents share most of their vocabulary and codes
    iris: dict = getattr(graph, "_derivecert_iris", None) or {}
    graph._derivecert_iris = iris
    literals: dict = getattr(graph, "_derivecert_literals", None) or {}
    graph._derivecert_literals = literals
    triples = []
    try:
        for quad in counted(ox.parse(raw, format=FORMATS[fmt][0], base_iri=None), where, limits):
            s = quad.subject
            if isinstance(s, ox.NamedNode):
                subject = iris.get(s.value)
                if subject is None:
                    subject = iris[s.value] = URIRef(s.value)
            else:
                subject = to_rdflib(s, prefix)
            p = quad.predicate.value
            predicate = iris.get(p)
            if predicate is None:
                predicate = iris[p] = URIRef(p)
            o = quad.object
            if isinstance(o, ox.NamedNode):
                value = o.value
                obj = iris.get(value)
                if obj is None:
                    obj = iris[value] = URIRef(value)
                if obj not in order:
                    order[obj] = len(order)
                if value == _DCAT_DATASET and p == _RDF_TYPE:  # strings: rdflib's == is a Python call
                    datasets.setdefault(subject)
            elif isinstance(o, ox.Literal):
                key = (o.value, o.datatype.value, o.language)
                obj = literals.get(key)
                if obj is None:
                    obj = literals[key] = to_rdflib(o, prefix)
            else:
                obj = to_rdflib(o, prefix)
            triples.append((subject, predicate, obj))
    except SyntaxError as exc:
        raise InputError(f"{fmt} syntax error: {_clean(exc)}", where=_position(where, exc), hint=_hint(fmt, exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {fmt}: {exc}", where=where, hint=_hint(fmt, exc)) from None
    add_all(graph, triples)  # only a document read to its end is added
    return Description(graph=graph, source=where, format=fmt, datasets=tuple(datasets))


def check_before_parsing(raw: bytes, fmt: str, where: str, limits: InputLimits) -> None:
    """Refuse what no parser should see: a DOCTYPE in RDF/XML, JSON-LD nested too deep."""
    if fmt == "rdf-xml" and b"\0" in raw:
        raise InputError("RDF/XML must be UTF-8 (the bytes hold NUL characters)", where=where,
                         hint="convert the document to UTF-8, or send the charset in the Content-Type")
    if fmt == "rdf-xml" and _XML_DOCTYPE.search(raw):
        raise UnsafeInputError(
            "RDF/XML with a DOCTYPE (entity declarations) is not accepted",
            where=where,
            hint="remove the <!DOCTYPE ...> and write entity values inline; RDF/XML needs no DTD",
        )
    if fmt == "json-ld":
        depth = json_depth(raw, stop_at=limits.max_jsonld_depth)
        if depth > limits.max_jsonld_depth:
            raise UnsafeInputError(
                f"JSON-LD nested more than {limits.max_jsonld_depth} levels deep "
                f"(limit {setting_name('max_jsonld_depth')})",
                where=where,
                hint="flatten the document (JSON-LD flattened form uses @id references instead of nesting)",
                limit="max_jsonld_depth",
            )


# Searched in the whole document, not only the prolog: a comment can hide where the prolog ends,
# and RDF/XML text holding "<!DOCTYPE" is written escaped ("&lt;!DOCTYPE").
_XML_DOCTYPE = re.compile(rb"<!\s*DOCTYPE|<!\s*ENTITY", re.I)


_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(raw: bytes, stop_at: int | None = None) -> int:
    """The deepest nesting of objects and arrays in a JSON text (strings skipped), read without
    building it; counting stops once past `stop_at`."""
    depth = deepest = 0
    for token in _JSON_TOKENS.finditer(raw):
        char = token.group()[:1]
        if char in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_at is not None and deepest > stop_at:
                    break
        elif char in b"]}":
            depth -= 1
    return deepest


def counted(quads, where: str, limits: InputLimits):
    """The parser's quads, stopped with a clear error as soon as a limit is passed, so an
    oversized description never gets built."""
    blank_nodes: set[str] = set()
    datasets: set = set()
    for n, quad in enumerate(quads, 1):
        if n > limits.max_triples:
            raise _over(where, "max_triples", limits.max_triples, "triples")
        for term in (quad.subject, quad.object):
            if isinstance(term, ox.BlankNode) and term.value not in blank_nodes:
                blank_nodes.add(term.value)
                if len(blank_nodes) > limits.max_blank_nodes:
                    raise _over(where, "max_blank_nodes", limits.max_blank_nodes, "blank nodes")
        if quad.predicate.value == _RDF_TYPE and getattr(quad.object, "value", None) == _DCAT_DATASET:
            datasets.add(quad.subject)
            if len(datasets) > limits.max_datasets:
                raise _over(where, "max_datasets", limits.max_datasets, "datasets (dcat:Dataset)")
        yield quad


def _over(where: str, name: str, limit: int, what: str) -> InputTooLargeError:
    return InputTooLargeError(
        f"the description has more than {limit:,} {what} (limit {setting_name(name)})",
        where=where, hint="split it into several descriptions, or raise the limit in the settings",
        limit=name,
    )


def document_order(graph: Graph) -> dict[str, dict]:
    """For each document parsed into `graph` (by file name, or "input"), where each IRI first
    appears in it as a value (0, 1, ...).

    RDF graphs are unordered, but authors list codes in an order they mean (the main technique
    first); results list codes in that order, and codes the author did not write in code-list order.
    """
    order = getattr(graph, "_derivecert_document_order", None)
    if order is None:
        order = {}
        graph._derivecert_document_order = order
    return order


def parse_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, into: Graph | None = None,
               limits: InputLimits = InputLimits()) -> Description:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", where=str(path), hint="check the path") from None
    if size > max_bytes:
        raise InputTooLargeError(
            f"file is {size:,} bytes, over the limit of {max_bytes:,}", where=str(path),
            hint="split the catalog into several files or raise the size limit",
        )
    return parse_description(path.read_bytes(), filename=str(path), max_bytes=max_bytes, into=into, limits=limits)


def _clean(exc: SyntaxError) -> str:
    return str(exc.msg if getattr(exc, "msg", None) else exc)


def _position(where: str, exc: SyntaxError) -> str:
    line = getattr(exc, "lineno", None)
    col = getattr(exc, "offset", None)
    if line:
        return f"{where}:{line}:{col}" if col else f"{where}:{line}"
    return where


def _hint(fmt: str, exc: Exception) -> str:
    text = str(exc)
    if "LoadDocumentCallback" in text or "remote context" in text.lower():
        return "remote JSON-LD contexts are never fetched: inline the @context object in the document"
    if "ENTITY" in text or "DOCTYPE" in text:
        return "XML entity declarations are not accepted: remove the DOCTYPE and write the values inline"
    if fmt == "turtle":
        return "check the statement at that position: each ends with '.', prefixes are declared, literals are quoted"
    return f"check that the document is valid {fmt}"
