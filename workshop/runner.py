"""Execute the workshop notebooks with papermill: what ``workshop demo`` (``make demo``) runs.

Every notebook has a ``parameters``-tagged cell. The runner injects only the parameters a notebook
declares (see :data:`DEMO_PARAMETERS`); URLs and paths reach the kernel through the ``WORKSHOP_*``
environment, read by :mod:`workshop.config` like everywhere else.

Each notebook runs on a fresh kernel, as in JupyterLab, but the runner boots it ahead: while one
notebook runs, the next one's kernel starts and imports the modules that notebook imports
(:func:`start_kernel`, :func:`notebook_imports`). On a participant's JupyterLab nothing of
this applies: a notebook opened there starts its own kernel.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from workshop.config import Settings, get_settings, project_root
from workshop.errors import WorkshopError
from workshop.formatting import number

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
    # After the last notebook: its HTML copy, the kernels still exiting, the engine's stop.
    cleanup_seconds: float = 0.0

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
            "cleanup_seconds": round(self.cleanup_seconds, 2),
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


# --------------------------------------------------------------------------- kernels, booted ahead

_PRELOAD_LINE = "import workshop.runner as _w; _w.preload({modules!r}); del _w"
_ENGINE = "workshop-prestarted"


def notebook_imports(notebook: Path) -> tuple[str, ...]:
    """The modules a notebook's code cells import, in order of first appearance
    (``from workshop import feedback, plots`` gives ``workshop.feedback`` and ``workshop.plots``:
    :func:`preload` finds out which names are modules). A cell that is not plain Python (an
    IPython magic, a shell line) is skipped."""
    import ast

    import nbformat

    found: dict[str, None] = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update((alias.name, None) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found[node.module] = None
                found.update((f"{node.module}.{alias.name}", None) for alias in node.names)
    return tuple(found)


def preload(modules: tuple[str, ...]) -> None:
    """Import ``modules`` (run by a kernel booted ahead, at its start). A name that is not a
    module (``workshop.modeling.Predictor``) or does not import is left for the notebook's own
    cell to meet, with the error the participant would see in JupyterLab."""
    import importlib
    import importlib.util

    for name in modules:
        try:  # find_spec of a name inside a plain module (datetime.UTC) raises, not None
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
        except Exception:  # the notebook's own import will say what is wrong
            continue


def start_kernel(notebook: Path) -> Any:
    """Boot a kernel for ``notebook`` (in its folder) and return its manager, without waiting.

    ``start_kernel`` only launches the process: the kernel boots, and imports what the notebook
    imports (:func:`notebook_imports`), while the caller runs the previous notebook (issue 15:
    0.7 s of kernel start plus 1.5–2.5 s of imports per notebook, 8 times). Only the
    notebook's own modules: a kernel that also imported pandas, matplotlib and scikit-learn for
    a notebook that uses none (00) was ready 3.5 s after the notebook began, and every extra
    module costs CPU again when the kernel exits. :func:`execute_notebook` with ``km=`` runs on
    it; the caller stops it (:func:`stop_kernel`).
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    km = AsyncKernelManager(kernel_name=KERNEL_NAME, **_kernel_options())
    if km.transport == "ipc":
        # IPC endpoints are files named <ip>-<port>, ports picked as the first free numbers: two
        # kernels booting at once (this one and the one running) would pick the same files.
        km.ip = str(Path(tempfile.gettempdir()) / f"workshop-kernel-{uuid.uuid4().hex[:12]}")
    run_sync(km.start_kernel)(
        cwd=str(notebook.parent),
        # What nbclient gives the kernels it starts (no history file), plus the preload.
        extra_arguments=[
            "--HistoryManager.hist_file=:memory:",
            "--IPKernelApp.exec_lines=" + _PRELOAD_LINE.format(modules=notebook_imports(notebook)),
        ],
    )
    return km


def stop_kernel(km: Any, now: bool = True) -> None:
    """Shut down a kernel booted ahead: at once (``now``: one that no notebook used, as when an
    error stopped the run), or as nbclient does after a notebook (a shutdown request, then up
    to ``shutdown_wait_time`` for the kernel to exit on its own, its ``atexit`` handlers run).

    The runner calls the graceful kind from a thread of its own, while the next notebook runs:
    a kernel that imported pandas, matplotlib and scikit-learn takes ~0.9 s to exit (0.2 s for
    a bare one; interpreter finalisation), and nbclient waited for it after every notebook.
    """
    from jupyter_core.utils import run_sync

    try:
        run_sync(km.shutdown_kernel)(now=now)
    finally:
        run_sync(km.cleanup_resources)()


def _register_engine() -> str:
    """A papermill engine that runs on a kernel :func:`start_kernel` booted (``km=``).

    papermill's own engine accepts ``km`` but then leaves the kernel and its client to the
    caller, channels open. This one closes the client's channels at the end; the kernel stays
    the caller's, who shuts it down (:func:`stop_kernel`) without waiting for it to exit.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    class PrestartedKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(  # type: ignore[override]
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: int = 60,
            execution_timeout: int | None = None,
            **kwargs: Any,
        ) -> Any:
            for unused in ("input_path", "timeout", "startup_timeout"):
                kwargs.pop(unused, None)
            client = PapermillNotebookClient(
                nb_man,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                **kwargs,
            )
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()
                    client.kc = None

    papermill_engines.register(_ENGINE, PrestartedKernelEngine)
    return _ENGINE


def execute_notebook(
    notebook: Path,
    output: Path,
    parameters: dict[str, Any],
    progress_bar: bool = True,
    km: Any = None,
) -> None:
    """Run one notebook with papermill (cwd = notebooks/); raise :class:`NotebookFailed`.

    ``km``: a kernel from :func:`start_kernel` (booted ahead), left running at the end for the
    caller to stop (:func:`stop_kernel`); without it papermill starts one and stops it.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    ahead: dict[str, Any] = {} if km is None else {"km": km, "engine_name": _register_engine()}
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters_for(notebook, parameters),
            kernel_name=KERNEL_NAME,
            cwd=str(notebook.parent),
            progress_bar=progress_bar,
            log_output=False,
            **ahead,
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
    os.environ.setdefault("WORKSHOP_ES_URL", settings.es_url)  # before any kernel starts
    # The HTML copy of a notebook is written while the next one runs (another process: the
    # kernel), instead of adding its ~0.5 s to the wait.
    exports = ThreadPoolExecutor(max_workers=1, thread_name_prefix="html-export")
    # A finished notebook's kernel exits (~0.9 s) while the next notebook runs; one thread per
    # notebook, so that on a busy machine a slow exit does not queue the next ones behind it.
    reaper = ThreadPoolExecutor(max_workers=len(notebooks), thread_name_prefix="kernel-stop")
    stopping: list[Future[None]] = []
    ahead: Any = start_kernel(notebooks[0])  # boots while the engine starts
    try:
        if stack.engine_info(settings.es_url) is None:
            echo(f"Nada responde em {settings.es_url}: iniciando o motor embutido…")
            echo(stack.embedded_up(settings).message)
            result.started_embedded = True
        else:
            echo(f"Usando o Elasticsearch que já responde em {settings.es_url}.")
        stack.install_template(stack.connect(settings))
        result.setup_seconds = time.monotonic() - setup_started
        for i, notebook in enumerate(notebooks, 1):
            echo(f"[{i}/{len(notebooks)}] {notebook.name}")
            output = run_dir / notebook.name
            start = time.monotonic()
            km, ahead = ahead, None
            if i < len(notebooks):  # the next notebook's kernel boots while this one runs
                ahead = start_kernel(notebooks[i])
            try:
                execute_notebook(notebook, output, {**DEMO_PARAMETERS, **(parameters or {})}, km=km)
            finally:
                stopping.append(reaper.submit(stop_kernel, km, now=False))
            done = NotebookResult(notebook.name, time.monotonic() - start, output, None)
            result.notebooks.append(done)
            exports.submit(_export_into, done)
            _link_latest(run_dir)
    finally:
        cleanup_started = time.monotonic()
        if ahead is not None:
            stop_kernel(ahead)
        exports.shutdown(wait=True)
        reaper.shutdown(wait=True)
        for stopped in stopping:
            if (error := stopped.exception()) is not None:
                echo(f"Aviso: um kernel de notebook não parou como devia ({error}).")
        _link_latest(run_dir)
        if result.started_embedded:
            echo(stack.embedded_down(settings).message)
        result.wall_seconds = time.monotonic() - setup_started
        result.cleanup_seconds = time.monotonic() - cleanup_started
    return result


def _export_into(result: NotebookResult) -> None:
    started = time.monotonic()
    result.html = export_html(result.output)
    result.export_seconds = time.monotonic() - started


def format_summary(result: DemoResult) -> str:
    lines = ["", "Resumo do workshop:"]
    width = max(len(n.name) for n in result.notebooks) if result.notebooks else 10
    for n in result.notebooks:
        lines.append(f"  ✓ {n.name.ljust(width)}  {number(n.seconds, 1):>6} s")
    lines += [
        f"  Total: {len(result.notebooks)} notebooks em {number(result.total_seconds, 1)} s",
        f"  Resultados (notebooks executados e HTML): {result.run_dir}",
        f"  Atalho: {result.run_dir.parent / 'latest'}",
    ]
    return "\n".join(lines)
