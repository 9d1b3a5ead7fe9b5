"""The tree shows the architecture: engine/ in layers that import only the ones below them,
no import cycle between any two modules, each package saying what it holds, and a packaging
list that ships every package."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[2]

# engine's layers, bottom first: a module may import its own layer and the ones before it.
# "base" is the modules directly in engine/ (problems, events, procs, java, ...).
LAYERS = [
    "base",
    "pipeline",
    "fileformat",
    "storage",
    "planning",
    "environments",
    "backends",
    "running",
    "export",
    "preview",
    "cli",
    "api",
]
# the front ends sit side by side: the API prints runs as the CLI does; the CLI never uses the API
NOT_ALLOWED = {("cli", "api")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for folder in ("engine", "designer")
        for p in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in p.parts
    }


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every project module that `name` imports, at any depth (functions, TYPE_CHECKING too:
    a type-only cycle still ties two modules together)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            if target in modules:
                found.add(target)
                break
    found.discard(name)
    return found


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    modules = project_modules()
    g = nx.DiGraph()
    g.add_nodes_from(modules)
    for name, path in modules.items():
        for target in imports_of(name, path, modules):
            g.add_edge(name, target)
    return g


def test_no_module_imports_itself_through_others(graph):
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, (
        "import cycles (break each with a small shared module or a protocol): "
        + "; ".join(" <-> ".join(c) for c in cycles)
    )


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "engine":
        return None
    if len(parts) == 1:
        return "base"
    return parts[1] if parts[1] in LAYERS else "base"


def test_each_engine_layer_imports_only_the_layers_below(graph):
    wrong = []
    for a, b in graph.edges:
        la, lb = layer_of(a), layer_of(b)
        if la is None or lb is None or la == lb:
            continue
        if LAYERS.index(lb) > LAYERS.index(la) or (la, lb) in NOT_ALLOWED:
            wrong.append(f"{a} ({la}) imports {b} ({lb})")
    assert not wrong, "\n".join(wrong)


def test_the_engine_never_imports_the_designer(graph):
    assert not [
        (a, b) for a, b in graph.edges if a.startswith("engine") and b.startswith("designer")
    ]


def test_engine_is_a_few_packages_each_saying_what_it_holds():
    top = sorted(p.name for p in (ROOT / "engine").glob("*.py"))
    assert len(top) <= 12, top
    for init in (ROOT / "engine").rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 80, f"{init.relative_to(ROOT)} needs a docstring paragraph"
    # every layer named above exists
    for layer in LAYERS[1:]:
        assert (ROOT / "engine" / layer / "__init__.py").is_file(), layer


def test_the_distribution_ships_every_package():
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    packages = {
        module_name(init)
        for folder in ("engine", "designer")
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert packages - listed == set(), "add to [tool.setuptools] packages in pyproject.toml"


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_docs_point_only_inside_the_repository():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    pages += sorted((ROOT / "projects").glob("*/README.md"))
    wrong = []
    for page in pages:
        text = page.read_text()
        if "shared/DESIGN" in text or "shared/STYLE" in text:
            wrong.append(f"{page.relative_to(ROOT)} names a file outside the repository")
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue  # a URL
            resolved = (page.parent / target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                wrong.append(
                    f"{page.relative_to(ROOT)} links to {target}, which is not in the repository"
                )
    assert not wrong, "\n".join(wrong)
