"""From a SHACL validation report to findings (DOMAIN.md §6: the findings of a result).

One `Finding` per top-level validation result, naming the requirement of the shape that reported
it, attributed to the dataset it is about, with its message in each language. Independent of the
validator that wrote the report: any engine whose report uses the SHACL vocabulary can be read here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from rdflib import Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCAT, RDF, SH

from ..errors import ConfigurationError
from ..rdfstore import index

_SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


@dataclass(frozen=True)
class Finding:
    """One reported defect: the requirement it breaks, on which dataset, where and why."""

    requirement: str
    severity: str  # "Violation" | "Warning"
    focus: Any  # rdflib node: the dataset under certification
    path: str | None  # full IRI of the result path, or a SPARQL-like string for complex paths
    message: dict[str, str] = field(compare=False)  # {"zh": ..., "en": ...}; not compared
    shape: str  # IRI of the shape that reported it
    value: str | None = None




def _path_string(graph: Graph, path) -> str | None:
    """A result path as a string: the IRI of a predicate path, SPARQL syntax for the others."""
    if path is None:
        return None
    if isinstance(path, URIRef):
        return str(path)
    return _sparql_path(graph, path)


def _sparql_path(graph: Graph, node) -> str:
    if isinstance(node, URIRef):
        return f"<{node}>"
    first = graph.value(node, RDF.first)
    if first is not None or node == RDF.nil:
        return "/".join(_wrap(graph, item) for item in Collection(graph, node))
    alt = graph.value(node, SH.alternativePath)
    if alt is not None:
        return "|".join(_wrap(graph, item) for item in Collection(graph, alt))
    for prop, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = graph.value(node, prop)
        if inner is not None:
            return f"{_wrap(graph, inner)}{suffix}"
    inverse = graph.value(node, SH.inversePath)
    if inverse is not None:
        return f"^{_wrap(graph, inverse)}"
    return str(node)


def _wrap(graph: Graph, node) -> str:
    text = _sparql_path(graph, node)
    return text if isinstance(node, URIRef) or text.startswith("^") else f"({text})"


@lru_cache(maxsize=256)
def _template(text: str) -> re.Pattern:
    """A regular expression matching a message template with its {?var} / {$var} filled in."""
    parts = re.split(r"\{[?$][A-Za-z_][A-Za-z0-9_]*\}", text)
    return re.compile("(?s)" + ".*?".join(re.escape(part) for part in parts) + "$")


def _language(literal) -> str | None:
    lang = getattr(literal, "language", None)
    return lang.split("-")[0].lower() if lang else None


def _messages(report: Graph, result, shapes: Graph) -> dict[str, str]:
    """The result's messages by language.

    pySHACL drops the language tag of a message whose {?var} it substitutes (SHACL-SPARQL), so an
    untagged message is matched against the tagged templates it came from: those of the SPARQL
    constraint first, then those of the shape.
    """
    out: dict[str, str] = {}
    untagged = []
    for message in report.objects(result, SH.resultMessage):
        lang = _language(message)
        if lang:
            out.setdefault(lang, str(message))
        else:
            untagged.append(str(message))
    if untagged:
        templates = []
        for source in (report.value(result, SH.sourceConstraint), report.value(result, SH.sourceShape)):
            if source is not None:
                templates.extend(m for m in shapes.objects(source, SH.message) if _language(m))
        for template in templates:
            lang = _language(template)
            if lang in out:
                continue
            pattern = _template(str(template))
            match = next((m for m in untagged if pattern.match(m)), None)
            if match is not None:
                out[lang] = match
        if untagged:  # a message no template explains: keep the contract of one text per language
            for lang in ("zh", "en"):
                out.setdefault(lang, untagged[0])
    return out


class Result(NamedTuple):
    """One top-level validation result, read from whichever validator reported it."""

    shape: Any  # rdflib node of the source shape
    severity: str  # "Violation" | "Warning" | "Info"
    focus: Any  # rdflib node
    path: str | None  # as in Finding.path
    message: tuple[tuple[str, str], ...]  # (language, text), sorted
    value: Any = None  # rdflib term or None
    component: Any = None  # IRI of the constraint component (the report's; findings do not read it)


class DataIndex(Protocol):
    """What attributing results to datasets reads from the validated data."""

    def is_dataset(self, node) -> bool: ...

    def owners(self, node) -> list[tuple[Any, Any]]: ...


class GraphIndex:
    """`DataIndex` over an rdflib graph (read through `rdfstore.index`: its store's own indexes, if any)."""

    def __init__(self, data: Graph):
        self.data = index(data)

    def is_dataset(self, node) -> bool:
        return (node, RDF.type, DCAT.Dataset) in self.data

    def owners(self, node) -> list[tuple[Any, Any]]:
        """The datasets that have a non-dataset node as their own (a quality measurement of the
        dataset), with the predicate leading to it. A node reached only through another node (the
        performance measurement of the model an activity used) belongs to no dataset: Q-02 reads
        the dataset's own measurements (DOMAIN.md §4.2, A3)."""
        return [(subject, predicate) for subject, predicates in self.data.subject_predicates(node).items()
                if (subject, RDF.type, DCAT.Dataset) in self.data for predicate in predicates]


def _joined_path(predicate, path: str | None) -> str:
    """The SPARQL path from a dataset through `predicate` to a node, followed by the node's result path."""
    steps = [f"<{predicate}>"]
    if path:
        steps.append(f"({path})" if path.startswith(("<", "(", "^")) else f"<{path}>")
    return "/".join(steps)


def results_from_report(report: Graph, shapes: Graph) -> list[Result]:
    """The top-level results of a SHACL validation report graph."""
    out = []
    results = [r for top in report.subjects(RDF.type, SH.ValidationReport) for r in report.objects(top, SH.result)]
    for result in results:
        value = report.value(result, SH.value)
        out.append(Result(
            shape=report.value(result, SH.sourceShape),
            severity=_SEVERITIES.get(report.value(result, SH.resultSeverity), "Violation"),
            focus=report.value(result, SH.focusNode),
            path=_path_string(report, report.value(result, SH.resultPath)),
            message=tuple(sorted(_messages(report, result, shapes).items())),
            value=value,
            component=report.value(result, SH.sourceConstraintComponent),
        ))
    return out


def findings_from_results(results: Iterable[Result], requirements: Mapping, data: DataIndex) -> list[Finding]:
    """One Finding per top-level validation result, attributed to the dataset it is about.

    A result whose focus is not a dcat:Dataset (Q-02 targets quality measurements) is attributed to
    the dataset(s) that have the node directly, its path prefixed with the predicate leading there;
    a result on a node no dataset has directly is not a finding.
    """
    findings = []
    for result in results:
        requirement = requirements.get(result.shape)
        if requirement is None:
            raise ConfigurationError(f"the shape {result.shape} that reported a result names no requirement",
                                     hint="every shape must carry dcert:requirement (shapes/*.ttl)")
        owners = [(result.focus, None)]
        if not data.is_dataset(result.focus):
            owners = data.owners(result.focus)  # none: the result concerns no dataset
        for owner, predicate in owners:
            findings.append(Finding(
                requirement=requirement,
                severity=result.severity,
                focus=owner,
                path=result.path if predicate is None else _joined_path(predicate, result.path),
                message=dict(result.message),
                shape=str(result.shape),
                value=None if result.value is None else str(result.value),
            ))
    # Findings equal but for their message (S-10 once per source at fault) count once; the first
    # message in sorted order speaks for them, so the outcome never depends on the report's order
    # (an rdflib graph's, which changes with the process's hash seed).
    findings.sort(key=lambda f: (str(f.focus), f.requirement, f.severity, f.path or "", f.shape, f.value or "",
                                 sorted(dict(f.message).items())))
    return list(dict.fromkeys(findings))


def findings_from_report(report: Graph, requirements: Mapping, shapes: Graph, data: Graph) -> list[Finding]:
    """The findings of a SHACL validation report graph (`findings_from_results`)."""
    return findings_from_results(results_from_report(report, shapes), requirements, GraphIndex(data))
