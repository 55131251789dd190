"""The notebooks execute top to bottom on the crawled sample (each ends with assertions on what it showed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hubsim.demo import demo_store

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def _kernel() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" not in KernelSpecManager().find_kernel_specs():
        done = subprocess.run([sys.executable, "-m", "ipykernel", "install", "--user"], capture_output=True)
        if done.returncode != 0 or "python3" not in KernelSpecManager().find_kernel_specs():
            pytest.skip("no python3 Jupyter kernel and `python -m ipykernel install --user` failed")
    return "python3"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    demo_store(directory)  # crawled once; every notebook reuses it through HUBTREE_DEMO_DIR
    return directory


def test_there_are_the_four_notebooks():
    assert [p.stem for p in NOTEBOOKS] == ["deployment", "growth", "licence_drift", "lineage_explorer"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, demo_dir, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("HUBTREE_DEMO_DIR", str(demo_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name=_kernel(), timeout=300, resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    assert nb.cells[1].outputs[0]["text"].strip().endswith("family models")
