"""The JSON-LD context of the public vocabulary (issue 11), generated from the ontology.

Authors write descriptions in JSON-LD with short names: every `dcert:` class, property and code
notation is a term, a property whose range is a code list takes codes as plain strings
(`"deidentificationGrade": "D2"`, by `"@type": "@vocab"`), dates are coerced to `xsd:date` /
`xsd:dateTime`, titles and descriptions are language maps, and numbers stay JSON numbers (they
become `xsd:integer` or `xsd:double`, which the thresholds compare by value, A4; a decimal
coercion would not help: JSON-LD writes a coerced non-integral number in the double's lexical
form).  The DCAT, DCMI, PROV, DQV, DPV and vCard terms descriptions use come with it.

The context ships as package data (`derivecert/data/context.jsonld`, served at
`/context.jsonld`); descriptions inline it, because the parser never fetches a remote context
(DOMAIN.md §2).  `python -m derivecert.jsonld_context` prints it; a test checks the shipped file
is what the ontology generates.
"""

from __future__ import annotations

import json
from importlib import resources

from rdflib import URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD

DCERT = "https://w3id.org/derivecert#"

PREFIXES = {
    "dcert": DCERT,
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "dqv": "http://www.w3.org/ns/dqv#",
    "dpv": "https://w3id.org/dpv#",
    "pd": "https://w3id.org/dpv/pd#",
    "risk": "https://w3id.org/dpv/risk#",
    "sector-health": "https://w3id.org/dpv/sector/health#",
    "healthdcatap": "http://healthdataportal.eu/ns/health#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "skos": str(SKOS),
    "xsd": str(XSD),
    "obo": "http://purl.obolibrary.org/obo/",
}

ID = {"@type": "@id"}
LANGUAGE_MAP = {"@container": "@language"}
#: the terms of other vocabularies that descriptions use (DCAT-AP, PROV, DQV, DPV, vCard)
COMMON_TERMS: dict[str, tuple[str, dict]] = {
    "Dataset": ("dcat:Dataset", {}), "Distribution": ("dcat:Distribution", {}),
    "Catalog": ("dcat:Catalog", {}), "Organization": ("foaf:Organization", {}),
    "Activity": ("prov:Activity", {}), "Entity": ("prov:Entity", {}),
    "QualityMeasurement": ("dqv:QualityMeasurement", {}), "Kind": ("vcard:Kind", {}),
    "title": ("dct:title", LANGUAGE_MAP), "description": ("dct:description", LANGUAGE_MAP),
    "keyword": ("dcat:keyword", LANGUAGE_MAP),
    "identifier": ("dct:identifier", {}), "version": ("dcat:version", {}),
    "issued": ("dct:issued", {"@type": "xsd:date"}), "modified": ("dct:modified", {"@type": "xsd:date"}),
    "publisher": ("dct:publisher", ID), "creator": ("dct:creator", ID),
    "contactPoint": ("dcat:contactPoint", ID), "conformsTo": ("dct:conformsTo", ID),
    "accessRights": ("dct:accessRights", ID), "accrualPeriodicity": ("dct:accrualPeriodicity", ID),
    "license": ("dct:license", ID), "distribution": ("dcat:distribution", ID),
    "accessURL": ("dcat:accessURL", ID), "downloadURL": ("dcat:downloadURL", ID),
    "source": ("dct:source", ID), "wasDerivedFrom": ("prov:wasDerivedFrom", ID),
    "wasGeneratedBy": ("prov:wasGeneratedBy", ID), "used": ("prov:used", ID),
    "wasAssociatedWith": ("prov:wasAssociatedWith", ID),
    "endedAtTime": ("prov:endedAtTime", {"@type": "xsd:dateTime"}),
    "hasQualityMeasurement": ("dqv:hasQualityMeasurement", ID),
    "isMeasurementOf": ("dqv:isMeasurementOf", ID), "value": ("dqv:value", {}),
    "hasLegalBasis": ("dpv:hasLegalBasis", ID), "hasPurpose": ("dpv:hasPurpose", ID),
    "hasProcessing": ("dpv:hasProcessing", ID), "hasData": ("dpv:hasData", ID),
    "hasPersonalData": ("dpv:hasPersonalData", ID), "hasTechnicalMeasure": ("dpv:hasTechnicalMeasure", ID),
    "hasDataSubject": ("dpv:hasDataSubject", ID), "hasPolicy": ("odrl:hasPolicy", ID),
    "name": ("foaf:name", LANGUAGE_MAP), "homepage": ("foaf:homepage", ID),
    "fn": ("vcard:fn", {}), "hasEmail": ("vcard:hasEmail", ID),
    "label": ("rdfs:label", LANGUAGE_MAP),
}
DATE_TYPES = {XSD.date: "xsd:date", XSD.dateTime: "xsd:dateTime"}


def build_context() -> dict:
    """The context, from the ontology: prefixes, common terms, every `dcert:` class, property
    (with its coercion) and code notation."""
    from .resources import ontology_graph

    onto = ontology_graph()
    # code lists: the dcert: concepts, and the GA4GH DUO codes a source's consent carries
    codes = {c: n for c, n in onto.subject_objects(SKOS.notation)
             if str(c).startswith(DCERT) or (c, RDF.type, URIRef(DCERT + "DataUseCode")) in onto}
    code_classes = {c for code in codes for c in onto.objects(code, RDF.type)} - {SKOS.Concept, OWL.NamedIndividual}
    context: dict[str, object] = {"@version": 1.1, "rdfs": str(RDFS), **PREFIXES}
    for term, (iri, extra) in sorted(COMMON_TERMS.items()):
        context[term] = {"@id": iri, **extra} if extra else iri
    def local(iri) -> str:
        return str(iri).removeprefix(DCERT)

    for cls in sorted(onto.subjects(RDF.type, OWL.Class)):
        if isinstance(cls, URIRef) and str(cls).startswith(DCERT):
            context.setdefault(local(cls), "dcert:" + local(cls))
    for kind in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty):
        for prop in sorted(onto.subjects(RDF.type, kind)):
            if not (isinstance(prop, URIRef) and str(prop).startswith(DCERT)):
                continue
            ranges = set(onto.objects(prop, RDFS.range))
            if kind == OWL.ObjectProperty:
                coercion = "@vocab" if ranges & code_classes else "@id"
                context[local(prop)] = {"@id": "dcert:" + local(prop), "@type": coercion}
            elif ranges & set(DATE_TYPES):
                context[local(prop)] = {"@id": "dcert:" + local(prop), "@type": DATE_TYPES[next(iter(ranges & set(DATE_TYPES)))]}
            else:
                context[local(prop)] = "dcert:" + local(prop)
    for code, notation in sorted(codes.items()):
        if str(notation) not in context:
            context[str(notation)] = "dcert:" + local(code) if str(code).startswith(DCERT) else "obo:" + str(code).rsplit("/", 1)[1]
    return {"@context": context}


def to_jsonld(graph, extra: dict | None = None) -> str:
    """A graph as JSON-LD an author would write (the context inlined): short names, codes as
    strings, language maps, numbers as JSON numbers, and a blank node used once written inside
    its one user.  `extra` maps a subject to members added to its object (e.g. `"_todo"`)."""
    from rdflib import BNode, Literal

    context = build_context()["@context"]
    terms: dict[str, tuple[str, dict]] = {}
    for name, definition in context.items():
        if name.startswith("@") or not isinstance(definition, (str, dict)):
            continue
        iri = definition if isinstance(definition, str) else definition.get("@id", "")
        if iri.endswith(("#", "/")):
            continue  # a prefix
        terms.setdefault(expand(iri, context), (name, definition if isinstance(definition, dict) else {}))
    codes = {expand(v, context): k for k, v in context.items() if isinstance(v, str) and k[:1].isupper()}

    def short(iri) -> str:
        """A term where the position resolves terms (properties, types, @vocab values)."""
        return terms[str(iri)][0] if str(iri) in terms else curie(iri)

    def curie(iri) -> str:
        """A compact IRI: what an `@id` position expands (terms are not, there)."""
        for prefix, ns in PREFIXES.items():
            if str(iri).startswith(ns) and str(iri)[len(ns):]:
                return f"{prefix}:{str(iri)[len(ns):]}"
        return str(iri)

    uses: dict = {}
    for o in graph.objects():
        if isinstance(o, BNode):
            uses[o] = uses.get(o, 0) + 1
    inline = {b for b, n in uses.items() if n == 1}

    def value(o, definition: dict):
        coercion = definition.get("@type")
        if isinstance(o, BNode):
            return node(o) if o in inline else {"@id": f"_:{o}"}
        if isinstance(o, URIRef):
            if coercion == "@vocab" and str(o) in codes:
                return codes[str(o)]
            return curie(o) if coercion in ("@id", "@vocab") else {"@id": curie(o)}
        if o.language:
            return {"@value": str(o), "@language": o.language}
        typed = o.datatype not in (None, XSD.string)
        spelled = {"@value": str(o), "@type": curie(o.datatype)} if typed else {"@value": str(o)}
        if coercion is not None:
            # the term's datatype coercion gives exactly this datatype; any other coercion would
            # retype a string or a native value (or read a string as an IRI): spell it out
            return str(o) if typed and curie(o.datatype) == coercion else spelled
        if o.datatype in (XSD.integer, XSD.decimal, XSD.double):  # JSON numbers (decimals become doubles, A4)
            return int(o.toPython()) if o.datatype == XSD.integer else float(o.toPython())
        if o.datatype == XSD.boolean:
            return bool(o.toPython())
        return spelled if typed else str(o)

    def node(subject) -> dict:
        out: dict = {} if isinstance(subject, BNode) else {"@id": str(subject)}
        types = sorted(short(t) for t in graph.objects(subject, RDF.type))
        if types:
            out["@type"] = types[0] if len(types) == 1 else types
        for p in sorted({p for p in graph.predicates(subject) if p != RDF.type}):
            name, definition = terms.get(str(p), (short(p), {}))
            objects = sorted(graph.objects(subject, p), key=lambda o: (str(type(o)), str(o)))
            if definition.get("@container") == "@language" and all(isinstance(o, Literal) and o.language for o in objects):
                langs: dict[str, list[str]] = {}
                for o in objects:
                    langs.setdefault(o.language, []).append(str(o))
                out[name] = {lang: v[0] if len(v) == 1 else v for lang, v in sorted(langs.items())}
                continue
            values = [value(o, definition) for o in objects]
            # under a language container, one object would be read as a language map: keep the list
            out[name] = values[0] if len(values) == 1 and "@container" not in definition else values
        out.update((extra or {}).get(subject, {}))
        return out

    top = sorted({s for s in graph.subjects() if s not in inline}, key=lambda s: (isinstance(s, BNode), str(s)))
    return json.dumps({"@context": context, "@graph": [node(s) for s in top]}, ensure_ascii=False, indent=2) + "\n"


def expand(iri: str, context: dict) -> str:
    prefix, _, rest = iri.partition(":")
    ns = context.get(prefix)
    return ns + rest if isinstance(ns, str) and not rest.startswith("//") else iri


def render() -> str:
    return json.dumps(build_context(), ensure_ascii=False, indent=2) + "\n"


def shipped() -> str:
    """The context file shipped with the package."""
    return resources.files("derivecert").joinpath("data/context.jsonld").read_text(encoding="utf-8")


def main(argv: list[str]) -> None:
    """No argument: print the context.  Turtle files: write each one's JSON-LD beside it."""
    from pathlib import Path

    from rdflib import Graph

    if not argv:
        print(render(), end="")
    for name in argv:
        path = Path(name)
        path.with_suffix(".jsonld").write_text(to_jsonld(Graph().parse(path, format="turtle")), encoding="utf-8")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
