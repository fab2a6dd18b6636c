"""Unknown `dcert:` terms and codes never pass silently (DOMAIN.md §5, amendment A6).

A misspelt property (`dcert:deIdentificationGrade`) or a code outside its code list
(`dcert:GT-DEIDD`) is a term the ontology does not define. Where a requirement reads the property,
its shape reports the value (an unknown grade under S-01, an unknown technique under P-03), and the
finding names the nearest known term; every other unknown term of a dataset's description is listed
as a notice of its result, which does not change the verdict.
"""

from __future__ import annotations

import difflib
from functools import lru_cache

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import PROV, RDF

from .rdfstore import Index, index
from .resources import ontology_graph
from .vocab import DCERT

MESSAGE = {
    "zh": "{term} 不是本体定义的术语或代码，认定不读取它{hint}。",
    "en": "{term} is not a term or code the ontology defines, so certification does not read it{hint}.",
}
HINT = {"zh": "；是否应为 {known}？", "en": "; did you mean {known}?"}
_SOURCE_LINKS = frozenset({PROV.wasDerivedFrom, PROV.used, URIRef("http://purl.org/dc/terms/source")})


@lru_cache(maxsize=1)
def known_terms() -> frozenset:
    """Every dcert: IRI the ontology declares (classes, properties, code-list concepts ...)."""
    onto = ontology_graph()
    return frozenset(s for s in onto.subjects(RDF.type, None) if isinstance(s, URIRef) and s.startswith(str(DCERT)))


@lru_cache(maxsize=1)
def _by_name() -> dict:
    return {str(t)[len(str(DCERT)):]: t for t in known_terms()}


def is_unknown(term) -> bool:
    return isinstance(term, URIRef) and term.startswith(str(DCERT)) and term not in known_terms()


@lru_cache(maxsize=1024)  # a batch repeats its misspellings; difflib compares with every known name
def nearest(term: URIRef) -> URIRef | None:
    """The known term whose local name is closest to `term`'s, if any is close (a property and a
    class may differ only by the case of their first letter, so case counts)."""
    names = _by_name()
    match = difflib.get_close_matches(str(term)[len(str(DCERT)):], list(names), n=1, cutoff=0.6)
    return names[match[0]] if match else None


def _short(term) -> str:
    return "dcert:" + str(term)[len(str(DCERT)):] if term is not None else ""


def notice(term: URIRef) -> dict:
    known = nearest(term)
    message = {lang: text.format(term=_short(term), hint=HINT[lang].format(known=_short(known)) if known else "")
               for lang, text in MESSAGE.items()}
    out = {"term": str(term), "message": message}
    if known is not None:
        out["did_you_mean"] = str(known)
    return out


_GENERATED_BY = PROV.wasGeneratedBy


class UnknownTerms:
    """The unknown dcert: terms of a description (a batch), found once for all its datasets.

    Each distinct predicate and value is looked at once (a batch repeats its vocabulary and codes);
    a dataset's description is walked only when some statement path leads from it to a node with
    an unknown term (there are none in most batches, and few nodes have one in the others)."""

    def __init__(self, description: Graph | Index):
        self.reads = reads = index(description)
        self.by_node: dict = {}  # node -> the unknown terms of its statements (as predicate or value)
        for p in reads.predicates():
            if is_unknown(p):
                for s, _ in reads.subject_objects(p):
                    self.by_node.setdefault(s, set()).add(p)
        for o in reads.all_objects():
            if is_unknown(o):
                for s in reads.subject_predicates(o):
                    self.by_node.setdefault(s, set()).add(o)
        self.reaching = set(self.by_node)  # the nodes with a statement path to one of them
        stack = list(self.by_node)
        while stack:
            for s in reads.subject_predicates(stack.pop()):
                if s not in self.reaching:
                    self.reaching.add(s)
                    stack.append(s)

    def of(self, ds) -> list[URIRef]:
        """The unknown dcert: terms used in the description of `ds`, in a stable order."""
        if ds not in self.reaching:
            return []
        found: set = set()
        for node in self._described(ds):
            found.update(self.by_node.get(node, ()))
        return sorted(found, key=str)

    def _described(self, ds) -> set:
        """The nodes whose statements describe `ds`: itself, its blank nodes, its activities, its sources."""
        seen, stack = {ds}, [ds]
        while stack:
            node = stack.pop()
            for p, objects in self.reads.predicate_objects(node).items():
                follow = p in _SOURCE_LINKS or (p == _GENERATED_BY and node == ds)
                for o in objects:
                    if o not in seen and (follow or isinstance(o, BNode)):
                        seen.add(o)
                        stack.append(o)
        return seen

    def notices(self, ds, reported: set) -> list[dict]:
        """A notice per unknown term of `ds`'s description that no finding already reports."""
        return [notice(term) for term in self.of(ds) if str(term) not in reported]
