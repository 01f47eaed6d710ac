"""The layers of docs/architecture.md hold: imports point down (core <- figures <- ui <- app), and
the module import graph has no cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nnviz"
ENTRIES = ("nnviz.cli", "nnviz.__main__")  # entry points, like app.py: they may use the figures


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The nnviz modules ``path`` imports (``from nnviz.x import y`` counts nnviz.x.y if it is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("nnviz")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nnviz"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer(module: str) -> int:
    if module.startswith("nnviz.ui"):
        return 2
    if module.startswith("nnviz.figures"):
        return 1
    return 0


def test_imports_point_down_the_layers():
    for name, path in MODULES.items():
        if name in ENTRIES:
            continue
        for target in imports(path, top_level_only=False):
            assert layer(target) <= layer(name), f"{name} imports {target}, a layer above it"


def test_the_core_never_imports_streamlit_or_plotly():
    for name, path in MODULES.items():
        if layer(name) > 0 or name in ENTRIES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] in ("streamlit", "plotly") for n in names), (name, names)


def test_the_module_import_graph_has_no_cycle():
    graph = {name: imports(path, top_level_only=True) & set(MODULES) for name, path in MODULES.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_the_graph_check_finds_a_cycle(tmp_path, monkeypatch):
    """The cycle test can fail: two modules importing each other are reported."""
    (tmp_path / "nnviz").mkdir()
    (tmp_path / "nnviz" / "a.py").write_text("from nnviz import b\n")
    (tmp_path / "nnviz" / "b.py").write_text("import nnviz.a\n")
    fake = {"nnviz.a": tmp_path / "nnviz" / "a.py", "nnviz.b": tmp_path / "nnviz" / "b.py"}
    monkeypatch.setitem(globals(), "MODULES", fake)
    try:
        test_the_module_import_graph_has_no_cycle()
    except AssertionError as exc:
        assert "import cycle" in str(exc)
    else:
        raise AssertionError("a cycle went unnoticed")
