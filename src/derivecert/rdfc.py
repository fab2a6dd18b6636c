"""RDF Dataset Canonicalization (RDFC-1.0, W3C) of a set of triples: the text a filing digests.

Oxigraph's `canonicalize` is the reference, and the one run when it is needed; most descriptions
need none of its costly part, and building Oxigraph terms for it cost more than the rest of a
filing (≈ 0.5 ms a filing). RDFC-1.0 only relabels blank nodes, so:

- with no blank node, the canonical form is the sorted N-Quads lines of the triples;
- when each blank node has its own first-degree hash (§4.6: the sorted lines of its quads, itself
  written `_:a` and any other blank node `_:z`), the canonical labels `c14n0`, `c14n1` ... are
  issued in the order of those hashes (§4.4.3 step 4) and no N-degree rounds follow. That is the
  usual case: an activity, a measurement, an authorization each with statements of its own.

Both are linear in the triples. Anything else (blank nodes that hash alike, a blank node that is
its own object) is left to Oxigraph, whose worst case is exponential: the caller bounds it
(`filing.canonical_digest`). Terms are written as Oxigraph writes them (its `str()`, the form its
canonicalization hashes and outputs), each once per `TermText`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import BNode

from .parse import to_oxigraph


class TermText(dict):
    """rdflib IRI or literal -> its N-Quads text, as Oxigraph writes it; each made once."""

    def __missing__(self, term) -> str:
        text = self[term] = str(to_oxigraph(term, _no_blank_node))
        return text


def _no_blank_node(node):
    raise ValueError(f"blank node {node!r} has no fixed text")


def canonical_nquads(triples: Iterable[tuple], texts: TermText | None = None) -> str | None:
    """The RDFC-1.0 canonical N-Quads of (s, p, o) rdflib triples in the default graph, or None
    when only the full algorithm can tell their blank nodes apart (then ask `oxigraph_nquads`)."""
    texts = TermText() if texts is None else texts
    rows = set()  # a set: two rdflib terms may write the same text (a dataset holds it once)
    for s, p, o in triples:
        rows.add((s if isinstance(s, BNode) else texts[s], texts[p], o if isinstance(o, BNode) else texts[o]))
    quads_of: dict = {}
    for row in rows:
        s, _, o = row
        if isinstance(s, BNode):
            quads_of.setdefault(s, []).append(row)
        if isinstance(o, BNode):
            if o == s:
                return None
            quads_of.setdefault(o, []).append(row)
    if not quads_of:
        return "".join(sorted(f"{s} {p} {o} .\n" for s, p, o in rows))
    by_hash: dict = {}
    for node, quads in quads_of.items():
        lines = sorted(f"{_first_degree(s, node)} {p} {_first_degree(o, node)} .\n" for s, p, o in quads)
        by_hash.setdefault(hashlib.sha256("".join(lines).encode("utf-8")).hexdigest(), []).append(node)
    if len(by_hash) < len(quads_of):
        return None  # blank nodes that hash alike: N-degree hashing decides
    label = {nodes[0]: f"_:c14n{n}" for n, (_, nodes) in enumerate(sorted(by_hash.items()))}
    return "".join(sorted(f"{label[s] if isinstance(s, BNode) else s} {p} {label[o] if isinstance(o, BNode) else o} .\n"
                          for s, p, o in rows))


def _first_degree(term, reference: BNode) -> str:
    if not isinstance(term, BNode):
        return term
    return "_:a" if term == reference else "_:z"


def oxigraph_nquads(triples: Iterable[tuple]) -> str:
    """The same by Oxigraph's RDFC-1.0 (the reference; exponential in the worst case)."""
    from .parse import oxigraph_triples

    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in oxigraph_triples(triples))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return "".join(sorted(str(q) + " .\n" for q in dataset))
