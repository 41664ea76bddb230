"""Every notebook in notebooks/ runs top to bottom on a small real run and shows the report's sections,
pictures included, exactly as ``agentscaler report`` draws them."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from report_helpers import small_run

from agentscaler.report import render_page

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def run(tmp_path_factory, ray_session):
    return small_run(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> KernelSpecManager:
    """A kernel spec of this interpreter (the venv's python) in a directory of the test's own: the user's
    Jupyter configuration and kernels are neither read nor changed."""
    from ipykernel.kernelspec import write_kernel_spec

    directory = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(directory / "agentscaler-test")
    return KernelSpecManager(kernel_dirs=[str(directory)])


def execute(path: Path, kernels: KernelSpecManager) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    kernel = KernelManager(kernel_name="agentscaler-test", kernel_spec_manager=kernels)
    NotebookClient(notebook, km=kernel, timeout=300, resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.slow  # the small run's filters take 20-60 s on 2 CPUs, the kernel and its imports ~10 s
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_draws_the_reports_pictures(path, run, kernels, monkeypatch):
    monkeypatch.setenv("AGENTSCALER_RUN", str(run.path))
    notebook = execute(path, kernels)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    sections = [o.data["text/html"] for o in outputs if "<section>" in o.get("data", {}).get("text/html", "")]
    page = render_page(run)
    # the notebook's sections are the page's, byte for byte: the same tables, notes and plots
    assert sections and all(html.removeprefix("<section>") in page for html in sections)
    pictures = [html for html in sections if "<svg" in html]
    assert len(pictures) >= 5  # domains, calls, funnel, pass rates, evaluation (the run has no training)
    assert any("agentscaler train" in html and "<svg" not in html for html in sections)
