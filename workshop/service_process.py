"""Run the model service in the background: for notebooks, tests and benchmarks.

:class:`ServiceProcess` starts ``workshop serve`` as a subprocess on the port of a URL (or a free
port), waits until ``/health`` answers and stops it cleanly (SIGTERM: uvicorn finishes the
requests in flight and the event logger flushes). :func:`ensure_service` is what a notebook
calls: it uses the service already answering at ``WORKSHOP_SERVICE_URL`` (the Docker stack's)
and only otherwise starts one there, which the notebook stops at its end.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from workshop.config import Settings, get_settings
from workshop.errors import StackError
from workshop.stack import port_in_use


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def service_health(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The ``/health`` document of a model service at ``url`` (200 or 503), else ``None``."""
    try:
        resp = httpx.get(url.rstrip("/") + "/health", timeout=timeout)
        data = resp.json()
    except (httpx.HTTPError, ValueError):
        return None
    if resp.status_code in (200, 503) and isinstance(data, dict) and "model_loaded" in data:
        return data
    return None


class ServiceProcess:
    """``workshop serve`` as a subprocess (context manager).

    ``url`` chooses the port (and the interface when it names an IP address); without it a free
    port on ``settings.service_host`` is used. ``env`` adds variables to the child's environment
    (e.g. another ``WORKSHOP_HOME``). The child's output goes to ``log_path``
    (``$WORKSHOP_HOME/run/service-<port>.log`` by default).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
        log_path: Path | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        if url is None:
            self.host = self.settings.service_host
            self.port = _free_port(self.host)
            self.url = f"http://{self.host}:{self.port}"
        else:
            parts = urlsplit(url)
            if parts.scheme != "http" or not parts.hostname:
                raise StackError(f"URL do serviço inválida: {url!r} (ex.: http://localhost:11000)")
            self.port = parts.port or 80
            self.host = _bind_host(parts.hostname, self.settings.service_host)
            self.url = url.rstrip("/")
        self.log_path = log_path or self.settings.run_dir / f"service-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def health(self) -> dict[str, Any] | None:
        return service_health(self.url)

    def start(self) -> ServiceProcess:
        """Start the service and wait until ``/health`` answers (200, or 503 without a model)."""
        if self.running:
            return self
        if port_in_use(probe_host(self.host), self.port):
            raise StackError(
                f"A porta {self.port} já está em uso por outro programa: pare-o ou escolha outra "
                "porta com WORKSHOP_SERVICE_URL (ex.: http://localhost:11001)."
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "workshop",
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--exit-on-stdin-eof",  # the pipe below: the service dies with this process
        ]
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                command,
                env={**os.environ, **self.env},
                stdin=subprocess.PIPE,  # never written; closes when this process ends
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl+C in a notebook does not hit the service
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(
                    f"O serviço do modelo terminou ao iniciar (código {self.process.returncode})."
                    f" Últimas linhas de {self.log_path}:\n{self.log_tail()}"
                )
            if self.health() is not None:
                return self
            time.sleep(0.2)
        self.stop()
        raise StackError(
            f"O serviço do modelo não respondeu em {self.url}/health após "
            f"{self.startup_timeout:.0f} s. Veja {self.log_path}:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (graceful: events are flushed), then SIGKILL after ``timeout`` seconds."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process.stdin is not None:
            process.stdin.close()
        self.process = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "parado"
        return f"ServiceProcess({self.url}, {state})"


def _bind_host(hostname: str, default: str) -> str:
    """Bind to the URL's IP address; a name (``localhost``) uses the configured interface."""
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return default
    return hostname


def probe_host(host: str) -> str:
    """Where to connect to reach a server bound to ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def ensure_service(settings: Settings | None = None) -> ServiceProcess | None:
    """Use the service answering at ``settings.service_url``; otherwise start one there.

    Returns ``None`` when a service was already answering (nothing to stop), else the started
    :class:`ServiceProcess` (call ``.stop()`` at the end of the notebook).
    """
    settings = settings or get_settings()
    if service_health(settings.service_url) is not None:
        return None
    return ServiceProcess(settings.service_url, settings=settings).start()
