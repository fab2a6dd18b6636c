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
- pySHACL runs once over the whole batch (no inference, no meta-SHACL at run time, warnings
  allowed); the materialised graph is read in place, never copied nor changed.
- Numeric thresholds come from a threshold profile (`shapes/thresholds.ttl` holds the defaults):
  `compiled_shapes()` writes the profile's values into the constraint nodes that carry
  `dcert:thresholdParameter`. Overrides are keyed by the parameter's local name, e.g.
  ``{"MinK": 7}``; `load_threshold_profile()` reads them from an RDF file.

The package, by concern:

- `thresholds`: threshold profiles and the compiled shapes graph (one per profile);
- `pyshacl_adapter`: pySHACL as the validator: the data graph it reads, the SHACL-SPARQL
  constraints on an Oxigraph mirror, the speed-ups and the correction patched into it (pinned
  to the versions pyproject.toml allows; tests/test_shacl_adapter.py fails if a patch did not take);
- `findings`: the validation report read into `Finding`s, whatever validator wrote it.

The shapes carry their targets on the property shapes, so that a validator evaluates each of them
once over all its focus nodes (shapes/common.ttl).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from rdflib import Graph

from ..errors import InputError
from .findings import Finding, findings_from_report
from .pyshacl_adapter import CONTEXT_NODE, data_graph, run_pyshacl
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
    "Finding",
    "Validation",
    "compiled_shapes",
    "load_threshold_profile",
    "shape_requirements",
    "threshold_defaults",
    "validate",
]


@dataclass
class Validation:
    conforms: bool
    report: Graph
    findings: list[Finding] = field(default_factory=list)

    def for_focus(self, focus) -> list[Finding]:
        """The findings attributed to one dataset."""
        return [f for f in self.findings if f.focus == focus]


def validate(materialised: Graph, *, on: _dt.date | None = None,
             thresholds: Mapping[str, float] | None = None) -> Validation:
    """Validate materialised descriptions (one or a whole batch) against the requirements.

    `materialised` is the description(s) plus the inferred triples, as returned by
    ``derivecert.reason.get_reasoner(...).materialise(graph)``. `on` is the validation date
    (default: today); `thresholds` overrides threshold parameters by local name.
    """
    if not isinstance(materialised, Graph):
        raise InputError("validate() needs an rdflib Graph of materialised descriptions")
    on = on or _dt.date.today()
    if isinstance(on, _dt.datetime):
        on = on.date()
    key = _normalise(thresholds)
    data = data_graph(materialised, on, key)
    conforms, report = run_pyshacl(data, key)
    findings = findings_from_report(report, _requirements(key), _compiled(key), data)
    conforms = not any(f.severity == "Violation" for f in findings)
    return Validation(conforms=conforms, report=report, findings=findings)
