"""Every notebook runs top to bottom on data_samples/ (slow: each takes up to a minute)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_under_two_minutes(path, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "outputs stored"
    start = time.perf_counter()
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    assert time.perf_counter() - start < 120
    # A chart as a cell's last expression is drawn as an image, with no %matplotlib magic (team-study 11).
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.strip().splitlines()[-1].startswith("qc.plot_"):
            assert any("image/png" in out.get("data", {}) for out in cell.outputs), cell.source
