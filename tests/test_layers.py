"""Dependencies point one way: every import of a package module points down the layers.

DESIGN.md section 3 orders the package in layers (kernel -> model -> engine -> causal ->
attribution -> formats -> calibrate -> face). A module may import from its own layer and the
layers below it, whether at module level or inside a function; imports under
``if TYPE_CHECKING:`` are exempt (they never run). The one allowed upward call is
``Scenario.run``/``Scenario.simulate`` handing the scenario to the executor. A new module must be
given a layer here; a new upward import makes this test fail with the line to move.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "agentsim"

LAYERS = ["kernel", "model", "engine", "causal", "attribution", "formats", "calibrate", "face"]

# Module (or package prefix, ending in ".") -> layer. The longest matching key wins.
LAYER_OF = {
    "agentsim.errors": "kernel",
    "agentsim.dist": "kernel",
    "agentsim.noise": "kernel",
    "agentsim.stats": "kernel",
    "agentsim.trace": "kernel",
    "agentsim._io": "kernel",
    "agentsim._gc": "kernel",
    "agentsim._version": "kernel",
    "agentsim._display": "kernel",
    "agentsim._optional": "kernel",
    "agentsim.scenario": "model",
    "agentsim.context": "model",
    "agentsim.mechanisms": "model",
    "agentsim.interventions": "model",
    "agentsim.workflow": "model",
    "agentsim._engine": "engine",
    "agentsim._compiled": "engine",
    "agentsim.executor": "engine",
    "agentsim.run": "engine",
    "agentsim.vector": "engine",
    "agentsim._vector_check": "engine",
    "agentsim._vector_parts": "engine",
    "agentsim._rows": "engine",
    "agentsim.batch": "engine",
    "agentsim.columns": "engine",
    "agentsim._arrow": "engine",
    "agentsim.worlds.": "causal",
    "agentsim.worlds": "causal",
    # old import paths, kept as re-export shims of the worlds package
    "agentsim.tracemodel": "causal",
    "agentsim.abduction": "causal",
    "agentsim.structural": "causal",
    "agentsim.scm": "causal",
    "agentsim.attribution.": "attribution",
    "agentsim.attribution": "attribution",
    "agentsim.ingest.": "formats",
    "agentsim.ingest": "formats",
    "agentsim.otlp": "formats",
    "agentsim.calibrate.": "calibrate",
    "agentsim.calibrate": "calibrate",
    "agentsim": "face",
    "agentsim.counterfactuals": "face",
    "agentsim.explain": "face",
    "agentsim.locate": "face",
    "agentsim.validate": "face",
    "agentsim.cli": "face",
    "agentsim.cli_load": "face",
    "agentsim.cli_args": "face",
    "agentsim.views.": "face",
    "agentsim.views": "face",
    "agentsim.strategies": "face",
    "agentsim.scenarios.": "face",
    "agentsim.scenarios": "face",
    "agentsim.bench.": "face",
    "agentsim.bench": "face",
    "agentsim.analytic.": "face",
    "agentsim.analytic": "face",
}

# (importer, imported): the only upward imports allowed, each with its reason.
ALLOWED_UPWARD = {
    ("agentsim.scenario", "agentsim.executor"): "Scenario.run/simulate hand the scenario to "
    "the executor (a convenience users expect; the executor is the one to know how)",
}

# The modules attribution must never import at run time: it talks to worlds only.
NOT_FOR_ATTRIBUTION = {
    "agentsim._engine",
    "agentsim._compiled",
    "agentsim.executor",
    "agentsim.run",
    "agentsim.scenario",
    "agentsim.context",
}

MAX_FUNCTION_LOCAL = 20


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def layer_of(module: str) -> str:
    best = max(
        (k for k in LAYER_OF if module == k or (k.endswith(".") and module.startswith(k))),
        key=len,
        default=None,
    )
    if best is None:
        raise AssertionError(f"module {module} has no layer: add it to LAYER_OF in {__file__}")
    return LAYER_OF[best]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skip.update(id(n) for n in ast.walk(inner))
    return skip


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if MODULES[module].name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    names = []
    for alias in node.names:
        full = f"{base}.{alias.name}"
        names.append(full if full in MODULES else base)
    return names


def imports() -> list[tuple[str, str, int, bool]]:
    """(importer, imported, line, inside a function) for every run-time package import."""
    found = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        local: set[int] = set()
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                local.update(id(n) for n in ast.walk(fn))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in skip:
                continue
            for target in _targets(module, node):
                if target in MODULES and target != module:
                    found.append((module, target, node.lineno, id(node) in local))
    return found


IMPORTS = imports()


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        assert layer_of(module) in LAYERS


def points_up(importer: str, imported: str) -> bool:
    """Whether ``importer`` importing ``imported`` breaks the layering."""
    up = LAYERS.index(layer_of(imported)) > LAYERS.index(layer_of(importer))
    return up and (importer, imported) not in ALLOWED_UPWARD


def test_imports_point_down() -> None:
    bad = [
        f"{a} (line {line}, layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
        for a, b, line, _ in IMPORTS
        if points_up(a, b)
    ]
    assert not bad, "move the name down a layer or pass a function in:\n" + "\n".join(bad)


def test_attribution_talks_to_worlds_only() -> None:
    bad = [
        f"{a}:{line} imports {b}"
        for a, b, line, _ in IMPORTS
        if layer_of(a) == "attribution" and b in NOT_FOR_ATTRIBUTION
    ]
    assert not bad, bad


def test_no_import_cycle() -> None:
    graph = nx.DiGraph()
    graph.add_edges_from((a, b) for a, b, _, _ in IMPORTS if (a, b) not in ALLOWED_UPWARD)
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, cycles


def test_few_function_local_imports_each_with_a_reason() -> None:
    local = [(a, b, line) for a, b, line, inside in IMPORTS if inside]
    assert len(local) <= MAX_FUNCTION_LOCAL, local
    for a, b, line in local:
        text = MODULES[a].read_text(encoding="utf-8").splitlines()
        context = " ".join(text[max(0, line - 3) : line])
        assert "#" in context, f"{a}:{line} imports {b} inside a function without a reason"


def test_the_guard_catches_an_upward_import() -> None:
    assert points_up("agentsim._engine", "agentsim.attribution.shapley")
    assert points_up("agentsim.run", "agentsim.counterfactuals")
    assert points_up("agentsim.trace", "agentsim.cli")
    assert not points_up("agentsim.cli", "agentsim.trace")
    assert not points_up("agentsim.scenario", "agentsim.executor")  # the allowed one


def test_old_module_paths_still_import() -> None:
    import agentsim.abduction
    import agentsim.scm
    import agentsim.structural
    import agentsim.tracemodel
    from agentsim.worlds import StructuralModel, TraceWorld

    assert agentsim.structural.StructuralModel is StructuralModel
    assert agentsim.tracemodel.TraceWorld is TraceWorld
    assert callable(agentsim.scm.scm_graph) and callable(agentsim.abduction.posterior_noise)
