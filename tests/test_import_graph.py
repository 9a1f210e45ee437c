"""Imports point one way: views, commands, tasks → services → models → choices and leaf modules.

A small AST walk over every project module (imports inside functions included, `if
TYPE_CHECKING:` blocks excluded since they never run) builds the import graph; the tests
fail on any cycle and on any import that points up a layer.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("connections", "issuetrak_admin")

# Lowest first. A module may import its own layer or a lower one, never a higher one.
LEAVES = ("connections.choices", "connections.procedure", "connections.secrets", "connections.client_ip",
          "connections.text_rules", "connections.base_url", "connections.issuetrak", "connections.checklist",
          "connections.simulator", "connections.permissions")
MODELS = ("connections.models",)
ENTRY = ("connections.views", "connections.urls", "connections.admin", "connections.tasks",
         "connections.account_views",
         "connections.management", "connections.context_processors", "connections.templatetags",
         "connections.health_endpoint", "connections.apps", "connections.migrations",
         "issuetrak_admin")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, modules: dict[str, Path]) -> set[str]:
    targets: set[str] = set()

    def visit(node):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                targets.add(sub if sub in modules else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {t for t in targets if t in modules}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(ast.parse(path.read_text()), modules) - {name}
            for name, path in modules.items()}


def _layer(module: str) -> int:
    def under(prefixes):
        return any(module == p or module.startswith(p + ".") for p in prefixes)

    if under(LEAVES):
        return 0
    if under(MODELS):
        return 1
    if under(ENTRY):
        return 3
    return 2  # services


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def connect(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return result


def test_the_walk_sees_the_project():
    graph = import_graph()
    assert "connections.models.run" in graph["connections.site_chunks"]
    assert "connections.checklist" in graph["connections.models.run"]


def test_no_import_cycle_among_the_projects_modules():
    assert _cycles(import_graph()) == []


def test_the_cycle_finder_finds_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_point_down_the_layers():
    upward = [f"{module} → {target}" for module, targets in sorted(import_graph().items())
              for target in sorted(targets) if _layer(target) > _layer(module)]
    assert upward == []
