"""Notebooks are stored clean: kernelspec, a parameters cell, no outputs, stable cell ids."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from workshop import runner

NOTEBOOKS = runner.list_notebooks()
EXPECTED = json.loads(
    (Path(__file__).resolve().parents[1] / "notebooks" / "expected_outputs.json").read_text()
)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_is_clean(notebook: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3", "kernelspec missing: kernel picker"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "stored with outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one parameters-tagged cell"
    assert "fast" in runner.declared_parameters(notebook)
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_expected_outputs_refer_to_marked_cells(notebook: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    marked = {c.id for c in nb.cells if "# NBVAL_CHECK_OUTPUT" in c.source}
    assert set(EXPECTED.get(notebook.name, {})) == marked
