"""Shared test helpers: where the spec examples and reference files are, and fixture headers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SPEC_EXAMPLES = SHARED / "spec" / "examples"
DATA = Path(__file__).resolve().parent / "data"


def fixture_header(path: Path) -> dict:
    """The `# key: value` lines at the top of a fixture (requirement, severity, focus, why)."""
    header = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#\s*(requirement|severity|focus|why):\s*(.+)", line)
        if m:
            header.setdefault(m.group(1), m.group(2).strip())
        elif line.strip() and not line.startswith("#"):
            break
    return header


def spec_examples() -> list[tuple[Path, list[dict]]]:
    return [(ttl, json.loads(ttl.with_suffix(".expected.json").read_text()))
            for ttl in sorted(SPEC_EXAMPLES.glob("*.ttl"))]


@pytest.fixture(scope="session")
def engine():
    from derivecert.engine import Engine

    return Engine()


#: markers of tests that take seconds each or need outside programs; `-m "not slow"` skips them all
SLOW_MARKERS = {"hermit", "schemathesis", "durability", "browser"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_MARKERS & {mark.name for mark in item.iter_markers()}:
            item.add_marker(pytest.mark.slow)
