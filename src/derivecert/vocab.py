"""Namespaces of the public vocabulary (DOMAIN.md §2)."""

from rdflib import Namespace
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
