"""The embedded store's flush after a batch: deferred until enough was written, never lost."""

from __future__ import annotations

import pyoxigraph as ox

from derivecert.catalog.backends import oxigraph as backend
from derivecert.catalog.backends.oxigraph import EmbeddedStore

G = "urn:x-test:g"
INSERT = "INSERT DATA { GRAPH <urn:x-test:g> { <urn:x-test:s> <urn:x-test:p> \"%s\" } }"


def test_a_flush_waits_for_its_budget_of_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(backend, "FLUSH_AFTER_BYTES", 2 * len(INSERT % 0))
    store = EmbeddedStore(tmp_path / "store", query_processes=0)
    try:
        store.update(INSERT % 0)
        store.flush()
        assert store._flushing is None  # below the budget: the buffers stay in memory
        store.update(INSERT % 1)
        store.flush()
        assert store._flushing is not None  # the budget reached: written out in the background
        store.flush()
        assert store._unflushed == 0
    finally:
        store.close()


def test_writes_below_the_budget_survive_close(tmp_path):
    store = EmbeddedStore(tmp_path / "store", query_processes=0)
    store.update(INSERT % "kept")
    store.flush()
    store.close()
    reopened = ox.Store(str(tmp_path / "store"))
    assert [q.object.value for q in reopened.quads_for_pattern(None, None, None, ox.NamedNode(G))] == ["kept"]
