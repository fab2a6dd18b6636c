"""DeriveCert: identification and certification of medical and health derived data.

Reference implementation of the group standard 《医疗健康领域衍生数据认定标准》:

    >>> import derivecert
    >>> results = derivecert.certify(open("description.ttl", "rb").read(), filename="description.ttl")
    >>> results[0].verdict, results[0].to_dict()["classification"]["sensitivity_level"]

`certify()` parses, classifies by reasoning over the ontology, validates against the shapes and
decides a verdict (with a filing record when certified); `classify()` and `validate()` run one
step. For batches and options use `derivecert.engine.Engine`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "certify", "classify", "validate", "CertificationResult", "Classification",
           "Finding", "Filing", "DeriveCertError", "Engine"]


def __getattr__(name):  # the heavy modules load on first use, not on `import derivecert`
    if name == "Engine":
        from .engine import Engine
        return Engine
    if name == "CertificationResult":
        from .certify import CertificationResult
        return CertificationResult
    if name == "Classification":
        from .classify import Classification
        return Classification
    if name == "Finding":
        from .shacl import Finding
        return Finding
    if name == "Filing":
        from .filing import Filing
        return Filing
    if name == "DeriveCertError":
        from .errors import DeriveCertError
        return DeriveCertError
    raise AttributeError(name)


_ENGINES: dict = {}


def _engine(reasoner: str = "rl"):
    """One engine per reasoner and process: the ontology and shapes load once."""
    if reasoner not in _ENGINES:
        from .engine import Engine

        _ENGINES[reasoner] = Engine(reasoner=reasoner)
    return _ENGINES[reasoner]


def certify(data, *, media_type=None, filename=None, reasoner="rl", on=None):
    """Certify every dcat:Dataset in a description (bytes, str or rdflib Graph): list of results."""
    return _engine(reasoner).certify(data, media_type=media_type, filename=filename, on=on).results


def classify(data, *, media_type=None, filename=None, reasoner="rl", explain_lang=None):
    """Classification of every dcat:Dataset (DOMAIN.md §3), as §6-shaped dicts."""
    return _engine(reasoner).classify(data, media_type=media_type, filename=filename, explain_lang=explain_lang)


def validate(data, *, media_type=None, filename=None, reasoner="rl", on=None):
    """SHACL validation after reasoning: (report graph, findings as dicts)."""
    return _engine(reasoner).validate(data, media_type=media_type, filename=filename, on=on)
