"""The provenance chain of a dataset, from its description, laid out for a small SVG drawing:
the dataset on the left, its sources (prov:wasDerivedFrom, or prov:used of the activity that
generated it) one column further right for each step back."""

from __future__ import annotations

from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV

from derivecert.vocab import DCERT
from derivecert.wording import code_label

#: a description with more sources than this is drawn cut (the page says so)
MAX_NODES = 24
COLUMN, ROW, WIDTH, HEIGHT = 250, 64, 210, 44


def sources_of(graph: Graph, node) -> list:
    found = list(graph.objects(node, PROV.wasDerivedFrom))
    for activity in graph.objects(node, PROV.wasGeneratedBy):
        found += graph.objects(activity, PROV.used)
    return sorted(set(found), key=str)


def provenance_graph(graph: Graph, dataset: URIRef, lang: str) -> dict:
    """Nodes (iri, title, level, column, row, x, y) and edges (from, to) breadth first."""
    nodes: list[dict[str, Any]] = []
    edges: list[tuple[Any, Any]] = []
    index: dict[Any, int] = {}
    frontier, column = [dataset], 0
    while frontier and len(nodes) < MAX_NODES:
        next_frontier = []
        for row, node in enumerate(frontier):
            if node in index or len(nodes) >= MAX_NODES:
                continue
            index[node] = len(nodes)
            titles = {t.language or "": str(t) for t in graph.objects(node, DCTERMS.title) if isinstance(t, Literal)}
            level = graph.value(node, DCERT.sensitivityLevel)
            nodes.append({"iri": str(node), "title": titles.get(lang) or titles.get("") or next(iter(titles.values()), str(node)),
                          "level": code_label(str(level).rsplit("#", 1)[-1], lang) if level is not None else "",
                          "x": 10 + column * COLUMN, "y": 10 + row * ROW, "href": None})
            next_frontier += [s for s in sources_of(graph, node) if s not in index]
            edges += [(node, s) for s in sources_of(graph, node)]
        frontier, column = next_frontier, column + 1
    lines = [{"x1": nodes[index[a]]["x"] + WIDTH, "y1": nodes[index[a]]["y"] + HEIGHT / 2,
              "x2": nodes[index[b]]["x"], "y2": nodes[index[b]]["y"] + HEIGHT / 2}
             for a, b in edges if a in index and b in index]
    width = max((n["x"] for n in nodes), default=0) + WIDTH + 20
    height = max((n["y"] for n in nodes), default=0) + HEIGHT + 20
    return {"nodes": nodes, "lines": lines, "width": width, "height": height, "w": WIDTH, "h": HEIGHT,
            "cut": len(nodes) >= MAX_NODES}
