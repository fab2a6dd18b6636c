"""Labels of codes, verdicts and institutions in zh and en, read from the ontology (the code lists
of DOMAIN.md §3) and the settings; and the vocabulary slugs of the API (docs/DESIGN.md)."""

from __future__ import annotations

from functools import lru_cache

from rdflib import URIRef

from derivecert.catalog import DIMENSIONS
from derivecert.vocab import DCERT
from derivecert.wording import class_label

#: API slug -> local name of the `skos:ConceptScheme` in the ontology (docs/DESIGN.md)
SCHEMES = {
    "application-scenario": "ApplicationScenarioScheme",
    "generation-technique": "GenerationTechniqueScheme",
    "sensitivity-level": "SensitivityLevelScheme",
    "deidentification-grade": "DeidentificationGradeScheme",
    "subject-granularity": "SubjectGranularityScheme",
    "data-modality": "DataModalityScheme",
    "health-data-category": "HealthDataCategoryScheme",
    "special-category": "SpecialCategoryScheme",
    "legal-basis": "LegalBasisScheme",
}

#: labels of what the ontology has no term for: the derivation depth and the institution, two
#: facets of the catalog (every other dimension is labelled by its code list, `dimension_labels`)
OWN_DIMENSION_LABELS = {
    "depth": {"zh": "衍生层级", "en": "derivation depth"},
    "institution": {"zh": "机构", "en": "institution"},
}
#: derivation depth -> the ontology class whose `rdfs:label` names it
DEPTH_CLASSES = {"primary": "PrimaryDerivedData", "secondary": "SecondaryDerivedData"}
#: the code list of the verdict dimension
VERDICT_SCHEME = "VerdictScheme"


@lru_cache(maxsize=1)
def dimension_labels() -> dict[str, dict[str, str]]:
    """Each facet dimension's zh/en label: its code list's `skos:prefLabel` in the ontology (the
    dimension's name when the ontology did not load)."""
    book = codebook_or_none()
    schemes = book.schemes() if book else {}
    out = {}
    for dim, (slug, _) in DIMENSIONS.items():
        local = SCHEMES.get(slug or "") or (VERDICT_SCHEME if dim == "verdict" else None)
        labels = schemes.get(URIRef(DCERT + local)) if local else None
        out[dim] = labels or OWN_DIMENSION_LABELS.get(dim) or {"zh": dim, "en": dim}
    return out


def depth_label(depth: str) -> dict[str, str]:
    """The zh/en label of a derivation depth, from its class in the ontology."""
    cls = DEPTH_CLASSES.get(depth)
    return {lang: class_label(cls, lang) for lang in ("zh", "en")} if cls else {"zh": depth, "en": depth}


@lru_cache(maxsize=1)
def codebook_or_none():
    try:
        from derivecert.codes import codebook

        return codebook()
    except Exception:  # the ontology failed to load: codes stay unlabelled
        return None


def code_label(code: str) -> dict[str, str]:
    book = codebook_or_none()
    c = book.by_notation.get(code) if book else None
    if c is None:
        return {"zh": code, "en": code}
    return {"zh": c.labels.get("zh", code), "en": c.labels.get("en", code)}


def verdict_label(verdict: str) -> dict[str, str]:
    """The zh/en label of a verdict: its concept in the ontology's `dcert:VerdictScheme`."""
    return code_label(verdict)


def code_order(code: str) -> tuple[int, str]:
    book = codebook_or_none()
    c = book.by_notation.get(code) if book else None
    return (c.order if c else 10**6, code)


def value_label(dim: str, value: str, settings=None) -> dict[str, str]:
    if dim == "verdict":
        return verdict_label(value)
    if dim == "depth":
        return depth_label(value)
    if dim == "institution":
        inst = settings.institution(value) if settings else None
        if inst and inst.name:
            return {"zh": inst.name.get("zh") or inst.name.get("en", value), "en": inst.name.get("en") or inst.name.get("zh", value)}
        return {"zh": value, "en": value}
    return code_label(value)


def scheme_iri(slug: str) -> str | None:
    local = SCHEMES.get(slug)
    return DCERT + local if local else None


def dimension_scheme(dim: str) -> str | None:
    slug = DIMENSIONS[dim][0] if dim in DIMENSIONS else None
    return slug
