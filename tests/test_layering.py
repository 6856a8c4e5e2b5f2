"""The layering of docs/architecture.md, checked from the source's imports (``ast``, no import).

- nothing outside ``innv_core/app`` imports the application;
- the core (``innv_core`` outside ``app``) imports no plugin;
- the plugins do not import the application;
- no circle among the modules, counting the imports that run when a module loads (function-local
  imports run later and may break a load-time circle; ``if TYPE_CHECKING:`` blocks never run).

``python tests/test_layering.py`` prints each module's level (0: imports no innv module).
"""

from __future__ import annotations

import ast
import graphlib
import sys
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("innv_core", "innv_plugins")


@attrs.frozen
class Import:
    """One import of an innv module by another; ``at_load`` if it runs when the importer loads."""

    importer: str
    imported: str
    at_load: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: set[str]) -> list[str]:
    """The innv modules an import statement loads: the module, or the submodule a ``from package
    import submodule`` names. A package the importer lies in is left out: it is always loaded
    before its modules, so that import adds no order."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = importer.split(".") if is_package else importer.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    hits = []
    for name in names:
        while name and name not in known:  # `import a.b.c` of a non-module attribute: its module
            name = name.rpartition(".")[0]
        if name.split(".")[0] in PACKAGES and not importer.startswith(name + "."):  # not a parent
            hits.append(name)
    return list(dict.fromkeys(hits))


def _walk(node: ast.AST, at_load: bool, importer: str, is_package: bool, known: set[str]) -> list[Import]:
    """The imports under ``node``; those inside a function or lambda do not run at load time."""
    found = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            found += [Import(importer, target, at_load)
                      for target in _targets(child, importer, is_package, known) if target != importer]
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            found += _walk(child, False, importer, is_package, known)
        elif isinstance(child, ast.If) and _is_type_checking(child):
            found += _walk(ast.Module(body=child.orelse, type_ignores=[]), at_load, importer, is_package, known)
        else:
            found += _walk(child, at_load, importer, is_package, known)
    return found


def imports() -> list[Import]:
    """Every import of an innv module by an innv module."""
    found = modules()
    edges = []
    for importer, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges += _walk(tree, True, importer, path.name == "__init__.py", set(found))
    return edges


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def load_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules()}
    for edge in imports():
        if edge.at_load:
            graph[edge.importer].add(edge.imported)
    return graph


def levels() -> dict[str, int]:
    """Each module's level: 0 if it imports no innv module at load time, else one above the
    highest module it imports."""
    graph = load_graph()
    level: dict[str, int] = {}
    for name in graphlib.TopologicalSorter(graph).static_order():
        level[name] = 1 + max((level[d] for d in graph[name]), default=-1)
    return level


def test_nothing_outside_the_application_imports_it():
    wrong = [e for e in imports() if _in(e.imported, "innv_core.app") and not _in(e.importer, "innv_core.app")]
    assert not wrong, f"the application is imported by the library or a plugin: {wrong}"


def test_the_core_imports_no_plugin():
    wrong = [e for e in imports() if _in(e.importer, "innv_core") and _in(e.imported, "innv_plugins")
             and not _in(e.importer, "innv_core.app")]
    assert not wrong, f"the core imports a plugin (plugins register through entry points): {wrong}"


def test_no_import_circle_at_load_time():
    try:
        graphlib.TopologicalSorter(load_graph()).prepare()
    except graphlib.CycleError as error:
        raise AssertionError(f"an import circle at load time: {' -> '.join(error.args[1])}") from None


def test_the_parser_sees_the_imports():
    """A guard for the checks above: the walk finds known imports, local and at load time."""
    edges = {(e.importer, e.imported, e.at_load) for e in imports()}
    assert ("innv_core.app.cli", "innv_core.app.heatmap_files", True) in edges
    assert ("innv_core.app.cli", "innv_core.app.report", False) in edges
    assert ("innv_core.reverse", "innv_core.graph", True) in edges
    assert len(modules()) > 100 and max(levels().values()) >= 3


if __name__ == "__main__":
    by_level: dict[int, list[str]] = {}
    for name, n in levels().items():
        by_level.setdefault(n, []).append(name)
    for n in sorted(by_level, reverse=True):
        print(f"{n:2d}  {' '.join(sorted(by_level[n]))}")
    local = [e for e in imports() if not e.at_load and e.importer.split(".")[:2] != e.imported.split(".")[:2]]
    print(f"{len(modules())} modules, {max(by_level) + 1} levels, {sum(map(len, load_graph().values()))} "
          f"imports at load time, {len(local)} function-local imports across packages", file=sys.stderr)
