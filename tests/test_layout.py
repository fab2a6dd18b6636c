"""The package's layering (docs/DESIGN.md "Module map"): no import cycle between modules, the
library never imports the API, and the engine does not know the catalog."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "derivecert"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Modules of the package that `path` imports, anywhere in it (lazy imports included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("derivecert")}
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            if target.startswith("derivecert"):
                found.add(target)
                found |= {f"{target}.{a.name}" for a in node.names}
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_no_module_imports_one_that_imports_it_back():
    deps = graph()
    # packages' __init__ re-export their modules: an edge into a package's own module is not a cycle
    edges = {m: {d for d in ds if not d.startswith(m + ".")} for m, ds in deps.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_library_never_imports_the_api_and_the_engine_not_the_catalog():
    deps = graph()
    upward = {m for m, ds in deps.items()
              if not m.startswith("derivecert.api") and any(d.startswith("derivecert.api") for d in ds)}
    assert upward == set()
    engine = ("parse", "reason", "classify", "shacl", "certify", "filing", "explain", "defaults", "unknown", "engine")
    knows_catalog = {m for m in (f"derivecert.{e}" for e in engine)
                     if any(d.startswith("derivecert.catalog") for d in deps[m])}
    assert knows_catalog == set()
