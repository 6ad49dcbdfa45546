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


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_no_text_depends_on_an_emoji_font(notebook: Path) -> None:
    # Issue 13: "✅" rendered as an empty box without an emoji font. Keep to characters that
    # ordinary text fonts (DejaVu) have: nothing beyond the BMP, no emoji-only symbols.
    emoji_only = {"\u2705", "\ufe0f", "\u274c", "\u2728"}
    for cell in nbformat.read(notebook, as_version=4).cells:
        bad = {ch for ch in cell.source if ord(ch) > 0xFFFF or ch in emoji_only}
        assert not bad, (cell.id, sorted(bad))


def test_one_data_view_name_in_the_text_and_the_saved_objects() -> None:
    # Issue 13: "Eventos do modelo" by hand, "Eventos de predição (model-*)" when provisioned.
    from workshop import kibana

    name = next(
        o["attributes"]["name"] for o in kibana.load_saved_objects() if o["type"] == "index-pattern"
    )
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    text = "".join(c.source for n in NOTEBOOKS for c in nbformat.read(n, as_version=4).cells)
    assert "Eventos do modelo" not in text + readme
    assert f"`{name}`" in text and f"`{name}`" in readme
