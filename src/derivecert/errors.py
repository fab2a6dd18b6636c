"""Errors DeriveCert reports to its users: what went wrong, where, and how to fix it.

Every error is a `DeriveCertError` with a stable `code`, a `hint` and the HTTP status the API
answers with; the CLI exits with status 2 for all of them (unusable input).
"""

from __future__ import annotations


class DeriveCertError(Exception):
    """Base class. `code` is stable and machine-readable; `hint` tells how to fix it."""

    code = "derivecert-error"
    status = 400

    def __init__(self, message: str, *, hint: str = "", where: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where

    def __str__(self) -> str:
        text = self.message if not self.where else f"{self.where}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "where": self.where, "hint": self.hint}


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
