"""The SHACL step of certification: the identification requirements of DOMAIN.md §4.

`validate()` checks descriptions, together with what the reasoner inferred about them
(`derivecert.reason`), against the shapes in `shapes/*.ttl` (one file per requirement family:
process P-01..P-09, quality Q-01..Q-08, security and privacy S-01..S-11, rights R-01..R-02) and
returns one `Finding` per reported defect, each naming one requirement ID and attributed to the
dataset it is about.

- What the shapes see: the materialised description(s); plus, for the three SHACL-SPARQL
  constraints (P-04, S-02, S-10), the code-list concepts with their facts (`dcert:rank`,
  `dcert:minimumGrade`, `skos:broader` ...) and one context node carrying the validation date,
  ``<urn:derivecert:certification> a dcert:CertificationActivity ; dct:date <on>`` (authorizations
  expire relative to it). Whatever the input says about that node is ignored.
- Two validators give the same findings (tests/test_shacl_parity.py, the parity gate), chosen by
  `validate(..., shacl=...)`, `Engine(shacl=...)`, `derivecert certify --shacl` or the setting
  `shacl`: "rudof" (the default: core shapes on pyrudof, in Rust; the SHACL-SPARQL constraints once
  per batch on Oxigraph) and "pyshacl" (the reference engine: once over the whole batch, no
  inference, no meta-SHACL at run time, warnings allowed; the materialised graph read in place).
- The materialised data comes as an rdflib Graph, as N-Triples text or as pyoxigraph quads; the
  findings are rdflib terms whichever it is, a blank node keeping its label.
- Numeric thresholds come from a threshold profile (`shapes/thresholds.ttl` holds the defaults):
  `compiled_shapes()` writes the profile's values into the constraint nodes that carry
  `dcert:thresholdParameter`. Overrides are keyed by the parameter's local name, e.g.
  ``{"MinK": 7}``; `load_threshold_profile()` reads them from an RDF file.

The package, by concern:

- `thresholds`: threshold profiles and the compiled shapes graph (one per profile);
- `pyshacl_adapter`: pySHACL as the validator: the data graph it reads, the SHACL-SPARQL
  constraints on an Oxigraph mirror, the speed-ups and the correction patched into it (pinned
  to the versions pyproject.toml allows; tests/test_shacl_adapter.py fails if a patch did not take);
- `rudof_validator`: pyrudof as the validator: each SHACL-SPARQL constraint once per batch, its
  results completed from the shapes (messages with their language, complex paths);
- `rudof_data`: what it reads, the data split once into what the core shapes and the SPARQL
  constraints can read;
- `findings`: validation results (from a report graph, or from rudof) attributed to datasets as
  `Finding`s, whatever validator produced them.

The shapes carry their targets on the property shapes, so that a validator evaluates each of them
once over all its focus nodes (shapes/common.ttl).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping

from rdflib import Graph

from ..errors import ConfigurationError, InputError
from .findings import Finding, findings_from_report, findings_from_results
from .pyshacl_adapter import CONTEXT_NODE, data_graph, run_pyshacl
from .rudof_validator import report_graph, run_rudof
from .rudof_validator import prepare as prepare_rudof
from .thresholds import (
    _compiled,
    _normalise,
    _requirements,
    compiled_shapes,
    load_threshold_profile,
    shape_requirements,
    threshold_defaults,
)

__all__ = [
    "CONTEXT_NODE",
    "DEFAULT_VALIDATOR",
    "VALIDATORS",
    "Finding",
    "Validation",
    "compiled_shapes",
    "load_threshold_profile",
    "shape_requirements",
    "threshold_defaults",
    "check_validator",
    "prepare",
    "validate",
]


#: The validators `validate()` can run: rudof (Rust) for the core shapes with the SHACL-SPARQL
#: constraints once per batch on Oxigraph, the default; pySHACL, the reference engine.
VALIDATORS = ("rudof", "pyshacl")
DEFAULT_VALIDATOR = "rudof"


class Validation:
    """The outcome of a validation: whether the data conforms, its findings, and the SHACL report
    (built on first access when the validator did not write one as a graph)."""

    def __init__(self, conforms: bool, report: Graph | Callable[[], Graph], findings: list[Finding] | None = None):
        self.conforms = conforms
        self._report = report
        self.findings = list(findings or [])

    @property
    def report(self) -> Graph:
        if not isinstance(self._report, Graph):
            self._report = self._report()
        return self._report

    def __getstate__(self) -> dict:  # to another process: the report itself, not how to build it
        return {"conforms": self.conforms, "_report": self.report, "findings": self.findings}

    def for_focus(self, focus) -> list[Finding]:
        """The findings attributed to one dataset."""
        return [f for f in self.findings if f.focus == focus]


def prepare(thresholds: Mapping[str, float] | None = None, shacl: str = DEFAULT_VALIDATOR) -> None:
    """Compile and read the shapes of a profile without validating anything: for a process that
    forks workers (rudof cannot run in a child of a process where it validated)."""
    key = _normalise(thresholds)
    _requirements(key)
    if check_validator(shacl) == "rudof":
        prepare_rudof(key)


def check_validator(name: str) -> str:
    """The validator's name, or a clear error naming the choices."""
    if name not in VALIDATORS:
        raise ConfigurationError(f"unknown SHACL validator {name!r}", hint=f"use one of: {', '.join(VALIDATORS)}")
    return name


def validate(materialised: Graph | str | bytes | Iterable, *, on: _dt.date | None = None,
             thresholds: Mapping[str, float] | None = None, shacl: str = DEFAULT_VALIDATOR) -> Validation:
    """Validate materialised descriptions (one or a whole batch) against the requirements.

    `materialised` is the description(s) plus the inferred triples, as returned by
    ``derivecert.reason.get_reasoner(...).materialise(graph)``: an rdflib Graph, N-Triples text, or
    an iterable of pyoxigraph quads (default graph) or triples. `on` is the validation date
    (default: today); `thresholds` overrides threshold parameters by local name; `shacl` names the
    validator (`VALIDATORS`). Whichever runs, the findings are the same (tests/test_shacl_parity.py);
    their focus nodes are rdflib terms, a blank node keeping its label.
    """
    check_validator(shacl)
    on = on or _dt.date.today()
    if isinstance(on, _dt.datetime):
        on = on.date()
    key = _normalise(thresholds)
    if shacl == "rudof":
        results, index = run_rudof(materialised, on, key)
        findings = findings_from_results(results, _requirements(key), index)
        conforms = not any(f.severity == "Violation" for f in findings)
        return Validation(conforms, lambda: report_graph(results, _compiled(key)), findings)
    data = data_graph(_rdflib_graph(materialised), on, key)
    _, report = run_pyshacl(data, key)
    findings = findings_from_report(report, _requirements(key), _compiled(key), data)
    conforms = not any(f.severity == "Violation" for f in findings)
    return Validation(conforms=conforms, report=report, findings=findings)


def _rdflib_graph(materialised) -> Graph:
    """The data as an rdflib graph for pySHACL; blank nodes keep their labels, as with rudof."""
    if isinstance(materialised, Graph):
        return materialised
    import pyoxigraph as ox

    from ..parse import to_rdflib

    if isinstance(materialised, (str, bytes)):
        materialised = ox.parse(materialised, format=ox.RdfFormat.N_TRIPLES)
    elif not isinstance(materialised, Iterable):
        raise InputError("validate() needs an rdflib Graph, N-Triples text or Oxigraph quads of materialised descriptions")
    graph = Graph()
    graph.addN((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object), graph) for q in materialised)
    return graph
