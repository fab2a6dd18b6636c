"""The CLI's text report speaks the ontology's language: labels instead of codes, translated
severities and class names, prefixed paths, sources not listed as findings, a summary in number."""

from __future__ import annotations

from conftest import DATA, spec_examples
from test_cli import run

E1 = next(p for p, _ in spec_examples() if p.stem.startswith("e1"))
E2 = next(p for p, _ in spec_examples() if p.stem.startswith("e2"))


def test_chinese_report_shows_labels_not_codes():
    code, out, err = run("certify", E2, "--lang", "zh", "--on", "2026-11-28", "--workers", "1")
    assert code == 1, err
    assert "场景 医学科研" in out and "AS-RES · " not in out         # scenario label, not the code
    assert "类型: 融合数据" in out and "FusedData" not in out          # class label from the ontology
    assert "✗ P-04 违规 dcert:sourceAuthorization" in out            # severity translated, path prefixed
    assert "! Q-03 警告" in out and "Warning" not in out
    assert "<http://www.w3.org/ns/prov#wasGeneratedBy>" not in out  # paths inside SHACL path expressions too
    assert "prov:wasGeneratedBy/(dcert:method|" in out


def test_sources_are_not_reported_as_p01_and_the_summary_agrees_in_number():
    code, out, _ = run("certify", E1, "--lang", "en", "--on", "2026-11-28")
    assert code == 0
    assert "P-01" not in out
    assert "sources (not under certification themselves): https://hospital-x.example.org/pathology-reports" in out
    assert out.strip().splitlines()[-1] == "1 dataset: certified 1 (and 1 source dataset not under certification)"


def test_a_dataset_without_source_that_nobody_derives_from_still_shows_p01():
    code, out, _ = run("certify", DATA / "invalid" / "P-01-no-source.ttl", "--lang", "zh")
    assert "✗ P-01 违规" in out and "来源数据集（本身不在认定范围内）" not in out
