"""The code lists of DOMAIN.md §3, read from the ontology (never copied into Python).

`CodeBook` answers what the engine and the API need of a code-list concept: its notation, its
zh/en labels, its position in its table (for stable output order) and its rank (grades, levels).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, SKOS

from .resources import code_lists, ontology_graph
from .vocab import DCERT


@dataclass(frozen=True)
class Code:
    iri: URIRef
    notation: str
    labels: dict
    definitions: dict
    scheme: URIRef
    order: int
    rank: int | None


class CodeBook:
    def __init__(self):
        g = code_lists()
        self.by_iri: dict[URIRef, Code] = {}
        for concept in set(g.subjects(RDF.type, SKOS.Concept)):
            notation = g.value(concept, SKOS.notation)
            scheme = g.value(concept, SKOS.inScheme)
            if notation is None or scheme is None:
                continue
            rank = g.value(concept, DCERT.rank)
            order = g.value(concept, DCERT.order)
            self.by_iri[concept] = Code(
                iri=concept, notation=str(notation),
                labels={label.language: str(label) for label in g.objects(concept, SKOS.prefLabel)},
                definitions={d.language: str(d) for d in g.objects(concept, SKOS.definition)},
                scheme=scheme, order=int(order) if order is not None else 0,
                rank=int(rank) if rank is not None else None,
            )
        self.by_notation = {c.notation: c for c in self.by_iri.values()}

    def notation(self, iri) -> str:
        code = self.by_iri.get(iri)
        return code.notation if code else str(iri)

    def sort(self, iris, first: dict | None = None) -> list[URIRef]:
        """Concepts in the order the author wrote them (`first`: IRI -> position in the document),
        then the others in the order of DOMAIN.md's tables; unknown IRIs last, alphabetically."""
        first = first or {}
        inf = float("inf")
        return sorted(set(iris), key=lambda i: (first.get(i, inf), i not in self.by_iri,
                                                self.by_iri[i].order if i in self.by_iri else 0, str(i)))

    def notations(self, iris, first: dict | None = None) -> list[str]:
        return [self.notation(i) for i in self.sort(iris, first)]

    def label(self, iri, lang: str = "en") -> str:
        code = self.by_iri.get(iri)
        if code is None:
            return str(iri)
        return code.labels.get(lang) or code.labels.get("en") or code.notation

    def scheme_codes(self, scheme: URIRef) -> list[Code]:
        return sorted((c for c in self.by_iri.values() if c.scheme == scheme), key=lambda c: c.order)

    def schemes(self) -> dict[URIRef, dict]:
        """Every concept scheme with its zh/en labels."""
        onto = ontology_graph()
        out: dict[URIRef, dict] = {}
        for scheme in set(onto.subjects(RDF.type, SKOS.ConceptScheme)):
            out[URIRef(str(scheme))] = {label.language: str(label) for label in onto.objects(scheme, SKOS.prefLabel)
                           if isinstance(label, Literal)}
        return out


@lru_cache(maxsize=1)
def codebook() -> CodeBook:
    return CodeBook()
