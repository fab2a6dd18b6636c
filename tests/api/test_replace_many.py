"""`Catalog.replace_many` (issue 15, bulk loading): a batch's submissions written together, each
with the outcome a `replace` of it alone has; the index file still equals the records on disk."""

from __future__ import annotations

import pytest

from derivecert.catalog import Catalog, ConflictError, EmbeddedStore, build_submission, dataset_key
from derivecert.catalog.errors import QueryRejected, StoreError

from .fakes import fake_run
from .test_index_file import assert_index_equals_records, assert_reopens


def submission(i: int, target: int | None = None, institution: str = "hospital-a"):
    target = i if target is None else target
    g, rg, results = fake_run(f"https://x.example.org/ds/{target}", title=f"version {i}",
                              filing=f"DC-20250101-M{i:05d}")
    return build_submission(institution, g, rg, results)


def journal_lines(path) -> int:
    return len((path.with_name(path.name + ".index") / "journal").read_bytes().splitlines())


@pytest.fixture
def path(tmp_path):
    return tmp_path / "store"


def test_new_datasets_are_one_transaction_and_one_journal_line(path):
    catalog = Catalog(EmbeddedStore(path, query_processes=0))
    assert catalog.replace_many([submission(i) for i in range(5)]) == [None] * 5
    assert catalog.count() == 5 and journal_lines(path) == 1
    catalog.backend.close()  # a crash: the index is never saved at close
    assert_reopens(path, 5)


def test_a_dataset_named_twice_is_replaced_as_by_two_puts_and_keeps_its_first_filing_date(path):
    catalog = Catalog(EmbeddedStore(path, query_processes=0))
    try:
        catalog.replace(submission(0, target=1))
        issued = catalog.ensure_index().get(dataset_key("https://x.example.org/ds/1")).issued
        assert catalog.replace_many([submission(1), submission(2, target=1), submission(3)]) == [None] * 3
        entry = catalog.ensure_index().get(dataset_key("https://x.example.org/ds/1"))
        assert catalog.count() == 2 and entry.issued == issued and entry.filing["number"] == "DC-20250101-M00002"
        assert journal_lines(path) == 3  # the first replace, then two transactions: ds/1 twice cannot share one
        assert catalog.filing_status("DC-20250101-M00000") == "superseded"
        assert catalog.filing_status("DC-20250101-M00001") == "superseded"
        assert catalog.filing_status("DC-20250101-M00002") == "valid"
        assert_index_equals_records(catalog)
    finally:
        catalog.close()


def test_another_institutions_dataset_is_refused_alone(path):
    catalog = Catalog(EmbeddedStore(path, query_processes=0))
    try:
        catalog.replace(submission(0, target=7, institution="hospital-b"))
        out = catalog.replace_many([submission(1), submission(2, target=7), submission(3)])
        assert out[0] is None and isinstance(out[1], ConflictError) and out[2] is None
        assert catalog.locate(dataset_key("https://x.example.org/ds/7")) == "hospital-b"
        assert catalog.count() == 3
        assert_index_equals_records(catalog)
    finally:
        catalog.close()


def test_a_group_the_store_refuses_is_written_one_by_one_so_only_the_culprit_is_refused(path, monkeypatch):
    catalog = Catalog(EmbeddedStore(path, query_processes=0))
    write = catalog.backend.update_ops

    def picky(ops):
        if any("ds/2>" in op for op in ops):
            raise QueryRejected("the server refused this write")
        write(ops)

    monkeypatch.setattr(catalog.backend, "update_ops", picky)
    try:
        out = catalog.replace_many([submission(i) for i in range(4)])
        assert [type(o).__name__ for o in out] == ["NoneType", "NoneType", "QueryRejected", "NoneType"]
        assert catalog.count() == 3 and catalog.locate(dataset_key("https://x.example.org/ds/2")) is None
        assert_index_equals_records(catalog)
    finally:
        catalog.close()


def test_a_store_that_is_down_stops_the_write(path, monkeypatch):
    catalog = Catalog(EmbeddedStore(path, query_processes=0))

    def down(ops):
        raise StoreError("the store is down")

    monkeypatch.setattr(catalog.backend, "update_ops", down)
    try:
        with pytest.raises(StoreError):
            catalog.replace_many([submission(i) for i in range(3)])
        assert catalog.count() == 0
    finally:
        catalog.close()


def test_one_dataset_from_two_institutions_in_one_list_goes_to_the_first(path):
    catalog = Catalog(EmbeddedStore(path, query_processes=0))
    try:
        out = catalog.replace_many([submission(1, target=5), submission(2, target=5, institution="hospital-b")])
        assert out[0] is None and isinstance(out[1], ConflictError)
        assert catalog.locate(dataset_key("https://x.example.org/ds/5")) == "hospital-a"
        assert_index_equals_records(catalog)
    finally:
        catalog.close()


def test_a_batch_sized_write_on_every_backend(store):
    """A bulk load's batch is one write of ≈ 10,000 triples: taken whole by each backend (Virtuoso
    through its SQL port), every record searchable."""
    subs = [submission(i) for i in range(150)]
    assert sum(len(s.all_triples()) for s in subs) > 9000
    assert store.replace_many(subs) == [None] * 150
    assert store.count() == 150
    store.rebuild_index()
    assert store.count() == 150


def test_a_long_list_is_written_group_max_at_a_time(path, monkeypatch):
    from derivecert.catalog import service

    monkeypatch.setattr(service, "GROUP_MAX", 2)  # searches wait for the lock while a group is written
    catalog = Catalog(EmbeddedStore(path, query_processes=0))
    try:
        assert catalog.replace_many([submission(i) for i in range(5)]) == [None] * 5
        assert catalog.count() == 5 and journal_lines(path) == 3
        assert_index_equals_records(catalog)
    finally:
        catalog.close()


def test_a_group_refiling_datasets_retires_each_earlier_filing_as_a_put_does(path):
    """Lean records in a group: each earlier filing moves to the ledger and is superseded, and
    the subjects the earlier records owned go, as when each is filed again alone."""
    catalog = Catalog(EmbeddedStore(path, query_processes=0))
    try:
        assert catalog.replace_many([submission(i) for i in range(3)]) == [None] * 3
        again = [submission(i + 10, target=i) for i in range(3)]
        assert catalog.replace_many(again) == [None] * 3
        assert journal_lines(path) == 2 and catalog.count() == 3
        for i in range(3):
            assert catalog.filing_status(f"DC-20250101-M{i:05d}") == "superseded"
            assert catalog.filing_status(f"DC-20250101-M{i + 10:05d}") == "valid"
        old_titles = catalog.select("SELECT ?t WHERE { GRAPH ?g { ?s <http://purl.org/dc/terms/title> ?t } "
                                    "FILTER(STR(?t) IN ('version 0', 'version 1', 'version 2')) }")
        assert old_titles == []
        assert_index_equals_records(catalog)
    finally:
        catalog.close()
