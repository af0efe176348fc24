"""The written layering rule: each layer imports only the layers listed before it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tpusplit"
#: Layers in order; a module may import the leaves and its own or earlier layers.
#: ``partition`` comes first: pure functions over (n, k, cost(i, j)) that import nothing of
#: tpusplit, not even the leaves.
LAYERS = ["partition", "graph", "models", "devices", "pipeline", "costs", "profiling",
          "calibration", "predictor", "sim", "strategies", "report", "api", "cli"]
#: Leaf modules: any layer but ``partition`` may import them; they import only each other.
LEAVES = ["errors", "units", "files", "accuracy"]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "tpusplit" else None


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names
                      if node.module == "tpusplit"]
    return [m for m in found if m.split(".")[0] == "tpusplit"]


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_earlier_layers(layer: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(layer) + 1]) | (set(LEAVES) if layer != "partition"
                                                          else set())
    files = [SRC / f"{layer}.py"] if (SRC / f"{layer}.py").exists() else (SRC / layer).rglob(
        "*.py")
    for path in files:
        for module in _imports(path):
            target = _layer(module)
            if target is None:
                continue
            assert target in allowed, f"{path.relative_to(SRC)} imports {module} ({layer} " \
                                      f"may import only {sorted(allowed)})"


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaves_import_only_leaves(leaf: str) -> None:
    for module in _imports(SRC / f"{leaf}.py"):
        assert _layer(module) in LEAVES, f"{leaf}.py imports {module}"


def test_every_module_is_in_a_layer_or_a_leaf() -> None:
    """A new package or top-level module must be placed in the order above."""
    top = {p.stem for p in SRC.glob("*.py")} | {p.name for p in SRC.iterdir() if p.is_dir()
                                                and (p / "__init__.py").exists()}
    known = set(LAYERS) | set(LEAVES) | {"__init__", "__main__"}
    assert top <= known, f"not placed in the layering: {sorted(top - known)}"


def test_cli_imports_only_api_and_report() -> None:
    """The commands parse flags into ``api`` and print through ``report``: nothing else."""
    allowed = {"api", "report", "cli", *LEAVES}
    for path in (SRC / "cli").rglob("*.py"):
        for module in _imports(path):
            target = _layer(module)
            assert target is None or target in allowed, f"cli/{path.name} imports {module}"


def test_no_import_cycle() -> None:
    """No module imports (directly or through others) a module that imports it."""
    modules = {".".join(p.relative_to(SRC.parent).with_suffix("").parts).removesuffix(
        ".__init__"): p for p in SRC.rglob("*.py")}
    edges = {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for n in sorted(edges[m]):
            if state.get(n) == 1 and not n.startswith(m + ".") and not m.startswith(n + "."):
                raise AssertionError(f"import cycle: {' -> '.join([*trail, m, n])}")
            if n not in state:
                visit(n, [*trail, m])
        state[m] = 2

    for m in sorted(modules):
        if m not in state:
            visit(m, [])


def test_one_device_parser() -> None:
    """Device strings are read in one place (devices/): no other module splits them."""
    for path in SRC.rglob("*.py"):
        if path.parent.name == "devices":
            continue
        text = path.read_text()
        assert "def parse_devices" not in text and "def resolve(" not in text, path
