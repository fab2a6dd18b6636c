"""`derivecert export`: a certified description as a registry reads it (issue 11), checked with
pySHACL against the SEMIC DCAT-AP 3.0.0 shapes read in place from ../shared/reference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyshacl
from rdflib import Graph, Namespace
from rdflib.namespace import RDF

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"
DQV = Namespace("http://www.w3.org/ns/dqv#")
SH = Namespace("http://www.w3.org/ns/shacl#")
DCAT_NS = Namespace("http://www.w3.org/ns/dcat#")


def export(*args):
    return subprocess.run([sys.executable, "-m", "derivecert.cli", "export", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


def dcat_ap_violations(graph: Graph) -> int:
    shapes = Graph()
    for name in ("shapes.ttl", "range.ttl"):
        shapes.parse(REFERENCE / "dcat-ap-3.0.0" / name)
    _, report, _ = pyshacl.validate(graph, shacl_graph=shapes)
    return len(list(report.subjects(SH.resultSeverity, SH.Violation)))


def test_export_of_an_institution_folder_conforms_to_dcat_ap():
    proc = export(*sorted((ROOT / "examples" / "cdc-east").glob("*.ttl")), "--on", "2026-12-01")
    assert proc.returncode == 0, proc.stderr
    graph = Graph().parse(data=proc.stdout, format="turtle")
    certificates = set(graph.subjects(RDF.type, DQV.QualityCertificate))
    assert len(certificates) == len(list((ROOT / "examples" / "cdc-east").glob("*.ttl")))
    assert dcat_ap_violations(graph) == 0
    assert "derivecert/result/" not in proc.stdout


def test_the_same_files_fail_dcat_ap_without_export():
    raw = Graph()
    for path in (ROOT / "examples" / "cdc-east").glob("*.ttl"):
        raw.parse(path)
    assert dcat_ap_violations(raw) > 0


def test_a_rejected_dataset_is_exported_without_a_certificate_and_exits_1():
    proc = export(ROOT / "examples" / "city-hospital" / "genomic-variants-identifiable-rejected.ttl", "--format", "json-ld")
    assert proc.returncode == 1
    assert "rejected, exported without a certificate" in proc.stderr
    graph = Graph().parse(data=proc.stdout, format="json-ld")
    assert not set(graph.subjects(RDF.type, DQV.QualityCertificate))
    assert set(graph.subjects(RDF.type, DCAT_NS.Dataset))


def test_an_unknown_profile_exits_2_naming_the_option():
    proc = export(ROOT / "examples" / "cdc-east" / "dengue-vector-index.ttl", "--profile", "schema-org")
    assert proc.returncode == 2
    assert "--profile" in proc.stderr and "Traceback" not in proc.stderr
