"""The certification engine: parse → reason → validate → decide → file (DOMAIN.md §5-§6).

Fixed costs are paid once: the ontology is closed and compiled into rules once per process
(`derivecert.rl_rules`), the shapes are read once, and a batch of descriptions is reasoned over in
one call and validated in one call of the SHACL validator (rudof by default, pySHACL as the
reference; `derivecert.shacl`), in parts of `batch_size` descriptions
(../shared/reference/performance-notes.md: per-description calls cost 10-100× more).

Over 400 lines because the pipeline's orchestration (batches, parts, workers, streaming) and the
decision per dataset are here; each step itself lives in its own module.
"""

from __future__ import annotations

import gc
import heapq
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, RDF

from .certify import VERDICT_IRI, CertificationResult, decide, finding_dict
from . import defaults, unknown
from .classify import classify_dataset, datasets
from .codes import codebook
from .errors import InputError, NoDatasetError
from .explain import explain
from .filing import (DEFAULT_VALIDITY_YEARS, Filing, add_years, authorization_limit, canonical_digest,
                     description_triples, filing_graph, new_filing_number, sign, signature_graph)
from .parse import DEFAULT_MAX_BYTES, RDF_SUFFIXES, InputLimits, document_order, parse_description, parse_file
from .rdfc import TermText
from .rdfstore import Index, add_all, index
from .reason import get_reasoner
from .resources import ontology_version, shapes_version
from .shacl import DEFAULT_VALIDATOR, Finding, Validation, check_validator, validate
from .shacl import prepare as shacl_prepare
from .vocab import DCERT, bind_prefixes

# Descriptions certified together at most (bench/run.py --scaling): large enough that the fixed
# costs of a reasoner and a validator call are spread thin, small enough that a worker stays well
# under 500 MB: rudof holds ≈ 0.35 MB a description while it validates (+175 MB at 500, +90 MB at
# 250), on top of what the worker shares with its parent; 250 is no slower a description than 500.
DEFAULT_BATCH_SIZE = 250


@dataclass
class CertificationRun:
    """What one certification call produced."""

    description: Graph | None  # None (as the two below) when the batch ran on several processes
    materialised: Graph | None
    results: list[CertificationResult]
    result_graph: Graph
    report_source: Graph | Validation | None = None  # the SHACL report, or the validation that builds it
    on: date = field(default_factory=date.today)

    @property
    def report(self) -> Graph | None:
        """The SHACL report, built on first access (most runs never read it)."""
        if isinstance(self.report_source, Validation):
            self.report_source = self.report_source.report
        return self.report_source

    @report.setter
    def report(self, value: Graph | None) -> None:
        self.report_source = value

    @property
    def any_rejected(self) -> bool:
        return any(r.verdict == "rejected" for r in self.results)

    def result_for(self, dataset: str) -> CertificationResult | None:
        return next((r for r in self.results if str(r.dataset) == dataset), None)

    def sign_filings(self, key) -> None:
        """Sign the run's filings with the certifying body's key (a signing.FilingKey), here: the
        key stays in the process that holds it, never where untrusted input is parsed."""
        for result in self.results:
            if result.filing is not None and result.filing.signature is None:
                result.filing = sign(result.filing, result.dataset, VERDICT_IRI[result.verdict], key)
                self.result_graph += signature_graph(result.filing)


@dataclass
class Part:
    """The results of one part of a batch (Engine.certify_stream) and the triples of its result
    graph; `run` is the whole run when the batch was certified in one part."""

    results: list[CertificationResult]
    triples: list
    run: CertificationRun | None = None


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named, and RDF files found recursively in folders named, in a stable order."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in RDF_SUFFIXES))
        elif path.exists():
            files.append(path)
        else:
            raise InputError("no such file or folder", where=str(path), hint="check the path")
    return files


class Engine:
    """Loads the ontology and shapes once; certifies descriptions one by one or in batches."""

    def __init__(self, reasoner: str = "rl", thresholds: Mapping[str, float] | None = None,
                 certifying_body: str = "DeriveCert", max_bytes: int = DEFAULT_MAX_BYTES,
                 workers: int = 1, limits: InputLimits = InputLimits(), batch_size: int = DEFAULT_BATCH_SIZE,
                 shacl: str = DEFAULT_VALIDATOR):
        self.reasoner = get_reasoner(reasoner)
        self.shacl = check_validator(shacl)  # the SHACL validator: rudof (default) or pyshacl, the reference
        self.batch_size = max(1, batch_size)
        self.limits = limits
        self.workers = max(1, workers)
        self.thresholds = dict(thresholds or {})
        self.certifying_body = certifying_body
        self.max_bytes = max_bytes
        self.ontology_version = ontology_version()
        self.shapes_version = shapes_version()

    def warm(self) -> None:
        """Fill this process's caches (ontology, compiled shapes, code lists) with one small
        certification, so that worker processes forked from it start warm (derivecert.sandbox).
        rudof's shapes are read but it does not validate here: its thread pool would not survive a fork."""
        shacl_prepare(self.thresholds, self.shacl)
        with self.forking_parent():
            self.certify(_WARM_UP, media_type="text/turtle", filing_numbers=lambda: "WARM-UP")
        # What is warm now lives as long as the process: out of the collector's sight, a collection
        # never walks it again, and a forked worker never copies its pages (CPython's advice for a
        # process that forks: gc.freeze).
        gc.collect()
        gc.freeze()

    @contextmanager
    def forking_parent(self):
        """Certify here with pySHACL (same findings): for a process that forks workers afterwards
        (the API's parent warming up or seeding), where a rudof validation would start a thread
        pool that its forked workers could not use (they would run rudof in a fresh interpreter)."""
        shacl, self.shacl = self.shacl, "pyshacl"
        try:
            yield self
        finally:
            self.shacl = shacl

    # ---- inputs -------------------------------------------------------------------------

    def load(self, data: bytes | str | Graph, media_type: str | None = None, filename: str | None = None) -> tuple[Graph, dict]:
        if isinstance(data, Graph):
            return data, {ds: filename for ds in datasets(data)}
        desc = parse_description(data, filename=filename, media_type=media_type, max_bytes=self.max_bytes,
                                 limits=self.limits)
        return desc.graph, {ds: filename for ds in datasets(desc.graph)}

    def load_files(self, paths: Iterable[Path], progress: Callable[[int], None] | None = None) -> tuple[Graph, dict]:
        graph, origin = Graph(), {}
        for path in collect_files(paths):
            for ds in parse_file(path, max_bytes=self.max_bytes, into=graph, limits=self.limits).datasets:
                origin.setdefault(ds, str(path))  # a dataset typed again later stays with its first file
            if progress:
                progress(1)
        return graph, origin

    # ---- steps --------------------------------------------------------------------------

    def materialise(self, graph: Graph) -> Graph:
        """The description with what the reasoner infers, the strict defaults included (A2): a
        second reasoning pass runs only when some dataset with a source has no grade at all."""
        if not datasets(graph):
            raise NoDatasetError("the description has no dcat:Dataset to certify",
                                 hint="type each dataset with `a dcat:Dataset` (DCAT 3)")
        return defaults.materialise(self.reasoner, graph)

    def classify(self, data, media_type: str | None = None, filename: str | None = None, explain_lang: str | None = None) -> list[dict]:
        graph, origin = self.load(data, media_type, filename)
        return self.classify_graph(graph, origin, explain_lang)

    def classify_graph(self, graph: Graph, origin: dict | None = None, explain_lang: str | None = None) -> list[dict]:
        m = self.materialise(graph)
        out = []
        for ds in datasets(graph):
            c = classify_dataset(m, ds, _written_order(graph, origin, ds))
            item = {"dataset": str(ds), "is_derived": c.is_derived, "derivation_depth": c.derivation_depth,
                    "types": c.types, "classification": c.classification.to_dict()}
            if origin and origin.get(ds):
                item["source"] = origin[ds]
            if explain_lang:
                item["explanation"] = [r.to_dict() for r in explain(m, graph, ds, explain_lang)]
            out.append(item)
        return out

    def explain(self, graph: Graph, dataset: str, lang: str = "en", on: date | None = None):
        """The certification of one dataset of `graph` and why: (result, explanation trees)."""
        node = URIRef(dataset)
        if (node, RDF.type, DCAT.Dataset) not in graph:
            raise InputError(f"no dcat:Dataset {dataset} in the description", hint="pass the IRI of one of its datasets with --dataset")
        run = self.certify_graph(graph, on=on, filing_numbers=lambda: "DRAFT")  # explained, not filed
        result = run.result_for(dataset)
        return result, explain(run.materialised, graph, node, lang, result)

    def validate(self, data, media_type: str | None = None, filename: str | None = None, on: date | None = None):
        graph, _ = self.load(data, media_type, filename)
        validation = validate(self.materialise(graph), on=on, thresholds=self.thresholds, shacl=self.shacl)
        return validation.report, [finding_dict(f) for f in validation.findings]

    def certify(self, data, media_type: str | None = None, filename: str | None = None,
                filing_numbers: Callable[[], str] | None = None, certifying_body: str | None = None,
                on: date | None = None) -> CertificationRun:
        with collector_paused():
            graph, origin = self.load(data, media_type, filename)
            return self.certify_graph(graph, origin, filing_numbers=filing_numbers, certifying_body=certifying_body, on=on)

    def certify_files(self, paths: Iterable[Path], progress: Callable[[int], None] | None = None,
                      workers: int | None = None, **kwargs) -> CertificationRun:
        """Certify every description found under `paths` as one batch."""
        documents = []
        for path in collect_files(paths):
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise InputError(f"cannot read file: {exc.strerror}", where=str(path), hint="check the path") from None
            if size > self.max_bytes:
                parse_file(path, max_bytes=self.max_bytes)  # raises the size error with its hint
            documents.append((str(path), path.read_bytes()))
        return self.certify_documents(documents, workers=workers, progress=progress, **kwargs)

    def certify_documents(self, documents: list[tuple[str, bytes]], workers: int | None = None,
                          progress: Callable[[int], None] | None = None, **kwargs) -> CertificationRun:
        """Certify descriptions (file name, content) as one batch, on `workers` processes.

        A batch larger than `batch_size` descriptions is certified in parts (`certify_stream`). A
        run in several parts keeps neither the description, nor the materialised graph, nor the
        SHACL report (each part had its own): its results and result graph are complete.
        """
        results, result_graph, parts = [], Graph(store="SimpleMemory"), 0  # as a part's result graph
        bind_prefixes(result_graph)
        for part in self.certify_stream(documents, workers=workers, progress=progress, **kwargs):
            if part.run is not None:  # the batch was one part
                return part.run
            parts += 1
            with collector_paused():  # what is merged here lives as long as the run
                results.extend(part.results)
                add_all(result_graph, part.triples)
        results.sort(key=lambda r: str(r.dataset))  # the order a single part gives
        return CertificationRun(None, None, results, result_graph, None, kwargs.get("on") or date.today())

    def certify_stream(self, documents: list[tuple[str, bytes]], workers: int | None = None,
                       progress: Callable[[int], None] | None = None, **kwargs) -> Iterator[Part]:
        """Certify descriptions (file name, content) part by part, each part's results given out
        as soon as it is done, so that a caller that writes them out holds one part at a time.

        Parts have about `batch_size` descriptions; descriptions that share a subject IRI (a source
        described in one file and used in another) stay in the same part, so splitting the batch
        never changes a result. The parts are certified one after the other, or side by side on
        `workers` processes forked once at the start, each taking part after part: a process's
        memory is bounded by one part, and time grows linearly with the input. A batch of one part
        comes out as one `Part` holding its whole run.

        On workers, the scan that finds which descriptions share subjects (serial, ≈ 0.2 CPU s a
        1,000) no longer delays the first parts: each worker starts at once on a first part of
        consecutive descriptions while this process scans, and a first part is given out only if
        the scan shows that no description in it shares a subject with one outside it; otherwise
        its results are dropped and its descriptions packed again with the rest (`_kept`).
        """
        workers = self.workers if workers is None else workers
        parallel = workers > 1 and len(documents) >= PARALLEL_MIN_DOCUMENTS and _can_fork()
        if not parallel and len(documents) <= self.batch_size:
            yield self._whole(documents, progress, kwargs)
            return
        global _BATCH
        _BATCH = (self, documents, kwargs)
        try:
            if parallel:
                yield from self._stream_on_workers(documents, workers, progress, kwargs)
                return
            parts = _pack(self._groups(documents), [len(data) for _, data in documents],
                          -(-len(documents) // self.batch_size), 1)
            if len(parts) < 2:
                yield self._whole(documents, progress, kwargs)
                return
            yield from _parts_out(((part, _certify_bin(part)) for part in parts), progress)
        finally:
            _BATCH = None

    def _stream_on_workers(self, documents, workers: int, progress, kwargs) -> Iterator[Part]:
        """`certify_stream` on `workers` forked processes, their first parts started before the scan."""
        sizes = [len(data) for _, data in documents]
        size = -(-len(documents) // _part_count(len(documents), self.batch_size, workers))
        first = [list(range(start, min(start + size, len(documents))))
                 for start in range(0, min(workers * size, len(documents)), size)]
        # gc.freeze in each worker as it starts: what it inherits from this process (the batch, and
        # whatever this process had not collected) is never walked by the worker's collections; the
        # first one walked it all, copying every page it wrote a header in (bench/run.py: 71k
        # objects, 0.06 CPU s and 4,500 page copies a worker)
        with multiprocessing.get_context("fork").Pool(workers, initializer=gc.freeze) as pool:
            started = [pool.apply_async(_certify_bin, (part,)) for part in first]
            groups = self._groups(documents)  # a bad description raises here, before any part is given out
            kept = _kept(first, groups)
            done = {i for part, keep in zip(first, kept, strict=True) if keep for i in part}
            rest = [group for group in groups if group[0] not in done]
            left = sum(len(group) for group in rest)
            parts = _pack(rest, sizes, -(-left // self.batch_size), workers) if rest else []
            if not done and len(parts) < 2:  # one group after all: one part, certified here
                pool.terminate()
                yield self._whole(documents, progress, kwargs)
                return
            pending = pool.imap(_certify_bin, parts)  # queued now, behind the first parts
            # a dropped first part's results are never read (the pool cannot stop it)
            first_out = ((part, result.get()) for part, keep, result in zip(first, kept, started, strict=True) if keep)
            yield from _parts_out(chain(first_out, zip(parts, pending, strict=True)), progress)

    def _groups(self, documents) -> list[list[int]]:
        with collector_paused():
            return _independent_groups([_scan(name, data, self.max_bytes, self.limits) for name, data in documents])

    def _whole(self, documents, progress, kwargs) -> Part:
        with collector_paused():
            graph, origin = _load_documents(documents, self.max_bytes, self.limits, progress)
            run = self.certify_graph(graph, origin, **kwargs)
        return Part(run.results, [], run)

    def certify_graph(self, graph: Graph, origin: dict | None = None, *,
                      filing_numbers: Callable[[], str] | None = None, certifying_body: str | None = None,
                      on: date | None = None) -> CertificationRun:
        on = on or date.today()
        m = self.materialise(graph)
        validation = validate(m, on=on, thresholds=self.thresholds, shacl=self.shacl)
        presented = datasets(graph)
        by_dataset = _attribute(presented, validation.findings)
        described, inferred, texts = index(graph), index(m), TermText()  # read by every dataset of the batch
        results, out = [], Graph(store="SimpleMemory")  # no contexts: ≈ 3× faster to fill
        bind_prefixes(out)
        unknowns = unknown.UnknownTerms(described)
        for ds in presented:
            cls = classify_dataset(inferred, ds, _written_order(graph, origin, ds))
            verdict, findings = decide(cls, by_dataset.get(ds, []))
            findings.sort(key=lambda f: (f.severity != "Violation", f.requirement, f.path or ""))
            filing = None
            if verdict in ("certified", "conditional"):
                filing = self._file(described, ds, cls, verdict, findings, on, filing_numbers, certifying_body, texts)
                filing_graph(filing, ds, VERDICT_IRI[verdict], into=out)
            notices = ([] if verdict == "not-derived" else defaults.notices(m, ds)) + unknowns.notices(
                ds, reported={f.value for f in findings})
            result = CertificationResult(ds, cls, verdict, findings, filing, (origin or {}).get(ds), notices)
            result.to_graph(on, into=out)
            results.append(result)
        return CertificationRun(graph, m, results, out, validation, on)

    def _file(self, described: Index, ds, cls, verdict, findings, on, filing_numbers, certifying_body,
              texts: TermText) -> Filing:
        """The filing of a certified or conditional dataset: what was certified (A7), and a validity
        of the level's `dcert:validityYears`, never past the earliest source authorization."""
        c = cls.classification
        level = codebook().by_notation.get(c.sensitivity_level or "")
        years = DEFAULT_VALIDITY_YEARS
        if level is not None:
            from .resources import code_lists

            value = code_lists().value(level.iri, DCERT.validityYears)
            years = int(value) if value is not None else years
        valid_until = add_years(on, years)
        limit = authorization_limit(described, ds)
        return Filing(
            number=(filing_numbers or (lambda: new_filing_number(on)))(),
            issued=on, valid_until=min(valid_until, limit) if limit else valid_until,
            certifying_body=certifying_body or self.certifying_body,
            digest=canonical_digest(description_triples(described, ds), where=str(ds), texts=texts),
            ontology_version=self.ontology_version, shapes_version=self.shapes_version,
            dataset=str(ds), verdict=verdict, scenarios=tuple(c.scenario), level=c.sensitivity_level,
            grade=c.deidentification_grade,
            conditions=tuple({"requirement": f.requirement, "message": dict(f.message)}
                             for f in findings if f.severity == "Warning"),
        )


# A derived dataset with a blank-node activity: enough to touch every cache a certification fills.
_WARM_UP = b"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix prov: <http://www.w3.org/ns/prov#> .
@prefix dcert: <https://w3id.org/derivecert#> .
<urn:derivecert:warm-up:source> a dcat:Dataset .
<urn:derivecert:warm-up:derived> a dcat:Dataset ; prov:wasDerivedFrom <urn:derivecert:warm-up:source> ;
  prov:wasGeneratedBy [ dcert:generationTechnique dcert:GT-AGG ] ; dcert:applicationScenario dcert:AS-PH .
"""

# Batches of at least this many descriptions are worth a process pool (fork costs ~50 ms a worker).
PARALLEL_MIN_DOCUMENTS = 64
_BATCH = None  # (engine, documents, kwargs), read by forked workers


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _parts_out(certified: Iterable[tuple[list[int], tuple]], progress: Callable[[int], None] | None) -> Iterator[Part]:
    """Each certified part (its descriptions, and `_certify_bin`'s results and triples) as a
    `Part`, the progress told as it comes out."""
    for part, (results, triples) in certified:
        if progress:
            progress(len(part))
        yield Part(results, triples)


def _part_count(descriptions: int, batch_size: int, workers: int) -> int:
    """How many parts a batch makes: of about `batch_size` descriptions, a multiple of `workers`
    (as `_pack` counts them)."""
    count = max(-(-descriptions // batch_size), workers)
    return count + -count % workers


def _pack(groups: list[list[int]], sizes: list[int], parts: int, workers: int) -> list[list[int]]:
    """The groups of descriptions packed into `parts` parts (a multiple of `workers`), largest first
    into the lightest part, then each in the order of the input."""
    count = max(parts, workers)
    count += -count % workers
    bins: list[list[int]] = [[] for _ in range(count)]
    lightest = [(0, n) for n in range(count)]  # a heap of (weight, bin)
    for group in sorted(groups, key=lambda grp: -sum(sizes[i] for i in grp)):
        weight, target = heapq.heappop(lightest)
        bins[target].extend(group)
        heapq.heappush(lightest, (weight + sum(sizes[i] for i in group), target))
    return [sorted(b) for b in bins if b]


def _kept(first: list[list[int]], groups: list[list[int]]) -> list[bool]:
    """Which parts started before the scan hold only whole groups (`_independent_groups`): the
    others' results could differ from the results of one part, and are dropped."""
    owner = {i: n for n, part in enumerate(first) for i in part}
    kept = [True] * len(first)
    for group in groups:
        owners = {owner.get(i) for i in group}
        if len(owners) > 1:  # the group straddles a first part's edge
            for n in owners - {None}:
                kept[n] = False
    return kept


def _certify_bin(indexes: list[int]):
    """Worker: certify some descriptions of the batch the parent left in `_BATCH` before forking."""
    engine, documents, kwargs = _BATCH
    with collector_paused():
        # in a function of its own: its graphs are unreferenced (garbage) when the pause ends
        return _certify_part(engine, [documents[i] for i in indexes], kwargs)


def _certify_part(engine: Engine, documents, kwargs) -> tuple[list, list]:
    graph, origin = _load_documents(documents, engine.max_bytes, engine.limits)
    run = engine.certify_graph(graph, origin, **kwargs)
    return run.results, list(run.result_graph)


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused while a part is certified, and run once, in full,
    at its end.

    A part makes hundreds of thousands of containers (index dicts, tuples, sets), nearly all alive
    until it ends. With the collector on, every 700 allocations start a collection that walks the
    young ones again, and the older generations are walked over and over as they grow: ≈ 30 % of a
    part's CPU, to find garbage that is only a few rdflib graphs (a graph and its namespace manager
    refer to each other, so their indexes wait for the collector). One full collection at the end
    frees them, and what earlier calls left (a run a caller dropped): with the collector's own
    schedule, nearly every allocation now falling in a pause, it would never run again and a
    long-lived process would grow call after call. It is cheap: the warm state is frozen
    (`Engine.warm`). A pause inside a pause (or under a caller that turned the collector off)
    leaves it as it was."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def _load_documents(documents, max_bytes: int, limits: InputLimits,
                    progress: Callable[[int], None] | None = None) -> tuple[Graph, dict]:
    """One graph of several descriptions (blank nodes kept apart), and each dataset's file."""
    graph, origin = Graph(store="SimpleMemory"), {}
    for name, data in documents:
        # the datasets come from the parser: rescanning the growing graph per document was quadratic
        for ds in parse_description(data, filename=name, max_bytes=max_bytes, into=graph, limits=limits).datasets:
            origin.setdefault(ds, name)  # a dataset typed again later stays with its first document
        if progress:
            progress(1)
    return graph, origin


def _scan(name: str, data: bytes, max_bytes: int, limits: InputLimits) -> tuple[set, set]:
    """The subject IRIs and object IRIs of a description, read with Oxigraph's fast parser only
    (the rdflib graph is built later, in the worker). Unreadable input raises the parser's error."""
    import pyoxigraph as ox

    from .parse import FORMATS, check_before_parsing, counted, format_for

    fmt = format_for(filename=name, data=data)
    check_before_parsing(data, fmt, name, limits)
    try:
        subjects, objects = set(), set()
        for quad in counted(ox.parse(data, format=FORMATS[fmt][0]), name, limits):
            if isinstance(quad.subject, ox.NamedNode):
                subjects.add(quad.subject.value)
            if isinstance(quad.object, ox.NamedNode):
                objects.add(quad.object.value)
        return subjects, objects
    except SyntaxError:
        parse_description(data, filename=name, max_bytes=max_bytes, limits=limits)  # raises the clear error
        raise


def _independent_groups(iris: list[tuple[set, set]]) -> list[list[int]]:
    """Indexes of the descriptions, grouped so that no IRI described (as a subject) in one group is
    mentioned in another: union-find over (subject IRIs, object IRIs) of each description."""
    parent = list(range(len(iris)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict = {}
    for i, (subjects, _) in enumerate(iris):
        for subject in subjects:
            j = owner.setdefault(subject, i)
            if j != i:
                parent[find(i)] = find(j)
    for i, (_, objects) in enumerate(iris):
        for obj in objects:
            j = owner.get(obj)
            if j is not None and j != i:
                parent[find(i)] = find(j)
    groups: dict = {}
    for i in range(len(iris)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _written_order(graph: Graph, origin: dict | None, ds) -> dict:
    """The order of codes in the document that describes `ds` (the only one, if origin is unknown)."""
    orders = document_order(graph)
    name = (origin or {}).get(ds)
    if name in orders:
        return orders[name]
    return next(iter(orders.values())) if len(orders) == 1 else {}


def _attribute(presented: Iterable, findings: list[Finding]) -> dict:
    """Findings by dataset: each belongs to the dataset it focuses on (derivecert.shacl has already
    moved the findings on a dataset's own quality measurements to the dataset). Only a node the
    description presents as a dataset (`a dcat:Dataset`) gets a result; a finding on any other node,
    such as a source typed only prov:Entity, is charged to no dataset (DOMAIN.md §4.1, A3)."""
    presented = set(presented)
    out: dict = {}
    for f in findings:
        if f.focus in presented:
            out.setdefault(f.focus, []).append(f)
    return out
