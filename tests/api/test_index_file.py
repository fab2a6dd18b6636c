"""The search index kept beside the store (issue 15, `derivecert.catalog.indexfile`): a reopened
store reads its index from the file, and that index always equals the records on disk, after a
SIGKILL in the middle of writes, a failed write, a torn journal, or a store written without it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from derivecert.catalog import Catalog, EmbeddedStore, SearchQuery, build_submission, dataset_key, records
from derivecert.catalog import indexfile
from derivecert.catalog.index import FacetIndex, encode

from .fakes import fake_run
from .servers import free_port

WRITER = str(Path(__file__).with_name("writer.py"))
EVERYTHING = SearchQuery(limit=10**6)


def open_catalog(path: Path) -> Catalog:
    return Catalog(EmbeddedStore(path, query_processes=0))


def assert_index_equals_records(catalog: Catalog) -> None:
    """The catalog's index holds exactly what a rebuild from the records on disk holds."""
    rebuilt = FacetIndex()
    rebuilt.add_many(records._first_filed(catalog._summaries()))
    index = catalog.ensure_index()
    assert sorted(map(encode, index.records())) == sorted(map(encode, rebuilt.records()))
    assert index.search(EVERYTHING).facets == rebuilt.search(EVERYTHING).facets
    assert index.by_filing == rebuilt.by_filing and index.by_form == rebuilt.by_form


def assert_reopens(path: Path, count: int, source: str = "file") -> None:
    """The store opened again (a node starting after a crash or a close): its index holds `count`
    records, was read from `source` ("file": the index file; "store": rebuilt from the records),
    and equals the records on disk."""
    reopened = open_catalog(path)
    try:
        assert reopened.count() == count and reopened.index_source == source
        assert_index_equals_records(reopened)
    finally:
        reopened.close()


def write(catalog: Catalog, i: int, target: int | None = None, institution: str = "hospital-a") -> None:
    target = i if target is None else target
    g, rg, results = fake_run(f"https://x.example.org/ds/{target}", title=f"version {i}",
                              filing=f"DC-20250101-T{i:05d}")
    catalog.replace(build_submission(institution, g, rg, results))


@pytest.mark.durability
@pytest.mark.parametrize("fold_after", [5000, 7], ids=["journal", "folding"])
def test_sigkill_during_writes_leaves_index_and_records_agreeing(tmp_path, fold_after):
    path = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, WRITER, "embedded", str(path), "1", "100000", "5", str(fold_after)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acked = 0
    while acked < 120:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()[-3000:]
        acked += 1
    proc.kill()  # SIGKILL mid-write: the writer never pauses between writes
    acked += len(proc.stdout.read().splitlines())
    proc.wait(timeout=10)
    proc.stdout.close()
    proc.stderr.close()

    catalog = open_catalog(path)
    try:
        catalog.ensure_index()
        assert catalog.index_source == "file"  # read beside the store, not rebuilt
        assert_index_equals_records(catalog)
        assert catalog.count() >= acked - acked // 5  # every fifth write replaces an earlier one
    finally:
        catalog.close()
    again = open_catalog(path)  # the journal was folded at open: a second start reads the snapshot
    try:
        again.ensure_index()
        assert again.index_source == "file" and again._file is not None and again._file.lines == 0
        assert_index_equals_records(again)
    finally:
        again.close()


def test_writes_replacements_and_deletes_survive_a_crash_without_close(tmp_path, monkeypatch):
    monkeypatch.setattr(indexfile, "FOLD_AFTER", 4)
    catalog = open_catalog(tmp_path / "store")
    for i in range(12):
        write(catalog, i, target=i % 8, institution="hospital-a" if i % 8 < 5 else "hospital-b")
    catalog.delete(dataset_key("https://x.example.org/ds/2"))
    catalog.backend.close()  # a crash: the index is never saved at close
    reopened = open_catalog(tmp_path / "store")
    try:
        assert reopened.count() == 7 and reopened.index_source == "file"
        assert reopened.find_filing("DC-20250101-T00011") == dataset_key("https://x.example.org/ds/3")
        assert reopened.find_filing("DC-20250101-T00003") is None  # replaced by write 11
        assert_index_equals_records(reopened)
    finally:
        reopened.close()


def test_a_write_the_store_refused_leaves_no_journal_line(tmp_path, monkeypatch):
    catalog = open_catalog(tmp_path / "store")
    write(catalog, 0)
    dead = f"http://127.0.0.1:{free_port()}/nothing.ttl"
    original = records._generation_ops
    monkeypatch.setattr(records, "_generation_ops", lambda gen: original(gen) + [f"LOAD <{dead}>"])
    with pytest.raises(Exception):
        write(catalog, 1)
    monkeypatch.setattr(records, "_generation_ops", original)
    lines = (tmp_path / "store.index" / "journal").read_bytes().splitlines()
    assert len(lines) == 1  # write 0 only
    catalog.backend.close()
    assert_reopens(tmp_path / "store", 1)


def test_a_journal_line_the_store_never_reached_and_a_torn_line_are_not_replayed(tmp_path):
    catalog = open_catalog(tmp_path / "store")
    write(catalog, 0)
    generation = catalog._generation
    catalog.backend.close()
    journal = tmp_path / "store.index" / "journal"
    ghost = build_submission("hospital-a", *fake_run("https://x.example.org/ghost", filing="DC-20250101-GHOST")).records[0]
    with journal.open("ab") as f:  # killed after journaling, before the store's transaction
        f.write(json.dumps({"prev": generation, "gen": "never-committed", "remove": [],
                            "add": [json.loads(encode(ghost))]}).encode() + b"\n")
        f.write(b'{"prev": "never-committed", "gen": "x", "add": [{"key"')  # torn
    reopened = open_catalog(tmp_path / "store")
    assert reopened.count() == 1 and reopened.index_source == "file"
    assert reopened.find_filing("DC-20250101-GHOST") is None
    assert_index_equals_records(reopened)
    assert len(journal.read_bytes().splitlines()) == 1  # both lines cut: a later write starts a clean chain
    write(reopened, 1)  # from the same generation the ghost line started from
    reopened.backend.close()  # a crash again
    again = open_catalog(tmp_path / "store")
    try:
        assert again.count() == 2 and again.index_source == "file"
        assert again.find_filing("DC-20250101-GHOST") is None
        assert_index_equals_records(again)
    finally:
        again.close()


def test_a_store_written_without_the_index_file_gets_its_index_rebuilt(tmp_path):
    """A store of the previous layout (no index beside it), or one written by a node that lost
    its index file: the generations differ, so the index is rebuilt from the records."""
    catalog = open_catalog(tmp_path / "store")
    write(catalog, 0)
    catalog.close()
    other = Catalog(EmbeddedStore(tmp_path / "store", query_processes=0))
    other._file = None  # a writer that keeps no index file
    write(other, 1)
    other.close()
    assert_reopens(tmp_path / "store", 2, "store")
    for damage in (b"garbage\n\x00\x01",  # another format
                   b"generation\n" + b"\xff" * 8 + b"x",  # the previous one
                   indexfile.MAGIC + b"generation\n" + b"\xff" * 8 + b"x"):  # cut short
        (tmp_path / "store.index" / "snapshot").write_bytes(damage)
        damaged = open_catalog(tmp_path / "store")
        try:
            assert damaged.count() == 2 and damaged.index_source == "store"
        finally:
            damaged.close()


def test_an_index_loaded_from_its_file_then_changed_saves_and_loads_the_same(tmp_path):
    """Records of the file removed (they stay in its buffer, dead) and records added since: a
    snapshot of that index loads to the same records, searches and maps."""
    catalog = open_catalog(tmp_path / "store")
    for i in range(10):
        write(catalog, i, institution="hospital-a" if i % 3 else "hospital-b")
    catalog.close()
    first = open_catalog(tmp_path / "store")
    first.ensure_index()
    assert first.index_source == "file" and first.index.entries.base == 10
    for i in (0, 4):
        assert first.delete(dataset_key(f"https://x.example.org/ds/{i}"))
    write(first, 10)
    write(first, 11, target=5)  # a record of the file replaced
    first.close()  # folds: the dead records' bytes are kept, `live` says they are gone
    second = open_catalog(tmp_path / "store")
    try:
        assert second.count() == 9 and second.index_source == "file"
        assert second.find_filing("DC-20250101-T00004") is None
        assert second.find_filing("DC-20250101-T00011") == dataset_key("https://x.example.org/ds/5")
        assert second.search(SearchQuery(text="version 11")).total == 1
        assert_index_equals_records(second)
    finally:
        second.close()


def test_maps_built_in_the_background_are_those_a_caller_builds(tmp_path):
    """The warm-up builds the maps by key, form and filing number giving the interpreter up as it
    goes; what it builds is what a write or a lookup building them at once gets."""
    catalog = open_catalog(tmp_path / "store")
    for i in range(600):  # past a few of the build's pauses (one every 256 records)
        write(catalog, i, institution="hospital-a" if i % 3 else "hospital-b")
    catalog.close()
    built = {}
    for background in (True, False):
        catalog = open_catalog(tmp_path / "store")
        try:
            catalog.ensure_index()
            assert catalog.index_source == "file"
            if background:
                catalog.index.prepare(background=True)
            built[background] = (catalog.index.by_key, catalog.index.by_form, catalog.index.by_filing)
            assert catalog.index.get(dataset_key("https://x.example.org/ds/599")) is not None
        finally:
            catalog.close()
    assert built[True] == built[False] and len(built[True][0]) == 600
