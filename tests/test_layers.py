"""The house: every import in envs/, memory/ and pahf_robot/ points down a layer, and none closes a cycle.

Every import statement counts, lazy and TYPE_CHECKING ones included: a cycle through a lazy import is
still a pair of modules that cannot be understood apart.
"""

from __future__ import annotations

import ast
import subprocess
import sys

from envs.assets import DATA_ROOT as ROOT

PACKAGES = ("envs", "memory", "pahf_robot")
LAYERS = {
    "envs": 0,
    "memory": 0,
    "pahf_robot.core": 1,
    "pahf_robot.bench": 2,
    "pahf_robot.llm": 2,
    "pahf_robot.agent": 3,
    "pahf_robot.human": 4,
    "pahf_robot.act": 4,
    "pahf_robot.run": 5,
    "pahf_robot.cli": 6,
}
"""Lower numbers sit lower: a module may import its own part or a part of a lower layer."""
PYBULLET_HOME = "envs.bullet_driver"


def _modules() -> dict[str, ast.Module]:
    files = [p for name in PACKAGES for p in (ROOT / name).rglob("*.py")]
    return {".".join(p.relative_to(ROOT).with_suffix("").parts): ast.parse(p.read_text()) for p in files}


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module a dotted import name lands in; None outside the project or on a package's __init__."""
    while name:
        if name in MODULES:
            return name
        if f"{name}.__init__" in MODULES:
            return None
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> tuple[set[str], set[str]]:
    """(project modules, every top-level package) that `module` imports anywhere in its body."""
    package = module.rpartition(".")[0]
    found: set[str] = set()
    tops: set[str] = set()
    for node in ast.walk(MODULES[module]):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        tops.update(t.split(".")[0] for t in targets)
        for target in targets:
            resolved = _resolve(target)
            if resolved is not None and resolved != module:
                found.add(resolved)
                break
    return found, tops


EDGES = {m: _imports(m)[0] for m in MODULES if not m.endswith("__init__")}


def _layer(module: str) -> tuple[str, int]:
    part = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return part, LAYERS[part]


def test_every_module_has_a_layer():
    assert all(_layer(m) for m in EDGES)


def test_imports_point_down():
    upward = []
    for module, targets in EDGES.items():
        part, level = _layer(module)
        for target in targets:
            target_part, target_level = _layer(target)
            if target_part != part and target_level >= level:
                upward.append(f"{module} -> {target}")
    assert not upward


def test_no_import_cycles():
    """Tarjan's strongly connected components; any component of two or more modules is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in EDGES[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in EDGES:
        if module not in index:
            visit(module)
    assert not cycles


def test_no_pybullet_above_the_driver():
    bullet = {"pybullet", "pybullet_data", "pybullet_utils"}
    offenders = [m for m in EDGES if m != PYBULLET_HOME and (_imports(m)[1] & bullet or PYBULLET_HOME in EDGES[m])]
    assert not offenders


def test_env_and_controller_load_without_pybullet():
    probe = "import sys, envs.tabletop, pahf_robot.act.controller; print('pybullet' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
