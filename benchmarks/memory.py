"""Benchmark of the JupyterLab container's memory: every notebook in its own kernel, none closed.

    .venv/bin/python benchmarks/memory.py [--fast] [--out benchmarks/memory.json]

A participant who never closes a tab: the notebooks (00…07) run in order, each in a NEW kernel, and
every kernel stays alive until the end (JupyterLab keeps a kernel running after its tab closes
unless told otherwise). A sampler thread reads the private memory (USS: ``Private_Clean +
Private_Dirty`` of ``/proc/<pid>/smaps_rollup``) of every live kernel and of an idle JupyterLab
server started for the purpose, every 0.2 s. Shared pages (the Python binary, shared libraries)
are counted once in the container's cgroup whatever the number of kernels, so the peak of the sum
of private memory, plus the shared part once, is what the cgroup limit must hold.

Like the Docker stack, the embedded engine and the model service run as separate processes
(started here, not by the notebooks), so their memory is not a kernel's. Parameters: ``fast`` as
given (default False, what participants run).

Prints ONE JSON object (and writes it to ``--out`` when given): ``kernels`` (peak USS per notebook
kernel, MiB), ``server_mib`` (JupyterLab server), ``shared_mib`` (largest shared resident part of
one kernel), ``total_peak_mib`` (the largest sum over all live processes at one instant, private
only) and ``budget_mib`` (``total_peak_mib + shared_mib``). tests/infra/test_memory_budget.py holds
the compose memory limit of ``jupyter`` against the committed figures. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MIB = 2**20


def smaps(pid: int) -> tuple[int, int]:
    """(private, shared) resident bytes of one process, from ``/proc/<pid>/smaps_rollup``."""
    private = shared = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("Private_Clean", "Private_Dirty"):
                    private += int(rest.split()[0]) * 1024
                elif key in ("Shared_Clean", "Shared_Dirty"):
                    shared += int(rest.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0, 0
    return private, shared


class Sampler(threading.Thread):
    """Every ``interval`` s: private memory of each watched pid; keeps peaks per name and in sum."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.pids: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.shared_peak = 0
        self.total_peak = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def watch(self, name: str, pid: int) -> None:
        with self.lock:
            self.pids[name] = pid

    def sample(self) -> None:
        with self.lock:
            pids = dict(self.pids)
        total = 0
        for name, pid in pids.items():
            private, shared = smaps(pid)
            total += private
            self.peak[name] = max(self.peak.get(name, 0), private)
            if name != "server":
                self.shared_peak = max(self.shared_peak, shared)
        self.total_peak = max(self.total_peak, total)

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.sample()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"nothing answered at {url} within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="inject fast=True (CI sizes)")
    parser.add_argument("--out", type=Path, help="also write the JSON object to this file")
    args = parser.parse_args()
    if not Path("/proc/self/smaps_rollup").exists():
        raise SystemExit("benchmarks/memory.py needs Linux (/proc/<pid>/smaps_rollup)")

    home = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    es_port, service_port, lab_port = free_port(), free_port(), free_port()
    os.environ.update(
        {
            "WORKSHOP_HOME": str(home),
            "WORKSHOP_ES_URL": f"http://127.0.0.1:{es_port}",
            "WORKSHOP_ES_ENGINE": "embedded",
            "WORKSHOP_SERVICE_URL": f"http://127.0.0.1:{service_port}",
            "WORKSHOP_EVENT_TRANSPORT": "elasticsearch",
            "WORKSHOP_KIBANA_URL": f"http://127.0.0.1:{free_port()}",  # nothing there
        }
    )
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from workshop import runner, stack
    from workshop.config import get_settings
    from workshop.service_process import ServiceProcess

    settings = get_settings()
    sampler = Sampler()
    lab: subprocess.Popen[bytes] | None = None
    service: ServiceProcess | None = None
    clients: list[Any] = []
    started = time.monotonic()
    try:
        stack.embedded_up(settings)
        stack.install_template(stack.connect(settings))
        # The service is its own container in the Docker stack: start it before any notebook, so
        # notebook 02 finds it up (ensure_service) and no kernel owns it. Notebook 01 trains the
        # model it will load.
        service = ServiceProcess(settings.service_url, settings=settings).start()
        lab_dir = home / "lab"
        lab = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "jupyter"),
                "lab",
                "--no-browser",
                "--allow-root",  # the dev and CI machines run as root
                f"--port={lab_port}",
                "--ServerApp.token=bench",
                f"--ServerApp.root_dir={ROOT / 'notebooks'}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={
                **os.environ,
                "JUPYTER_RUNTIME_DIR": str(lab_dir),
                "JUPYTER_CONFIG_DIR": str(lab_dir),
            },
        )
        wait_http(f"http://127.0.0.1:{lab_port}/api")
        sampler.watch("server", lab.pid)
        sampler.start()
        for notebook in runner.list_notebooks():
            nb = load_notebook_node(str(notebook))  # papermill's reader: every cell gets tags
            params = runner.parameters_for(notebook, {"fast": args.fast})
            nb = parameterize_notebook(nb, params) if params else nb
            client = NotebookClient(
                nb,
                kernel_name=runner.KERNEL_NAME,
                timeout=900,
                resources={"metadata": {"path": str(notebook.parent)}},
            )
            # A kernel manager the client does not own: nbclient leaves the kernel running after
            # the last cell, like a tab left open. Its pid is watched from the first cell on.
            client.km = client.create_kernel_manager()
            client.owns_km = False
            client.on_cell_start = lambda cell, cell_index, c=client, n=notebook.stem: (
                sampler.watch(n, c.km.provisioner.pid)
            )
            clients.append(client)
            t0 = time.monotonic()
            client.execute()
            print(f"{notebook.name}: {time.monotonic() - t0:.1f} s", file=sys.stderr)
        time.sleep(1.0)
        sampler.sample()
    finally:
        sampler.stopping.set()
        for client in clients:
            try:
                if client.km is not None:
                    run_sync(client.km.shutdown_kernel)(now=True)
            except Exception as exc:  # a kernel that already died must not hide the others
                print(f"kernel shutdown: {exc}", file=sys.stderr)
        if lab is not None:
            lab.terminate()
            lab.wait(timeout=30)
        if service is not None:
            service.stop()
        stack.embedded_down(settings)
        shutil.rmtree(home, ignore_errors=True)

    kernels = {k: round(v / MIB, 1) for k, v in sampler.peak.items() if k != "server"}
    result = {
        "benchmark": "memory",
        "fast": args.fast,
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "kernels": kernels,
        "kernel_max_mib": max(kernels.values()),
        "server_mib": round(sampler.peak.get("server", 0) / MIB, 1),
        "shared_mib": round(sampler.shared_peak / MIB, 1),
        "total_peak_mib": round(sampler.total_peak / MIB, 1),
        "budget_mib": round((sampler.total_peak + sampler.shared_peak) / MIB, 1),
        "seconds": round(time.monotonic() - started, 1),
    }
    text = json.dumps(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
