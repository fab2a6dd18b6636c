"""`derivecert load`: many descriptions certified in batches and filed one file at a time; a bad
file in the middle is reported and the rest filed; loading again changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from derivecert.catalog import Catalog, EmbeddedStore, SearchQuery

ROOT = Path(__file__).resolve().parents[1]
CDC = sorted((ROOT / "examples" / "cdc-east").glob("*.ttl"))
REJECTED = ROOT / "examples" / "city-hospital" / "genomic-variants-identifiable-rejected.ttl"


def run(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DERIVECERT_")}
    proc = subprocess.run([sys.executable, "-m", "derivecert.cli", *map(str, args)], capture_output=True, text=True,
                          env={**env, "COLUMNS": "200"}, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def stored(store: Path) -> tuple[int, set[str], set[str]]:
    """How many datasets the store holds, their IRIs and their filing numbers."""
    s = Catalog(EmbeddedStore(store, query_processes=0))
    try:
        items = s.search(SearchQuery(limit=1000)).items
        return s.count(), {e.dataset for e in items}, {e.filing["number"] for e in items if e.filing}
    finally:
        s.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    """The cdc-east examples, with an unreadable file and a rejected description in the middle."""
    folder = tmp_path_factory.mktemp("batch")
    for path in CDC:
        shutil.copy(path, folder / path.name)
    (folder / "e-broken.ttl").write_text("@prefix : <urn:x#> .\n:a :b \"never closed .\n", encoding="utf-8")
    shutil.copy(REJECTED, folder / "f-rejected.ttl")
    return folder


def test_a_bad_file_in_the_middle_is_reported_and_the_rest_filed_and_loading_again_changes_nothing(batch, tmp_path):
    store = tmp_path / "store"
    code, out, err = run("load", batch, "--institution", "cdc-east", "--store", store, "--batch-size", "4")
    assert code == 1, err
    assert f"{len(CDC)} files filed ({len(CDC)} datasets), 1 refused, 1 failed" in out
    assert "e-broken.ttl" in err and "turtle syntax error" in err and "hint:" in err
    assert "f-rejected.ttl" in err and "rejected; nothing stored" in err and "certification-rejected" in err
    count, datasets, numbers = stored(store)
    assert count == len(CDC) and len(numbers) == len(CDC)
    assert not any("genomic" in d for d in datasets)

    code, out, err = run("load", batch, "--institution", "cdc-east", "--store", store)
    assert code == 1, err
    assert f"{len(CDC)} files filed ({len(CDC)} datasets), 1 refused, 1 failed" in out
    count2, datasets2, numbers2 = stored(store)
    assert (count2, datasets2) == (count, datasets)  # replaced, not added
    assert len(numbers2) == len(CDC)


def test_every_file_filed_exits_0_and_the_summary_speaks_chinese(tmp_path):
    code, out, err = run("load", *CDC[:2], "--institution", "cdc-east", "--store", tmp_path / "store", "--lang", "zh")
    assert code == 0, err
    assert "2 个文件已备案（2 个数据集），0 个被拒，0 个失败" in out


@pytest.mark.parametrize("args, message", [
    (["--institution", "Not An Id"], "is not an institution id"),
    (["--institution", "cdc-east", "--batch-size", "0"], "batch-size"),
])
def test_bad_usage_exits_2_with_what_to_fix(tmp_path, args, message):
    code, out, err = run("load", CDC[0], *args, "--store", tmp_path / "store")
    assert code == 2, (out, err)
    assert message in err


def test_no_description_files_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = run("load", tmp_path / "empty", "--institution", "cdc-east", "--store", tmp_path / "store")
    assert code == 2 and "no description files found" in err


def test_help_states_the_exit_codes():
    code, out, _ = run("load", "--help")
    assert code == 0
    assert "0 every file filed" in out and "1 some file refused or failed" in out and "2 unusable input" in out


def test_a_batch_past_a_limit_is_certified_again_one_document_at_a_time_so_only_the_culprit_fails():
    from derivecert.catalog.bulk import CertifiedDocument, certify_each
    from derivecert.errors import ResourceLimitError

    calls = []

    def certify(documents):
        calls.append([name for name, _ in documents])
        if any(data == b"huge" for _, data in documents):
            raise ResourceLimitError("the work needed more memory than 1536 MB", limit="certify_memory_mb")
        return [CertifiedDocument(name, results=[]) for name, _ in documents]

    unread = OSError("unreadable")
    got = certify_each([("a", b"ok"), ("b", b"huge"), ("c", unread), ("d", b"ok")], certify)
    assert [d.name for d in got] == ["a", "b", "c", "d"]
    assert [d.results is not None for d in got] == [True, False, False, True]
    assert "1536 MB" in got[1].error["message"] and got[2].error["message"] == "unreadable"
    assert calls == [["a", "b", "d"], ["a"], ["b"], ["d"]]


def test_a_store_in_use_is_refused_with_exit_2_and_what_to_do(tmp_path):
    held = EmbeddedStore(tmp_path / "store", query_processes=0)  # as a running server holds it
    try:
        code, _, err = run("load", CDC[0], "--institution", "cdc-east", "--store", tmp_path / "store")
    finally:
        held.close()
    assert code == 2 and "cannot open the store" in err and "POST the batch to its API" in err
