"""Execute the workshop notebooks with papermill: what ``workshop demo`` (``make demo``) runs.

Every notebook has a ``parameters``-tagged cell. The runner injects only the parameters a notebook
declares (see :data:`DEMO_PARAMETERS`); URLs and paths reach the kernel through the ``WORKSHOP_*``
environment, read by :mod:`workshop.config` like everywhere else.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from workshop.config import Settings, get_settings, project_root
from workshop.errors import WorkshopError

NOTEBOOKS_DIR = project_root() / "notebooks"
RUNS_DIR = project_root() / "runs"
KERNEL_NAME = "python3"

# Parameters for a run on the embedded stack. ``fast`` shrinks data and traffic (CI, tests).
DEMO_PARAMETERS: dict[str, Any] = {"fast": False}
CI_PARAMETERS: dict[str, Any] = {"fast": True}
#: Target of the speed issue: the whole workshop (``make demo``, fast=False) in a minute.
TARGET_TOTAL_SECONDS = 60.0


class NotebookFailed(WorkshopError):
    """A notebook raised: the message names the notebook, the cell and the error."""


@dataclass
class NotebookResult:
    name: str
    seconds: float  # papermill: kernel start + every cell
    output: Path
    html: Path | None
    export_seconds: float = 0.0  # the HTML copy


@dataclass
class DemoResult:
    run_dir: Path
    notebooks: list[NotebookResult] = field(default_factory=list)
    started_embedded: bool = False
    setup_seconds: float = 0.0  # engine start (if any) + template
    wall_seconds: float | None = None  # start to end; HTML exports overlap the next notebook

    @property
    def total_seconds(self) -> float:
        if self.wall_seconds is not None:
            return self.wall_seconds
        return self.setup_seconds + sum(n.seconds + n.export_seconds for n in self.notebooks)

    def as_dict(self, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        """One JSON-ready object: seconds per notebook, total, and the speed target."""
        total = self.total_seconds
        return {
            "run_dir": str(self.run_dir),
            "parameters": parameters or {},
            "setup_seconds": round(self.setup_seconds, 2),
            "notebooks": {
                n.name: {
                    "seconds": round(n.seconds, 2),
                    "export_seconds": round(n.export_seconds, 2),
                }
                for n in self.notebooks
            },
            "total_seconds": round(total, 2),
            "targets": {
                "total_seconds_max": TARGET_TOTAL_SECONDS,
                "total_seconds_met": total <= TARGET_TOTAL_SECONDS,
            },
        }


def list_notebooks(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The workshop notebooks, in filename order (00_…, 01_…)."""
    return sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's ``parameters`` cell."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)).keys())


def parameters_for(notebook: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    declared = declared_parameters(notebook)
    return {k: v for k, v in parameters.items() if k in declared}


def _kernel_options() -> dict[str, Any]:
    """Talk to the kernel over Unix sockets (IPC) where there are some: over TCP, ipykernel warns
    at every start that the traffic is unencrypted, which alarms participants for nothing."""
    if os.name != "posix":
        return {}
    from traitlets.config import Config

    return {"config": Config({"KernelManager": {"transport": "ipc"}})}


def execute_notebook(
    notebook: Path, output: Path, parameters: dict[str, Any], progress_bar: bool = True
) -> None:
    """Run one notebook with papermill (cwd = notebooks/); raise :class:`NotebookFailed`."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters_for(notebook, parameters),
            kernel_name=KERNEL_NAME,
            cwd=str(notebook.parent),
            progress_bar=progress_bar,
            log_output=False,
            # Saving the executed notebook after every cell cost 1.7 s of notebook 02's 6.2 s
            # (issue 15: each save serialises every output so far, plots included). It is
            # written once at the end, and also when a cell fails (papermill does that).
            request_save_on_cell_execute=False,
            **_kernel_options(),
        )
    except PapermillExecutionError as exc:
        source = (exc.source or "").strip().splitlines()
        preview = "\n".join("    " + line for line in source[:12])
        raise NotebookFailed(
            f"O notebook {notebook.name} falhou na célula {exc.exec_count}:\n{preview}\n"
            f"{exc.ename}: {exc.evalue}\nNotebook executado (com o erro): {output}"
        ) from None


def export_html(executed: Path) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    html = executed.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def _link_latest(run_dir: Path) -> None:
    latest = run_dir.parent / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run_dir.name, target_is_directory=True)


def run_demo(
    settings: Settings | None = None,
    notebooks: list[Path] | None = None,
    parameters: dict[str, Any] | None = None,
    runs_dir: Path = RUNS_DIR,
    echo: Callable[[str], None] = print,
) -> DemoResult:
    """Start what is missing, install the template, run every notebook, stop what was started."""
    from workshop import stack

    settings = settings or get_settings()
    notebooks = notebooks if notebooks is not None else list_notebooks()
    if not notebooks:
        raise WorkshopError(f"Nenhum notebook encontrado em {NOTEBOOKS_DIR}.")
    run_dir = runs_dir / datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    result = DemoResult(run_dir)

    setup_started = time.monotonic()
    if stack.engine_info(settings.es_url) is None:
        echo(f"Nada responde em {settings.es_url}: iniciando o motor embutido…")
        echo(stack.embedded_up(settings).message)
        result.started_embedded = True
    else:
        echo(f"Usando o Elasticsearch que já responde em {settings.es_url}.")
    os.environ.setdefault("WORKSHOP_ES_URL", settings.es_url)
    # The HTML copy of a notebook is written while the next one runs (another process: the
    # kernel), instead of adding its ~0.5 s to the wait.
    exports = ThreadPoolExecutor(max_workers=1, thread_name_prefix="html-export")
    try:
        stack.install_template(stack.connect(settings))
        result.setup_seconds = time.monotonic() - setup_started
        for i, notebook in enumerate(notebooks, 1):
            echo(f"[{i}/{len(notebooks)}] {notebook.name}")
            output = run_dir / notebook.name
            start = time.monotonic()
            execute_notebook(notebook, output, {**DEMO_PARAMETERS, **(parameters or {})})
            done = NotebookResult(notebook.name, time.monotonic() - start, output, None)
            result.notebooks.append(done)
            exports.submit(_export_into, done)
            _link_latest(run_dir)
    finally:
        exports.shutdown(wait=True)
        _link_latest(run_dir)
        if result.started_embedded:
            echo(stack.embedded_down(settings).message)
        result.wall_seconds = time.monotonic() - setup_started
    return result


def _export_into(result: NotebookResult) -> None:
    started = time.monotonic()
    result.html = export_html(result.output)
    result.export_seconds = time.monotonic() - started


def format_summary(result: DemoResult) -> str:
    lines = ["", "Resumo do workshop:"]
    width = max(len(n.name) for n in result.notebooks) if result.notebooks else 10
    for n in result.notebooks:
        lines.append(f"  ✓ {n.name.ljust(width)}  {n.seconds:6.1f} s")
    total = sum(n.seconds for n in result.notebooks)
    lines += [
        f"  Total: {len(result.notebooks)} notebooks em {total:.1f} s",
        f"  Resultados (notebooks executados e HTML): {result.run_dir}",
        f"  Atalho: {result.run_dir.parent / 'latest'}",
    ]
    return "\n".join(lines)
