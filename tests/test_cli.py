"""The `derivecert` command: exit codes, the JSON contract, and clear errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import spec_examples

E1 = next(p for p, _ in spec_examples() if p.stem.startswith("e1"))
E2 = next(p for p, _ in spec_examples() if p.stem.startswith("e2"))


def run(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "derivecert.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "COLUMNS": "200"})
    return proc.returncode, proc.stdout, proc.stderr


def test_certify_json_prints_section_6_results_with_their_source_file():
    code, out, err = run("certify", E1, "--format", "json", "--on", "2026-11-28")
    assert code == 0, err
    results = json.loads(out)
    assert {r["dataset"] for r in results} == {"https://hospital-x.example.org/pathology-reports",
                                               "https://hospital-x.example.org/pathology-structured"}
    derived = next(r for r in results if r["is_derived"])
    assert derived["source"] == str(E1)
    assert derived["verdict"] == "certified" and derived["classification"]["sensitivity_level"] == "L3"


def test_exit_code_is_1_when_any_dataset_is_rejected_and_text_report_names_requirements():
    code, out, err = run("certify", E2, "--lang", "en")
    assert code == 1, err
    assert "rejected" in out and "P-04" in out and "S-06" in out


def test_chinese_report():
    code, out, _ = run("certify", E2, "--lang", "zh")
    assert code == 1 and "不予认定" in out


def test_certify_a_folder_recursively(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "e1.ttl").write_bytes(E1.read_bytes())
    (tmp_path / "notes.txt").write_text("not RDF")
    code, out, _ = run("certify", tmp_path, "--format", "json")
    assert code == 0 and len(json.loads(out)) == 2


def test_turtle_output_holds_results_and_filing_records():
    from rdflib import Graph
    from derivecert.vocab import DCERT
    from rdflib.namespace import RDF

    code, out, _ = run("certify", E1, "--format", "turtle")
    g = Graph().parse(data=out, format="turtle")
    assert len(list(g.subjects(RDF.type, DCERT.FilingRecord))) == 1
    assert len(list(g.subjects(RDF.type, DCERT.CertificationResult))) == 2


def test_classify_and_explain():
    code, out, _ = run("classify", E2)
    items = {i["dataset"]: i for i in json.loads(out)}
    assert items["https://university-y.example.org/linked-psych-claims"]["classification"]["level_candidates"] == ["L4", "L5"]
    code, out, _ = run("explain", E2, "--dataset", "https://university-y.example.org/linked-psych-claims")
    assert code == 0 and "L5" in out and "pd:MentalHealth" in out


def test_validate_prints_a_shacl_report():
    from rdflib import Graph
    from rdflib.namespace import SH

    code, out, _ = run("validate", E2)
    assert code == 1
    report = Graph().parse(data=out, format="turtle")
    assert (None, SH.conforms, None) in report


BAD = {
    "syntax.ttl": (b"@prefix ex: <http://e/> .\nex:a ex:b \"unterminated .\n", "syntax.ttl:"),
    "remote.jsonld": (b'{"@context": "https://example.org/context.jsonld", "@id": "https://e/a"}', "inline the @context"),
    "entity.rdf": (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', "entity"),
    "nodataset.ttl": (b"<https://e/a> <https://e/b> <https://e/c> .\n", "dcat:Dataset"),
    "unknown.bin": (b"\x00\x01binary", "format"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_unusable_input_exits_2_with_a_clear_message_and_no_traceback(tmp_path, name):
    data, expected = BAD[name]
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = run("certify", path)
    assert code == 2
    assert "Traceback" not in err and "error:" in err
    assert expected.lower() in err.lower()
    assert "hint:" in err


def test_missing_file_and_bad_option_exit_2(tmp_path):
    code, _, err = run("certify", tmp_path / "nope.ttl")
    assert code == 2 and "no such file" in err and "Traceback" not in err
    code, _, err = run("certify", E1, "--reasoner", "nonsense")
    assert code == 2 and "Traceback" not in err
    code, _, err = run("certify", E1, "--on", "yesterday")
    assert code == 2 and "YYYY-MM-DD" in err


def test_oversized_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.nt"
    with big.open("wb") as fh:
        fh.truncate(17 * 1024 * 1024)
    code, _, err = run("certify", big)
    assert code == 2 and "over the limit" in err
