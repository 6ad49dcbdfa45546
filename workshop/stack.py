"""The search engine side of the stack: the embedded engine, ``connect()`` and the index
templates. The health checks of every component (``workshop doctor``) are in
:mod:`workshop.doctor`.

The embedded engine is ``osmem-server`` (PyPI), an in-memory server speaking the Elasticsearch
REST API. It is started detached, its pid and URL recorded under ``$WORKSHOP_HOME/run/`` so that
``down`` stops exactly that process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from elastic_transport import Urllib3HttpNode
from elasticsearch import Elasticsearch

from workshop.config import Settings, get_settings, project_root
from workshop.errors import StackError

TEMPLATE_NAME = "model-events"
TEMPLATE_PATH = project_root() / "infra" / "elasticsearch" / "model-template.json"
# The scheduled checks' results (workshop/alerts/store.py writes monitoring-YYYY.MM.DD).
MONITORING_TEMPLATE_NAME = "monitoring-checks"
MONITORING_TEMPLATE_PATH = project_root() / "infra" / "elasticsearch" / "monitoring-template.json"
_RECORD_NAME = "embedded.json"
_COMPAT = "; compatible-with=8"


class EmbeddedCompatNode(Urllib3HttpNode):
    """HTTP node for the embedded engine.

    The official client sends ``application/vnd.elasticsearch+json; compatible-with=8`` (and the
    ``x-ndjson`` variant for bulk), which osmem rejects with 406. This node rewrites those media
    types to the plain ones; nothing else changes. Only the embedded connection uses it.
    """

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: Any = None,
        **kwargs: Any,
    ) -> Any:
        if headers:
            headers = headers.copy()
            for key in ("accept", "content-type"):
                value = headers.get(key)
                if isinstance(value, str) and "vnd.elasticsearch+" in value:
                    headers[key] = value.replace("vnd.elasticsearch+", "").replace(_COMPAT, "")
        return super().perform_request(method, target, body=body, headers=headers, **kwargs)


# --------------------------------------------------------------------------- probing


def http_get_json(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """GET a JSON document; ``None`` when nothing answers or the answer is not JSON.

    An error status with a JSON body still returns the body: the model service answers
    ``/health`` with 503 while it has no model, and Kibana ``/api/status`` with 503 while it
    starts; both bodies say what is wrong.
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read()
        except OSError:
            return None
    except (OSError, ValueError):
        return None
    try:
        document = json.loads(body.decode() or "{}")
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def engine_info(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The root document of a search engine at ``url``, or ``None`` when nothing answers."""
    info = http_get_json(url.rstrip("/") + "/", timeout=timeout)
    return info if info and "version" in info else None


def is_embedded_info(info: dict[str, Any]) -> bool:
    return (
        info.get("cluster_name") == "osmem" or info.get("version", {}).get("build_hash") == "osmem"
    )


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tcp_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- connect


def connect(
    settings: Settings | None = None, *, url: str | None = None, request_timeout: float = 10.0
) -> Elasticsearch:
    """An official ``Elasticsearch`` client for the configured URL.

    The embedded engine gets :class:`EmbeddedCompatNode`; a real Elasticsearch the default node.
    ``WORKSHOP_ES_ENGINE=auto`` (default) asks the server which one it is; when nothing answers
    yet, the URL of a recorded embedded engine counts as embedded.
    """
    settings = settings or get_settings()
    target = (url or settings.es_url).rstrip("/")
    embedded = _is_embedded_target(settings, target)
    kwargs: dict[str, Any] = {"request_timeout": request_timeout}
    if embedded:
        kwargs["node_class"] = EmbeddedCompatNode
    return Elasticsearch(target, **kwargs)


def _is_embedded_target(settings: Settings, url: str) -> bool:
    if settings.es_engine != "auto":
        return settings.es_engine == "embedded"
    info = engine_info(url, timeout=2.0)
    if info is not None:
        return is_embedded_info(info)
    record = read_record(settings)
    return bool(record and record.url.rstrip("/") == url)


# --------------------------------------------------------------------------- embedded engine


@dataclass
class EmbeddedRecord:
    pid: int
    url: str
    started_at: str
    log: str


@dataclass
class EmbeddedStatus:
    running: bool
    url: str
    pid: int | None
    message: str
    already_running: bool = False


def _record_path(settings: Settings) -> Path:
    return settings.run_dir / _RECORD_NAME


def read_record(settings: Settings) -> EmbeddedRecord | None:
    path = _record_path(settings)
    try:
        return EmbeddedRecord(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _pid_is_osmem(pid: int) -> bool:
    """True when ``pid`` is alive and is an osmem-server (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the record
    return b"osmem-server" in cmdline


def osmem_binary() -> str:
    try:
        from osmem_server import resolve_binary
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise StackError(
            "O pacote osmem-server não está instalado: rode `make install`. (Em Mac com "
            "processador Intel ele não existe: use o stack com Docker.)"
        ) from exc
    try:
        return resolve_binary()
    except Exception as exc:
        raise StackError(f"Não encontrei o executável do osmem-server: {exc}") from exc


def embedded_status(settings: Settings | None = None) -> EmbeddedStatus:
    settings = settings or get_settings()
    record = read_record(settings)
    if record and _pid_is_osmem(record.pid) and engine_info(record.url):
        return EmbeddedStatus(
            True,
            record.url,
            record.pid,
            f"Motor embutido rodando em {record.url} (pid {record.pid}).",
        )
    return EmbeddedStatus(False, settings.es_url, None, "Motor embutido parado.")


# The embedded engine is background work next to the kernel, the service and the browser. On two
# cores it shares the CPU with the service's requests and the load (benchmarks/service.py), so:
# * one Go core (GOMAXPROCS=1): with both cores its own, its parallel garbage collector took ~30 %
#   more CPU per indexed event (~340 µs against ~245 µs, bulks of 2,000);
# * fewer collections (GOGC=400: the heap grows to 5x the live data between two, not 2x): the
#   collector was ~30 % of the engine's CPU while indexing (perf, osmem-server 0.1.6). Engine CPU
#   per event, 1,000-event bulks: 168 against 247 µs up to 20,000 events, 184 against 232 up to
#   50,000; 355 against 458 µs next to a served process at c=16, whose requests/s with logging
#   rose 9 % and 12 % in two A/Bs (12 interleaved rounds, steal under 1 %; an A/A of the same
#   instrument, at c=1, differed by 6 %; whole runs of benchmarks/service.py did not separate
#   from their run-to-run spread). Memory: ~400 MB against ~250 MB at 20,000 events;
#   GOMEMLIMIT makes it collect more often near 1 GiB (~1.0 GB at 50,000 and at ~100,000 events,
#   where the default took ~0.46 and ~1.3 GB);
# * the lowest priority, nice 19, for every thread and for its scheduling group (autogroup, see
#   _lower_priority): when the service and the engine want the same core, the service goes first.
# An idle core is still all the engine's: priority only decides who waits when both want the CPU.
# Each variable set by hand wins.
ENGINE_NICE = 19
ENGINE_GO_ENV = {"GOMAXPROCS": "1", "GOGC": "400", "GOMEMLIMIT": "1GiB"}


def _engine_env() -> dict[str, str]:
    """The engine's environment: :data:`ENGINE_GO_ENV` under what the environment already sets."""
    env = dict(os.environ)
    for name, value in ENGINE_GO_ENV.items():
        env.setdefault(name, value)
    return env


def _lower_priority(pid: int) -> None:
    """``pid``'s scheduling group and every thread of it at :data:`ENGINE_NICE`.

    On Linux with autogroup (``/proc/sys/kernel/sched_autogroup_enabled``, on in most
    distributions) each session is a group that competes with the others by the group's nice; a
    thread's nice only orders threads inside its group. The engine has a session of its own
    (``start_new_session``), so without the group's nice it weighs as much as the service or the
    notebook. A nice value is a thread's, and a new thread takes its creator's: the Go runtime may
    have started threads before this runs.
    """
    with contextlib.suppress(OSError):  # no autogroup (or no /proc): the threads' nice is all
        Path(f"/proc/{pid}/autogroup").write_text(f"{ENGINE_NICE}\n")
    for _ in range(3):  # again if a thread appeared meanwhile at another value
        try:
            threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
        except OSError:  # no /proc (macOS: the value is the process's)
            threads = [pid]
        changed = False
        for tid in threads:
            with contextlib.suppress(AttributeError, OSError):  # no setpriority (Windows)
                if os.getpriority(os.PRIO_PROCESS, tid) != ENGINE_NICE:
                    os.setpriority(os.PRIO_PROCESS, tid, ENGINE_NICE)
                    changed = True
        if not changed:
            return


def embedded_up(settings: Settings | None = None, timeout: float = 30.0) -> EmbeddedStatus:
    """Start osmem-server on 127.0.0.1 at the port of ``WORKSHOP_ES_URL``; idempotent."""
    settings = settings or get_settings()
    current = embedded_status(settings)
    if current.running:
        current.already_running = True
        current.message = f"O motor embutido já está rodando em {current.url} (pid {current.pid})."
        return current
    parts = urlsplit(settings.es_url)
    host, port = "127.0.0.1", parts.port or 9200
    if parts.hostname not in {"localhost", "127.0.0.1"}:
        raise StackError(
            f"WORKSHOP_ES_URL aponta para {settings.es_url}; o motor embutido só roda em "
            "localhost. Ajuste WORKSHOP_ES_URL para http://localhost:9200 (ou outra porta local)."
        )
    if port_in_use(host, port):
        info = engine_info(f"http://{host}:{port}")
        who = "um Elasticsearch" if info else "outro programa"
        raise StackError(
            f"A porta {port} já está em uso por {who}. Se for o Elasticsearch do Docker, use-o "
            "(não é preciso o motor embutido); senão, pare esse programa ou escolha outra porta "
            f"com WORKSHOP_ES_URL=http://localhost:<porta>."
        )
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.run_dir / "embedded.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [osmem_binary(), "--addr", f"{host}:{port}", "--no-stdin-watch", "--no-ja"],
            env=_engine_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the CLI / notebook that started it
        )
    _lower_priority(proc.pid)
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(
                f"O motor embutido terminou ao iniciar (código {proc.returncode}). "
                f"Veja o log em {log_path}."
            )
        if engine_info(url, timeout=1.0):
            record = EmbeddedRecord(proc.pid, url, datetime.now(UTC).isoformat(), str(log_path))
            _record_path(settings).write_text(json.dumps(asdict(record)))
            # A new engine is empty: give it the template before anything writes an event.
            install_template(connect(settings, url=url))
            return EmbeddedStatus(
                True, url, proc.pid, f"Motor embutido iniciado em {url} (pid {proc.pid})."
            )
        time.sleep(0.1)
    proc.kill()
    raise StackError(f"O motor embutido não respondeu em {timeout:.0f} s. Veja {log_path}.")


def stop_process(pid: int, is_ours: Callable[[int], bool], timeout: float) -> None:
    """SIGTERM a recorded background process, wait up to ``timeout``, then SIGKILL it.

    ``is_ours(pid)`` says whether the pid is still that process (a pid can be reused): nothing is
    signalled otherwise. Used for the embedded engine and for ``workshop up``'s service.
    """
    if not is_ours(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and is_ours(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    if is_ours(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def embedded_down(settings: Settings | None = None, timeout: float = 10.0) -> EmbeddedStatus:
    """Stop exactly the recorded osmem-server process; idempotent."""
    settings = settings or get_settings()
    record = read_record(settings)
    if record is None:
        return EmbeddedStatus(False, settings.es_url, None, "O motor embutido não estava rodando.")
    stop_process(record.pid, _pid_is_osmem, timeout)
    _record_path(settings).unlink(missing_ok=True)
    return EmbeddedStatus(
        False, record.url, record.pid, f"Motor embutido parado (pid {record.pid})."
    )


# --------------------------------------------------------------------------- index template


def load_template() -> dict[str, Any]:
    return json.loads(TEMPLATE_PATH.read_text())


def install_monitoring_template(es: Elasticsearch) -> bool:
    """Install (or update) the template for ``monitoring-*``; True when it did not exist."""
    body = json.loads(MONITORING_TEMPLATE_PATH.read_text())
    existed = bool(es.indices.exists_index_template(name=MONITORING_TEMPLATE_NAME))
    es.indices.put_index_template(name=MONITORING_TEMPLATE_NAME, **body)
    return not existed


#: What install_template's ``action`` means, as a participant reads it.
TEMPLATE_ACTIONS = {
    "created": "criado",
    "updated": "atualizado",
    "unchanged": "já instalado, sem mudanças",
}


def _installed_matches(es: Elasticsearch, body: dict[str, Any]) -> bool:
    """True when the installed ``model-*`` template has our patterns and field types."""
    try:
        got = es.indices.get_index_template(name=TEMPLATE_NAME)["index_templates"][0]
        installed = got["index_template"]
        props = installed["template"]["mappings"]["properties"]
    except (KeyError, IndexError, TypeError):
        return False
    wanted = body["template"]["mappings"]["properties"]
    return list(installed.get("index_patterns", [])) == body["index_patterns"] and {
        k: v.get("type") for k, v in props.items()
    } == {k: v.get("type") for k, v in wanted.items()}


def install_template(es: Elasticsearch | None = None) -> dict[str, Any]:
    """Install (or update) the composable index templates for ``model-*`` (whose summary is
    returned) and ``monitoring-*`` (the checks' results); idempotent."""
    es = es or connect()
    body = load_template()
    try:
        existed = bool(es.indices.exists_index_template(name=TEMPLATE_NAME))
        same = existed and _installed_matches(es, body)
        resp = es.indices.put_index_template(name=TEMPLATE_NAME, **body)
        install_monitoring_template(es)
    except Exception as exc:
        raise es_error(exc, "instalar o template de índice model-*") from exc
    return {
        "template": TEMPLATE_NAME,
        "index_patterns": body["index_patterns"],
        "acknowledged": bool(resp.get("acknowledged")),
        # "unchanged": `workshop setup` right after `embedded up` (which installs the template)
        # must not claim to have updated anything (issue 13).
        "action": "unchanged" if same else "updated" if existed else "created",
        "fields": sorted(body["template"]["mappings"]["properties"]),
    }


def es_error(exc: Exception, doing: str, settings: Settings | None = None) -> StackError:
    """A pt-BR :class:`StackError` for a failed Elasticsearch call, saying what went wrong.

    ``doing`` completes "Não consegui …" (e.g. "consultar os eventos"). A server that does not
    answer, a refused query and indices created without the template get different advice.
    """
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout
    from elasticsearch import ApiError

    url = (settings or get_settings()).es_url
    if isinstance(exc, TransportConnectionError | ConnectionTimeout):
        return StackError(
            f"Não consegui {doing}: o Elasticsearch em {url} não respondeu. "
            f"Rode `workshop doctor` (e, sem Docker, `workshop up`)."
        )
    if isinstance(exc, ApiError):
        text = str(exc)
        if "Text fields are not optimised" in text or "fielddata" in text:
            return StackError(
                f"Não consegui {doing}: há índices model-* criados sem o template de campos "
                "(campos como `product` viraram texto). Rode `workshop setup` e apague os índices "
                "afetados — no motor embutido, `workshop embedded down` e `up` recomeçam do zero."
            )
        reason = exc.message if isinstance(exc.message, str) else type(exc).__name__
        return StackError(
            f"Não consegui {doing}: o Elasticsearch em {url} recusou o pedido "
            f"(HTTP {exc.meta.status}: {reason})."
        )
    return StackError(f"Não consegui {doing} no Elasticsearch em {url} ({exc}).")


def ensure_template(es: Elasticsearch) -> bool:
    """Install the ``model-*`` template when it is missing; True when it was installed now.

    The embedded engine keeps nothing across a restart: without this, the first event written
    after ``workshop embedded up`` would create ``model-…`` with guessed types (``product`` as
    text), and every terms aggregation on it would fail.
    """
    if es.indices.exists_index_template(name=TEMPLATE_NAME):
        if not es.indices.exists_index_template(name=MONITORING_TEMPLATE_NAME):
            install_monitoring_template(es)
        return False
    install_template(es)
    return True


def ensure_engine(settings: Settings | None = None) -> str:
    """Make sure something answers on ``WORKSHOP_ES_URL``: use it, or start the embedded engine.

    Returns a pt-BR sentence saying which one is in use (for notebooks).
    """
    settings = settings or get_settings()
    info = engine_info(settings.es_url)
    if info is not None:
        ensure_template(connect(settings))
        flavour = "o motor embutido" if is_embedded_info(info) else "o Elasticsearch"
        return f"Usando {flavour} que já responde em {settings.es_url}."
    status = embedded_up(settings)
    return status.message + " (nada respondia, então iniciei o motor embutido)"
