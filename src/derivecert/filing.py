"""Filing records (DOMAIN.md §5): number, date, certifying body, validity, versions, digest.

The digest is the SHA-256 of the dataset's description in RDF Dataset Canonicalization
(RDFC-1.0, W3C), so blank-node labels and triple order never change it.  RDFC-1.0's worst case
is exponential in the blank nodes that cannot be told apart (a clique of 10 takes minutes), and
its security considerations ("dataset poisoning") ask implementations to bound that work:
Oxigraph's `canonicalize` has no bound,
so the digest is a phase of the bounded worker (`derivecert.sandbox.phase`) with its own time
budget (`limits.canonicalise_timeout_s`); past it the description is refused as too ambiguous.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, RDFS, XSD

from .errors import CanonicalisationLimitError
from .parse import setting_name, to_oxigraph
from .sandbox import phase
from .vocab import DCERT

FILING_BASE = "https://w3id.org/derivecert/filing/"
DEFAULT_VALIDITY_YEARS = 2


@dataclass(frozen=True)
class Filing:
    number: str
    issued: date
    valid_until: date
    certifying_body: str
    digest: str
    ontology_version: str
    shapes_version: str

    @property
    def iri(self) -> URIRef:
        return URIRef(FILING_BASE + self.number)

    def to_dict(self) -> dict:
        return {
            "number": self.number, "issued": self.issued.isoformat(), "valid_until": self.valid_until.isoformat(),
            "certifying_body": self.certifying_body, "sha256": self.digest,
            "ontology_version": self.ontology_version, "shapes_version": self.shapes_version,
        }


def new_filing_number(on: date | None = None) -> str:
    """`DC-YYYYMMDD-XXXXXXXXXX`: date of issue and 40 random bits (the store checks uniqueness)."""
    return f"DC-{(on or date.today()):%Y%m%d}-{uuid.uuid4().hex[:10].upper()}"


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def description_of(graph: Graph, ds) -> Graph:
    """The dataset's concise bounded description (W3C CBD, as rdflib's `Graph.cbd`): its
    triples, through blank nodes theirs, and the reifications of them.  Built with a work list,
    not recursion: blank nodes nested thousands deep must not exhaust the stack."""
    out = Graph()
    todo, seen = [ds], {ds}

    def visit(node) -> None:
        if node not in seen:
            seen.add(node)
            todo.append(node)

    while todo:
        node = todo.pop()
        reifications: dict = {}
        for stmt in graph.subjects(RDF.subject, node):
            p, o = graph.value(stmt, RDF.predicate), graph.value(stmt, RDF.object)
            if p is not None and o is not None:
                reifications.setdefault((p, o), set()).add(stmt)
        for s, p, o in graph.triples((node, None, None)):
            out.add((s, p, o))
            if isinstance(o, BNode):
                visit(o)
            for stmt in reifications.get((p, o), ()):
                visit(stmt)
    return out


def canonical_digest(graph: Graph, where: str | None = None) -> str:
    """SHA-256 (hex) of the RDFC-1.0 canonical N-Quads of `graph` (`where`: what it describes,
    named if the digest is refused)."""
    dataset = ox.Dataset()
    bnodes: dict = {}

    def blank(node):
        return bnodes.setdefault(node, ox.BlankNode())

    for s, p, o in graph:
        dataset.add(ox.Quad(to_oxigraph(s, blank), ox.NamedNode(p), to_oxigraph(o, blank), ox.DefaultGraph()))
    too_ambiguous = CanonicalisationLimitError(
        "the description is too ambiguous to canonicalise: its blank nodes are so alike that "
        f"RDFC-1.0 cannot tell them apart within its time budget (limit {setting_name('canonicalise_timeout_s')})",
        hint="give the nodes IRIs, or distinguishing properties, instead of interchangeable blank nodes",
        where=where, limit="canonicalise_timeout_s",
    )
    with phase("canonicalise", too_ambiguous):
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    lines = sorted(str(q) + " .\n" for q in dataset)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def filing_graph(filing: Filing, ds, verdict: URIRef) -> Graph:
    """The filing record as RDF, linked with PROV to the dataset it certifies."""
    g = Graph()
    f = filing.iri
    activity = URIRef(f"{f}#certification")
    body = URIRef(f"{f}#certifying-body")
    g.add((f, RDF.type, DCERT.FilingRecord))
    g.add((f, RDFS.label, Literal(f"备案 {filing.number}", lang="zh")))
    g.add((f, RDFS.label, Literal(f"filing {filing.number}", lang="en")))
    g.add((f, DCERT.filingNumber, Literal(filing.number)))
    g.add((f, DCTERMS.issued, Literal(filing.issued, datatype=XSD.date)))
    g.add((f, DCERT.validUntil, Literal(filing.valid_until, datatype=XSD.date)))
    g.add((f, DCERT.ontologyVersion, Literal(filing.ontology_version)))
    g.add((f, DCERT.shapesVersion, Literal(filing.shapes_version)))
    g.add((f, DCERT.descriptionDigest, Literal(filing.digest)))
    g.add((f, DCERT.verdict, verdict))
    g.add((f, DCTERMS.subject, ds))
    g.add((f, DCERT.certifyingBody, body))
    g.add((body, RDF.type, DCERT.CertifyingBody))
    g.add((body, FOAF.name, Literal(filing.certifying_body)))
    g.add((f, PROV.wasGeneratedBy, activity))
    g.add((f, PROV.wasAttributedTo, body))
    g.add((activity, RDF.type, DCERT.CertificationActivity))
    g.add((activity, PROV.used, ds))
    g.add((activity, PROV.wasAssociatedWith, body))
    g.add((activity, PROV.endedAtTime, Literal(filing.issued, datatype=XSD.date)))
    return g
