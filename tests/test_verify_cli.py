"""`derivecert verify` and `derivecert filing suspend|reinstate|revoke` (DOMAIN.md §5, A7): anyone
checks offline that a description is the one a filing certified, that the record carries the
certifying body's signature and that the filing is valid; the certifying body changes the status
of a filing in a local store. Tampered description, tampered record, wrong key, expired, revoked."""

from __future__ import annotations

import json
from datetime import date

import pytest

from conftest import spec_examples
from derivecert.signing import FilingKey
from test_cli import run

E1 = next(p for p, _ in spec_examples() if p.stem.startswith("e1"))
E1_DERIVED = "https://hospital-x.example.org/pathology-structured"


@pytest.fixture(scope="module")
def node(tmp_path_factory, engine):
    """A local node that filed E1: its store folder, its key (beside the store), the filing number,
    the record as Turtle and the public key as PEM."""
    from derivecert.catalog import Catalog, EmbeddedStore, build_submission

    root = tmp_path_factory.mktemp("node")
    key, _ = FilingKey.load_or_create(root / "filing-key.pem")
    run_ = engine.certify(E1.read_bytes(), filename=E1.name, on=date.today(), filing_numbers=lambda: "DC-20261128-VERIFY01")
    run_.sign_filings(key)
    store = Catalog(EmbeddedStore(root / "store", query_processes=0))
    store.replace(build_submission("hospital-x", run_.description, run_.result_graph, [r.to_dict() for r in run_.results]))
    store.close()
    (root / "record.ttl").write_text(run_.result_graph.serialize(format="turtle"), encoding="utf-8")
    (root / "public.pem").write_bytes(key.public.pem())
    return root


def verify(node, *args):
    code, out, err = run("verify", *args, "--format", "json")
    assert "Traceback" not in err
    return code, (json.loads(out) if out.strip().startswith("{") else err)


def test_the_certified_description_verifies_against_the_local_store(node):
    code, report = verify(node, E1, "--filing", "DC-20261128-VERIFY01", "--store", node / "store")
    assert code == 0, report
    assert report["verified"] and report["description"]["matches"] and report["signature"]["valid"]
    assert (report["status"], report["certified"]["scenarios"], report["certified"]["level"]) == ("valid", ["AS-RES"], "L3")


def test_tampered_description_fails(node, tmp_path):
    changed = tmp_path / "e1.ttl"
    changed.write_bytes(E1.read_bytes().replace(b"48211", b"48212"))
    code, report = verify(node, changed, "--record", node / "record.ttl", "--key", node / "public.pem")
    assert code == 1 and not report["description"]["matches"] and report["signature"]["valid"]


def test_tampered_record_fails(node, tmp_path):
    record = tmp_path / "record.ttl"
    record.write_text((node / "record.ttl").read_text().replace('"L3"', '"L1"').replace("dcert:L3", "dcert:L1"))
    code, report = verify(node, E1, "--record", record, "--key", node / "public.pem")
    assert code == 1 and report["description"]["matches"] and not report["signature"]["valid"]
    assert "changed after signing" in report["signature"]["problem"]


def test_wrong_key_fails(node, tmp_path):
    other = tmp_path / "other.pem"
    other.write_bytes(FilingKey.generate().public.pem())
    code, report = verify(node, E1, "--record", node / "record.ttl", "--key", other)
    assert code == 1 and not report["signature"]["valid"] and "not with the key given" in report["signature"]["problem"]


def test_without_a_key_the_signature_is_not_taken_on_trust(node):
    code, report = verify(node, E1, "--record", node / "record.ttl")
    assert code == 1 and report["signature"] == {"valid": False, "key_id": report["signature"]["key_id"],
                                                 "problem": None, "checked": False}


def test_expired_filing_fails(node):
    code, report = verify(node, E1, "--record", node / "record.ttl", "--key", node / "public.pem", "--on", "2099-01-01")
    assert code == 1 and report["status"] == "expired" and report["signature"]["valid"]
    assert report["status_source"] == "record file"  # not covered by the signature: said so


def test_revoked_filing_fails_and_revocation_is_final(node):
    number, store = "DC-20261128-VERIFY01", node / "store"
    code, out, err = run("filing", "suspend", number, "--reason", "authorization under review", "--store", store)
    assert code == 0 and "suspended" in out, err
    code, out, err = run("filing", "revoke", number, "--reason", "authorization withdrawn", "--store", store)
    assert code == 0 and "revoked" in out, err
    code, report = verify(node, E1, "--filing", number, "--store", store)
    assert code == 1 and (report["status"], report["status_reason"]) == ("revoked", "authorization withdrawn")
    assert report["signature"]["valid"] and report["description"]["matches"]
    code, _, err = run("filing", "reinstate", number, "--reason", "oops", "--store", store)
    assert code == 2 and "is revoked" in err and "Traceback" not in err


def test_bad_requests_exit_2_with_a_hint(node, tmp_path):
    code, _, err = run("verify", E1)
    assert code == 2 and "--filing" in err and "hint:" in err
    code, _, err = run("verify", E1, "--filing", "DC-19990101-NOPE0000", "--store", node / "store")
    assert code == 2 and "no filing DC-19990101-NOPE0000" in err
    code, _, err = run("filing", "revoke", "DC-20261128-VERIFY01", "--reason", "x" * 3000, "--store", node / "store")
    assert code == 2 and "limits.status_reason_max_chars" in err
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("not a key")
    code, _, err = run("verify", E1, "--record", node / "record.ttl", "--key", bad_key)
    assert code == 2 and "not a public key" in err and "Traceback" not in err
