"""The parity gate: the rudof validator and pySHACL (the reference engine) give identical findings.

Identical means the same findings, each with the same focus, requirement, severity, path, value,
shape and message in every language, on every description of the fixture corpus (tests/data/valid,
tests/data/invalid, examples/, the spec's examples), on a generated batch of a few hundred
descriptions certified together (bench/run.py's generator), and whichever form the materialised
data takes (rdflib Graph, N-Triples text, Oxigraph quads). The gate fails when a shape differs
between the two (test_the_gate_fails_when_*).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from datetime import date
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH

from conftest import DATA, ROOT, SPEC_EXAMPLES
from derivecert.engine import Engine, collect_files
from derivecert.errors import ConfigurationError
from derivecert.shacl import rudof_validator, validate
from derivecert.vocab import DCERT

ON = date(2026, 6, 1)
CORPUS = collect_files([DATA / "valid", DATA / "invalid", ROOT / "examples", *sorted(SPEC_EXAMPLES.glob("*.ttl"))])


def findings(validation) -> list[tuple]:
    return sorted((str(f.focus), f.requirement, f.severity, f.path or "", f.value or "", f.shape,
                   tuple(sorted(f.message.items()))) for f in validation.findings)


def differences(materialised, thresholds=None, rudof_input=None) -> list[tuple]:
    """What one validator finds and the other does not (empty: parity)."""
    reference = findings(validate(materialised, on=ON, thresholds=thresholds, shacl="pyshacl"))
    fast = findings(validate(materialised if rudof_input is None else rudof_input, on=ON, thresholds=thresholds,
                             shacl="rudof"))
    return ([("pyshacl only", f) for f in reference if f not in fast]
            + [("rudof only", f) for f in fast if f not in reference]
            + ([("counts differ", len(reference), len(fast))] if len(reference) != len(fast) else []))


@pytest.fixture(scope="module")
def materialised():
    engine = Engine()
    cache: dict = {}

    def get(path: Path) -> Graph:
        if path not in cache:
            graph, _ = engine.load(path.read_bytes(), filename=str(path))
            cache[path] = engine.materialise(graph)
        return cache[path]

    return get


def test_the_corpus_is_there():
    assert len(CORPUS) >= 85
    assert any("invalid" in p.parts for p in CORPUS) and any(p.parent.name == "examples" for p in CORPUS)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_both_validators_find_the_same_in_every_corpus_file(path, materialised):
    assert differences(materialised(path)) == []


@pytest.mark.parametrize("name", ["Q-02-accuracy-below-threshold.ttl", "S-03-d3-k-below-threshold.ttl",
                                  "P-04-scenario-not-authorized.ttl"])
def test_both_validators_find_the_same_under_another_threshold_profile(name, materialised):
    path = DATA / "invalid" / name
    for thresholds in ({"MinAccuracy": 0.9}, {"MinAccuracy": 0.99, "MinK": 20}, None):
        assert differences(materialised(path), thresholds) == []


def _generated_batch(n: int) -> Graph:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    graph = Graph()
    for doc in bench.catalog(n, seed=14):
        graph.parse(data=doc, format="nt")
    return Engine().materialise(graph)


@pytest.fixture(scope="module")
def batch() -> Graph:
    return _generated_batch(300)


def test_both_validators_find_the_same_in_a_generated_batch(batch):
    result = validate(batch, on=ON, shacl="rudof")
    assert len(result.findings) > 300  # a batch with defects of every kind, not a trivial pass
    assert len({f.requirement for f in result.findings}) >= 15
    assert differences(batch) == []


def test_n_triples_text_and_oxigraph_quads_give_the_findings_of_the_graph(batch):
    text = batch.serialize(format="nt")
    quads = list(ox.parse(text, format=ox.RdfFormat.N_TRIPLES))
    expected = findings(validate(batch, on=ON, shacl="rudof"))
    assert findings(validate(text, on=ON, shacl="rudof")) == expected
    assert findings(validate(text.encode(), on=ON, shacl="rudof")) == expected
    assert findings(validate(quads, on=ON, shacl="rudof")) == expected
    assert findings(validate(quads, on=ON, shacl="pyshacl")) == expected


def test_a_finding_on_a_blank_node_measurement_names_the_datasets_own_node(materialised):
    graph = materialised(DATA / "invalid" / "Q-02-accuracy-below-threshold.ttl")
    quads = list(ox.parse(graph.serialize(format="nt"), format=ox.RdfFormat.N_TRIPLES))
    for data in (graph, quads):
        q02 = [f for f in validate(data, on=ON, shacl="rudof").findings if f.requirement == "Q-02"]
        assert q02 and all(isinstance(f.focus, URIRef) for f in q02)
        assert all(f.path.startswith("<http://www.w3.org/ns/dqv#hasQualityMeasurement>/") for f in q02)


def test_data_of_an_earlier_run_does_not_leak_into_the_next(materialised):
    invalid = materialised(DATA / "invalid" / "P-01-no-source.ttl")
    valid = next(p for p in CORPUS if "valid" in p.parts)
    alone = findings(validate(materialised(valid), on=ON, shacl="rudof"))
    assert findings(validate(invalid, on=ON, shacl="rudof"))
    assert findings(validate(materialised(valid), on=ON, shacl="rudof")) == alone


def test_the_rudof_report_is_a_shacl_report_of_the_findings(materialised):
    validation = validate(materialised(DATA / "invalid" / "S-11-public-distribution-at-l3.ttl"), on=ON, shacl="rudof")
    report = validation.report
    assert (None, SH.conforms, Literal(False)) in report
    results = set(report.subjects(SH.sourceShape, None))
    assert len(results) == len(validation.findings)
    assert all(report.value(r, SH.sourceConstraintComponent) is not None for r in results)


# ---- the gate can fail -------------------------------------------------------------------------

@pytest.fixture
def mutate(monkeypatch, request):
    """`mutate(change)`: rudof runs the shapes changed by `change(profile) -> profile` while
    pySHACL runs the real ones; the real shapes are read again afterwards."""
    request.addfinalizer(lambda: setattr(rudof_validator._session, "key", None))

    def apply(change):
        real = rudof_validator._profile
        monkeypatch.setattr(rudof_validator, "_profile", lambda key: change(real(key)))
        rudof_validator._session.key = None  # the session reads the changed shapes

    return apply


def test_the_gate_fails_when_a_core_shape_differs(mutate, materialised):
    def lower_the_accuracy_threshold(profile):
        core = Graph()
        core += profile.core
        for node in list(core.subjects(DCERT.thresholdParameter, DCERT.MinAccuracy)):
            core.set((node, SH.minInclusive, Literal(0.5)))
        return dataclasses.replace(profile, core=core, core_shapes=core.serialize(format="nt"))

    data = materialised(DATA / "invalid" / "Q-02-accuracy-below-threshold.ttl")
    assert differences(data) == []
    mutate(lower_the_accuracy_threshold)
    diff = differences(data)
    assert diff and all(kind == "pyshacl only" and f[1] == "Q-02" for kind, f in diff[:-1])


def test_the_gate_fails_when_a_sparql_message_differs(mutate, materialised):
    def reword_s10(profile):
        sparql = tuple(
            dataclasses.replace(c, messages=tuple(Literal(str(m).replace("consent scope", "scope"), lang=m.language)
                                                  for m in c.messages))
            if str(c.shape).endswith("S-10-ConsentScopeShape") else c
            for c in profile.sparql)
        return dataclasses.replace(profile, sparql=sparql)

    data = materialised(DATA / "invalid" / "S-10-scenario-outside-consent.ttl")
    assert differences(data) == []
    mutate(reword_s10)
    diff = differences(data)
    assert {kind for kind, _ in diff} == {"pyshacl only", "rudof only"}
    assert all(f[1] == "S-10" for _, f in diff)


def test_an_unknown_validator_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="unknown SHACL validator"):
        Engine(shacl="jena")
    with pytest.raises(ConfigurationError, match="unknown SHACL validator"):
        validate(Graph(), shacl="jena")


def _findings_in_child(path: str) -> list[tuple]:
    engine = Engine()
    graph, _ = engine.load(Path(path).read_bytes(), filename=path)
    return findings(validate(engine.materialise(graph), on=ON, shacl="rudof"))


@pytest.mark.parametrize("parent_validates", [True, False])
def test_a_process_forked_after_rudof_ran_still_validates_with_it(parent_validates, materialised):
    """rudof's thread pool does not survive a fork: a child of a process where rudof validated runs
    it in a fresh interpreter; a child of a prepared process runs it in place."""
    import multiprocessing

    from derivecert.shacl import prepare

    path = DATA / "invalid" / "S-10-scenario-outside-consent.ttl"
    expected = findings(validate(materialised(path), on=ON, shacl="pyshacl"))
    if parent_validates:
        assert findings(validate(materialised(path), on=ON, shacl="rudof")) == expected
    else:
        prepare()
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_findings_in_child, (str(path),)).get(timeout=600) == expected


@pytest.mark.parametrize("stderr, raised", [
    ("thread 'x' panicked\nmemory allocation of 5795635 bytes failed\n", MemoryError),
    ("Traceback (most recent call last):\n  ...\nMemoryError\n", MemoryError),
    ("thread 'x' panicked at src/lib.rs: index out of bounds\n", RuntimeError),
])
def test_rudof_s_helper_running_out_of_memory_is_the_callers_memory_limit(monkeypatch, stderr, raised):
    """The helper (a fresh interpreter) inherits a bounded worker's memory limit: its failed
    allocation is a MemoryError there, which the sandbox reports as that limit; any other failure
    stays an internal error."""
    import subprocess

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, -6, "", stderr))
    with pytest.raises(raised):
        rudof_validator._validate_in_subprocess("", "")


def test_the_settings_choose_the_validator_and_refuse_an_unknown_one():
    from pydantic import ValidationError

    from derivecert.settings import Settings

    assert Settings().shacl == "rudof"
    assert Settings(shacl="pyshacl").shacl == "pyshacl"
    with pytest.raises(ValidationError, match="shacl"):
        Settings(shacl="jena")


def test_the_cli_runs_the_reference_validator_on_request():
    import json
    import os
    import subprocess
    import sys

    path = DATA / "invalid" / "S-10-scenario-outside-consent.ttl"

    def run(*extra):
        proc = subprocess.run([sys.executable, "-m", "derivecert.cli", "validate", str(path), "--format", "json",
                               *extra], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
        return proc.returncode, proc.stdout, proc.stderr

    code, out, err = run("--shacl", "pyshacl")
    assert code == 1, err
    code2, out2, _ = run("--shacl", "rudof")
    assert code2 == 1 and json.loads(out2) == json.loads(out) and any(f["requirement"] == "S-10" for f in json.loads(out))
    code3, _, err3 = run("--shacl", "jena")
    assert code3 == 2 and "--shacl" in err3


def test_literals_with_unescaped_line_breaks_are_read_as_one_triple(materialised):
    """N-Triples escapes only \\n and \\r in a literal: U+2028, U+0085, a form feed stay as they are."""
    graph = Graph()
    graph += materialised(DATA / "invalid" / "P-01-no-source.ttl")
    dataset = next(iter(graph.subjects(URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                                       URIRef("http://www.w3.org/ns/dcat#Dataset"))))
    for text in ("a\u2028b", "c\x85d", "e\x0cf", "g\x1ch", "i\u2029"):
        graph.add((dataset, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"), Literal(text)))
        graph.add((dataset, URIRef("http://purl.org/dc/terms/title"), Literal(text, lang="en")))
    assert differences(graph) == []
    assert differences(graph, rudof_input=graph.serialize(format="nt")) == []


def test_data_rudof_cannot_read_is_a_clear_error_and_leaves_the_session_clean(materialised):
    from derivecert.errors import InputError

    with pytest.raises(InputError, match="N-Triples"):
        validate('<https://e/a> <http://www.w3.org/ns/prov#wasDerivedFrom> "unterminated .\n', on=ON, shacl="rudof")
    path = DATA / "invalid" / "P-01-no-source.ttl"
    assert differences(materialised(path)) == []


def test_a_validation_goes_to_another_process_with_its_report(materialised):
    import pickle

    validation = validate(materialised(DATA / "invalid" / "S-10-scenario-outside-consent.ttl"), on=ON, shacl="rudof")
    copy = pickle.loads(pickle.dumps(validation))
    assert findings(copy) == findings(validation) and len(copy.report) == len(validation.report) > 0
