"""Print the app graph (which Django app imports which) and check it has no import running
back up: `python -m scripts.app_graph` (exit status 1 on a violation).

The apps are layered, each importing only those below it (docs/architecture.md §2):

    accounts ← whatsapp ← templates_app ← campaigns ← webhooks

Every import is counted, at module level or inside a function, and under TYPE_CHECKING too:
a lazy import is still a dependency, only a hidden one. `config` (settings, the Redis and SQL
helpers) is infrastructure any app may use, and is not part of the graph.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("accounts", "whatsapp", "templates_app", "campaigns", "webhooks")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
    return found


def app_edges() -> dict[tuple[str, str], list[str]]:
    """{(importer app, imported app): [importing module, …]} between different apps."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            for target in imported_modules(path):
                other = target.split(".")[0]
                if other in LAYERS and other != app:
                    edges[(app, other)].append(module_name(path))
    return edges


def violations(edges) -> list[str]:
    """An import of an app at the same level or above is a violation (and the only way a
    cycle can form)."""
    rank = {app: i for i, app in enumerate(LAYERS)}
    problems = []
    for (importer, imported), modules in sorted(edges.items()):
        if rank[imported] >= rank[importer]:
            for module in sorted(set(modules)):
                problems.append(f"{module} imports {imported}, which is above {importer}")
    return problems


def cycles(edges) -> list[list[str]]:
    """App-level cycles (depth-first search), whatever the declared layers say."""
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, imported in edges:
        graph[importer].add(imported)
    found, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for app in LAYERS:
        if app not in state:
            visit(app, [app])
    return found


def main() -> int:
    edges = app_edges()
    print("  ←  ".join(LAYERS))
    print()
    for app in reversed(LAYERS):
        uses = sorted({b for (a, b) in edges if a == app}, key=LAYERS.index)
        print(f"{app:14} imports {', '.join(uses) if uses else '(nothing)'}")
    problems = violations(edges) + [" → ".join(c) for c in cycles(edges)]
    if problems:
        print("\nImports running back up the graph:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print("\nNo import runs back up the graph.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
