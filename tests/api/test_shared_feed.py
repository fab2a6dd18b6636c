"""Nodes over one shared store (README "Scale out"): a node applies the other nodes' writes from
the store's change feed, reading back only the records they changed, and starts from its own
index file (`store.index_dir`); it reads the whole catalog only when the feed cannot reach back
to its index (pruned, or a store written without a feed)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from derivecert.catalog import Catalog, SearchQuery, build_submission, dataset_key, records
from derivecert.catalog.model import IDX, META_GRAPH
from derivecert.catalog.index import FacetIndex, encode
from derivecert.settings import Settings

from .conftest import remote_store
from .fakes import fake_run

EVERYTHING = SearchQuery(limit=10**6)


def node(server, folder: Path | None = None, **kw) -> Catalog:
    """A node over the shared server: its index checked at every use (interval 0)."""
    return Catalog(remote_store(server, index_check_interval_s=0, index_dir=folder, **kw))


def file(catalog: Catalog, n: int, institution: str = "hospital-a", title: str | None = None,
         level: str = "L2") -> str:
    dataset = f"https://shared.example.org/{institution}/{n}"
    g, rg, results = fake_run(dataset, title=title or f"Shared dataset {n}", level=level,
                              filing=f"DC-20250101-S{abs(hash((institution, n, title))) % 10**7:07d}")
    catalog.replace(build_submission(institution, g, rg, results))
    return dataset_key(dataset)


def assert_index_equals_store(catalog: Catalog) -> None:
    """The node's index and text index hold what a rebuild from the store's records holds."""
    rebuilt = FacetIndex()
    entries = records._first_filed(catalog._summaries())
    rebuilt.add_many(entries)
    index = catalog.ensure_index()
    assert sorted(map(encode, index.records())) == sorted(map(encode, rebuilt.records()))
    assert index.search(EVERYTHING).facets == rebuilt.search(EVERYTHING).facets
    for entry in entries:  # every record found by the words of its title
        found = catalog.search(SearchQuery(text=entry.title.get("en", ""), limit=10**6))
        assert entry.key in {e.key for e in found.items}


@pytest.fixture(params=["oxigraph_server", "virtuoso_server"])
def server(request):
    server = request.getfixturevalue(request.param)
    server.clear()
    return server


def test_another_nodes_writes_are_applied_from_the_feed_not_by_a_rebuild(server):
    a, b = node(server), node(server)
    try:
        assert b.count() == 0 and b.rebuilds == 1  # its start: the only full read
        first = file(a, 1, title="Influenza weekly counts", level="L3")
        second = file(a, 2, title="Diabetes cohort")
        assert b.count() == 2 and b.feed_applied == 2 and b.rebuilds == 1
        assert [h.key for h in b.search(SearchQuery(text="influenza")).items] == [first]
        assert b.search(SearchQuery(filters={"level": ["L3"]})).total == 1
        file(a, 1, title="Measles weekly counts", level="L1")  # a replacement
        assert a.delete(second)
        assert b.count() == 1 and b.rebuilds == 1 and b.feed_applied == 4
        assert not b.search(SearchQuery(text="influenza")).items
        assert [h.key for h in b.search(SearchQuery(text="measles")).items] == [first]
        assert b.search(SearchQuery(filters={"level": ["L1"]})).total == 1
        assert b.search(SearchQuery(text="diabetes")).total == 0
        file(b, 3, institution="hospital-b")  # b's own write, then a's: both reach each other
        file(a, 4)
        assert a.count() == b.count() == 3 and a.rebuilds == b.rebuilds == 1
        assert (a.feed_applied, b.feed_applied) == (1, 5)  # a node's own writes are never read back
        assert_index_equals_store(a)
        assert_index_equals_store(b)
    finally:
        a.close()
        b.close()


def test_a_restarted_node_starts_from_its_file_and_catches_up(server, tmp_path):
    a, b = node(server), node(server, tmp_path / "b")
    try:
        file(a, 1)
        assert b.count() == 1 and b.index_source == "store"
        file(b, 2, institution="hospital-b")
    finally:
        b.close()
    # while b is down: a replaces, deletes and adds
    file(a, 1, title="Replaced while b was down")
    a.delete(dataset_key("https://shared.example.org/hospital-b/2"))
    file(a, 5, title="Filed while b was down")
    b = node(server, tmp_path / "b")
    try:
        assert b.count() == 2 and b.index_source == "file" and b.rebuilds == 0
        assert b.feed_applied == 3  # a's three: its own write is in its file, and it closed cleanly
        assert b.search(SearchQuery(text="replaced")).total == 1
        assert_index_equals_store(b)
    finally:
        a.close()
        b.close()


def test_a_node_killed_without_close_starts_from_its_file(server, tmp_path):
    """No close (a crash): the file holds the catch-ups journaled, and the node's own last write,
    never journaled, is read back from the feed."""
    a, b = node(server), node(server, tmp_path / "b")
    file(a, 1)
    assert b.count() == 1
    own = file(b, 2, institution="hospital-b")
    b.backend.close()  # the process dies: nothing saved at close
    b = node(server, tmp_path / "b")
    try:
        assert b.count() == 2 and b.index_source == "file" and b.rebuilds == 0
        assert b.locate(own) == "hospital-b"
        assert_index_equals_store(b)
    finally:
        a.close()
        b.close()


@pytest.mark.durability
def test_sigkill_of_a_writing_node_leaves_its_file_agreeing_with_the_store(oxigraph_server, tmp_path):
    """A node writing with its index file (tests/api/writer.py), killed with SIGKILL mid-write,
    while another node writes too: restarted, it opens its file and catches up to the store."""
    oxigraph_server.clear()
    folder = tmp_path / "writer"
    writer = str(Path(__file__).with_name("writer.py"))
    proc = subprocess.Popen([sys.executable, writer, "remote", oxigraph_server.query_url, oxigraph_server.update_url,
                             "1", "100000", "5", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    other = node(oxigraph_server)
    acked = 0
    while acked < 60:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()[-3000:]
        acked += 1
        if acked % 10 == 0:
            file(other, acked, institution="hospital-b")
    proc.kill()  # SIGKILL mid-write: the writer never pauses between writes
    proc.communicate(timeout=10)
    file(other, 1000, institution="hospital-b")  # and a write while it is down
    restarted = node(oxigraph_server, folder)
    try:
        assert restarted.count() >= acked - acked // 5 + 7
        assert restarted.index_source == "file" and restarted.rebuilds == 0
        assert_index_equals_store(restarted)
    finally:
        restarted.close()
        other.close()


def test_a_feed_pruned_past_the_nodes_position_means_a_full_rebuild(server, tmp_path):
    a, b = node(server, feed_keep=100), node(server, tmp_path / "b", feed_keep=100)
    try:
        file(a, 0)
        assert b.count() == 1
    finally:
        b.close()
    for n in range(1, 206):  # more writes than the feed keeps while b is down
        file(a, n % 3, title=f"version {n}")
    kept = sorted(int(r["n"].value) for r in a.select(f"SELECT ?n WHERE {{ GRAPH <{META_GRAPH}> {{ ?c <{IDX}seq> ?n }} }}"))
    assert kept == list(range(101, 207))  # pruned at a's 201st write: what is 100 or more before its head
    b = node(server, tmp_path / "b", feed_keep=100)
    try:
        assert b.count() == 3 and b.rebuilds == 1 and b.feed_applied == 0
        assert b.search(SearchQuery(text="205")).total == 1
        assert_index_equals_store(b)
    finally:
        a.close()
        b.close()


def test_a_write_that_kept_no_feed_means_a_full_rebuild(server, tmp_path):
    """An older node (or a restore) writes records and a generation but no feed entry: the node
    sees a generation no entry names and reads the whole catalog, rather than miss the write."""
    a, b = node(server), node(server, tmp_path / "b")
    try:
        file(a, 1)
        assert b.count() == 1 and b.rebuilds == 1
        old_layout = node(server)
        old_layout.ensure_index()
        old_layout._generation_ops = lambda generation, keys: records._generation_ops(generation)  # type: ignore[method-assign]
        file(old_layout, 2)
        old_layout.close()
        assert b.count() == 2 and b.rebuilds == 2
        file(a, 3)  # and then the feed again
        assert b.count() == 3 and b.rebuilds == 2 and b.feed_applied == 1
        assert_index_equals_store(b)
        # an old node's write and then a node's with a feed, before b looks (or while it is
        # down): the feed's next entry names the generation it replaced, which no entry names
        old_layout = node(server)
        old_layout.ensure_index()
        old_layout._generation_ops = lambda generation, keys: records._generation_ops(generation)  # type: ignore[method-assign]
        file(old_layout, 4)
        old_layout.close()
        file(a, 5)
        assert b.count() == 5 and b.rebuilds == 3
        b.close()
        old_layout = node(server)
        old_layout.ensure_index()
        old_layout._generation_ops = lambda generation, keys: records._generation_ops(generation)  # type: ignore[method-assign]
        file(old_layout, 6)
        old_layout.close()
        file(a, 7)
        b = node(server, tmp_path / "b")
        assert b.count() == 7 and b.rebuilds == 1 and b.index_source == "store"
        assert_index_equals_store(b)
    finally:
        a.close()
        b.close()


def test_a_file_of_another_store_is_not_trusted(server, tmp_path):
    """A node's folder at a position whose entry the store does not hold (another store, or a
    store restored from an older backup): the node reads the whole catalog."""
    a, b = node(server), node(server, tmp_path / "b")
    file(a, 1)
    assert b.count() == 1
    b.close()
    server.clear()
    file(a, 7)  # a new history: sequence numbers from 1 again, other generations
    file(a, 8)
    b = node(server, tmp_path / "b")
    try:
        assert b.count() == 2 and b.index_source == "store" and b.rebuilds == 1
        assert_index_equals_store(b)
    finally:
        a.close()
        b.close()


def test_concurrent_writers_number_their_changes_once_each(server):
    """Writers of two nodes at once: each change has its entry in the feed (on `oxigraph serve`,
    which does not serialise writers, two may share a number), and a third node, reading the
    feed as they write, applies them all without reading the whole catalog.  Virtuoso locks:
    one number each, in order (a deadlock's victim is run again: `virtuoso_sql.DEADLOCK_RETRIES`)."""
    writers, reader = [node(server), node(server)], node(server)
    reader.ensure_index()

    def run(w: int) -> None:
        for n in range(20):
            file(writers[w], n, institution=("hospital-a", "hospital-b")[w])

    threads = [threading.Thread(target=run, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        reader.count()
    for t in threads:
        t.join()
    try:
        rows = reader.select(f"SELECT ?c ?n WHERE {{ GRAPH <{META_GRAPH}> {{ ?c <{IDX}seq> ?n }} }}")
        assert len({r["c"] for r in rows}) == 40
        if server is not None and type(server).__name__ == "VirtuosoServer":  # writers serialised by its locks
            assert sorted(int(r["n"].value) for r in rows) == list(range(1, 41))
        assert reader.count() == 40 and reader.rebuilds == 1
        assert_index_equals_store(reader)
    finally:
        for c in [*writers, reader]:
            c.close()


def test_index_dir_is_a_remote_setting():
    with pytest.raises(ValueError, match="index_dir"):
        Settings(store={"kind": "embedded", "index_dir": "/tmp/x"})
    with pytest.raises(ValueError, match="feed_keep"):
        Settings(store={"kind": "remote", "query_url": "http://s/q", "update_url": "http://s/u", "feed_keep": 5})
    settings = Settings(store={"kind": "remote", "query_url": "http://s/q", "update_url": "http://s/u",
                               "index_dir": "/tmp/node-a", "feed_keep": 500})
    from derivecert.catalog import open_store

    remote = open_store(settings)
    assert remote.index_dir == Path("/tmp/node-a/index") and remote.feed_keep == 500
    remote.close()
