"""The JSON of a search hit and of facet counts, as `GET /v1/datasets` writes them and as a
federated search reads them back from a DeriveCert peer: one model for both sides."""

from __future__ import annotations

from typing import Any

from .model import RecordSummary, classification_to_codes, codes_to_classification


def item_json(entry: RecordSummary, origin: str = "local", href: str | None = None) -> dict[str, Any]:
    """A search hit: the record's summary with its §6 classification, origin and link."""
    return {
        "id": entry.key,
        "dataset": entry.dataset,
        "institution": entry.institution,
        "title": entry.title,
        "verdict": entry.verdict,
        "derivation_depth": entry.depth,
        "classification": codes_to_classification(entry.codes),
        "filing": entry.filing,
        "issued": entry.issued,
        "modified": entry.modified,
        "origin": origin,
        "links": {"self": href or f"/v1/datasets/{entry.key}"},
    }


def item_from_json(item: dict[str, Any]) -> tuple[RecordSummary, str | None]:
    """A peer's search hit (`item_json`) back as a record summary, with its link."""
    entry = RecordSummary(
        key=item.get("id", ""), dataset=item.get("dataset", ""),
        institution=item.get("institution", ""), verdict=item.get("verdict", ""),
        modified=item.get("modified", ""), issued=item.get("issued", ""),
        title=item.get("title") or {}, codes=classification_to_codes(item.get("classification") or {}),
        filing=item.get("filing"), depth=item.get("derivation_depth"),
    )
    return entry, (item.get("links") or {}).get("self")


def facet_counts_from_json(facets: dict[str, Any]) -> dict[str, dict[str, int]]:
    """A peer's facets (per dimension, a label and values with code and count; or a bare list of
    values) as counts per code."""
    return {
        dim: {f["code"]: int(f["count"]) for f in (group.get("values", []) if isinstance(group, dict) else group)}
        for dim, group in facets.items()
    }
