"""Verdicts, results and their RDF (DOMAIN.md §5-§6).

A result is built from the dataset's classification (classify.py) and the SHACL findings whose
focus is the dataset or one of its own blank nodes (shacl.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, SH

from .classify import DatasetClassification
from .codes import codebook
from .filing import Filing
from .shacl import Finding
from .unknown import is_unknown, nearest
from .rdfstore import add_all
from .vocab import DCERT, Terms, iri, literal

_D, _DCT, _PROV, _RDF, _SH = Terms(DCERT), Terms(DCTERMS), Terms(PROV), Terms(RDF), Terms(SH)

VERDICTS = ("certified", "conditional", "rejected", "not-derived")
VERDICT_IRI = {"certified": DCERT.Certified, "conditional": DCERT.Conditional,
               "rejected": DCERT.Rejected, "not-derived": DCERT.NotDerived}
RESULT_BASE = "https://w3id.org/derivecert/result/"


def decide(cls: DatasetClassification, findings: list[Finding]) -> tuple[str, list[Finding]]:
    """The verdict of §5 and the findings the result lists."""
    if cls.not_derived:
        # No source: only P-01 can fire. A pure copy: not derived, nothing to report.
        return "not-derived", [f for f in findings if f.requirement == "P-01"] if not cls.is_sourced else []
    if any(f.severity == "Violation" for f in findings):
        return "rejected", findings
    if findings:
        return "conditional", findings
    return "certified", findings


def finding_dict(f: Finding, lang: str | None = None) -> dict:
    message = f.message if lang is None else {lang: f.message.get(lang) or f.message.get("en", "")}
    out = {"requirement": f.requirement, "severity": f.severity, "focus": _node_text(f.focus),
           "path": f.path, "message": message, "shape": f.shape}
    if f.value is not None:
        out["value"] = f.value
        known = nearest(URIRef(f.value)) if is_unknown(URIRef(f.value)) else None
        if known is not None:  # an unknown code, reported by the requirement that reads it (A6)
            out["did_you_mean"] = str(known)
    return out


def notice_dict(notice: dict, lang: str | None = None) -> dict:
    if lang is None:
        return notice
    message = notice["message"]
    return {**notice, "message": {lang: message.get(lang) or message.get("en", "")}}


def _node_text(node) -> str:
    return f"_:{node}" if isinstance(node, BNode) else str(node)


@dataclass
class CertificationResult:
    dataset: URIRef | BNode
    classification: DatasetClassification
    verdict: str
    findings: list[Finding] = field(default_factory=list)
    filing: Filing | None = None
    source: str | None = None
    notices: list[dict] = field(default_factory=list)  # §6: defaults applied (A2), unknown terms (A6)

    @property
    def is_derived(self) -> bool:
        return self.classification.is_derived

    def to_dict(self, lang: str | None = None) -> dict:
        c = self.classification
        out = {
            "dataset": _node_text(self.dataset),
            "is_derived": c.is_derived,
            "derivation_depth": c.derivation_depth,
            "types": c.types,
            "classification": c.classification.to_dict(),
            "verdict": self.verdict,
            "findings": [finding_dict(f, lang) for f in self.findings],
            "notices": [notice_dict(n, lang) for n in self.notices],
            "filing": self.filing.to_dict() if self.filing else None,
        }
        if self.source is not None:
            out["source"] = self.source
        return out

    @property
    def iri(self) -> URIRef:
        key = hashlib.sha256(_node_text(self.dataset).encode()).hexdigest()[:24]
        return URIRef(RESULT_BASE + key)

    def to_graph(self, on: date, into: Graph | None = None) -> Graph:
        """The result as RDF: verdict, computed classification (as facet properties), findings;
        added to `into` if given."""
        g = into if into is not None else Graph()
        add_all(g, self.triples(on))
        return g

    def triples(self, on: date) -> list[tuple]:
        """The triples of `to_graph`, written with terms made once (`vocab.Terms`, `literal`)."""
        r, c, book = self.iri, self.classification.classification, codebook()
        out = [(r, _RDF.type, _D.CertificationResult), (r, _DCT.subject, self.dataset),
               (r, _DCT.issued, literal(on)), (r, _D.verdict, VERDICT_IRI[self.verdict])]
        out += [(r, _D.inferredType, _D[name]) for name in self.classification.types]
        if self.classification.is_derived:
            out.append((r, _D.inferredType, _D.DerivedData))
            secondary = c and self.classification.derivation_depth == "secondary"
            out.append((r, _D.inferredType, _D.SecondaryDerivedData if secondary else _D.PrimaryDerivedData))
        facets = [(_D.applicationScenario, c.scenario), (_D.generationTechnique, c.technique),
                  (_D.subjectGranularity, [c.granularity] if c.granularity else []),
                  (_D.dataModality, c.modality), (_D.healthDataCategory, c.category),
                  (_D.specialCategory, c.special),
                  (_D.deidentificationGrade, [c.deidentification_grade] if c.deidentification_grade else []),
                  (_D.sensitivityLevel, [c.sensitivity_level] if c.sensitivity_level else []),
                  (_D.levelCandidate, c.level_candidates)]
        for prop, codes in facets:
            for code in codes:
                concept = book.by_notation.get(code)
                if concept is not None:
                    out.append((r, prop, concept.iri))
        for i, f in enumerate(self.findings):
            node = URIRef(f"{r}#finding-{i + 1}")
            out += [(r, _D.finding, node), (node, _RDF.type, _D.Finding), (node, _D.requirement, literal(f.requirement)),
                    (node, _SH.resultSeverity, _SH[f.severity]), (node, _SH.focusNode, f.focus),
                    (node, _SH.sourceShape, iri(f.shape))]
            if f.path and f.path.startswith(("http://", "https://")):
                out.append((node, _SH.resultPath, iri(f.path)))
            out += [(node, _SH.resultMessage, literal(text, lang)) for lang, text in f.message.items()]
        if self.filing is not None:
            out.append((r, _D.filing, self.filing.iri))
            out.append((r, _PROV.wasGeneratedBy, URIRef(f"{self.filing.iri}#certification")))
        return out
