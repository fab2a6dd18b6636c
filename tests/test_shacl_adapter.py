"""pySHACL as the engine's validator: the patches took, on a version inside the pinned range (issue 9).

derivecert.shacl.pyshacl_adapter replaces four functions of pySHACL (three speed-ups, one
correction of numeric comparison). A pySHACL release that moves one of them would silently lose
the patch: these tests fail instead, and name it.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version

import pytest
from conftest import ROOT
from packaging.specifiers import SpecifierSet

from derivecert.shacl import pyshacl_adapter


def pinned_range() -> SpecifierSet:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    spec = next(d for d in dependencies if re.match(r"pyshacl\b", d, re.I))
    return SpecifierSet(spec[len("pyshacl"):])


def test_pyshacl_is_capped_in_pyproject_and_the_installed_one_is_in_range():
    spec = pinned_range()
    assert any(s.operator in ("<", "<=", "~=", "==") for s in spec), "pySHACL needs an upper bound while it is patched"
    assert version("pyshacl") in spec


def test_every_patch_is_in_place():
    applied = pyshacl_adapter.patches_applied()
    assert set(applied) == set(pyshacl_adapter.PATCHES)
    assert [name for name, ok in applied.items() if not ok] == []


def test_a_patch_replaced_behind_our_back_is_reported(monkeypatch):
    from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper

    pyshacl_adapter.patches_applied()
    monkeypatch.setattr(SPARQLQueryHelper, "check_invalid_sparql", lambda self, *a, **k: True)
    applied = pyshacl_adapter.patches_applied()
    assert applied["check_invalid_sparql"] is False
    assert all(ok for name, ok in applied.items() if name != "check_invalid_sparql")


@pytest.mark.parametrize(("value", "meets"), [("0.95", True), ("0.9499", False)])
def test_the_comparison_patch_promotes_decimals_to_doubles_as_sparql_does(value, meets):
    from pyshacl.constraints.core import value_range_constraints
    from rdflib import Literal
    from rdflib.namespace import XSD

    pyshacl_adapter.patches_applied()
    double, threshold = Literal(value, datatype=XSD.double), Literal("0.95", datatype=XSD.decimal)
    assert (value_range_constraints.compare_literal(double, threshold) >= 0) is meets
