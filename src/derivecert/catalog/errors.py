"""Errors of the catalog, each with a problem code, an HTTP status and a hint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import RecordSummary

class StoreError(Exception):
    """The store could not be read or written (backend down, bad answer)."""

    code = "store-unavailable"
    status = 503
    title: str | None = None  # the problem's title; None: the status's
    hint: str | None = None
    extensions: dict[str, Any] = {}  # problem+json members; instances set their own


class QueryTimeout(StoreError):
    code = "query-timeout"
    status = 503


class ConflictError(StoreError):
    """The dataset is already filed by another institution (under this IRI or a look-alike)."""

    code = "dataset-conflict"
    status = 409
    hint = ("a dataset IRI belongs to the institution that filed it first (IRIs differing only in the "
            "case of scheme and host, the default port or a trailing '/' are the same dataset); "
            "that institution may withdraw it")

    def __init__(self, dataset: str, holder: "RecordSummary"):
        filed_as = "" if holder.dataset == dataset else f" as {holder.dataset}"
        super().__init__(f"{dataset} is filed by another institution ({holder.institution}){filed_as}")
        self.extensions = {"dataset": dataset, "holder": holder.institution, "filed_as": holder.dataset}


class ReservedTermError(StoreError):
    """A submission uses IRIs that only this node writes (its bookkeeping, results, filings)."""

    code = "reserved-term"
    status = 400
    hint = ("remove these terms: IRIs under https://w3id.org/derivecert/ and the vocabulary of "
            "certification results and filing records are written by the node, never by a submission")

    def __init__(self, terms: list[str]):
        shown = ", ".join(f"<{t}>" for t in terms[:5]) + (f" and {len(terms) - 5} more" if len(terms) > 5 else "")
        super().__init__(f"the description uses reserved term(s): {shown}")
        self.extensions = {"terms": terms}


class QueryRejected(StoreError):
    """The backend refused the query (syntax it does not support, SERVICE failure...)."""

    code = "query-failed"
    status = 400


class SubmissionRefused(StoreError):
    """A submission that files nothing: a dataset rejected, nothing derived, a dataset without an
    IRI.  Its extensions carry the results so the institution sees why."""

    status = 422

    def __init__(self, code: str, message: str, *, title: str | None = None, hint: str, **extensions: Any):
        super().__init__(message)
        self.code, self.title, self.hint, self.extensions = code, title, hint, extensions
