"""The package layers point down, packages meet through their ``__init__``, no package's modules import each
other in a circle, and the CLI's ``--help`` does not pay for Ray.

The layer order lives in pyproject.toml (``[tool.importlinter]``); ``lint-imports`` checks it. The two
other rules are not among import-linter's contract types, so they are checked here on grimp's import
graph (the one import-linter builds).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("agentscaler")


def package_of(module: str) -> str:
    """``agentscaler.envs.build`` -> ``agentscaler.envs``; a top-level module is its own package."""
    return ".".join(module.split(".")[:2])


def test_layers_point_down():
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    done = subprocess.run([command, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def cross_package_reaches(graph) -> list[str]:
    """Imports from one package into a submodule of another (past its ``__init__``)."""
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if package_of(importer) != package_of(imported) and imported != package_of(imported):
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    found.append(f"{importer}:{detail['line_number']} imports {imported}")
    return found


def test_packages_import_each_other_through_their_init(graph):
    assert cross_package_reaches(graph) == []


def module_cycles(graph) -> list[list[str]]:
    """Circles of imports among the modules of one package (a package's ``__init__`` importing its own
    submodules is how it exports them, so edges into an ``__init__`` from inside count, edges out do not)."""
    edges = nx.DiGraph()
    for importer in graph.modules:
        if importer == package_of(importer):
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            if package_of(imported) == package_of(importer):
                edges.add_edge(importer, imported)
    return sorted(sorted(cycle) for cycle in nx.simple_cycles(edges))


def test_no_import_cycles_inside_a_package(graph):
    assert module_cycles(graph) == []


def test_reach_check_finds_a_planted_reach(graph):
    graph = grimp.build_graph("agentscaler")
    graph.add_import(importer="agentscaler.tasks.build", imported="agentscaler.envs.synth", line_number=1,
                     line_contents="from agentscaler.envs.synth import value")
    graph.add_import(importer="agentscaler.envs.naming", imported="agentscaler.envs.values", line_number=1,
                     line_contents="from agentscaler.envs.values import value")
    assert "agentscaler.tasks.build:1 imports agentscaler.envs.synth" in cross_package_reaches(graph)
    assert ["agentscaler.envs.naming", "agentscaler.envs.values"] in module_cycles(graph)


def test_cli_help_does_not_import_ray():
    code = ("import sys; from typer.main import get_command; from agentscaler.cli import app; "
            "get_command(app).main(['--help'], standalone_mode=False); "
            "print('ray' in sys.modules, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False False"
