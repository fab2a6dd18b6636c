"""Words for people: labels of codes and classes read from the ontology, severities, and IRIs as
prefixed names, in zh and en.  The CLI's text report and the web interface speak through this
module so that both say the same thing (DOMAIN.md §3 code lists, §4 severities)."""

from __future__ import annotations

import re
from functools import lru_cache

from rdflib import Literal, URIRef
from rdflib.namespace import RDFS

from .vocab import DCERT, PREFIXES

#: SHACL severities (sh:Violation, sh:Warning, sh:Info) as the standard's text names them
SEVERITY = {
    "Violation": {"zh": "违规", "en": "Violation"},
    "Warning": {"zh": "警告", "en": "Warning"},
    "Info": {"zh": "提示", "en": "Info"},
}

#: requirement families of DOMAIN.md §4, by the letter of the requirement ID
FAMILY = {
    "P": {"zh": "过程要求", "en": "process"},
    "Q": {"zh": "质量要求", "en": "quality"},
    "S": {"zh": "安全与隐私要求", "en": "security and privacy"},
    "R": {"zh": "权益要求", "en": "rights"},
}


def severity(name: str, lang: str) -> str:
    return SEVERITY.get(name, {}).get(lang, name)


def family(requirement: str) -> str:
    """The family letter of a requirement ID ("S-03" -> "S"); unknown IDs go to their own group."""
    return requirement.split("-", 1)[0] if requirement else "?"


def code_label(code: str, lang: str) -> str:
    """The prefLabel of a code-list concept by its notation (AS-DRUG -> 药物研发), else the code."""
    from .codes import codebook

    concept = codebook().by_notation.get(code)
    return (concept.labels.get(lang) or concept.labels.get("en") or code) if concept else code


@lru_cache(maxsize=1)
def _class_labels() -> dict[str, dict[str, str]]:
    from .resources import ontology_graph

    labels: dict[str, dict[str, str]] = {}
    for cls, label in ontology_graph().subject_objects(RDFS.label):
        if isinstance(cls, URIRef) and str(cls).startswith(str(DCERT)) and isinstance(label, Literal) and label.language:
            labels.setdefault(str(cls)[len(DCERT):], {})[label.language] = str(label)
    return labels


def class_label(name: str, lang: str) -> str:
    """The rdfs:label of a `dcert:` class by its local name (ModelOutputData -> 模型输出数据)."""
    labels = _class_labels().get(name, {})
    return labels.get(lang) or labels.get("en") or name


def prefixed(iri: str | None) -> str:
    """`https://w3id.org/derivecert#privacyModel` -> `dcert:privacyModel`; in a SHACL property
    path (`<a>/<b>`, `<a>|<b>`) each `<IRI>`; other IRIs unchanged."""
    if not iri:
        return ""
    if "<" in iri:
        return re.sub(r"<([^<>\s]+)>", lambda m: _prefixed_one(m.group(1), keep=f"<{m.group(1)}>"), iri)
    return _prefixed_one(iri, keep=iri)


def _prefixed_one(iri: str, keep: str) -> str:
    best = max(((p, str(ns)) for p, ns in PREFIXES.items() if iri.startswith(str(ns))),
               key=lambda pn: len(pn[1]), default=None)
    if best is None:
        return keep
    local = iri[len(best[1]):]
    return f"{best[0]}:{local}" if local and all(c.isalnum() or c in "-_." for c in local) else keep


@lru_cache(maxsize=1)
def _shape_descriptions() -> dict[str, dict[str, str]]:
    from rdflib.namespace import SH

    from .resources import shapes_source_graph

    out: dict[str, dict[str, str]] = {}
    for shape, text in shapes_source_graph().subject_objects(SH.description):
        if isinstance(text, Literal) and text.language:
            out.setdefault(str(shape), {})[text.language] = str(text)
    return out


def shape_description(shape: str | None, lang: str) -> str:
    """What a shape requires (its sh:description): the fix hint of a finding it reported."""
    texts = _shape_descriptions().get(shape or "", {})
    return texts.get(lang) or texts.get("en", "")


def named_sources(graph) -> set[str]:
    """IRIs a description names as sources (prov:wasDerivedFrom, or prov:used of an activity).
    A dataset among them that has no source of its own is not under certification: the reports
    list it apart instead of as a "not derived, P-01" result."""
    from rdflib.namespace import PROV

    return {str(o) for p in (PROV.wasDerivedFrom, PROV.used) for o in graph.objects(None, p)}
