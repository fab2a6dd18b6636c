"""The search index kept beside the store, so a node starts in seconds instead of reading every
record back (`<store>.index/`: a snapshot and a write-ahead journal).

The store's generation (a token every write changes in its own transaction) says which index
describes the store.  A write first appends to the journal, and syncs, the change it is about
to make to the index, tagged with the generation before and after it; then it writes the store.
Whatever the moment a crash comes:

* before the journal line is whole: the store is unchanged, the torn line is ignored;
* after it, before or during the store's transaction: the store still has the old generation,
  so the line (whose generation the store never reached) is not replayed;
* after the store's transaction: the store has the line's generation, so the line is replayed.

Opening replays the snapshot's lines up to the store's generation and cuts any line after it;
if that generation is not reached (the store was written by something else: an older node, a
restore from backup), the index is rebuilt from the store, as before this file existed.  The
journal is folded into a new snapshot (written to a temporary file, synced, renamed) at close and
every `FOLD_AFTER` writes, never on the way to answering the first request.

A node over a shared remote store keeps the same files in its own folder (`store.index_dir`),
tagged with its position in the store's change feed instead (`Catalog._catch_up`): it opens
them as far as they go (`open_latest`) and reads what the feed says changed since; its own
writes are journaled after their transaction, since the feed, not the file, says what was committed.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import struct
from pathlib import Path

from .index import FORMAT, FacetIndex, encode
from .model import RecordSummary

log = logging.getLogger("derivecert.catalog")

#: fold the journal into a new snapshot after this many lines (at a million datasets a snapshot
#: takes about a second to write, so a write pays it at most once in this many)
FOLD_AFTER = 5000
MAGIC = FORMAT.encode() + b"\n"  # the snapshot's first line


class IndexFile:
    """`<store>.index/`: ``snapshot`` (a line naming its format, a line with its generation, the length of `FacetIndex.dump`'s
    meta as 8 bytes, the meta, then the records' buffer, read as a memory map) and
    ``journal`` (one JSON line a write: ``{"prev", "gen", "add": [record...], "remove": [key...]}``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.snapshot = folder / "snapshot"
        self.journal = folder / "journal"
        self.lines = 0  # journal lines since the snapshot

    def open(self, generation: str | None) -> FacetIndex | None:
        """The index of the store at `generation`, or None when the files cannot give it."""
        opened = self._replay(generation, latest=False)
        return opened[0] if opened is not None else None

    def open_latest(self) -> tuple[FacetIndex, str | None] | None:
        """The index as far as the snapshot and its journal go, and the token it is at (a node
        over a shared store: the position in the store's change feed, `Catalog._catch_up`),
        or None when the files cannot give one."""
        return self._replay(None, latest=True)

    def _replay(self, generation: str | None, *, latest: bool) -> tuple[FacetIndex, str | None] | None:
        """The snapshot and its journal's lines up to `generation` (`latest`: every whole line)."""
        try:
            with self.snapshot.open("rb") as f:
                if f.readline() != MAGIC:
                    raise ValueError("not a facet index file of this version")
                saved = f.readline().decode().strip()
                (size,) = struct.unpack("<Q", f.read(8))
                end = os.fstat(f.fileno()).st_size
                if size > end - f.tell():
                    raise ValueError("the facet index file is cut short")
                meta = f.read(size)
                start = f.tell()
                # the records stay on disk until read (the page cache keeps the hot ones)
                records = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))[start:] if end > start else b""
                index = FacetIndex.load(meta, records)
        except (OSError, ValueError, UnicodeDecodeError, struct.error) as exc:
            if self.snapshot.exists():
                log.warning("search index %s unreadable (%s): rebuilding it from the store", self.snapshot, exc)
            return None
        current = saved or None
        try:
            lines = self.journal.read_bytes().splitlines()
        except FileNotFoundError:
            lines = []
        kept, size = 0, 0  # lines and bytes of the journal up to the store's generation
        end = 0  # bytes of the journal up to the end of this line
        for n, raw in enumerate(lines, 1):
            if current == generation and not latest:
                break
            end += len(raw) + 1
            try:
                line = json.loads(raw)
            except ValueError:
                break  # torn by a crash: the store was never written after it
            if line.get("prev") != current:
                continue  # folded into the snapshot already (a crash between its rename and the reset)
            for key in line.get("remove", []):
                index.remove(key)
            for data in line.get("add", []):
                index.add(RecordSummary.from_json(data, text=data.get("text") or ""))
            current = line.get("gen")
            kept, size = n, end
        if current != generation and not latest:
            log.warning("search index %s is of another generation than the store: rebuilding it", self.folder)
            return None
        if kept < len(lines):  # a line the store never reached: cut it, or a later write with
            with self.journal.open("r+b") as f:  # the same generation before it would replay it
                f.truncate(size)
                os.fsync(f.fileno())
        self.lines = kept
        return index, current

    def begin(self, prev: str | None, generation: str, add: list[RecordSummary], remove: list[str]) -> int:
        """Journal a write before the store is written; the journal's size before it (for `undo`)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        # the records as the index encodes them (compact JSON objects, one line), spliced in
        # rather than decoded and encoded again
        head = json.dumps({"prev": prev, "gen": generation, "remove": remove},
                          ensure_ascii=False, separators=(",", ":")).encode()
        line = head[:-1] + b',"add":[' + b",".join(encode(r) for r in add) + b"]}\n"
        fd = os.open(self.journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            size = os.fstat(fd).st_size
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.lines += 1
        return size

    def undo(self, size: int) -> None:
        """Drop the line `begin` wrote: the store's transaction failed."""
        with self.journal.open("r+b") as f:
            f.truncate(size)
            os.fsync(f.fileno())
        self.lines -= 1

    def due(self) -> bool:
        return self.lines >= FOLD_AFTER

    def save(self, index: FacetIndex, generation: str | None) -> None:
        """Write a snapshot of `index` at `generation` and empty the journal."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.snapshot.with_name("snapshot.tmp")
        meta, records = index.dump()
        with tmp.open("wb") as f:
            f.write(MAGIC)
            f.write((generation or "").encode() + b"\n")
            f.write(struct.pack("<Q", len(meta)))
            f.write(meta)
            f.write(records)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.snapshot)
        with self.journal.open("wb") as f:  # after the rename: a crash between keeps a journal the snapshot has
            os.fsync(f.fileno())
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self.lines = 0

