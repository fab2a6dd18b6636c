"""Filing (备案, DOMAIN.md §5): the one use case that turns a certification run into stored
records, shared by the API's `PUT /v1/institutions/{institution}/datasets` and the seeding of a
demo node, so both refuse, check and store the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .backends.base import CatalogStore
from .errors import ConflictError, SubmissionRefused
from .model import STORABLE_VERDICTS, dataset_key
from .submission import build_submission, check_description


@dataclass
class FilingOutcome:
    """What a filing stored (or, for a dry run, would store): the §6 results and, per filed
    dataset, its key, verdict, filing, whether it replaced an earlier version, and its link."""

    institution: str
    results: list[dict[str, Any]]
    datasets: list[dict[str, Any]]
    stored: bool


def file_submission(store: CatalogStore, institution: str, run: Any, *, dry_run: bool = False) -> FilingOutcome:
    """File the certified and conditional datasets of an engine run (`derivecert.engine.Run`) for
    `institution`, replacing its earlier versions of them, in one transaction.

    Refused, nothing stored: reserved terms (`ReservedTermError`, 400), any dataset rejected or
    nothing derived or a dataset without an IRI (`SubmissionRefused`, 422), a dataset filed by
    another institution (`ConflictError`, 409, raised by `CatalogStore.replace`; checked here
    only for a dry run, which does not reach it)."""
    check_description(run.description)  # the node's own vocabulary: refused before any verdict
    results = [r.to_dict() for r in run.results]
    rejected = [r for r in results if r["verdict"] == "rejected"]
    storable = [r for r in results if r["verdict"] in STORABLE_VERDICTS]
    if rejected:
        raise SubmissionRefused(
            "certification-rejected", f"{len(rejected)} of {len(results)} dataset(s) rejected; nothing stored",
            title="Certification rejected", hint="fix the Violation findings and submit again",
            results=results, findings=[{"dataset": r["dataset"], **f} for r in rejected for f in r["findings"]],
        )
    if not storable:
        raise SubmissionRefused(
            "nothing-to-file", "no dataset of the description is derived data to certify; nothing stored",
            title="Nothing to file",
            hint="a derived dataset names its sources (prov:wasDerivedFrom) and a derivation technique",
            results=results,
        )
    if any(r["dataset"].startswith("_:") for r in storable):
        raise SubmissionRefused("dataset-needs-iri", "a filed dataset needs an IRI, not a blank node",
                                hint="give each dcat:Dataset an IRI", results=results)
    datasets = []
    for r in storable:
        key = dataset_key(r["dataset"])
        datasets.append({
            "id": key, "dataset": r["dataset"], "verdict": r["verdict"], "filing": r["filing"],
            "replaced": store.locate(key) is not None, "links": {"self": f"/v1/datasets/{key}"},
        })
    if dry_run:
        for r in storable:
            holder = store.holder_of(r["dataset"], institution)
            if holder is not None:
                raise ConflictError(r["dataset"], holder)
    else:
        store.replace(build_submission(institution, run.description, run.result_graph, results))
    return FilingOutcome(institution=institution, results=results, datasets=datasets, stored=not dry_run)
