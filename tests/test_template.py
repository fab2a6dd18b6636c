"""Templates from registry records (issue 11), on the real records of ../shared/reference read in
place: every fact of the record is kept, and each property still needed is listed with the
requirement that needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.compare import isomorphic
from rdflib.namespace import XSD

from derivecert.errors import InputError
from derivecert.template import make_template

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference" / "healthdcat-ap"
CKAN = REFERENCE / "ckanext-dcat_dataset_health.ttl"
HEALTHDCAT_TEMPLATE = REFERENCE / "draft-shapes" / "healthDCATAP_RDF_template.ttl"
CKAN_DATASET = "http://example.healthdata.nl/set/dataset"


def todo_lines(text: str) -> list[tuple[str, str, str]]:
    """(requirement, severity, path) of each TODO comment line."""
    out = []
    for line in text.splitlines():
        if line.startswith("#   "):
            head = line[4:].split(": ", 1)[0].split(" ")
            out.append((head[0], head[1].strip("()"), head[2] if len(head) > 2 else ""))
    return out


def _same_facts(graph: Graph) -> Graph:
    out = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype in (XSD.decimal, XSD.double, XSD.integer, XSD.dateTime):
            o = Literal(float(o.toPython())) if o.datatype != XSD.dateTime else Literal(o.toPython())
        out.add((s, p, o))
    return out


def test_a_ckan_health_record_keeps_every_fact_and_lists_what_derived_data_needs(engine):
    text = make_template(engine, CKAN.read_bytes(), filename=CKAN.name)
    assert isomorphic(_same_facts(Graph().parse(data=text, format="turtle")), _same_facts(Graph().parse(CKAN)))
    assert f"# TODO {CKAN_DATASET}:" in text
    todos = todo_lines(text)
    requirements = {r for r, _, _ in todos}
    # what a registry record lacks to be derived data: a source with its legal basis, a technique,
    # an end time, quality, a grade; read from the requirements with stand-ins for source and technique
    assert ("P-01", "Violation", "prov:wasDerivedFrom") in todos
    assert ("P-03", "Violation", "prov:wasGeneratedBy/dcert:generationTechnique") in todos
    assert {"P-02", "Q-01", "S-01"} <= requirements
    # its dpv:hasPurpose dpv:AcademicResearch already gives a scenario (AS-RES): P-10 is not asked for
    assert "P-10" not in requirements


def test_a_record_with_a_source_is_not_asked_for_one(engine):
    text = make_template(engine, HEALTHDCAT_TEMPLATE.read_bytes(), filename=HEALTHDCAT_TEMPLATE.name, lang="zh")
    todos = todo_lines(text)
    assert todos and "# 待补充 " in text
    assert "P-01" not in {r for r, _, _ in todos}
    assert ("P-03", "Violation", "prov:wasGeneratedBy/dcert:generationTechnique") in todos


def test_a_complete_description_needs_only_what_its_certification_reports(engine):
    path = ROOT / "examples" / "cdc-east" / "dengue-vector-index.ttl"
    text = make_template(engine, path.read_bytes(), filename=path.name)
    (result,) = [r for r in engine.certify(path.read_bytes(), filename=path.name).results
                 if str(r.dataset) == "https://cdc-east.example.org/dengue-vector-index"]
    assert sorted(r for r, _, _ in todo_lines(text)) == sorted(f.requirement for f in result.findings) == ["Q-01"]


def test_the_json_ld_template_has_a_todo_list_that_json_ld_ignores(engine):
    text = make_template(engine, CKAN.read_bytes(), filename=CKAN.name, fmt="json-ld", lang="zh")
    doc = json.loads(text)
    (node,) = [n for n in doc["@graph"] if "_todo" in n]
    assert node["@id"] == CKAN_DATASET
    assert {"requirement": "P-01", "severity": "Violation", "path": "prov:wasDerivedFrom",
            "message": node["_todo"][0]["message"]} == node["_todo"][0]
    assert "来源数据集" in node["_todo"][0]["message"]
    assert isomorphic(_same_facts(Graph().parse(data=text, format="json-ld")), _same_facts(Graph().parse(CKAN)))


def test_a_record_without_a_dataset_is_refused(engine):
    with pytest.raises(InputError, match="no dcat:Dataset"):
        make_template(engine, b"<https://example.org/a> <https://example.org/b> <https://example.org/c> .", filename="x.nt")


def test_the_command_prints_the_template_and_exits_2_on_bad_input():
    def run(*args):
        return subprocess.run([sys.executable, "-m", "derivecert.cli", "template", *map(str, args)],
                              capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)

    proc = run(CKAN)
    assert proc.returncode == 0, proc.stderr
    assert ("P-01", "Violation", "prov:wasDerivedFrom") in todo_lines(proc.stdout)
    proc = run(ROOT / "no-such-record.ttl")
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr
