"""Every workshop notebook, in filename order: papermill injects the CI parameters, nbval runs it.

nbval runs with ``--nbval-lax``: every cell must execute without error, and cells marked
``# NBVAL_CHECK_OUTPUT`` must print exactly their expected output. Notebooks are stored without
outputs, so the expected outputs live in ``expected_outputs.json`` (notebook → cell id → text) and
are put into the prepared copy before nbval compares.

All notebooks share one embedded engine and one ``WORKSHOP_HOME`` (the ``stack_env`` session
fixture), like a participant working through them in order.

A ``conftest.py`` beside the prepared copy records what every cell printed; after nbval, every
text a participant reads is scanned for figures that bypassed ``workshop.formatting`` (issue 13,
rules in ``participant_text.py``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.notebooks.participant_text import offenders, output_texts
from workshop import runner

HERE = Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "expected_outputs.json").read_text())
NOTEBOOKS = runner.list_notebooks()
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
RECORDED = "outputs.json"

#: Loaded by the inner pytest (it sits beside the prepared notebook): nbval keeps each cell's
#: outputs on the test item (``IPyNbCell.test_outputs``); this writes them to ``outputs.json``.
RECORDER = f"""\
import json
from pathlib import Path

_cells = []


def pytest_runtest_teardown(item, nextitem):
    outputs = getattr(item, "test_outputs", None)
    cell = getattr(item, "cell", None)
    if outputs is not None and cell is not None:
        _cells.append(
            {{"id": cell.get("id"), "outputs": [dict(o) for o in outputs]}}
        )


def pytest_sessionfinish(session, exitstatus):
    record = Path(__file__).with_name("{RECORDED}")
    record.write_text(json.dumps(_cells, ensure_ascii=False, default=str))
"""


def prepare(notebook: Path, directory: Path) -> Path:
    """Inject the CI parameters (papermill, no execution) and the expected outputs."""
    import papermill

    prepared = directory / notebook.name
    papermill.execute_notebook(
        str(notebook),
        str(prepared),
        kernel_name=runner.KERNEL_NAME,
        prepare_only=True,
        parameters=runner.parameters_for(notebook, runner.CI_PARAMETERS),
        progress_bar=False,
    )
    nb = nbformat.read(prepared, as_version=4)
    expected = EXPECTED.get(notebook.name, {})
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_MARK in cell.source:
            if cell.id not in expected:
                pytest.fail(
                    f"{notebook.name}: cell {cell.id} is marked {CHECK_MARK} but has no "
                    f"expected output in {HERE / 'expected_outputs.json'}"
                )
            cell.execution_count = 1  # nbval ignores outputs of "unrun" cells
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=expected[cell.id])]
    nbformat.write(nb, prepared)
    (directory / "conftest.py").write_text(RECORDER)
    return prepared


def not_pt_br(recorded: list[dict[str, object]]) -> dict[str, list[str]]:
    """Cell id → the figures in its outputs that bypassed ``workshop.formatting``."""
    found: dict[str, list[str]] = {}
    for cell in recorded:
        for output in cell["outputs"]:  # type: ignore[union-attr]
            for text in output_texts(output):  # type: ignore[arg-type]
                if bad := offenders(text):
                    found.setdefault(str(cell["id"]), []).extend(bad)
    return found


def test_there_are_notebooks() -> None:
    assert [n.name for n in NOTEBOOKS][:1] == ["00_ambiente.ipynb"]


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook(
    notebook: Path, stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp(notebook.stem)
    prepared = prepare(notebook, directory)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-cell-timeout=900",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(directory),
            str(prepared),
        ],
        env={**os.environ, **stack_env},
        capture_output=True,
        text=True,
        cwd=directory,
        timeout=1800,
    )
    report = proc.stdout[-20000:] + proc.stderr[-5000:]
    assert proc.returncode == 0, f"{notebook.name} failed under nbval:\n{report}"
    passed = re.search(r"(\d+) passed", proc.stdout)
    code_cells = sum(
        1 for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"
    )
    assert passed and int(passed.group(1)) >= code_cells, f"not every cell ran:\n{report}"

    recorded = json.loads((directory / RECORDED).read_text())
    assert len(recorded) >= code_cells, f"outputs of {len(recorded)} of {code_cells} cells recorded"
    texts = [t for cell in recorded for o in cell["outputs"] for t in output_texts(o)]
    assert any(re.search(r"\d", t) for t in texts), "no figure printed at all: nothing was checked"
    bad = not_pt_br(recorded)
    assert not bad, (
        f"{notebook.name}: figures a participant reads that bypassed workshop.formatting "
        f"(cell id → figures): {bad}"
    )
