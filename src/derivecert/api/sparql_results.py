"""SPARQL 1.1 query results in JSON, XML, CSV and TSV (W3C Recommendations), written from the
store's `QueryOutcome` so that the result limit applies before serialisation."""

from __future__ import annotations

import csv
import io
import json
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def _json_term(t) -> dict:
    if isinstance(t, ox.NamedNode):
        return {"type": "uri", "value": t.value}
    if isinstance(t, ox.BlankNode):
        return {"type": "bnode", "value": t.value}
    if isinstance(t, ox.Literal):
        out = {"type": "literal", "value": t.value}
        if t.language:
            out["xml:lang"] = t.language
        elif t.datatype and t.datatype.value != XSD_STRING:
            out["datatype"] = t.datatype.value
        return out
    if isinstance(t, ox.Triple):
        return {"type": "triple", "value": {
            "subject": _json_term(t.subject), "predicate": _json_term(t.predicate), "object": _json_term(t.object)}}
    raise ValueError(f"unknown term {t!r}")


def to_json(outcome) -> bytes:
    if outcome.form == "ask":
        return json.dumps({"head": {}, "boolean": bool(outcome.boolean)}).encode()
    bindings = []
    for row in outcome.rows:
        bindings.append({v: _json_term(t) for v, t in zip(outcome.variables, row, strict=True) if t is not None})
    return json.dumps({"head": {"vars": outcome.variables}, "results": {"bindings": bindings}},
                      ensure_ascii=False).encode("utf-8")


def _xml_term(t) -> str:
    if isinstance(t, ox.NamedNode):
        return f"<uri>{escape(t.value)}</uri>"
    if isinstance(t, ox.BlankNode):
        return f"<bnode>{escape(t.value)}</bnode>"
    if isinstance(t, ox.Literal):
        if t.language:
            return f"<literal xml:lang={quoteattr(t.language)}>{escape(t.value)}</literal>"
        if t.datatype and t.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(t.datatype.value)}>{escape(t.value)}</literal>"
        return f"<literal>{escape(t.value)}</literal>"
    if isinstance(t, ox.Triple):
        return (f"<triple><subject>{_xml_term(t.subject)}</subject><predicate>{_xml_term(t.predicate)}"
                f"</predicate><object>{_xml_term(t.object)}</object></triple>")
    raise ValueError(f"unknown term {t!r}")


def to_xml(outcome) -> bytes:
    out = ['<?xml version="1.0"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">']
    if outcome.form == "ask":
        out.append("<head/>")
        out.append(f"<boolean>{'true' if outcome.boolean else 'false'}</boolean>")
    else:
        out.append("<head>" + "".join(f"<variable name={quoteattr(v)}/>" for v in outcome.variables) + "</head>")
        out.append("<results>")
        for row in outcome.rows:
            out.append("<result>" + "".join(
                f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>"
                for v, t in zip(outcome.variables, row, strict=True) if t is not None) + "</result>")
        out.append("</results>")
    out.append("</sparql>")
    return "\n".join(out).encode("utf-8")


def to_csv(outcome) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if outcome.form == "ask":
        w.writerow(["boolean"])
        w.writerow(["true" if outcome.boolean else "false"])
        return buf.getvalue().encode("utf-8")
    w.writerow(outcome.variables)
    for row in outcome.rows:
        w.writerow(["" if t is None else (f"_:{t.value}" if isinstance(t, ox.BlankNode) else
                                          t.value if hasattr(t, "value") else str(t)) for t in row])
    return buf.getvalue().encode("utf-8")


def to_tsv(outcome) -> bytes:
    if outcome.form == "ask":
        return ("?boolean\n" + ("true" if outcome.boolean else "false") + "\n").encode()
    lines = ["\t".join("?" + v for v in outcome.variables)]
    for row in outcome.rows:
        lines.append("\t".join("" if t is None else str(t) for t in row))
    return ("\n".join(lines) + "\n").encode("utf-8")


WRITERS = {"srj": to_json, "json": to_json, "srx": to_xml, "csv": to_csv, "tsv": to_tsv}
