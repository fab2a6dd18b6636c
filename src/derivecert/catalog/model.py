"""The catalog's model: its IRIs, the one table of facet dimensions, identifiers and the record
summary the search index keeps (DOMAIN.md §5, §6)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox

from ..vocab import BASE, DCERT

# -- IRIs (the IRI base and DCERT: derivecert.vocab) -----------------------------------------

IDX = BASE + "/index#"
GRAPH_BASE = BASE + "/graph/"
RECORD_BASE = BASE + "/record/"
GENID_BASE = BASE + "/.well-known/genid/"
META_GRAPH = GRAPH_BASE + "_meta"
CATALOG = BASE + "/catalog"

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_JSON = "http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON"
XSD = "http://www.w3.org/2001/XMLSchema#"

PREFIXES = f"""PREFIX idx: <{IDX}>
PREFIX dcert: <{DCERT}>
PREFIX dcat: <{DCAT}>
PREFIX dct: <{DCT}>
PREFIX foaf: <{FOAF}>
PREFIX xsd: <{XSD}>
"""

#: the facet dimensions, once: name -> (vocabulary slug or None for literal values, §6
#: classification key or None, single-valued in §6)
DIMENSION_TABLE: dict[str, tuple[str | None, str | None, bool]] = {
    "scenario": ("application-scenario", "scenario", False),
    "technique": ("generation-technique", "technique", False),
    "level": ("sensitivity-level", "sensitivity_level", True),
    "grade": ("deidentification-grade", "deidentification_grade", True),
    "granularity": ("subject-granularity", "granularity", True),
    "category": ("health-data-category", "category", False),
    "modality": ("data-modality", "modality", False),
    "special": ("special-category", "special", False),
    "depth": (None, None, False),
    "verdict": (None, None, False),
    "institution": (None, None, False),  # filled from the submission, not the result
}


def _reader(name: str, key: str | None) -> Callable[[dict], list[str]]:
    """How a dimension's values are read from a §6 result dict."""
    if key is not None:
        return lambda r: _cls(r, key)
    if name == "depth":
        return lambda r: [r["derivation_depth"]] if r.get("derivation_depth") else []
    if name == "verdict":
        return lambda r: [r["verdict"]]
    return lambda r: []


#: facet dimensions: name -> (vocabulary slug or None for literal values, reader of a §6 dict)
DIMENSIONS: dict[str, tuple[str | None, Callable[[dict], list[str]]]] = {
    name: (slug, _reader(name, key)) for name, (slug, key, _) in DIMENSION_TABLE.items()
}
CODED = {name for name, (slug, _) in DIMENSIONS.items() if slug}

STORABLE_VERDICTS = ("certified", "conditional")
#: what search results and the index keep of a filing (the whole record: /v1/filings/{number})
SUMMARY_FILING = ("number", "issued", "valid_until", "certifying_body", "sha256")

#: facet dimension -> (§6 classification key, single-valued in §6), in the order of §6's classification
SECTION6: dict[str, tuple[str, bool]] = {
    name: (key, single) for name in ("scenario", "technique", "granularity", "modality", "category", "special", "grade", "level")
    for _, key, single in [DIMENSION_TABLE[name]] if key is not None
}


def codes_to_classification(codes: dict[str, list[str]]) -> dict[str, Any]:
    """Facet codes of a record in the §6 `classification` shape."""
    out: dict[str, Any] = {}
    for dim, (name, single) in SECTION6.items():
        values = list(codes.get(dim, []))
        out[name] = (values[0] if values else None) if single else values
    return out


def classification_to_codes(classification: dict[str, Any]) -> dict[str, list[str]]:
    return {dim: _cls({"classification": classification}, name) for dim, (name, _) in SECTION6.items()}


def _cls(result: dict, name: str) -> list[str]:
    value = (result.get("classification") or {}).get(name)
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [str(value)]


#: the exact formats of the identifiers the store builds IRIs from (checked with `fullmatch`)
KEY = re.compile(r"[0-9a-f]{16}")
INSTITUTION_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
CODE = re.compile(r"[A-Za-z0-9-]{1,32}")


def dataset_key(dataset_iri: str) -> str:
    """Stable short id of a dataset in URLs: 16 hex digits of the SHA-256 of its IRI."""
    return hashlib.sha256(dataset_iri.encode("utf-8")).hexdigest()[:16]


def is_key(value: str) -> bool:
    return KEY.fullmatch(value) is not None


def is_institution_id(value: str) -> bool:
    return INSTITUTION_ID.fullmatch(value) is not None


def graph_iri(institution: str) -> str:
    if not is_institution_id(institution):
        raise ValueError(f"not an institution id: {institution!r}")
    return GRAPH_BASE + institution


def record_iri(key: str) -> str:
    if not is_key(key):
        raise ValueError(f"not a dataset key: {key!r}")
    return RECORD_BASE + key


def institution_of_graph(iri: str) -> str | None:
    if iri.startswith(GRAPH_BASE) and is_institution_id(iri[len(GRAPH_BASE):]):
        return iri[len(GRAPH_BASE):]
    return None


def iri_lookalike_form(iri: str) -> str:
    """The form under which two dataset IRIs name the same thing for ownership: scheme and host
    case-folded (RFC 3986 §6.2.2.1), default port and trailing slashes dropped.  A dataset filed
    as ``https://h.org/ds/1`` is the same dataset as ``HTTPS://H.ORG/ds/1/``."""
    try:
        parts = urlsplit(iri)
        port = parts.port
    except ValueError:
        return iri
    if not parts.scheme or not parts.netloc:  # urn:, tag:, ...: only the scheme is case-free
        scheme, _, rest = iri.partition(":")
        return f"{scheme.lower()}:{rest.rstrip('/')}"
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host += f":{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{scheme}://{netloc}{path}{query}{fragment}"


def code_of(value: str) -> str:
    """`https://w3id.org/derivecert#AS-PH` -> `AS-PH` (literals pass through)."""
    return value[len(DCERT):] if value.startswith(DCERT) else value


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class RecordSummary:
    """One catalog record as the search index keeps it (also stored as `idx:summary` JSON)."""

    key: str
    dataset: str
    institution: str
    verdict: str
    modified: str
    issued: str
    title: dict[str, str]
    codes: dict[str, list[str]]
    filing: dict[str, Any] | None
    depth: str | None = None
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "dataset": self.dataset, "institution": self.institution,
            "verdict": self.verdict, "modified": self.modified, "issued": self.issued,
            "title": self.title, "codes": self.codes, "filing": self.filing,
            "depth": self.depth,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], text: str = "") -> "RecordSummary":
        return cls(
            key=data["key"], dataset=data["dataset"], institution=data["institution"],
            verdict=data["verdict"], modified=data["modified"], issued=data["issued"],
            title=data.get("title") or {}, codes=data.get("codes") or {},
            filing=data.get("filing"), depth=data.get("depth"), text=text,
        )

    def dimension_values(self, dim: str) -> list[str]:
        if dim == "institution":
            return [self.institution]
        if dim == "verdict":
            return [self.verdict]
        if dim == "depth":
            return [self.depth] if self.depth else []
        return self.codes.get(dim, [])


def normalise_text(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()


def lit(value: str, datatype: str | None = None) -> ox.Literal:
    """A literal, typed by the datatype IRI when there is one."""
    return ox.Literal(value, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(value)
