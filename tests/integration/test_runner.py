"""The runner behind workshop demo: injected parameters, runs/ output, stop on failure."""

from __future__ import annotations

from pathlib import Path

import pytest


def _notebook(path: Path, *cells: str) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = new_code_cell("fast = False\nunused_elsewhere = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# t"), params, *(new_code_cell(c) for c in cells)]
    nbformat.write(nb, path)
    return path


def test_parameters_for_injects_only_declared_names(tmp_path: Path) -> None:
    from workshop import runner

    nb = _notebook(tmp_path / "00_a.ipynb", "print(fast)")
    assert runner.parameters_for(nb, {"fast": True, "other": 3}) == {"fast": True}


def test_run_demo_writes_outputs_and_stops_on_failure(stack_env, tmp_path: Path) -> None:
    import nbformat

    from workshop import runner

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    ok = _notebook(nbs / "00_ok.ipynb", "print('rapido' if fast else 'completo')")
    bad = _notebook(nbs / "01_bad.ipynb", "x = 1", "raise ValueError('quebrou de propósito')")
    never = _notebook(nbs / "02_never.ipynb", "print('não deveria rodar')")
    runs = tmp_path / "runs"
    lines: list[str] = []
    with pytest.raises(runner.NotebookFailed) as info:
        runner.run_demo(
            notebooks=[ok, bad, never], parameters={"fast": True}, runs_dir=runs, echo=lines.append
        )
    message = str(info.value)
    assert "01_bad.ipynb" in message and "quebrou de propósito" in message
    assert "raise ValueError" in message  # the failing cell's source is shown
    latest = runs / "latest"
    assert (latest / "00_ok.ipynb").exists() and (latest / "00_ok.html").exists()
    executed = nbformat.read(latest / "00_ok.ipynb", as_version=4)
    assert "rapido" in executed.cells[-1].outputs[0]["text"]  # fast=True was injected
    assert not (latest / "02_never.ipynb").exists()
    assert any("Usando o Elasticsearch" in line for line in lines)
    assert _kernel_files() == set(), "the kernel booted for 02_never was not stopped"


def _kernel_files() -> set[str]:
    import tempfile

    return {p.name for p in Path(tempfile.gettempdir()).glob("workshop-kernel-*")}


def test_demo_json_and_each_notebook_on_its_own_kernel_booted_ahead(
    stack_env, tmp_path: Path
) -> None:
    """Issue 15: the next notebook's kernel boots, and imports what that notebook imports (not
    more), while the current notebook runs. Each notebook still gets a fresh kernel, nothing
    leaks into its namespace, and every kernel is gone at the end (stopped in the background,
    not waited for after each notebook)."""
    import json
    import os

    import nbformat

    from workshop import runner

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    probe = (
        "import json, os, sys\n"
        "print(json.dumps({'pid': os.getpid(), 'cwd': os.getcwd(), "
        "'preloaded': 'workshop.feedback' in sys.modules, "
        "'not_asked': 'workshop.widgets' in sys.modules, 'leaked': '_w' in dir()}))"
    )
    later = "from workshop import feedback  # imported after the probe: preloaded"
    paths = [_notebook(nbs / f"0{i}_p.ipynb", probe, later) for i in range(3)]
    result = runner.run_demo(notebooks=paths, runs_dir=tmp_path / "runs", echo=lambda _msg: None)
    # `workshop demo --json`: seconds per notebook, the wall total and the target.
    data = runner.DemoResult.as_dict(result, {"fast": False})
    assert list(data["notebooks"]) == [p.name for p in paths]
    assert all(n["seconds"] > 0 and n["export_seconds"] >= 0 for n in data["notebooks"].values())
    # Wall time: every notebook ran one after the other; HTML exports may overlap the next one;
    # after the last one, the cleanup (the kernels still exiting, the engine's stop) is counted.
    serial = data["setup_seconds"] + sum(n["seconds"] for n in data["notebooks"].values())
    exports = sum(n["export_seconds"] for n in data["notebooks"].values())
    cleanup = data["cleanup_seconds"]
    assert serial - 0.05 <= data["total_seconds"] <= serial + exports + cleanup + 1.0
    assert data["targets"] == {
        "total_seconds_max": runner.TARGET_TOTAL_SECONDS,
        "total_seconds_met": data["total_seconds"] <= runner.TARGET_TOTAL_SECONDS,
    }
    assert all((tmp_path / "runs" / "latest" / f"{p.stem}.html").exists() for p in paths)
    seen = []
    for path in paths:
        executed = nbformat.read(tmp_path / "runs" / "latest" / path.name, as_version=4)
        probed = next(c for c in executed.cells if c.source.startswith("import json, os, sys"))
        seen.append(json.loads(probed.outputs[0]["text"]))
    assert len({s["pid"] for s in seen}) == 3  # a fresh kernel per notebook
    assert all(s["preloaded"] and not s["not_asked"] and not s["leaked"] for s in seen)
    assert all(Path(s["cwd"]) == nbs for s in seen)  # the notebook's folder, as papermill's
    for s in seen:
        with pytest.raises(ProcessLookupError):
            os.kill(s["pid"], 0)
    assert _kernel_files() == set()


def test_notebook_imports_lists_what_the_cells_import(tmp_path: Path) -> None:
    from workshop import runner

    nb = _notebook(
        tmp_path / "00_i.ipynb",
        "import pandas as pd\nfrom workshop import feedback, plots",
        "%matplotlib inline\nimport numpy",  # not plain Python: skipped
        "def f():\n    from workshop.modeling import Predictor\n    return Predictor",
        "from . import nothing  # relative: not a module name",
    )
    assert runner.notebook_imports(nb) == (
        "pandas",
        "workshop",
        "workshop.feedback",
        "workshop.plots",
        "workshop.modeling",
        "workshop.modeling.Predictor",
    )


def test_preload_imports_modules_and_passes_over_names_that_are_not(tmp_path: Path) -> None:
    import subprocess
    import sys

    names = ("json", "datetime.UTC", "workshop.modeling.Predictor", "no_such_module", "csv")
    code = (
        "import sys; from workshop import runner; "
        f"runner.preload({names!r}); print('json' in sys.modules, 'csv' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["True", "True"] and out.stderr == ""


def test_summary_lists_every_notebook(tmp_path: Path) -> None:
    from workshop import runner

    result = runner.DemoResult(tmp_path, [runner.NotebookResult("00_a.ipynb", 1.5, tmp_path, None)])
    text = runner.format_summary(result)
    assert "00_a.ipynb" in text and "1,5 s" in text and str(tmp_path) in text
