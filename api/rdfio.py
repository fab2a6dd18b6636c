"""RDF in and out of the API: rdflib -> pyoxigraph terms, skolem IRIs back to blank nodes, and
serialisation in the negotiated format with the public vocabulary's prefixes."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
from fastapi.responses import Response

from derivecert.parse import to_oxigraph
from derivecert.store import DCERT, GENID_BASE, IDX
from derivecert.vocab import PREFIXES as VOCAB_PREFIXES

from .negotiation import MediaType

PREFIXES = {k: str(v) for k, v in VOCAB_PREFIXES.items()}
PREFIXES.update({
    "dcert": DCERT, "idx": IDX, "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#", "healthdcatap": "http://healthdataportal.eu/ns/health#",
})


def from_rdflib(graph) -> list[ox.Triple]:
    bnodes: dict = {}

    def term(t):
        return to_oxigraph(t, lambda node: bnodes.setdefault(node, ox.BlankNode()))

    return [ox.Triple(term(s), term(p), term(o)) for s, p, o in graph]


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
    kwargs = {}
    if media.rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML, ox.RdfFormat.JSON_LD):
        kwargs["prefixes"] = PREFIXES
    try:
        return ox.serialize(list(triples), format=media.rdf, **kwargs)
    except TypeError:  # a pyoxigraph without `prefixes`
        return ox.serialize(list(triples), format=media.rdf)


def rdf_response(triples: Iterable[ox.Triple], media: MediaType, headers: dict | None = None) -> Response:
    return Response(serialise(triples, media), media_type=media.media_type, headers=headers)
