"""Templates from registry records (issue 11): an author starts from what a registry holds.

A DCAT-AP / HealthDCAT-AP record describes a dataset, seldom its derivation: certified as it is,
it is "not derived" with P-01 only, which tells the author little.  A template keeps every fact
of the record and lists, per dataset, each property still needed and the requirement that needs
it (`derivecert template`, `POST /v1/template`):

1. the record is certified as it is: its own findings;
2. where it names no source or no technique, a copy is certified with a stand-in source and
   technique (`urn:derivecert:todo:...`, never written into the template), so that the
   requirements of derived data apply and report what else is missing (legal basis of the
   source, processor, end time, grade, quality...); P-01 and P-03 are listed for the stand-ins.

The requirements decide what is needed (the shapes and their messages, in zh and en): nothing
here lists properties of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, PROV, RDF

from .jsonld_context import to_jsonld

DCERT = "https://w3id.org/derivecert#"
STAND_IN = "urn:derivecert:todo:"
#: the technique of the stand-in activity: one no requirement targets by itself
STAND_IN_TECHNIQUE = URIRef(DCERT + "GT-STD")
#: the shapes reporting what the stand-ins replace, and where the author states it
SOURCE_SHAPE, TECHNIQUE_SHAPE = URIRef(DCERT + "P-01-SourceShape"), URIRef(DCERT + "P-03-TechniqueShape")
STAND_IN_PATHS = {SOURCE_SHAPE: "prov:wasDerivedFrom", TECHNIQUE_SHAPE: "prov:wasGeneratedBy/dcert:generationTechnique"}
SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass
class Todo:
    """A property still needed: the requirement, its severity, the path and the shape's message."""

    requirement: str
    severity: str
    path: str | None
    message: dict[str, str]

    def to_dict(self, lang: str) -> dict:
        return {"requirement": self.requirement, "severity": self.severity, "path": self.path,
                "message": self.message.get(lang) or self.message.get("en", "")}


def record_datasets(graph: Graph) -> list[URIRef | BNode]:
    """The datasets of a record: typed `dcat:Dataset` and not only named as another's source."""
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    sources = {o for d in datasets for p in (PROV.wasDerivedFrom, DCTERMS.source) for o in graph.objects(d, p)}
    return sorted(datasets - sources, key=str) or sorted(datasets, key=str)


def _has_source(graph: Graph, ds) -> bool:
    if any(isinstance(o, (URIRef, BNode)) for p in (PROV.wasDerivedFrom, DCTERMS.source) for o in graph.objects(ds, p)):
        return True
    return any(True for a in graph.objects(ds, PROV.wasGeneratedBy) for _ in graph.objects(a, PROV.used))


def _has_technique(graph: Graph, ds) -> bool:
    return any(True for a in graph.objects(ds, PROV.wasGeneratedBy)
               for _ in graph.objects(a, URIRef(DCERT + "generationTechnique")))


def _shape_todo(shape: URIRef) -> Todo:
    """What a stand-in replaces, in the words of the shape that reports it missing."""
    from rdflib.namespace import SH

    from .resources import shapes_source_graph

    shapes = shapes_source_graph()
    messages = {m.language: str(m) for m in shapes.objects(shape, SH.message) if m.language}
    return Todo(str(shapes.value(shape, URIRef(DCERT + "requirement"))), "Violation", STAND_IN_PATHS[shape], messages)


def todos(engine, graph: Graph, origin: dict | None = None, on=None) -> dict:
    """Per dataset of the record, what is still needed (sorted: Violations first, then by ID)."""
    from .wording import prefixed

    datasets = record_datasets(graph)
    hypothetical = Graph()
    hypothetical += graph
    stand_ins: dict = {}
    for n, ds in enumerate(datasets):
        missing = []
        if not _has_source(graph, ds):
            hypothetical.add((ds, PROV.wasDerivedFrom, URIRef(f"{STAND_IN}source-{n}")))
            missing.append(SOURCE_SHAPE)
        if not _has_technique(graph, ds):
            activities = list(graph.objects(ds, PROV.wasGeneratedBy)) or [URIRef(f"{STAND_IN}activity-{n}")]
            for activity in activities:
                hypothetical.add((ds, PROV.wasGeneratedBy, activity))
                hypothetical.add((activity, URIRef(DCERT + "generationTechnique"), STAND_IN_TECHNIQUE))
            missing.append(TECHNIQUE_SHAPE)
        stand_ins[ds] = missing
    run = engine.certify_graph(hypothetical, origin, on=on)
    by_dataset = {r.dataset: r for r in run.results}
    out = {}
    for ds in datasets:
        found = [_shape_todo(shape) for shape in stand_ins[ds]]
        result = by_dataset.get(ds)
        for f in result.findings if result is not None else ():  # a stand-in's own needs are the real source's
            found.append(Todo(f.requirement, f.severity, prefixed(f.path) if f.path else None, dict(f.message)))
        unique = {(t.requirement, t.severity, t.path, t.message.get("en")): t for t in found}
        out[ds] = sorted(unique.values(), key=lambda t: (SEVERITY_ORDER.get(t.severity, 9), t.requirement, t.path or ""))
    return out


def to_turtle(graph: Graph, needed: dict, lang: str) -> str:
    """The record as Turtle with, before each dataset, a comment per property still needed."""
    text = graph.serialize(format="turtle")
    lines = text.splitlines()
    for ds, items in needed.items():
        header = [f"# TODO {ds}: {len(items)} propert{'y' if len(items) == 1 else 'ies'} still needed"
                  if lang == "en" else f"# 待补充 {ds}：还需 {len(items)} 项"]
        for t in items:
            message = " ".join((t.message.get(lang) or t.message.get("en", "")).split())
            header.append(f"#   {t.requirement} ({t.severity})" + (f" {t.path}" if t.path else "") + f": {message}")
        names = {f"<{ds}>", graph.namespace_manager.normalizeUri(ds)} if isinstance(ds, URIRef) else set()
        at = next((i for i, line in enumerate(lines) if line.split(" ")[0] in names), None)
        if at is None:
            at = next((i for i, line in enumerate(lines) if line and not line.startswith("@prefix")), len(lines))
        lines[at:at] = header
    return "\n".join(lines) + "\n"


def to_jsonld_template(graph: Graph, needed: dict, lang: str) -> str:
    """The record as JSON-LD (the public context inlined) with a `"_todo"` list on each dataset:
    `_todo` is no term of the context, so JSON-LD processors ignore it."""
    return to_jsonld(graph, {ds: {"_todo": [t.to_dict(lang) for t in items]} for ds, items in needed.items()})


def make_template(engine, data: bytes, media_type: str | None = None, filename: str | None = None,
                  fmt: str = "turtle", lang: str = "en", on=None) -> str:
    """A template (Turtle or JSON-LD) from a registry record; `InputError` for unusable input."""
    from .errors import InputError

    graph, origin = engine.load(data, media_type, filename)
    if not any(graph.subjects(RDF.type, DCAT.Dataset)):
        raise InputError("the record describes no dcat:Dataset", where=filename or "input",
                         hint="a template is made for each node typed dcat:Dataset in the record")
    record = Graph()
    record += graph
    needed = todos(engine, graph, origin, on=on)
    return to_turtle(record, needed, lang) if fmt == "turtle" else to_jsonld_template(record, needed, lang)
