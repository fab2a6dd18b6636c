"""Errors DeriveCert reports to its users: what went wrong, where, and how to fix it.

Every error is a `DeriveCertError` with a stable `code`, a `hint` and the HTTP status the API
answers with; the CLI exits with status 2 for all of them (unusable input).
"""

from __future__ import annotations


class DeriveCertError(Exception):
    """Base class. `code` is stable and machine-readable; `hint` tells how to fix it."""

    code = "derivecert-error"
    status = 400

    def __init__(self, message: str, *, hint: str = "", where: str | None = None, limit: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where
        self.limit = limit  # the setting (`limits.<name>`) that refused the input, if one did

    def __str__(self) -> str:
        text = self.message if not self.where else f"{self.where}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    def to_dict(self) -> dict:
        out = {"code": self.code, "message": self.message, "where": self.where, "hint": self.hint}
        if self.limit:
            out["limit"] = self.limit
        return out


class InputError(DeriveCertError):
    """The description cannot be read (syntax, encoding, unsafe construct)."""

    code = "invalid-input"
    status = 400


class UnsupportedFormatError(InputError):
    code = "unsupported-format"
    status = 415


class InputTooLargeError(InputError):
    code = "input-too-large"
    status = 413


class UnsafeInputError(InputError):
    """A construct refused before parsing because of what it would cost (XML entities, deep JSON)."""

    code = "unsafe-input"
    status = 422


class ResourceLimitError(InputError):
    """Processing the description needs more memory than the settings allow (or nests too
    deeply, or crashed its worker): the worker stopped, the service did not."""

    code = "resource-limit"
    status = 422


class CanonicalisationLimitError(InputError):
    """RDFC-1.0 would need more work than allowed: the blank nodes are too symmetric to tell
    apart cheaply (the algorithm's worst case is exponential, and RDFC-1.0's security
    considerations, "dataset poisoning", ask implementations to bound its work)."""

    code = "too-ambiguous-to-canonicalise"
    status = 422


class WorkTimeoutError(DeriveCertError):
    """The work ran past its time limit and was stopped (the service is fine; retry or narrow)."""

    code = "work-timeout"
    status = 503


class NoDatasetError(InputError):
    """The input parsed but describes no dcat:Dataset, so there is nothing to certify."""

    code = "no-dataset"
    status = 422


class ConfigurationError(DeriveCertError):
    code = "configuration-error"
    status = 500


class ReasonerError(DeriveCertError):
    """The reasoner could not run (e.g. no Java for HermiT) or found the input inconsistent."""

    code = "reasoner-error"
    status = 422
