"""Who owns the background services: ``workshop up`` starts what is missing, ``workshop down``
ends the workshop.

One story on both paths (issue 13). The form at :11000 must answer from the moment a notebook or
the README points to it until the participant ends the workshop, so no notebook stops it:

* **Docker:** ``docker compose up -d`` owns Elasticsearch, Fluentd, Kibana and the model service;
  :func:`up` finds them answering and starts nothing; ``docker compose down`` ends the workshop.
* **Without Docker:** :func:`up` starts the embedded engine (when nothing answers on
  ``WORKSHOP_ES_URL``) and ``workshop serve`` as a *detached* background process (it outlives the
  notebook kernel or the terminal that started it), both recorded under ``$WORKSHOP_HOME/run/``;
  :func:`down` stops exactly those recorded processes.

Every notebook calls :func:`up` first (idempotent: fast when everything answers); the last
notebook and the README end with :func:`down`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from workshop.config import Settings, get_settings
from workshop.errors import StackError
from workshop.service_process import _bind_host, probe_host, service_health
from workshop.stack import port_in_use, stop_process

_SERVICE_RECORD = "service.json"
_UP_RECORD = "up.json"  # what `up` started (so `down` stops only that)
Echo = Callable[[str], None]


def _echo(message: str) -> None:
    print(message, flush=True)  # flush: a notebook cell shows each step as it happens


@dataclass
class ServiceRecord:
    pid: int
    url: str
    started_at: str
    log: str


@dataclass
class UpStatus:
    """What :func:`up` found or started; ``str()`` is the pt-BR report."""

    es_url: str
    service_url: str
    form_url: str
    engine_started: bool = False
    service_started: bool = False
    service_external: bool = False  # answering without our record (Docker's container)
    model_version: str | None = None
    lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DownStatus:
    stopped: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- records


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_service_record(settings: Settings | None = None) -> ServiceRecord | None:
    settings = settings or get_settings()
    data = _read_json(settings.run_dir / _SERVICE_RECORD)
    try:
        return ServiceRecord(**data) if data else None
    except TypeError:
        return None


def _pid_is_service(pid: int) -> bool:
    """True when ``pid`` is alive and is a ``workshop serve`` (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the record
    return b"workshop" in cmdline and b"serve" in cmdline


def _mark_up(settings: Settings, **started: bool) -> None:
    path = settings.run_dir / _UP_RECORD
    record = _read_json(path) or {}
    record.update({k: v for k, v in started.items() if v})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


# --------------------------------------------------------------------------- the service


def service_up(
    settings: Settings | None = None, *, timeout: float = 60.0, echo: Echo = _echo
) -> tuple[bool, str | None]:
    """Start ``workshop serve`` detached at ``settings.service_url`` unless one answers there.

    Returns ``(started, model_version)``. The process is recorded in ``run/service.json``; it
    keeps running after the caller (a notebook kernel, a terminal) ends, until :func:`down`.
    """
    settings = settings or get_settings()
    health = service_health(settings.service_url)
    if health is not None:
        return False, health.get("model_version")
    parts = urlsplit(settings.service_url)
    port = parts.port or 80
    host = _bind_host(parts.hostname or "localhost", settings.service_host)
    if port_in_use(probe_host(host), port):
        raise StackError(
            f"A porta {port} já está em uso por outro programa (não é o serviço do modelo): "
            "pare-o, ou escolha outra porta com WORKSHOP_SERVICE_URL "
            "(ex.: http://localhost:11001)."
        )
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.run_dir / f"service-{port}.log"
    echo(
        f"Iniciando o serviço do modelo em {settings.service_browser_url} "
        "(em segundo plano; leva alguns segundos: carrega o modelo e conecta ao Elasticsearch)…"
    )
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workshop", "serve", "--host", host, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the notebook kernel / terminal that started it
        )
    started_at = datetime.now(UTC).isoformat()
    record = ServiceRecord(proc.pid, settings.service_url, started_at, str(log_path))
    (settings.run_dir / _SERVICE_RECORD).write_text(json.dumps(asdict(record)))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            (settings.run_dir / _SERVICE_RECORD).unlink(missing_ok=True)
            raise StackError(
                f"O serviço do modelo terminou ao iniciar (código {proc.returncode}). "
                f"Veja o log em {log_path}."
            )
        health = service_health(settings.service_url, timeout=1.0)
        if health is not None:
            return True, health.get("model_version")
        time.sleep(0.2)
    service_down(settings)
    raise StackError(
        f"O serviço do modelo não respondeu em {settings.service_url}/health após "
        f"{timeout:.0f} s. Veja o log em {log_path}."
    )


def service_down(settings: Settings | None = None, timeout: float = 15.0) -> int | None:
    """Stop the recorded background service (SIGTERM: events are flushed); its pid, or None."""
    settings = settings or get_settings()
    record = read_service_record(settings)
    if record is None:
        return None
    stop_process(record.pid, _pid_is_service, timeout)
    (settings.run_dir / _SERVICE_RECORD).unlink(missing_ok=True)
    return record.pid


# --------------------------------------------------------------------------- up / down


def up(settings: Settings | None = None, *, echo: Echo = _echo) -> UpStatus:
    """Make the workshop answer: Elasticsearch (or the embedded engine), the index templates and
    the model service with its form. Idempotent; each step is reported through ``echo``."""
    from workshop import stack

    settings = settings or get_settings()
    status = UpStatus(settings.es_url, settings.service_url, settings.service_browser_url)

    def say(line: str) -> None:
        status.lines.append(line)
        echo(line)

    info = stack.engine_info(settings.es_url)
    if info is None:
        echo(f"Nada responde em {settings.es_url}: iniciando o motor embutido…")
        say(stack.embedded_up(settings).message)
        status.engine_started = True
        _mark_up(settings, engine=True)
    else:
        flavour = "o motor embutido" if stack.is_embedded_info(info) else "o Elasticsearch"
        say(f"Elasticsearch: usando {flavour} que já responde em {settings.es_url}.")
    stack.ensure_template(stack.connect(settings))

    record = read_service_record(settings)
    started, version = service_up(settings, echo=echo)
    status.service_started = started
    status.model_version = version
    status.service_external = not started and (record is None or not _pid_is_service(record.pid))
    if started:
        _mark_up(settings, service=True)
        origin = "iniciado agora, em segundo plano"
    elif status.service_external:
        origin = "já estava no ar: o do Docker ou um `workshop serve` seu"
    else:
        origin = "iniciado antes por `workshop up`"
    say(f"Serviço do modelo: {settings.service_browser_url} ({origin}).")
    say(
        f"Modelo em produção: {version}."
        if version
        else "Modelo em produção: nenhum ainda (o notebook 01 treina e promove um; o serviço o "
        "carrega sozinho em menos de um segundo)."
    )
    say(
        f"O formulário fica no ar em {settings.service_browser_url} até você encerrar o "
        "workshop: `workshop down` (com Docker, `docker compose down`)."
    )
    return status


def down(settings: Settings | None = None, *, echo: Echo = _echo) -> DownStatus:
    """End the workshop: stop the background service and the embedded engine that :func:`up`
    started. Docker's containers are left to ``docker compose down`` (said so)."""
    from workshop import stack

    settings = settings or get_settings()
    result = DownStatus()

    def say(line: str) -> None:
        result.lines.append(line)
        echo(line)

    pid = service_down(settings)
    if pid is not None:
        result.stopped.append("service")
        say(f"Serviço do modelo parado (pid {pid}).")
    elif service_health(settings.service_url) is not None:
        say(
            f"O serviço em {settings.service_url} não foi iniciado por `workshop up` (é o do "
            "Docker, ou um `workshop serve` num terminal): pare-o lá (`docker compose down`, "
            "ou Ctrl+C)."
        )
    else:
        say("Serviço do modelo: já estava parado.")

    marks = _read_json(settings.run_dir / _UP_RECORD) or {}
    embedded = stack.embedded_status(settings)
    if marks.get("engine") and embedded.running:
        say(stack.embedded_down(settings).message)
        result.stopped.append("engine")
    elif embedded.running:
        say(
            f"O motor embutido em {embedded.url} foi iniciado por `workshop embedded up` (ou "
            "pelos testes), não por `workshop up`: continua no ar. Para pará-lo: "
            "`workshop embedded down`."
        )
    elif stack.engine_info(settings.es_url) is not None:
        say(
            f"O Elasticsearch em {settings.es_url} não é do `workshop up` (com Docker: "
            "`docker compose down` encerra todos os contêineres)."
        )
    (settings.run_dir / _UP_RECORD).unlink(missing_ok=True)
    say("Workshop encerrado. Para voltar: `workshop up`.")
    return result


# --------------------------------------------------------------------------- JupyterLab's token


def lab_token(token_file: Path, environ: dict[str, str] | None = None) -> str:
    """The JupyterLab token of this install: ``JUPYTER_TOKEN`` when set (a class that chose its
    own), else the one in ``token_file``, generated the first time (issue 17: every Docker
    install used the public word ``workshop``). The file is the participant's only: mode 0600."""
    import secrets

    env = os.environ if environ is None else environ
    chosen = env.get("JUPYTER_TOKEN", "").strip()
    if chosen:
        return chosen
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    if token:
        return token
    token = secrets.token_urlsafe(24)
    token_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.chmod(token_file, 0o600)  # an older file with wider permissions
    return token
