"""RDF in and out of the API: request bodies (size-limited, decompressed, transcoded to UTF-8),
skolem IRIs back to blank nodes, and serialisation in the
negotiated format with the public vocabulary's prefixes."""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox
from fastapi import Request
from fastapi.responses import Response

from derivecert.catalog import GENID_BASE, IDX
from derivecert.vocab import DCERT
from derivecert.vocab import PREFIXES as VOCAB_PREFIXES

from .negotiation import MediaType
from .problems import Problem

PREFIXES = {k: str(v) for k, v in VOCAB_PREFIXES.items()}
PREFIXES.update({
    "dcert": DCERT, "idx": IDX, "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#", "healthdcatap": "http://healthdataportal.eu/ns/health#",
})


def deskolemise(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """Store skolem IRIs (`.well-known/genid/`) back to blank nodes, as the author wrote them."""
    bnodes: dict[str, ox.BlankNode] = {}

    def term(t):
        if isinstance(t, ox.NamedNode) and t.value.startswith(GENID_BASE):
            return bnodes.setdefault(t.value, ox.BlankNode())
        return t

    return [ox.Triple(term(t.subject), t.predicate, term(t.object)) for t in triples]


def serialise(triples: Iterable[ox.Triple], media: MediaType) -> bytes:
    if media.rdf is None:
        raise ValueError(f"{media.media_type} is not an RDF format")
    kwargs: dict[str, Any] = {}
    if media.rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML, ox.RdfFormat.JSON_LD):
        kwargs["prefixes"] = PREFIXES
    try:
        return ox.serialize(list(triples), format=media.rdf, **kwargs) or b""
    except TypeError:  # a pyoxigraph without `prefixes`
        return ox.serialize(list(triples), format=media.rdf) or b""


def rdf_response(triples: Iterable[ox.Triple], media: MediaType, headers: dict | None = None) -> Response:
    return Response(serialise(triples, media), media_type=media.media_type, headers=headers)


# -- request bodies ---------------------------------------------------------------------------

# Content-Encoding -> zlib window bits (gzip header; zlib stream, which HTTP calls "deflate")
DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


async def read_body(request: Request, limit: int) -> bytes:
    """The request body as UTF-8 bytes: refused with 413 past `limit` bytes (declared, streamed,
    or once decompressed: a 10 KB gzip bomb never becomes 10 GB), decompressed per
    `Content-Encoding` (gzip, deflate), and transcoded from the `charset` of its Content-Type."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit)
        except ValueError:
            raise Problem(400, "invalid-request", "Content-Length is not a number") from None
    decoder = _decoder(request.headers.get("content-encoding"))
    chunks, size, received = [], 0, 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        while chunk:
            if decoder is None:
                out, chunk = chunk, b""
            else:
                try:
                    out = decoder.decompress(chunk, limit + 1 - size)
                except zlib.error as exc:
                    raise _bad_encoding(request, exc) from None
                chunk = decoder.unconsumed_tail
            size += len(out)
            if size > limit:
                raise _too_large(limit, decompressed=decoder is not None)
            chunks.append(out)
    if decoder is not None:
        try:
            chunks.append(decoder.flush())
        except zlib.error as exc:
            raise _bad_encoding(request, exc) from None
        if not decoder.eof:
            raise _bad_encoding(request, "the compressed stream is truncated")
        if size + len(chunks[-1]) > limit:
            raise _too_large(limit, decompressed=True)
    return _to_utf8(b"".join(chunks), request.headers.get("content-type"))


def _decoder(header: str | None):
    codings = [c.strip().lower() for c in (header or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in DECODERS:
        return zlib.decompressobj(DECODERS[codings[0]])
    raise Problem(415, "unsupported-content-encoding",
                  f"Content-Encoding {header!r} is not supported",
                  hint="send the body uncompressed, or compressed once with gzip or deflate",
                  headers={"Accept-Encoding": "gzip, deflate"})


def _bad_encoding(request: Request, exc) -> Problem:
    coding = request.headers.get("content-encoding")
    return Problem(400, "invalid-content-encoding", f"the body is not valid {coding}: {exc}",
                   hint="compress the body with the coding named in Content-Encoding, or drop the header")


def _to_utf8(body: bytes, content_type: str | None) -> bytes:
    charset = _charset(content_type)
    if charset is None or charset in ("utf-8", "utf8", "us-ascii", "ascii"):
        return body
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        raise Problem(415, "unsupported-charset", f"charset {charset!r} is not supported",
                      hint="send UTF-8 (charset=utf-8), or a charset Python knows (utf-16, gb18030, ...)") from None
    try:
        text = body.decode(codec.name)
    except UnicodeDecodeError as exc:
        raise Problem(400, "invalid-charset", f"the body is not valid {charset}: {exc.reason} at byte {exc.start}",
                      hint="send the charset the body is really encoded in") from None
    return text.lstrip("\ufeff").encode("utf-8")


def _charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower() or None
    return None


def _too_large(limit: int, decompressed: bool = False) -> Problem:
    what = "the decompressed request body" if decompressed else "the request body"
    return Problem(413, "input-too-large",
                   f"{what} exceeds {limit} bytes (limit limits.max_body_bytes)",
                   hint="split the description into several submissions", limit="max_body_bytes")
