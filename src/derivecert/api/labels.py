"""Labels of codes, verdicts and institutions in zh and en, read from the ontology (the code lists
of DOMAIN.md §3) and the settings; and the vocabulary slugs of the API (docs/DESIGN.md)."""

from __future__ import annotations

from functools import lru_cache

from derivecert.catalog import DIMENSIONS
from derivecert.vocab import DCERT

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

VERDICT_LABELS = {
    "certified": {"zh": "认定通过", "en": "certified"},
    "conditional": {"zh": "有条件通过", "en": "certified with conditions"},
    "rejected": {"zh": "不予认定", "en": "rejected"},
    "not-derived": {"zh": "非衍生数据", "en": "not derived data"},
}
DEPTH_LABELS = {
    "primary": {"zh": "一次衍生数据", "en": "primary derived data"},
    "secondary": {"zh": "二次衍生数据", "en": "secondary derived data"},
}
DIMENSION_LABELS = {
    "scenario": {"zh": "应用场景", "en": "application scenario"},
    "technique": {"zh": "生成技术", "en": "generation technique"},
    "level": {"zh": "敏感等级", "en": "sensitivity level"},
    "grade": {"zh": "脱敏等级", "en": "de-identification grade"},
    "granularity": {"zh": "数据粒度", "en": "subject granularity"},
    "category": {"zh": "数据类别", "en": "content category"},
    "modality": {"zh": "数据形态", "en": "data modality"},
    "special": {"zh": "特殊类别", "en": "special category"},
    "depth": {"zh": "衍生层级", "en": "derivation depth"},
    "verdict": {"zh": "认定结论", "en": "verdict"},
    "institution": {"zh": "机构", "en": "institution"},
}


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


def code_order(code: str) -> tuple[int, str]:
    book = codebook_or_none()
    c = book.by_notation.get(code) if book else None
    return (c.order if c else 10**6, code)


def value_label(dim: str, value: str, settings=None) -> dict[str, str]:
    if dim == "verdict":
        return VERDICT_LABELS.get(value, {"zh": value, "en": value})
    if dim == "depth":
        return DEPTH_LABELS.get(value, {"zh": value, "en": value})
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
