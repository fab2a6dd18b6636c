"""Documentation of the model at its IRIs (issue 11), generated from the Turtle.

Two bilingual pages: the ontology (`/docs/ontology`: classes with their classification axioms in
readable form, properties with range and the requirements that read them and an example, code
lists) and the requirements (`/docs/requirements`: one row per requirement ID with its shapes,
severities, targets, messages in zh and en and its failing fixtures).  Every term and requirement
has an anchor (`#DerivedData`, `#S-03`): the shapes' `rdfs:seeAlso` links
(`https://w3id.org/derivecert/docs/requirements#<ID>`) land on them through the w3id redirect
rules in `docs/w3id/.htaccess`.

The pages are built once per process from the ontology and shapes the package ships
(`python -m derivecert.docs_gen DIR` writes them as files for a static deployment); the fixtures
column is filled where the checkout's `tests/data` is present.
"""

from __future__ import annotations

import functools
import html
import re
from collections import defaultdict
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS

DCERT = "https://w3id.org/derivecert#"
DCAM_DOMAIN = URIRef("http://purl.org/dc/dcam/domainIncludes")
REQUIREMENT = URIRef(DCERT + "requirement")
FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "data"
ID_PATTERN = re.compile(r"^[PQSR]-\d\d$")
STYLE = """body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
h1,h2{font-weight:600}section{border-top:1px solid #ddd;padding:.5rem 0}code{font-size:90%}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3rem .5rem;vertical-align:top;text-align:left}
.zh{color:#333}.en{color:#555}.axiom{font-family:monospace;white-space:pre-wrap}"""


def _e(text) -> str:
    return html.escape(str(text))


def _local(iri) -> str:
    return str(iri).removeprefix(DCERT)


def _name(iri) -> str:
    """A term as the pages show it: dcert terms linked to their anchor, others prefixed."""
    from .wording import prefixed

    if isinstance(iri, URIRef) and str(iri).startswith(DCERT):
        return f'<a href="#{_e(_local(iri))}"><code>dcert:{_e(_local(iri))}</code></a>'
    return f"<code>{_e(prefixed(str(iri)))}</code>"


def _texts(g: Graph, node, prop) -> dict[str, str]:
    return {o.language: str(o) for o in g.objects(node, prop) if isinstance(o, Literal) and o.language}


def _bilingual(texts: dict[str, str]) -> str:
    return "".join(f'<div class="{lang}" lang="{lang}">{_e(texts[lang])}</div>' for lang in ("zh", "en") if lang in texts)


def readable(g: Graph, node) -> str:
    """A class expression in Manchester-like syntax (HTML)."""
    if isinstance(node, URIRef):
        return _name(node)
    for op, word in ((OWL.intersectionOf, " and "), (OWL.unionOf, " or ")):
        members = g.value(node, op)
        if members is not None:
            return "(" + word.join(readable(g, m) for m in Collection(g, members)) + ")"
    prop = g.value(node, OWL.onProperty)
    if prop is not None:
        for kind, word in ((OWL.someValuesFrom, "some"), (OWL.allValuesFrom, "only"), (OWL.hasValue, "value")):
            value = g.value(node, kind)
            if value is not None:
                return f"{_name(prop)} {word} {readable(g, value)}"
    return "…"


@functools.lru_cache(maxsize=1)
def requirements_reading() -> dict[str, set[str]]:
    """Term IRI -> the requirement IDs whose shapes read it (paths, targets, SPARQL text)."""
    from .resources import shapes_source_graph

    shapes = shapes_source_graph()
    out: dict[str, set[str]] = defaultdict(set)
    for shape, rid in shapes.subject_objects(REQUIREMENT):
        if not isinstance(shape, URIRef):
            continue
        seen, todo = set(), [shape]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            for p, o in shapes.predicate_objects(node):
                if p in (RDFS.seeAlso, REQUIREMENT, SH.prefixes):
                    continue
                if isinstance(o, URIRef):
                    out[str(o)].add(str(rid))
                if isinstance(o, BNode) or p == SH.sparql:  # SPARQL constraints are named
                    todo.append(o)
                elif isinstance(o, Literal) and p == SH.select:
                    for name in re.findall(r"dcert:([A-Za-z][\w-]*)", str(o)):
                        out[DCERT + name].add(str(rid))
    return out


def _example(g: Graph, prop) -> str:
    """A one-line Turtle example of a property, from its range."""
    rng = g.value(prop, RDFS.range)
    p = f"dcert:{_local(prop)}"
    if rng is not None:
        codes = sorted(c for c in g.subjects(RDF.type, rng) if (c, SKOS.notation, None) in g)
        if codes:
            return f"ex:dataset {p} {('dcert:' + _local(codes[0])) if str(codes[0]).startswith(DCERT) else '<' + str(codes[0]) + '>'} ."
        if str(rng).startswith(str(URIRef("http://www.w3.org/2001/XMLSchema#"))):
            samples = {"decimal": "0.95", "integer": "5", "boolean": "true", "date": '"2026-12-01"^^xsd:date',
                       "dateTime": '"2026-12-01T00:00:00Z"^^xsd:dateTime', "string": '"…"'}
            return f"ex:dataset {p} {samples.get(str(rng).rsplit('#', 1)[1], chr(34) + '…' + chr(34))} ."
        from .wording import prefixed

        return f"ex:dataset {p} [ a {prefixed(str(rng))} ] ."
    return f"ex:dataset {p} … ."


def _term_section(g: Graph, term, kind: str) -> str:
    reading = sorted(requirements_reading().get(str(term), ()))
    rows = [f'<section id="{_e(_local(term))}"><h3>{_name(term)} <small>{kind}</small></h3>',
            _bilingual(_texts(g, term, RDFS.label) or _texts(g, term, SKOS.prefLabel)),
            _bilingual(_texts(g, term, SKOS.definition))]
    notation = g.value(term, SKOS.notation)
    if notation is not None:
        rows.append(f"<p>code <code>{_e(notation)}</code></p>")
    for prop, word in ((RDFS.domain, "domain"), (DCAM_DOMAIN, "domain includes"), (RDFS.range, "range"),
                       (RDFS.subPropertyOf, "sub-property of")):
        values = [v for v in g.objects(term, prop) if isinstance(v, URIRef)]
        if values:
            rows.append(f"<p>{word}: {', '.join(_name(v) for v in values)}</p>")
    for eq in g.objects(term, OWL.equivalentClass):
        rows.append(f'<p class="axiom">≡ {readable(g, eq)}</p>')
    for sup in g.objects(term, RDFS.subClassOf):
        rows.append(f'<p class="axiom">⊑ {readable(g, sup)}</p>')
    if reading:
        rows.append("<p>read by " + ", ".join(f'<a href="requirements#{r}">{r}</a>' for r in reading) + "</p>")
    if kind == "property":
        rows.append(f"<pre>{_e(_example(g, term))}</pre>")
    source = g.value(term, URIRef("http://purl.org/dc/terms/source"))
    if isinstance(source, Literal):
        rows.append(f"<p><small>source: {_e(source)}</small></p>")
    return "\n".join(rows) + "</section>"


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")


def terms(g: Graph) -> dict[str, list]:
    """The documented dcert: terms by kind (classes, properties, concepts)."""
    def own(nodes):
        return sorted({n for n in nodes if isinstance(n, URIRef) and str(n).startswith(DCERT)}, key=str)

    concepts = own(g.subjects(RDF.type, SKOS.Concept))
    return {
        "class": own(g.subjects(RDF.type, OWL.Class)),
        "property": own(s for kind in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
                        for s in g.subjects(RDF.type, kind)),
        "code list": own(g.subjects(RDF.type, SKOS.ConceptScheme)),
        "code": concepts,
    }


@functools.lru_cache(maxsize=1)
def ontology_page() -> str:
    from . import __version__
    from .resources import ontology_graph

    g = ontology_graph()
    found = terms(g)
    parts = [f"<h1>DeriveCert 本体 · ontology <small>{_e(__version__)}</small></h1>",
             _bilingual(_texts(g, URIRef("https://w3id.org/derivecert"), URIRef("http://purl.org/dc/terms/description"))),
             ('<p>Namespace <code>https://w3id.org/derivecert#</code> (<code>dcert:</code>) · '
              '<a href="requirements">requirements 要求</a> · RDF: <a href="../ontology">/ontology</a> · '
              'JSON-LD context: <a href="../context.jsonld">/context.jsonld</a></p>')]
    titles = {"code list": "代码表 · code lists", "code": "代码 · codes", "class": "类 · classes", "property": "属性 · properties"}
    for kind in ("code list", "code", "class", "property"):
        parts.append(f"<h2>{titles[kind]} ({len(found[kind])})</h2>")
        if kind == "code list":
            for scheme in found[kind]:
                members = sorted(g.subjects(SKOS.inScheme, scheme), key=lambda c: int(g.value(c, URIRef(DCERT + "order")) or 0))
                parts.append(_term_section(g, scheme, kind) + "<p>" + " · ".join(_name(m) for m in members) + "</p>")
        else:
            parts.extend(_term_section(g, term, kind) for term in found[kind])
    return _page("DeriveCert ontology", "\n".join(parts))


def _fixtures() -> dict[str, list[tuple[str, str]]]:
    """Requirement ID -> (fixture, severity) from the headers of the checkout's failing fixtures."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for folder in ("invalid", "overlaps"):
        for path in sorted((FIXTURES / folder).glob("*.ttl")):
            fields = {}
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.startswith("#"):
                    break
                key, _, value = line[1:].partition(":")
                fields.setdefault(key.strip(), value.strip())
            for rid in re.findall(r"[PQSR]-\d\d", fields.get("requirement", "")):
                out[rid].append((f"{folder}/{path.name}", fields.get("severity", "")))
    return out


@functools.lru_cache(maxsize=1)
def requirements_page() -> str:
    from .resources import shapes_source_graph

    shapes = shapes_source_graph()
    by_id: dict[str, list] = defaultdict(list)
    for shape, rid in shapes.subject_objects(REQUIREMENT):
        if isinstance(shape, URIRef) and ID_PATTERN.match(str(rid)):
            by_id[str(rid)].append(shape)
    fixtures = _fixtures()
    rows = []
    for rid in sorted(by_id):
        cells = []
        for shape in sorted(by_id[rid], key=str):
            severity = str(shapes.value(shape, SH.severity) or "").rsplit("#", 1)[-1]
            targets = ", ".join(_name(t) for t in shapes.objects(shape, SH.targetClass))
            cells.append(f'<div id="{_e(_local(shape))}"><code>dcert:{_e(_local(shape))}</code> · {_e(severity)}'
                         f"{' · target ' + targets if targets else ''}"
                         f"{_bilingual(_texts(shapes, shape, SH.name))}{_bilingual(_texts(shapes, shape, SH.message))}</div>")
        fixture_list = "<br>".join(f"<code>{_e(f)}</code> ({_e(s)})" for f, s in fixtures.get(rid, []))
        rows.append(f'<tr id="{rid}"><th><a href="#{rid}">{rid}</a></th><td>{"".join(cells)}</td><td>{fixture_list}</td></tr>')
    body = ("<h1>DeriveCert 要求 · requirements</h1><p>One row per requirement ID of the standard (DOMAIN.md §4): "
            'its SHACL shapes with severity, target and messages in zh and en, and the fixtures that fail it. '
            '<a href="ontology">ontology 本体</a> · RDF: <a href="../shapes">/shapes</a></p>'
            "<table><tr><th>ID</th><th>shapes 形状</th><th>fixtures 用例</th></tr>" + "\n".join(rows) + "</table>")
    return _page("DeriveCert requirements", body)


def main(argv: list[str]) -> None:
    """Write `ontology.html` and `requirements.html` into the folder given (a static deployment)."""
    folder = Path(argv[0] if argv else "docs/site")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ontology.html").write_text(ontology_page(), encoding="utf-8")
    (folder / "requirements.html").write_text(requirements_page(), encoding="utf-8")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
