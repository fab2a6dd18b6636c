"""The catalog service: `Catalog` owns the search index, the write lock and the generation over a
backend that only stores (backends/base.py), and `file_submission` is the one filing use case
(备案, DOMAIN.md §5) that the API's `PUT /v1/institutions/{institution}/datasets` and the seeding
of a demo node both call, so both refuse, check and store the same way.

Over 400 lines: the catalog's transactions (replace, delete, bulk load, the index's rebuild) are
written here together, each next to the index change it must agree with."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ..filing import new_filing_number
from . import records
from .backends.base import CatalogStore, QueryOutcome
from .errors import ConflictError, StoreError, SubmissionRefused
from .index import FacetIndex
from .indexfile import IndexFile
from .ledger import FilingLedger, retire_filings_ops, supersede_ops
from .model import (
    IDX,
    STORABLE_VERDICTS,
    RecordSummary,
    dataset_key,
    graph_iri,
    institution_of_graph,
    is_key,
    now_utc,
    record_iri,
)
from .search import SearchQuery, SearchResult, parse_sparql_search, sparql_search
from .sparql import insert_data
from .submission import Submission, build_submission, check_description
from .text import TextIndex

log = logging.getLogger("derivecert.catalog")

#: submissions a transaction of `replace_many` at most: searches wait for the catalog's lock while
#: it is written (≈ 4 ms a document), so a batch of 100 from the API is two waits, not one of 0.4 s
GROUP_MAX = 50
#: a shared store's feed entries read again at every catch-up (`Catalog._catch_up`): a write on a
#: server that does not serialise writers takes its number when it reads the head and may commit
#: after writes numbered up to this many after it
FEED_WINDOW = 64
#: a shared store's head read again, a little later each time, when it names no generation or
#: one the feed does not name (`_catch_up`): Virtuoso's reads are not isolated from a commit under
#: way, so a read may see a write's new generation before its feed entry, or neither
TORN_READ_RETRIES = 3


class Catalog(FilingLedger):
    """The catalog over a backend: its operations, the search index, the lock that orders writes
    with the index's changes, and the generation (a token the store changes in the same
    transaction as every write, so an index can tell whether it still describes the store)."""

    def __init__(self, backend: CatalogStore) -> None:
        self.backend = backend
        self.index = FacetIndex()
        self._lock = threading.RLock()
        self._generation: str | None = None
        self._last_check = 0.0
        self._index_ready = False
        folder = backend.index_dir
        self._file = IndexFile(folder) if folder is not None else None
        self._warming: threading.Thread | None = None
        #: ranked text search (catalog/text.py), kept with the facet index after every transaction
        self.text = TextIndex(backend.text_path)
        #: the institutions of the node's settings (set by the app): their graphs are in the
        #: dataset of users' queries even before they file anything (`user_dataset`)
        self.institutions: set[str] = set()
        self.index_source = ""  # where the index came from: "file" (beside the store) or "store"
        # a shared store (other nodes write it): where the index is in the store's change feed,
        # (sequence number, that entry's generation), and the store's generation it last saw
        self._feed: tuple[int, str] = (0, "")
        self._synced: tuple[frozenset[str], int] | None = None  # (generations, head) last read
        self._applied: dict[str, int] = {}  # entries of the last FEED_WINDOW numbers applied
        self._feed_writes = 0  # this node's writes to the feed (it prunes the feed at some)
        self.rebuilds = 0  # full reads of the catalog (start without a file, feed out of reach)
        self.feed_applied = 0  # other writes applied from the feed instead

    # the backend's primitives, as callers of the catalog see them -----------------------------
    @property
    def kind(self) -> str:
        return self.backend.kind

    @property
    def path(self) -> Path | None:
        return getattr(self.backend, "path", None)

    def select(self, query: str, bindings: dict[str, Any] | None = None, *,
               timeout: float | None = None) -> list[dict[str, Any]]:
        return self.backend.select(query, bindings, timeout=timeout)

    def ask(self, query: str, bindings: dict[str, Any] | None = None) -> bool:
        return self.backend.ask(query, bindings)

    def construct(self, query: str, bindings: dict[str, Any] | None = None) -> list[ox.Triple]:
        return self.backend.construct(query, bindings)

    def update(self, update: str) -> None:
        self.backend.update(update)

    def load(self, graph: str, triples: list[ox.Triple]) -> None:
        self.backend.load(graph, triples)

    def export(self, graph: str) -> list[ox.Triple]:
        return self.backend.export(graph)

    def update_ops(self, ops: list[str]) -> None:
        """Operations as one transaction, as the backend makes it (atomic on Virtuoso: SQL)."""
        self.backend.update_ops(ops)

    def run_query(self, query: str, form: str, *, limit: int, timeout: float,
                  default_graphs: list[str] | None = None, named_graphs: list[str] | None = None) -> QueryOutcome:
        """A user's query over the dataset `user_dataset` decides."""
        default_graphs, named_graphs = self.user_dataset(default_graphs, named_graphs)
        return self.backend.run_query(query, form, limit=limit, timeout=timeout,
                                      default_graphs=default_graphs, named_graphs=named_graphs)

    def user_dataset(self, default_graphs: list[str] | None,
                     named_graphs: list[str] | None) -> tuple[list[str], list[str]]:
        """The dataset of a user's query (`run_query`): the default graph is the union of the
        institutions' graphs and the named graphs are those graphs, unless the request or the
        query names some (FROM, FROM NAMED, default-graph-uri, named-graph-uri), which are then
        the dataset, kept only where they are institutions' graphs.  The
        node's own graphs (`_meta`, the ledger), a server's system graphs and any other graph
        in the store never show; a graph that is not the catalog's reads as an empty one.  The
        institutions are those of the settings (`institutions`) and of the search index (records
        checked against their graph, which on a shared store other nodes may have written)."""
        filed = {i for i, mask in self.ensure_index().masks["institution"].items() if mask}
        catalog = sorted(graph_iri(i) for i in filed | self.institutions)
        if not default_graphs and not named_graphs:
            return catalog, catalog
        # as the SPARQL Protocol says: a dataset that is named is exactly what is named
        allowed = set(catalog)
        return ([g for g in default_graphs or [] if g in allowed], [g for g in named_graphs or [] if g in allowed])

    def warm(self) -> None:
        """Prepare for the first queries: the search index now, the backend's query workers in
        the background (each imports Python for a second or more; searches and `/healthz` do not
        need them, and a query that comes first starts its own)."""
        self.ensure_index()
        if self._warming is None:
            self._warming = threading.Thread(target=self._warm_backend, name="derivecert-warm", daemon=True)
            self._warming.start()

    def _warm_backend(self) -> None:
        self.index.prepare(background=True)  # the index's maps by key, form and filing number (writes, lookups)
        try:
            self.backend.warm()
        except Exception as exc:  # the first query reports it (or falls back: querypool)
            log.warning("query workers not started in advance: %s", exc)

    def flush(self) -> None:
        """Write out what the backend buffers in memory (bulk loads call it after each batch)."""
        self.backend.flush()

    def close(self) -> None:
        if self._warming is not None:
            self._warming.join(timeout=120)
        with self._lock:
            if self._file is not None and self._index_ready and self._file.lines:
                self._file.save(self.index, self._generation)  # the next start reads no journal
            if self._file is not None and self._index_ready and self.backend._shared():
                self._save_applied()
            self.text.close()
        self.backend.close()

    # the index and the generation -------------------------------------------------------------
    def ensure_index(self) -> FacetIndex:
        """The search index, rebuilt from the store at first use or when another writer changed
        the catalog (checked at most every `index_check_interval_s` seconds of the backend)."""
        with self._lock:
            if not self._index_ready:
                self._open_index()
            elif self.backend.index_check_interval_s >= 0 and self.backend._shared():
                now = time.monotonic()
                if now - self._last_check >= self.backend.index_check_interval_s:
                    self._last_check = now
                    self._catch_up()
            return self.index

    def read_generation(self) -> str | None:
        rows = self.backend.select(records.Q_GENERATION)
        return rows[0]["x"].value if rows else None

    @property
    def _known(self) -> frozenset[str]:
        """The store's generations at the last catch-up (or rebuild, or as the index file says)."""
        return self._synced[0] if self._synced is not None else frozenset()

    def _read_head(self) -> tuple[frozenset[str], int]:
        """The store's generations (one; two after writers raced on `oxigraph serve`, until the
        next write) and the head of its change feed (0: no write kept a feed)."""
        rows = self.backend.select(records.Q_HEAD)
        # a row without the generation: Virtuoso answered one while writers were replacing it
        return (frozenset(r["x"].value for r in rows if "x" in r),
                max((_integer(r.get("head")) for r in rows), default=0))

    def _feed_window(self, low: int, head: int) -> dict[str, tuple[int, frozenset[str]]]:
        """The feed's entries numbered `low` to `head`: generation -> (number, the generations
        it replaced)."""
        rows = self.backend.select(records.q_feed(list(range(low, head + 1)))) if head >= low else []
        return {row["gen"].value: (_integer(row["seq"]), frozenset(row["prev"].value.split())) for row in rows}

    def _catch_up(self, retries: int = TORN_READ_RETRIES) -> None:
        """A shared store: apply the writes made since the index's position in the change feed,
        reading back only the records they changed; rebuild the index from the store when the
        feed does not reach back to that position (pruned, a store restored or replaced) or does
        not name the store's generation (a writer that keeps no feed: an older node).

        Writers on `oxigraph serve` are not serialised (two concurrent writes may read the same
        head and take one number; a write may commit after a later-numbered one), so the
        entries of the last `FEED_WINDOW` numbers are read again at each catch-up and those not
        yet applied are applied (DESIGN.md "Remote stores")."""
        generations, head = self._read_head()
        if not generations and self._known and retries:  # a torn read, or a store cleared since
            time.sleep(0.05 * (TORN_READ_RETRIES + 1 - retries))
            self._catch_up(retries - 1)
            return
        if (generations, head) == self._synced:
            return
        at, at_generation = self._feed
        low = max(at - FEED_WINDOW + 1, 1)
        if head < at or head - low >= self.backend.feed_keep:
            self.rebuild_index()  # a store restored or replaced, or the feed pruned past the index
            return
        entries = self._feed_window(low, head)
        window = {g: n for g, (n, _) in entries.items()}
        if at > 0 and window.get(at_generation) != at:
            self.rebuild_index()  # the index's position is not in the feed: another history
            return
        known = window.keys() | self._applied.keys() | self._known
        if not generations <= known:
            if retries:  # a write between the two reads or under way, or a writer that keeps no feed
                if retries < TORN_READ_RETRIES:  # (the first time at once: most often a write between the reads)
                    time.sleep(0.05 * (TORN_READ_RETRIES - retries))
                self._catch_up(retries - 1)
            else:
                self.rebuild_index()
            return
        if any(not prev <= known for g, (n, prev) in entries.items() if n > at or g not in self._applied):
            self.rebuild_index()  # an entry replacing a generation no entry names: a write without a feed before it
            return
        new = {g: n for g, n in window.items() if g not in self._applied}
        keys: set[str] = set()
        if new:
            rows = self.backend.select(records.q_feed(sorted(set(new.values())), keys=True))
            keys = {k for row in rows if row["gen"].value in new for k in row["keys"].value.split()}
        if "*" in keys:
            self.rebuild_index()  # a change too large for the feed (a bulk load's batch)
            return
        if keys:
            self._apply(sorted(k for k in keys if is_key(k)), _head_position(window, head), generations)
        else:  # only this node's own writes: the position moves, the file's token stays (a start
            self._feed = _head_position(window, head)  # from the file reads those writes back)
        self._applied = {g: n for g, n in {**self._applied, **window}.items() if n > head - FEED_WINDOW}
        self._synced = generations, head
        self.feed_applied += len(new)

    def _apply(self, keys: list[str], position: tuple[int, str], generations: frozenset[str]) -> None:
        """Read back the records of `keys` (as they are now) into the index, the text index and
        the index file: a key without a valid record is removed."""
        found: list[RecordSummary] = []
        for i in range(0, len(keys), 500):
            for row in self.backend.select(records.q_summaries(keys[i:i + 500]), timeout=self.backend.scan_timeout):
                text = row.get("text")
                entry = records.stored_summary(row["g"], row["rec"], row["summary"],
                                               text.value if isinstance(text, ox.Literal) else "")
                if entry is not None:
                    found.append(entry)
        added = records._first_filed(found)
        removed = sorted(set(keys) - {e.key for e in added})
        token = _feed_token(position, generations)
        if self._file is not None:
            self._file.begin(self._generation, token, added, removed)
        for key in removed:
            self.index.remove(key)
        for entry in added:
            self.index.add(entry)
        self.text.update(self.index, added, token)
        self._generation, self._feed = token, position
        if self._file is not None and self._file.due():
            self._file.save(self.index, token)

    def _summaries(self) -> list[RecordSummary]:
        """Every record the store could have written (`valid_summary`), with its search text."""
        texts = {(g, s): o.value for g, s, o in self.backend.scan(IDX + "text") if isinstance(o, ox.Literal)}
        found = (records.stored_summary(g, s, o, texts.get((g, s), "")) for g, s, o in self.backend.scan(IDX + "summary"))
        return [entry for entry in found if entry is not None]

    def _open_index(self) -> None:
        """The index from its file beside the store when it describes the store's generation
        (a start in seconds at a million datasets), else rebuilt from the store."""
        if self.backend._shared():
            self._open_shared()
            return
        if self._file is None:
            self.rebuild_index()
            return
        generation = self.read_generation()
        index = self._file.open(generation)
        if index is None:
            self.rebuild_index()
            return
        self.text.sync(generation, index)  # rebuilt only if of another generation or numbering
        self.index, self._generation, self._index_ready = index, generation, True
        self.index_source = "file"
        self._last_check = time.monotonic()

    def _open_shared(self) -> None:
        """A shared store: the index from the node's own file at the position it was saved at,
        then the writes since then from the store's change feed (`_catch_up`)."""
        opened = self._file.open_latest() if self._file is not None else None
        position = _feed_position(opened[1]) if opened is not None else None
        if opened is None or position is None:
            self.rebuild_index()
            return
        index, token = opened
        self.text.sync(token, index)  # rebuilt only if of another position or numbering
        self.index, self._generation, self._feed = index, token, position
        self._synced, self._applied = _feed_synced(token), self._load_applied(token)
        self._index_ready, self.index_source = True, "file"
        self._last_check = time.monotonic()
        self._catch_up()

    def _save_applied(self) -> None:
        """At close: which entries of the feed window the index at its token has applied, so
        the next start reads back only the writes after its position (`_load_applied`)."""
        assert self._file is not None
        path = self._file.folder / "applied.json"
        tmp = path.with_name("applied.json.tmp")
        tmp.write_text(json.dumps({"token": self._generation, "applied": self._applied}))
        os.replace(tmp, path)

    def _load_applied(self, token: str | None) -> dict[str, int]:
        """The window's entries applied at `token`, as saved at close; after a crash (the file
        at another token) none: the entries of the window before the position are read again
        (a write committed late on a server that does not serialise writers may be among them)."""
        assert self._file is not None
        try:
            saved = json.loads((self._file.folder / "applied.json").read_text())
            if saved["token"] == token:
                return {str(g): int(n) for g, n in saved["applied"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        return {}

    def rebuild_index(self) -> None:
        """Read every record back into the search index, accepting a record only where the
        store could have written it (`valid_summary`), and keep it beside the store."""
        with self._lock:
            shared = self.backend._shared()
            if shared:  # the feed's head before the records: what is written after, the next catch-up reads
                generations, head = self._read_head()
                window = {g: n for g, (n, _) in self._feed_window(max(head - FEED_WINDOW + 1, 1), head).items()}
                position = _head_position(window, head)
                generation: str | None = _feed_token(position, generations)
            else:
                generation = self.read_generation()
            self.rebuilds += 1
            entries = records._first_filed(self._summaries())
            index = FacetIndex()
            index.add_many(entries)
            self.text.sync(generation, index)
            self.index = index
            self._generation = generation
            self._index_ready = True
            self.index_source = "store"
            self._last_check = time.monotonic()
            if shared:
                self._feed, self._synced, self._applied = position, (generations, head), window
            if self._file is not None:
                self._file.save(index, generation)

    def _commit(self, ops: list[str], add: list[RecordSummary], remove: list[str]) -> str:
        """Run the write's operations and a new generation as one transaction (the backend's
        `update_ops`: atomic on Virtuoso too), the index's change journaled before it
        (`indexfile`); the new generation.  The caller then changes the index in memory as
        journaled, and the text index (`_committed`)."""
        generation = uuid.uuid4().hex
        # a shared store: journaled once committed (`_committed`); a crash before that leaves
        # the write in the feed after the file's position, read back at the next start
        journal = self._file if not self.backend._shared() else None
        undo = journal.begin(self._generation, generation, add, remove) if journal is not None else None
        try:
            self.backend.update_ops(ops + self._generation_ops(generation, [e.key for e in add] + remove))
        except BaseException:
            if journal is not None and undo is not None:
                journal.undo(undo)
            raise
        return generation

    def _committed(self, generation: str, add: list[RecordSummary], remove: list[str]) -> None:
        """After the store's transaction and the index's change: the text index, then the
        generation (a text index left behind by a crash here is rebuilt at the next open)."""
        if self.backend._shared():
            # the write is in the store's feed: journaled now, at the index's feed position
            # (a token of its own), and skipped by the next catch-up (its records are in memory)
            token = _feed_token(self._feed, frozenset([generation]))
            if self._file is not None:
                self._file.begin(self._generation, token, add, remove)
            generation = token
        self.text.update(self.index, add, generation)
        self._generation = generation
        if self._file is not None and self._file.due():
            self._file.save(self.index, generation)

    def _generation_ops(self, generation: str, keys: list[str]) -> list[str]:
        """A write's new generation and, on a shared store, its entry in the change feed."""
        ops = records._generation_ops(generation)
        if self.backend._shared():  # the feed's entry first: it reads the generation it replaces
            self._feed_writes += 1
            prune = self._feed_writes % records.FEED_PRUNE_EVERY == 1
            ops = records._feed_ops(generation, keys, self.backend.feed_keep, prune) + ops
            self._applied[generation] = self._feed[0] + 1  # this node's own: never read back
        return ops

    # reads --------------------------------------------------------------------------------------
    def locate(self, key: str) -> str | None:
        """The institution that filed the dataset of this key (the index is the authority:
        it holds only records validated against their graph)."""
        if not is_key(key):
            return None
        entry = self.ensure_index().get(key)
        return entry.institution if entry is not None else None

    def holder_of(self, dataset: str, institution: str) -> RecordSummary | None:
        """The record of another institution than `institution` filing this dataset IRI or a
        look-alike of it (`iri_lookalike_form`), if any."""
        return next((e for e in self.ensure_index().lookalikes(dataset) if e.institution != institution), None)

    def filing_number_exists(self, number: str) -> bool:
        return self.backend.ask(records.Q_FILING_NUMBER, {"number": ox.Literal(number)})

    def new_filing_number(self, prefix: str = "DC", today: date | None = None, taken: set[str] | None = None) -> str:
        """A filing number (`derivecert.filing.new_filing_number`) not yet in the store nor in `taken`."""
        for _ in range(20):
            number = new_filing_number(today or now_utc().date(), prefix)
            if (taken is None or number not in taken) and not self.filing_number_exists(number):
                if taken is not None:
                    taken.add(number)
                return number
        raise StoreError("could not draw an unused filing number")

    def search(self, query: SearchQuery) -> SearchResult:
        """Faceted search; words in `query.text` are found by the ranked text index."""
        index = self.ensure_index()
        return index.search(query, text=self.text.search(query.text) if query.text.strip() else None)

    def search_sparql(self, query: SearchQuery) -> SearchResult:
        """The same search in SPARQL (what a plain-SPARQL peer answers); for tests and bench."""
        texts = sparql_search(query)
        as_json = lambda rows: [{k: {"value": v.value} for k, v in r.items()} for r in rows]  # noqa: E731
        return parse_sparql_search(
            query, as_json(self.backend.select(texts["page"])), as_json(self.backend.select(texts["total"])),
            as_json(self.backend.select(texts["facets"])),
        )

    def _owner_bindings(self, key: str) -> dict[str, ox.NamedNode] | None:
        """The record and its owner's graph, or None for a key that is not filed."""
        owner = self.locate(key)
        if owner is None:
            return None
        return {"rec": ox.NamedNode(record_iri(key)), "g": ox.NamedNode(graph_iri(owner))}

    def record(self, key: str) -> dict[str, Any] | None:
        """The stored record: institution, §6 result, summary, dates."""
        bindings = self._owner_bindings(key)
        rows = self.backend.select(records.Q_RECORD, bindings) if bindings else []
        if not rows or bindings is None:
            return None
        row = rows[0]
        return {
            "key": key,
            "institution": institution_of_graph(bindings["g"].value),
            "result": json.loads(row["result"].value),
            "summary": json.loads(row["summary"].value),
            "issued": row["issued"].value,
            "modified": row["modified"].value,
        }

    def dataset_triples(self, key: str) -> list[ox.Triple]:
        """The description, result and filing of a stored dataset, with its catalog record
        (without the store's bookkeeping: parts, texts and JSON copies)."""
        bindings = self._owner_bindings(key)
        if bindings is None:
            return []
        owned = self._owned([key], bindings["g"])
        triples = self.backend.construct(records.Q_DATASET, bindings)
        return triples + (self.backend.construct(records.q_subjects(owned), {"g": bindings["g"]}) if owned else [])

    def _owned(self, keys: list[str], graph: ox.NamedNode) -> set[str]:
        """The subjects the records' `idx:owned` literals list in `graph` (read under the lock,
        before the transaction that deletes them)."""
        return records.owned_iris(self.backend.select(records.q_owned(keys), {"g": graph})) if keys else set()

    def filed_by(self, number: str) -> str | None:
        entry = self.ensure_index().find_filing(number)
        return entry.institution if entry is not None else None

    def find_filing(self, number: str) -> str | None:
        """The dataset key of a filing number."""
        entry = self.ensure_index().find_filing(number)
        return entry.key if entry is not None else None

    def institution_counts(self) -> dict[str, int]:
        index = self.ensure_index()
        return {inst: m.bit_count() for inst, m in index.masks["institution"].items()}

    def count(self) -> int:
        return len(self.ensure_index())

    # writes -------------------------------------------------------------------------------------
    def replace(self, submission: Submission) -> None:
        """Store a submission, replacing earlier versions of its datasets, in one transaction
        scoped to the institution's graph.  A dataset filed by another institution, under the
        same IRI or a look-alike of it, is a `ConflictError`."""
        refused = self.replace_many([submission])[0]
        if refused is not None:
            raise refused

    def replace_many(self, submissions: list[Submission]) -> list[StoreError | None]:
        """Store submissions as `replace` stores each, in as few transactions as keep every
        outcome that of a `replace` of it alone (a bulk load's batch: one transaction, journal
        line and text-index write instead of one each).  A new transaction starts where a
        submission names a dataset an earlier one names, or another institution, or after `GROUP_MAX`.  Per submission,
        in order: None (stored) or why it was refused alone (`ConflictError`, or the store's
        refusal of its write: a group the store refuses is written again one by one)."""
        out: list[StoreError | None] = []
        with self._lock:
            index = self.ensure_index()
            group: list[tuple[int, Submission]] = []  # (its place in `out`, the submission)
            for i, sub in enumerate(submissions):
                if group and (len(group) >= GROUP_MAX or sub.institution != group[0][1].institution
                              or not set(sub.keys).isdisjoint(k for _, g in group for k in g.keys)):
                    self._write_group(group, out)  # first: the index then holds what this one is checked against
                    group = []
                conflict = next((ConflictError(rec.dataset, holder) for rec in sub.records
                                 if (holder := self.holder_of(rec.dataset, sub.institution)) is not None), None)
                out.append(conflict)
                if conflict is not None or not sub.records:
                    continue
                for rec in sub.records:
                    old = index.get(rec.key)
                    if old is not None:
                        rec.issued = old.issued  # first filing date survives new versions
                group.append((i, sub))
            self._write_group(group, out)
        return out

    def _write_group(self, group: list[tuple[int, Submission]], out: list[StoreError | None]) -> None:
        """One transaction for submissions of one institution naming distinct datasets."""
        if not group:
            return
        subs = [sub for _, sub in group]
        institution = subs[0].institution
        keys = [k for sub in subs for k in sub.keys]
        added = [rec for sub in subs for rec in sub.records]
        when = now_utc().isoformat().replace("+00:00", "Z")
        replaced = [k for k in keys if self.index.get(k) is not None]
        ops = retire_filings_ops(replaced, institution) if replaced else []
        ops += records._delete_records_ops(keys, institution, self._owned(replaced, ox.NamedNode(graph_iri(institution))))
        # an INSERT DATA a submission, not one for the group: Virtuoso's SPARQL compiler runs out of
        # memory past a few thousand triples in one operation (the operations stay one transaction)
        ops.extend(insert_data(graph_iri(institution), sub.all_triples()) for sub in subs)
        for sub in subs:
            ops.extend(supersede_ops(sub, when))
        try:
            generation = self._commit(ops, added, [])
        except StoreError as exc:
            if exc.status >= 500 or len(group) == 1:
                raise
            for i, sub in group:  # the store refused one of them: find which, each alone
                try:
                    self._write_group([(i, sub)], out)
                except StoreError as one:
                    if one.status >= 500:
                        raise
                    out[i] = one
            return
        for rec in added:
            self.index.add(rec)
        self._committed(generation, added, keys)

    def delete(self, key: str, institution: str | None = None) -> bool:
        """Remove a dataset's record, description, result and filing from the graph of the
        institution that filed it (its shared subjects stay while another record lists them).
        With `institution`, only a dataset filed by that institution is removed."""
        with self._lock:
            owner = self.locate(key)
            if owner is None or (institution is not None and owner != institution):
                return False
            ops = retire_filings_ops([key], owner) + records._delete_records_ops([key], owner, self._owned([key], ox.NamedNode(graph_iri(owner))))
            generation = self._commit(ops, [], [key])
            self.index.remove(key)
            self._committed(generation, [], [key])
            return True

    def bulk_add(self, submissions: list[Submission]) -> None:
        """Fast load of new datasets (no replacement): for seeding and benchmarks."""
        with self._lock:
            self.ensure_index()
            by_graph: dict[str, list[ox.Triple]] = {}
            for sub in submissions:
                by_graph.setdefault(graph_iri(sub.institution), []).extend(sub.all_triples())
            # loads are not one transaction: until the last, the store's generation is one no
            # journal reaches, so a crash among them makes the next start rebuild the index
            # (on a shared store, with a feed entry of the keys: a crash among the loads leaves
            # other nodes reading back what was loaded)
            added = [r for sub in submissions for r in sub.records]
            self.backend.update_ops(self._generation_ops("unsettled-" + uuid.uuid4().hex, [r.key for r in added]))
            for graph, triples in by_graph.items():
                self.backend.load(graph, triples)
            generation = self._commit([], added, [])
            self.index.add_many(added)
            self._committed(generation, added, [])


def _integer(term: Any) -> int:
    """A sequence number read from the store (0: none, or not one this node wrote)."""
    try:
        return int(term.value) if isinstance(term, ox.Literal) else 0
    except ValueError:
        return 0


def _feed_token(position: tuple[int, str], generations: frozenset[str]) -> str:
    """What the index file and the text index record as their generation on a shared store:
    the feed position and the store's generation then (a rebuild after a write that kept no
    feed is another token at the same position)."""
    return f"feed/{position[0]}/{position[1]}/{'+'.join(sorted(generations))}"  # a "/" in them: rebuilt at open


def _feed_synced(token: str | None) -> tuple[frozenset[str], int] | None:
    """The store's (generations, head) when the token was written, if it says: a store that
    still has them has not been written since (every write changes the generation)."""
    parts = (token or "").split("/")
    return (frozenset(parts[3].split("+")), int(parts[1])) if _feed_position(token) and parts[3] else None


def _head_position(window: dict[str, int], head: int) -> tuple[int, str]:
    """(head, the generation of an entry at the head): the entry a later catch-up checks is
    still there ("" when the feed has none, or none yet)."""
    return head, min((g for g, n in window.items() if n == head), default="")


def _feed_position(token: str | None) -> tuple[int, str] | None:
    parts = (token or "").split("/")
    if len(parts) != 4 or parts[0] != "feed" or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[2]


def open_catalog(backend: CatalogStore | Catalog) -> Catalog:
    """A catalog over a backend (a catalog is returned as it is)."""
    return backend if isinstance(backend, Catalog) else Catalog(backend)


@dataclass
class FilingOutcome:
    """What a filing stored (or, for a dry run, would store): the §6 results and, per filed
    dataset, its key, verdict, filing, whether it replaced an earlier version, and its link."""

    institution: str
    results: list[dict[str, Any]]
    datasets: list[dict[str, Any]]
    stored: bool


def file_submission(store: Catalog, institution: str, run: Any, *, dry_run: bool = False) -> FilingOutcome:
    """File the certified and conditional datasets of an engine run (`derivecert.engine.Run`) for
    `institution`, replacing its earlier versions of them, in one transaction.

    Refused, nothing stored: reserved terms (`ReservedTermError`, 400), any dataset rejected or
    nothing derived or a dataset without an IRI (`SubmissionRefused`, 422), a dataset filed by
    another institution (`ConflictError`, 409, raised by `Catalog.replace`; checked here
    only for a dry run, which does not reach it)."""
    check_description(run.description)  # the node's own vocabulary: refused before any verdict
    outcome = judge(store, institution, [r.to_dict() for r in run.results], stored=not dry_run)
    if dry_run:
        for d in outcome.datasets:
            holder = store.holder_of(d["dataset"], institution)
            if holder is not None:
                raise ConflictError(d["dataset"], holder)
    else:
        store.replace(build_submission(institution, run.description, run.result_graph, outcome.results))
    return outcome


def judge(store: Catalog, institution: str, results: list[dict[str, Any]], *, stored: bool = True) -> FilingOutcome:
    """What the §6 results of a description whose terms are checked file, or why the verdicts
    refuse it (the refusals of `file_submission` but another institution's dataset, which the
    write checks): nothing is written here, so a bulk load judges the results its workers send
    and writes many documents' submissions together (`Catalog.replace_many`)."""
    rejected = [r for r in results if r["verdict"] == "rejected"]
    storable = [r for r in results if r["verdict"] in STORABLE_VERDICTS]
    if rejected:
        raise SubmissionRefused(
            "certification-rejected", f"{len(rejected)} of {len(results)} dataset(s) rejected; nothing stored",
            title="Certification rejected", hint="fix the Violation findings and submit again",
            results=results, findings=[{"dataset": r["dataset"], **f} for r in rejected for f in r["findings"]],
        )
    if not storable:
        raise SubmissionRefused(
            "nothing-to-file", "no dataset of the description is derived data to certify; nothing stored",
            title="Nothing to file",
            hint="a derived dataset names its sources (prov:wasDerivedFrom) and a derivation technique",
            results=results,
        )
    if any(r["dataset"].startswith("_:") for r in storable):
        raise SubmissionRefused("dataset-needs-iri", "a filed dataset needs an IRI, not a blank node",
                                hint="give each dcat:Dataset an IRI", results=results)
    datasets = []
    for r in storable:
        key = dataset_key(r["dataset"])
        datasets.append({
            "id": key, "dataset": r["dataset"], "verdict": r["verdict"], "filing": r["filing"],
            "replaced": store.locate(key) is not None, "links": {"self": f"/v1/datasets/{key}"},
        })
    return FilingOutcome(institution=institution, results=results, datasets=datasets, stored=stored)
