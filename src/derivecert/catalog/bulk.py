"""Bulk loading (issue 15): many descriptions certified together, each filed as a PUT of it would be.

A batch of documents is certified as one engine call (one reasoner and one pySHACL call for
the lot: the engine's fixed costs are paid once per batch, not once per file), then each
document is judged on its own as a PUT of it would be (`judge`, `Catalog.replace_many`):
a document with a rejected dataset, nothing derived, a reserved term or another
institution's dataset is refused alone, and the rest of the batch is filed, written together
(one store transaction, journal line and text-index write for the batch, not one a document).  A document that
does not parse is reported as failed and left out of the batch before certification.

A document naming a dataset that another document of the batch names too (a source described in
one file and used in another) is certified alone, so another file's facts never decide its
verdict or enter its digest; other shared IRIs (a publisher described in every file) are read
with the batch, as `Engine.certify_documents` does.  Batches of one judge every file alone.

`certify_batch` is the untrusted part (parsing and the engine): callers run it in bounded
workers (derivecert.sandbox), so memory follows the batch size and the number of workers, not
the input (`load_batches`).  `file_batch` is the trusted part and runs beside the store.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .errors import ReservedTermError, StoreError
from .model import STORABLE_VERDICTS
from .service import judge
from .submission import Submission, build_submission, check_description, reachable, received

#: outcome statuses, in the order a summary lists them
STATUSES = ("filed", "refused", "failed")


@dataclass
class ItemOutcome:
    """What became of one document of a batch: `filed` (its datasets stored), `refused` (the
    certification or the catalog refused it, nothing stored) or `failed` (unusable input)."""

    name: str
    status: str
    datasets: list[dict[str, Any]] = field(default_factory=list)
    code: str | None = None
    message: str | None = None
    hint: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status, "datasets": self.datasets}
        if self.status != "filed":
            out.update(code=self.code, message=self.message, hint=self.hint)
        if self.results and self.status == "refused":
            out["results"] = self.results
        return out


@dataclass
class CertifiedDocument:
    """A document of a certified batch as its worker sends it to be filed: compact data, no
    graphs (cheap to unpickle).  Its datasets' §6 results and their unsigned filings (signed where
    the key is, `file_batch`), the submission built from its description and result triples
    (`build_submission`, in the worker), or why it is refused (reserved terms) or failed (unread)."""

    name: str
    results: list[dict[str, Any]] | None = None  # None: failed (`error` says why)
    error: dict[str, Any] | None = None
    filings: list[Any] = field(default_factory=list)  # the results' filings (derivecert.filing.Filing), unsigned
    submission: Submission | None = None  # None where the verdicts file nothing
    refusal: dict[str, Any] | None = None  # code / message / hint: the description uses reserved terms


def error_fields(exc: BaseException) -> dict[str, Any]:
    """code / message / hint of a DeriveCert or catalog error, for an outcome."""
    message = getattr(exc, "message", None) or str(exc)
    where = getattr(exc, "where", None)
    return {"code": getattr(exc, "code", "error"), "message": f"{where}: {message}" if where else message,
            "hint": getattr(exc, "hint", None) or None}


def certify_batch(engine: Any, documents: list[tuple[str, bytes]], *, media_type: str | None = None,
                  filing_numbers: Callable[[], str] | None = None, certifying_body: str | None = None,
                  on: date | None = None) -> list[CertifiedDocument]:
    """Parse each document alone (a bad one is reported, not fatal), certify the good ones as one
    engine call and split the run back per document.  Runs in a bounded worker.

    Each document gets the outcome it would get alone: a document naming a dataset that another
    document of the batch also names (a source described in one file and used in another, or one
    dataset in two files) is certified on its own, so another file's facts never decide its
    verdict or enter its digest."""
    import gc

    from ..engine import collector_paused
    from ..sandbox import ends_after_this_call

    if ends_after_this_call():
        # a bounded worker forked for this batch alone (the load's, the API's batch): its garbage
        # goes when it exits, so the full collection that ends a pause (≈ 2 ms a document) is skipped
        gc.disable()
    # the collector paused as `Engine.certify` pauses it (a batch makes hundreds of thousands of
    # containers, nearly all alive until it ends: ≈ 30 % of its CPU went to collections)
    with collector_paused():
        return _certify_batch(engine, documents, {"filing_numbers": filing_numbers,
                                                  "certifying_body": certifying_body, "on": on}, media_type)


def _certify_batch(engine: Any, documents: list[tuple[str, bytes]], kwargs: dict,
                   media_type: str | None) -> list[CertifiedDocument]:
    from ..classify import datasets
    from ..errors import DeriveCertError
    from ..rdfstore import triples

    out: list[CertifiedDocument] = []
    parsed: list[tuple[CertifiedDocument, Any, list]] = []
    for name, data in documents:
        doc = CertifiedDocument(name)
        out.append(doc)
        try:
            graph, _ = engine.load(data, media_type=media_type, filename=name)
        except DeriveCertError as exc:
            doc.error = error_fields(exc)
            continue
        parsed.append((doc, graph, datasets(graph)))
    named: dict[Any, set[int]] = {}  # dataset IRI -> documents typing it
    for i, (_, _, found) in enumerate(parsed):
        for ds in found:
            named.setdefault(ds, set()).add(i)
    alone = {i for i, (_, graph, _) in enumerate(parsed)
             for term in {t for s, _, o in triples(graph) for t in (s, o)} if named.get(term, {i}) != {i}}
    together = [p for i, p in enumerate(parsed) if i not in alone]
    for members in ([together] if together else []) + [[p] for i, p in enumerate(parsed) if i in alone]:
        try:
            _certify_together(engine, members, kwargs)
        except DeriveCertError as exc:
            if len(members) > 1:
                raise  # the caller certifies each document alone
            members[0][0].error = error_fields(exc)
    return out


def _certify_together(engine: Any, members: list[tuple[CertifiedDocument, Any, list]], kwargs: dict) -> None:
    """One engine call for the documents' union; each document gets its part of the run."""
    from rdflib import Graph

    from ..parse import document_order
    from ..rdfstore import add_all, triples

    # the union as `Engine.certify_documents` parses a batch: one SimpleMemory graph, its indexes
    # filled directly, each document's written order of codes kept (what a PUT of it lists them in)
    union = members[0][1] if len(members) == 1 else Graph(store="SimpleMemory")
    origin: dict = {}
    for doc, graph, found in members:
        origin.update((ds, doc.name) for ds in found)
        if len(members) > 1:
            add_all(union, triples(graph))
            document_order(union).update(document_order(graph))
    if not origin:  # no document describes a dataset: each is refused as nothing to file
        for doc, graph, _ in members:
            _prepare(doc, graph, [], None)
        return
    run = engine.certify_graph(union, origin, **kwargs)
    by_name: dict[str, list] = {}
    for result in run.results:
        by_name.setdefault(result.source or "", []).append(result)
    split = _split_results(run.result_graph, {doc.name: found for doc, _, found in members})
    for doc, graph, _ in members:
        _prepare(doc, graph, by_name.get(doc.name, []), split.get(doc.name))


def _prepare(doc: CertifiedDocument, description: Any, results: list, result_graph: Any) -> None:
    """What the filing process needs of a certified document, made here in the worker: the
    reserved-term check and the conversion to quads (`build_submission`) read the description,
    which only the worker holds (the filing process checks what it receives: `received`)."""
    doc.results = [r.to_dict() for r in results]
    doc.filings = [r.filing for r in results if r.filing is not None]
    try:
        check_description(description)
    except ReservedTermError as exc:
        doc.refusal = error_fields(exc)
        return
    verdicts = [r["verdict"] for r in doc.results]
    if "rejected" not in verdicts and any(v in STORABLE_VERDICTS for v in verdicts):
        doc.submission = build_submission("", description, result_graph, doc.results, checked=True)


def _split_results(result_graph, groups: dict[str, list]) -> dict[str, list]:
    """The result graph of a batch cut per document: for each of its datasets, the nodes that
    point at it (its result, its filing) and what they lead to, never crossing another dataset."""
    from ..rdfstore import triples

    by_subject: dict[Any, list] = {}
    objects: dict[Any, set] = {}
    pointing: dict[Any, set] = {}
    for s, p, o in triples(result_graph):
        by_subject.setdefault(s, []).append((s, p, o))
        objects.setdefault(s, set()).add(o)
        pointing.setdefault(o, set()).add(s)
    all_datasets = {ds for found in groups.values() for ds in found}

    def enter(node) -> bool:  # a node the results say something about, and no dataset
        return node in by_subject and node not in all_datasets

    out: dict[str, list] = {}
    for name, found in groups.items():
        # the triples as a list (what `build_submission` reads), not a graph: an rdflib graph's
        # add costs ≈ 10× a list's append, for triples read once
        nodes = reachable(list(found) + [s for ds in found for s in pointing.get(ds, ())], objects, enter)
        out[name] = [triple for node in nodes for triple in by_subject.get(node, ())]
    return out


def file_batch(store: Any, institution: str, documents: list[CertifiedDocument],
               signing_key: Any = None) -> list[ItemOutcome]:
    """File each certified document as a PUT of it would (`file_submission`: refused alone, or
    stored replacing its earlier versions), the batch's submissions written together
    (`Catalog.replace_many`: one transaction, one journal line, one text-index write): the
    outcome of every document, in order."""
    from ..errors import DeriveCertError

    outcomes: list[ItemOutcome | None] = []
    ready: list[tuple[int, str, Any]] = []  # (place in outcomes, name, FilingOutcome)
    submissions = []
    for doc in documents:
        if doc.results is None:
            outcomes.append(ItemOutcome(doc.name, "failed", **(doc.error or {})))
            continue
        if doc.refusal is not None:  # refused before any verdict, as a PUT of it is
            outcomes.append(ItemOutcome(doc.name, "refused", **doc.refusal))
            continue
        signed = _sign(doc, signing_key) if signing_key is not None else []
        try:
            filing = judge(store, institution, doc.results)
            submissions.append(received(doc.submission, institution, filing.results, signed))
        except (StoreError, DeriveCertError) as exc:
            outcomes.append(_refused(doc.name, exc))
            continue
        ready.append((len(outcomes), doc.name, filing))
        outcomes.append(None)
    refusals = store.replace_many(submissions) if submissions else []
    filed: set[str] = set()  # keys filed by an earlier document of this batch: replaced by a later one
    for (i, name, filing), refusal in zip(ready, refusals, strict=True):
        if refusal is not None:
            outcomes[i] = _refused(name, refusal)
            continue
        for d in filing.datasets:
            d["replaced"] = d["replaced"] or d["id"] in filed
            filed.add(d["id"])
        outcomes[i] = ItemOutcome(name, "filed", datasets=filing.datasets)
    store.flush()  # the store's write buffers, else its memory grows with every batch
    return [o for o in outcomes if o is not None]


def _sign(doc: CertifiedDocument, key: Any) -> list[Any]:
    """Sign the document's filings (`Run.sign_filings`, here where the key is): each result's
    filing becomes the signed one; the signed filings."""
    from rdflib import BNode, URIRef

    from ..certify import VERDICT_IRI
    from ..filing import sign

    by_number = {f.number: f for f in doc.filings}
    signed = []
    for result in doc.results or []:
        filing = by_number.get((result.get("filing") or {}).get("number"))
        if filing is None or filing.signature is not None:
            continue
        ds = result["dataset"]
        filing = sign(filing, BNode(ds[2:]) if ds.startswith("_:") else URIRef(ds), VERDICT_IRI[result["verdict"]], key)
        result["filing"] = filing.to_dict()
        signed.append(filing)
    return signed


def _refused(name: str, exc: BaseException) -> ItemOutcome:
    """A document the certification or the catalog refused; a store that is down (5xx) stops
    the batch instead (the caller reports it)."""
    if isinstance(exc, StoreError) and exc.status >= 500:
        raise exc
    results = list(getattr(exc, "extensions", {}).get("results") or [])
    return ItemOutcome(name, "refused", results=results, **error_fields(exc))


def batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """`items` in lists of at most `size`, read lazily (the input is never held whole)."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def summary(outcomes: Iterable[ItemOutcome]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    datasets = 0
    for o in outcomes:
        counts[o.status] += 1
        datasets += len(o.datasets)
    return {**counts, "datasets": datasets}


def load_batches(store: Any, institution: str, documents: Iterable[tuple[str, bytes | BaseException]],
                 certify: Callable[[list[tuple[str, bytes]]], list[CertifiedDocument]], *,
                 batch_size: int, signing_key: Any = None, workers: int = 1) -> Iterator[list[ItemOutcome]]:
    """Certify and file `documents` (name, content, or the error reading it) `batch_size` at a
    time with `certify` (`certify_batch` in a bounded worker); yields each batch's outcomes, in order.

    With `workers` >= 1, that many batches are certified at once (each `certify` call waits on its
    own worker process) while the batch before them is filed here, so at most `workers` + 1
    batches are held; `workers=0` certifies in this thread, one batch after the other (for a
    `certify` that runs in-process).  A batch the engine cannot certify as a whole (a worker past
    its memory limit) is certified again one document at a time, so only the one at fault fails."""
    if workers < 1:
        for batch in batches(documents, batch_size):
            yield file_batch(store, institution, certify_each(batch, certify), signing_key)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="derivecert-load") as pool:
        pending: deque = deque()
        for batch in batches(documents, batch_size):
            pending.append(pool.submit(certify_each, batch, certify))
            if len(pending) > workers:
                yield file_batch(store, institution, pending.popleft().result(), signing_key)
        while pending:
            yield file_batch(store, institution, pending.popleft().result(), signing_key)


def certify_each(batch: Sequence[tuple[str, bytes | BaseException]],
                  certify: Callable[[list[tuple[str, bytes]]], list[CertifiedDocument]]) -> list[CertifiedDocument]:
    """Every document of `batch`, certified, or failed with its reason, in the batch's order."""
    from ..errors import DeriveCertError

    unread = {name: exc for name, exc in batch if isinstance(exc, BaseException)}
    readable = [(name, data) for name, data in batch if not isinstance(data, BaseException)]
    try:
        certified = certify(readable) if readable else []
    except DeriveCertError as exc:
        certified = [CertifiedDocument(readable[0][0], error=error_fields(exc))] if len(readable) == 1 else []
        for doc in readable if len(readable) > 1 else ():
            try:
                certified.extend(certify([doc]))
            except DeriveCertError as one:
                certified.append(CertifiedDocument(doc[0], error=error_fields(one)))
    by_name = {doc.name: doc for doc in certified}
    return [by_name.get(name) or CertifiedDocument(name, error=error_fields(unread[name])) for name, _ in batch]
