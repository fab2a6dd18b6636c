"""Filing records (DOMAIN.md §5, A7): what was certified, validity capped by the source
authorizations, the certifying body's Ed25519 signature over the record, and the life cycle."""

from __future__ import annotations

import os
from datetime import date

import pytest
from rdflib import Graph, Literal

from conftest import DATA, spec_examples
from derivecert.errors import ConfigurationError, InputError
from derivecert.filing import check_signature, read_filing
from derivecert.signing import FilingKey, PublicKey
from derivecert.vocab import DCERT

ON = date(2026, 11, 28)
E1 = next(p for p, _ in spec_examples() if p.stem.startswith("e1"))
E1_DERIVED = "https://hospital-x.example.org/pathology-structured"
DIABETES = DATA / "valid" / "deidentified-d2-diabetes-research.ttl"  # authorization valid until 2028-12-31
DIABETES_DS = "https://data.hospital-a.example.cn/ds/t2d-cohort-deid"
WEEKLY = DATA / "invalid" / "P-07-weekly-without-review-cycle.ttl"  # conditional: one Warning, P-07


@pytest.fixture(scope="module")
def key():
    return FilingKey.generate()


def filed(engine, data: bytes, dataset: str, key=None, on=ON):
    run = engine.certify(data, filename="d.ttl", on=on)
    if key is not None:
        run.sign_filings(key)
    result = run.result_for(dataset)
    assert result.filing is not None, result.verdict
    return result, run.result_graph


def test_filing_states_what_was_certified(engine):
    result, graph = filed(engine, E1.read_bytes(), E1_DERIVED)
    f = result.filing.to_dict()
    assert (f["dataset"], f["verdict"], f["scenarios"], f["level"], f["grade"], f["conditions"]) == \
           (E1_DERIVED, "certified", ["AS-RES"], "L3", "D2", [])
    assert f["status"] == "valid"
    iri = result.filing.iri
    assert (iri, DCERT.approvedScenario, DCERT["AS-RES"]) in graph
    assert (iri, DCERT.certifiedLevel, DCERT.L3) in graph and (iri, DCERT.certifiedGrade, DCERT.D2) in graph
    assert (iri, DCERT.filingStatus, DCERT.Valid) in graph


def test_conditional_filing_lists_each_warning_as_a_condition(engine):
    result, graph = filed(engine, WEEKLY.read_bytes(), "https://cdc.example-province.gov.cn/data/ili-weekly-counts")
    assert result.verdict == "conditional"
    conditions = result.filing.to_dict()["conditions"]
    assert [c["requirement"] for c in conditions] == ["P-07"]
    assert conditions[0]["message"]["zh"] and conditions[0]["message"]["en"]
    node = graph.value(result.filing.iri, DCERT.condition)
    assert str(graph.value(node, DCERT.requirement)) == "P-07"


def test_validity_is_capped_by_the_earliest_source_authorization(engine):
    uncapped, _ = filed(engine, DIABETES.read_bytes(), DIABETES_DS)
    assert uncapped.filing.valid_until == date(2028, 11, 28)  # L3: two years, before the authorization ends
    data = DIABETES.read_bytes().replace(b'"2028-12-31"^^xsd:date', b'"2027-06-30"^^xsd:date')
    capped, _ = filed(engine, data, DIABETES_DS)
    assert capped.filing.valid_until == date(2027, 6, 30)


def test_record_read_back_equals_the_filing_issued(engine, key):
    result, graph = filed(engine, WEEKLY.read_bytes(), "https://cdc.example-province.gov.cn/data/ili-weekly-counts", key)
    reparsed = Graph().parse(data=graph.serialize(format="turtle"), format="turtle")
    assert read_filing(reparsed, result.filing.iri).filing == result.filing


def test_signature_verifies_with_the_certifying_bodys_key(engine, key):
    result, graph = filed(engine, E1.read_bytes(), E1_DERIVED, key)
    assert result.filing.signature.key_id == key.key_id
    assert check_signature(graph, result.filing.iri, key.public) == (True, "")


def test_tampered_record_fails_the_signature(engine, key):
    result, graph = filed(engine, E1.read_bytes(), E1_DERIVED, key)
    iri = result.filing.iri
    graph.set((iri, DCERT.validUntil, Literal(date(2099, 1, 1))))
    ok, why = check_signature(graph, iri, key.public)
    assert not ok and "changed after signing" in why


def test_lifecycle_changes_keep_the_signature(engine, key):
    result, graph = filed(engine, E1.read_bytes(), E1_DERIVED, key)
    iri = result.filing.iri
    graph.set((iri, DCERT.filingStatus, DCERT.Revoked))
    graph.add((iri, DCERT.statusReason, Literal("authorization withdrawn")))
    assert check_signature(graph, iri, key.public)[0]
    assert read_filing(graph, iri).status(ON) == "revoked"


def test_wrong_key_fails_the_signature(engine, key):
    result, graph = filed(engine, E1.read_bytes(), E1_DERIVED, key)
    ok, why = check_signature(graph, result.filing.iri, FilingKey.generate().public)
    assert not ok and "not with the key given" in why


def test_unsigned_record_does_not_verify(engine, key):
    result, graph = filed(engine, E1.read_bytes(), E1_DERIVED)
    assert result.filing.signature is None
    assert check_signature(graph, result.filing.iri, key.public) == (False, "the record is not signed")


def test_a_valid_filing_expires_after_its_validity(engine):
    result, graph = filed(engine, E1.read_bytes(), E1_DERIVED)
    state = read_filing(graph, result.filing.iri)
    assert state.status(date(2028, 11, 28)) == "valid"  # the last day
    assert state.status(date(2028, 11, 29)) == "expired"


def test_key_file_is_created_private_and_read_back(tmp_path):
    path = tmp_path / "keys" / "filing-key.pem"
    key, created = FilingKey.load_or_create(path)
    assert created and os.stat(path).st_mode & 0o777 == 0o600
    again, created = FilingKey.load_or_create(path)
    assert not created and again.key_id == key.key_id
    assert "PRIVATE" not in repr(again)


def test_key_file_with_a_passphrase(tmp_path):
    path = tmp_path / "filing-key.pem"
    key, _ = FilingKey.load_or_create(path, b"correct horse")
    assert b"ENCRYPTED" in path.read_bytes()
    assert FilingKey.load(path, b"correct horse").key_id == key.key_id
    with pytest.raises(ConfigurationError, match="cannot read the filing key"):
        FilingKey.load(path, b"wrong")


def test_key_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "filing-key.pem"
    FilingKey.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="read by other users") as exc:
        FilingKey.load(path)
    assert "chmod 600" in exc.value.hint


def test_public_key_round_trips_as_jwk_and_pem(key):
    import json

    jwk = key.public.jwk()
    assert (jwk["kty"], jwk["crv"], jwk["kid"]) == ("OKP", "Ed25519", key.key_id)
    assert PublicKey.from_bytes(json.dumps(jwk).encode()).key_id == key.key_id
    assert PublicKey.from_bytes(key.public.pem()).key_id == key.key_id
    with pytest.raises(InputError, match="not a public key"):
        PublicKey.from_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_signed_bytes_are_those_of_the_record_graph():
    """`sign` writes the record's N-Quads straight from its triples: the same bytes as the
    record built as a graph and read back (what `check_signature` verifies)."""
    from rdflib import URIRef

    from derivecert.filing import Filing, filing_graph, issued_content, signed_content
    from derivecert.vocab import DCERT

    f = Filing(number="DC-20261201-ABCDEF0123", issued=date(2026, 12, 1), valid_until=date(2028, 12, 1),
               certifying_body='Body "quoted"\nline 中文', digest="ab" * 32, ontology_version="1.0",
               shapes_version="1.0", dataset="http://example.org/ds", verdict="conditional",
               conditions=({"requirement": "R-1", "message": {"zh": "中文\t消息", "en": "msg \\ x"}},))
    ds = URIRef("http://example.org/ds")
    assert issued_content(f, ds, DCERT.Conditional) == signed_content(filing_graph(f, ds, DCERT.Conditional), f.iri)
