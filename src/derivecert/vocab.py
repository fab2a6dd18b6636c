"""Namespaces of the public vocabulary (DOMAIN.md §2), and terms made once for the hot paths."""

from datetime import date
from functools import lru_cache

from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, PROV, RDF, RDFS, SH, SKOS, XSD

#: the node's and the ontology's IRI space; everything under BASE + "/" is written by DeriveCert only
BASE = "https://w3id.org/derivecert"
DCERT = Namespace(BASE + "#")
#: filing record IRIs: FILING_BASE + the filing number (engine, store and verify share them)
FILING_BASE = BASE + "/filing/"
DPV = Namespace("https://w3id.org/dpv#")
PD = Namespace("https://w3id.org/dpv/pd#")
LEGACY_PD = Namespace("https://w3id.org/dpv/dpv-pd#")
RISK = Namespace("https://w3id.org/dpv/risk#")
SECTOR_HEALTH = Namespace("https://w3id.org/dpv/sector/health#")
HEALTHDCATAP = Namespace("http://healthdataportal.eu/ns/health#")
DQV = Namespace("http://www.w3.org/ns/dqv#")
ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
ACCESS_RIGHT = Namespace("http://publications.europa.eu/resource/authority/access-right/")

PREFIXES = {
    "dcert": DCERT, "dcat": DCAT, "dct": DCTERMS, "prov": PROV, "dqv": DQV, "odrl": ODRL,
    "dpv": DPV, "pd": PD, "risk": RISK, "sector-health": SECTOR_HEALTH,
    "healthdcatap": HEALTHDCATAP, "skos": SKOS, "owl": OWL, "rdf": RDF, "rdfs": RDFS,
    "sh": SH, "xsd": XSD,
}


def bind_prefixes(graph) -> None:
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True)


class Terms:
    """The terms of a namespace, each made once: `Terms(DCERT).verdict` is the same URIRef object
    every time, where an rdflib namespace makes a new one per use. For the hot paths that write
    results: a term made once is compared by identity in a store's dicts, and pickled once per
    message to another process (each copy of a term is unpickled through its constructor)."""

    def __init__(self, namespace):
        self._namespace = namespace

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("_"):  # copy, pickle and the like probe for dunder methods
            raise AttributeError(name)
        term = self._namespace[name]
        setattr(self, name, term)
        return term

    def __getitem__(self, name: str) -> URIRef:
        return getattr(self, name)


@lru_cache(maxsize=8192)
def literal(value: str | date, lang: str | None = None) -> Literal:
    """A plain or language-tagged literal, or an xsd:date, made once while it is in use (see `Terms`)."""
    if type(value) is date:
        return Literal(value, datatype=XSD.date)
    return Literal(value, lang=lang)


#: an IRI made once while it is in use (see `Terms`)
iri = lru_cache(maxsize=8192)(URIRef)
