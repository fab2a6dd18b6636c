"""Hostile descriptions, as an attacker would send them (issue 8), built small and on demand.

Each is named for the failure it provoked before the limits: a process grown to the memory cap,
a crashed parser, a frozen digest, an exhausted server.  Shared by the library, CLI and API tests.
"""

from __future__ import annotations

from pathlib import Path

CERTIFIED = Path(__file__).resolve().parent / "api" / "data" / "pathology-nlp-certified.ttl"
DERIVED = "https://hospital-x.example.org/pathology-structured"


def billion_laughs(levels: int = 9) -> bytes:
    """RDF/XML whose one literal expands to 10**levels "lol"s (~1 KB of text)."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels + 1)]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n' + "\n".join(entities) + "\n]>\n"
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#"'
        ' xmlns:dct="http://purl.org/dc/terms/">\n'
        f'  <dcat:Dataset rdf:about="https://example.org/ds"><dct:title>&lol{levels};</dct:title></dcat:Dataset>\n'
        "</rdf:RDF>\n"
    ).encode()


def deep_jsonld(depth: int = 3500) -> bytes:
    """JSON-LD objects nested `depth` deep (~21 KB at 3,500: the parser overflowed its stack)."""
    head = '{"@id": "https://example.org/ds", "@type": "http://www.w3.org/ns/dcat#Dataset", "https://example.org/p": '
    return (head + '{"https://example.org/p": ' * depth + "1" + "}" * (depth + 1)).encode()


def blank_node_clique(size: int = 10) -> bytes:
    """The certifiable description plus `size` blank nodes, each linked to every other: no two can
    be told apart, the worst case of RDFC-1.0 (10 nodes froze the digest for ~8 minutes)."""
    nodes = [f"_:n{i}" for i in range(size)]
    lines = [f"<{DERIVED}> <https://example.org/linked> {n} ." for n in nodes]
    lines += [f"{a} <https://example.org/knows> {b} ." for a in nodes for b in nodes if a != b]
    return CERTIFIED.read_bytes() + ("\n" + "\n".join(lines) + "\n").encode()


def many_datasets(count: int = 14_525) -> bytes:
    """A Turtle catalog of `count` minimal datasets (~2 MB at 14,525: 3.1 GB to certify)."""
    head = "@prefix dcat: <http://www.w3.org/ns/dcat#> .\n@prefix dct: <http://purl.org/dc/terms/> .\n"
    body = "".join(f'<https://example.org/ds/{i}> a dcat:Dataset ; dct:title "Dataset {i}"@en ; '
                   f"dct:source <https://example.org/src/{i}> .\n" for i in range(count))
    return (head + body).encode()


def nested_blank_nodes(depth: int = 1000) -> bytes:
    """The certifiable description plus a chain of `depth` nested blank nodes (`[ :p [ :p ...`):
    rdflib's recursive concise bounded description ran out of stack at 1,000."""
    chain = f"<{DERIVED}> <https://example.org/p> " + "[ <https://example.org/p> " * depth + "1" + " ]" * depth + " .\n"
    return CERTIFIED.read_bytes() + b"\n" + chain.encode()
