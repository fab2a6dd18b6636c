"""A submission: what one accepted certification run writes to an institution's graph, and the
refusal of a description that uses the node's reserved vocabulary (issue 8)."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from ..vocab import BASE, DCERT
from .errors import ReservedTermError, SubmissionRefused
from .model import (
    DCAT,
    DCT,
    DIMENSIONS,
    FOAF,
    GENID_BASE,
    GRAPH_BASE,
    IDX,
    RDF_JSON,
    RDF_TYPE,
    RECORD_BASE,
    STORABLE_VERDICTS,
    SUMMARY_FILING,
    XSD,
    RecordSummary,
    dataset_key,
    lit,
    normalise_text,
    now_utc,
    record_iri,
)

if TYPE_CHECKING:
    from ..filing import Filing


@dataclass
class Submission:
    """What one accepted submission writes: quads for the institution graph and its records."""

    institution: str
    quads: list[ox.Triple]          # triples of the institution graph (description, results, filings)
    records: list[RecordSummary]
    parts: dict[str, set[str]]      # record key -> subjects it owns that others may list (`idx:part`)
    results: dict[str, dict]        # record key -> §6 result dict
    #: record key -> subjects only it owns (`idx:owned`, one literal): the IRIs this node minted
    #: for its submission (skolemised blank nodes, result and filing nodes) that no other record
    #: of it reaches; no later description can name them (reserved), so no other record ever will
    owned: dict[str, set[str]] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.records]

    def __getstate__(self) -> dict:
        # sent from a certification worker to the process that files: the quads as N-Triples
        # text (Oxigraph writes and parses it in a tenth of the time pickle takes over its terms)
        return {**self.__dict__, "quads": "".join(f"{t} .\n" for t in self.quads)}

    def __setstate__(self, state: dict) -> None:
        quads = state["quads"]
        if isinstance(quads, str):
            state = {**state, "quads": [q.triple for q in ox.parse(quads, format=ox.RdfFormat.N_TRIPLES)]}
        self.__dict__.update(state)

    def record_triples(self, key: str) -> list[ox.Triple]:
        rec = next(r for r in self.records if r.key == key)
        return _record_triples(rec, self.results[key], self.parts[key], self.owned.get(key, set()))

    def all_triples(self) -> list[ox.Triple]:
        out = list(self.quads)
        for rec in self.records:
            out.extend(self.record_triples(rec.key))
        return out


def _record_triples(rec: RecordSummary, result: dict, parts: set[str], owned: set[str]) -> list[ox.Triple]:
    r = ox.NamedNode(record_iri(rec.key))
    nn = ox.NamedNode
    t: list[ox.Triple] = [
        ox.Triple(r, nn(RDF_TYPE), nn(DCAT + "CatalogRecord")),
        ox.Triple(r, nn(FOAF + "primaryTopic"), nn(rec.dataset)),
        ox.Triple(r, nn(DCT + "issued"), lit(rec.issued, XSD + "dateTime")),
        ox.Triple(r, nn(DCT + "modified"), lit(rec.modified, XSD + "dateTime")),
        ox.Triple(r, nn(IDX + "key"), lit(rec.key)),
        ox.Triple(r, nn(IDX + "institution"), lit(rec.institution)),
        ox.Triple(r, nn(IDX + "text"), lit(rec.text)),
        ox.Triple(r, nn(IDX + "summary"), lit(json.dumps(rec.to_json(), ensure_ascii=False), RDF_JSON)),
        ox.Triple(r, nn(IDX + "result"), lit(json.dumps(result, ensure_ascii=False), RDF_JSON)),
    ]
    # not repeated here (each quad costs ≈ 300 B on disk): the titles (the dataset's), the
    # verdict, depth and classification (the result node's: dcert:sensitivityLevel ...) and the
    # validity (the filing record's); `sparql_search` reads them where they are
    if rec.filing and rec.filing.get("number"):
        t.append(ox.Triple(r, nn(IDX + "filingNumber"), lit(str(rec.filing["number"]))))
    for s in sorted(parts):
        t.append(ox.Triple(r, nn(IDX + "part"), nn(s)))
    if owned:  # one literal, not a link a subject; relative to the node's IRI space, all in it
        t.append(ox.Triple(r, nn(IDX + "owned"), lit(" ".join(sorted(iri[len(BASE) + 1:] for iri in owned)))))
    return t


#: classes whose instances only the engine writes: results, findings, filings and their parts
ENGINE_OUTPUT_CLASSES = ("CertificationResult", "Finding", "FilingRecord", "CertificationActivity", "CertifyingBody")


@functools.lru_cache(maxsize=1)
def reserved_vocabulary() -> frozenset[str]:
    """The engine's output vocabulary, read from the ontology: the classes above and every
    property whose `rdfs:domain` is one of them (`dcert:verdict`, `dcert:filingNumber`, ...)."""
    from rdflib import URIRef
    from rdflib.namespace import RDFS

    from ..resources import ontology_graph

    graph = ontology_graph()
    classes = {URIRef(DCERT + name) for name in ENGINE_OUTPUT_CLASSES}
    props = {p for c in classes for p in graph.subjects(RDFS.domain, c)}
    return frozenset(str(t) for t in classes | props)


def reserved_terms(description) -> list[str]:
    """The IRIs of a description (rdflib graph) that only this node may write: anything in its
    own IRI space ``https://w3id.org/derivecert/...`` (graphs, catalog records, index terms,
    results, filing records, skolem IRIs) and the engine's output vocabulary."""
    from rdflib import Literal, URIRef

    from ..rdfstore import triples

    vocabulary = reserved_vocabulary()
    found: set[str] = set()
    for triple in triples(description):
        for term in triple:
            if isinstance(term, Literal):
                term = term.datatype
            if isinstance(term, URIRef) and (term.startswith(BASE + "/") or str(term) in vocabulary):
                found.add(str(term))
    return sorted(found)


def check_description(description) -> None:
    """Refuse a description that uses reserved terms (`ReservedTermError`, naming them)."""
    terms = reserved_terms(description)
    if terms:
        raise ReservedTermError(terms)


def build_submission(
    institution: str,
    description,
    result_graph,
    results: list[dict],
    *,
    now: datetime | None = None,
    checked: bool = False,
) -> Submission:
    """Turn an engine run (rdflib graphs + §6 dicts) into what the store writes.

    Only certified and conditional results become records.  Each record owns the subjects
    reachable from its dataset, and those that reach it (its result and filing nodes), without
    passing through another record's dataset; description subjects reached by no record (a
    catalog node, a free-standing agent) are shared by all the submission's records.  Result
    graph nodes of datasets that are not stored (sources, not derived) are dropped.
    """
    from rdflib import BNode, Graph, URIRef

    from ..parse import to_oxigraph
    from ..rdfstore import triples

    if not checked:  # `checked`: the caller ran `check_description` already
        check_description(description)
    when = (now or now_utc()).isoformat().replace("+00:00", "Z")
    stored = [r for r in results if r.get("verdict") in STORABLE_VERDICTS]
    stored.sort(key=lambda r: dataset_key(r["dataset"]))
    datasets = {URIRef(r["dataset"]) for r in stored}

    desc_triples = list(triples(description))
    # the result graph, or the triples of it a bulk load's worker cut for this description
    res_triples = list(triples(result_graph) if isinstance(result_graph, Graph) else result_graph or ())
    out_edges: dict[Any, set] = {}
    in_edges: dict[Any, set] = {}
    desc_subjects, res_subjects = set(), set()
    for s, _p, o in desc_triples:
        desc_subjects.add(s)
        out_edges.setdefault(s, set()).add(o)
        in_edges.setdefault(o, set()).add(s)
    for s, _p, o in res_triples:
        res_subjects.add(s)
        out_edges.setdefault(s, set()).add(o)
        in_edges.setdefault(o, set()).add(s)
    subjects = desc_subjects | res_subjects

    def enter(node) -> bool:  # a walk from a dataset goes through subjects, never into a dataset
        return node in subjects and node not in datasets

    parts_nodes: dict[Any, set] = {}
    for ds in datasets:
        fwd = reachable([n for n in out_edges.get(ds, ()) if n not in datasets], out_edges, enter)
        bwd = reachable([n for n in in_edges.get(ds, ()) if n not in datasets], in_edges, enter)
        parts_nodes[ds] = {ds} | fwd | bwd | reachable(bwd, out_edges, enter)
    owned = set().union(*parts_nodes.values()) if parts_nodes else set()
    orphans = {s for s in desc_subjects if s not in owned}
    for ds in datasets:
        parts_nodes[ds] |= orphans

    genids: dict[Any, ox.NamedNode] = {}

    def genid(node) -> ox.NamedNode:
        if node not in genids:
            genids[node] = ox.NamedNode(GENID_BASE + uuid.uuid4().hex)
        return genids[node]

    converted: dict = {}

    def term(node) -> Any:  # each term converted once (a description repeats its IRIs and codes)
        out = converted.get(node)
        if out is None:
            out = converted[node] = to_oxigraph(node, genid)
        return out

    keep_res = owned
    quads: list[ox.Triple] = []
    seen_t: set = set()
    for s, p, o in desc_triples + [t for t in res_triples if t[0] in keep_res]:
        if (s, p, o) in seen_t:
            continue
        seen_t.add((s, p, o))
        quads.append(ox.Triple(term(s), term(p), term(o)))

    # what a record owns is what its deletion removes: subjects only (an IRI the graph says
    # nothing about, such as a code or a class, has nothing to remove)
    owners: dict[Any, int] = {}
    for ds in datasets:
        parts_nodes[ds] = {n for n in parts_nodes[ds] if n in subjects and isinstance(n, (URIRef, BNode))}
        for n in parts_nodes[ds]:
            owners[n] = owners.get(n, 0) + 1
    records, parts, only_theirs, by_key = [], {}, {}, {}
    for result in stored:
        ds = URIRef(result["dataset"])
        key = dataset_key(result["dataset"])
        iris = {n: term(n).value for n in parts_nodes[ds]}
        only_theirs[key] = {iri for n, iri in iris.items() if owners[n] == 1 and iri.startswith(BASE + "/")}
        part_iris = set(iris.values()) - only_theirs[key]
        title, text = _title_and_text(description, ds)
        codes = {dim: reader(result) for dim, (slug, reader) in DIMENSIONS.items() if slug}
        filing = result.get("filing")
        records.append(
            RecordSummary(
                key=key, dataset=result["dataset"], institution=institution,
                verdict=result["verdict"], modified=when, issued=when, title=title,
                codes=codes, filing={k: filing[k] for k in SUMMARY_FILING if k in filing} if filing else None,
                depth=result.get("derivation_depth"), text=text,
            )
        )
        parts[key] = part_iris
        by_key[key] = result
    return Submission(institution=institution, quads=quads, records=records, parts=parts, results=by_key, owned=only_theirs)


def reachable(starts: Iterable, edges: dict, enter: Callable[[Any], bool]) -> set:
    """The nodes reached from `starts` (each of them in) along `edges` (a node -> its next
    nodes), going into a next node only where `enter` allows it."""
    seen: set = set()
    todo = list(starts)
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(n for n in edges.get(node, ()) if n not in seen and enter(n))
    return seen


def _title_and_text(graph, node) -> tuple[dict[str, str], str]:
    from rdflib.namespace import DCAT as RDCAT
    from rdflib.namespace import DCTERMS

    title: dict[str, str] = {}
    for value in graph.objects(node, DCTERMS.title):
        title.setdefault(getattr(value, "language", None) or "und", str(value))
    words = [str(node)]
    for pred in (DCTERMS.title, DCTERMS.description, DCTERMS.identifier, RDCAT.keyword):
        words.extend(str(v) for v in graph.objects(node, pred))
    return title, normalise_text(" ".join(words))


def received(submission: Submission | None, institution: str, results: list[dict], signed: list[Filing]) -> Submission:
    """A submission built by a certification worker (`build_submission` there, where the
    description is parsed), made this institution's once checked here, where the store is: the
    worker is not taken at its word for what decides where and what is written.

    Its records are those of the results' storable datasets, each at its dataset's key; its quads
    name none of the node's bookkeeping (records, graphs, `idx:` terms), its parts and owned
    subjects are among its own subjects; the institution, the §6 results stored and the
    signatures (`signed`: filings signed here) are set here."""
    storable = {dataset_key(r["dataset"]): r for r in results if r.get("verdict") in STORABLE_VERDICTS}
    if submission is None or sorted(submission.keys) != sorted(storable) or any(
            rec.key != dataset_key(rec.dataset) or storable[rec.key]["dataset"] != rec.dataset
            for rec in submission.records):
        raise _inconsistent("its records are not those of its certified datasets")
    quads = submission.quads
    # each distinct term checked once (a description repeats its subjects, predicates and codes)
    subject_terms, objects = {t.subject for t in quads}, {t.object for t in quads}
    if any(type(term) is not ox.NamedNode for term in subject_terms) or any(
            type(term) not in (ox.NamedNode, ox.Literal) for term in objects):  # skolemised: no blank node
        raise _inconsistent("it writes a blank node or a quoted triple")
    subjects = {term.value for term in subject_terms if isinstance(term, ox.NamedNode)}  # all are: checked above
    for iri in subjects | {p.value for p in {t.predicate for t in quads}}:
        if iri.startswith(IDX) or iri.startswith(RECORD_BASE) or iri.startswith(GRAPH_BASE):
            raise _inconsistent(f"it writes the node's bookkeeping (<{iri}>)")
    for key in storable:
        owned = submission.owned.get(key, set())
        if not submission.parts.get(key, set()) | owned <= subjects or any(not o.startswith(BASE + "/") for o in owned):
            raise _inconsistent("its records own subjects it does not write")
    submission.institution = institution
    for rec in submission.records:
        rec.institution = institution
    submission.results = storable
    nn = ox.NamedNode
    for filing in signed:
        key = dataset_key(filing.dataset)
        if key not in storable or filing.signature is None:
            continue
        f, sig = str(filing.iri), f"{filing.iri}#signature"
        node = nn(sig)
        submission.quads += [
            ox.Triple(nn(f), nn(DCERT + "signature"), node),
            ox.Triple(node, nn(RDF_TYPE), nn(DCERT + "FilingSignature")),
            ox.Triple(node, nn(DCERT + "signatureAlgorithm"), ox.Literal(filing.signature.algorithm)),
            ox.Triple(node, nn(DCERT + "signingKey"), ox.Literal(filing.signature.key_id)),
            ox.Triple(node, nn(DCERT + "signatureValue"), ox.Literal(filing.signature.value)),
        ]
        # the signature node hangs off its filing node alone: a record owns it as it owns the filing
        if f in submission.owned.get(key, ()):
            submission.owned[key].add(sig)
        elif f in submission.parts.get(key, ()):
            submission.parts[key].add(sig)
    return submission


def _inconsistent(why: str) -> SubmissionRefused:
    return SubmissionRefused(
        "inconsistent-submission", f"the certification worker's submission was refused: {why} / "
        f"认证工作进程提交的内容被拒绝：{why}", hint="report this: the worker did not act as the node's own code does")
