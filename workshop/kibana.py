"""Kibana: provisioning (saved-objects import) and Discover deep links.

Everything here talks to Kibana 8.19's public HTTP APIs; Kibana itself only runs in the Docker
stack (there is none in the embedded stack, so callers check :func:`kibana_status` first).

Sources for the shapes relied on (Kibana 8.19):

* ``GET /api/status`` — v8 format ``{"name", "version": {"number"}, "status": {"overall":
  {"level"}}}`` with ``level`` one of ``available | degraded | unavailable | critical``; the first
  two are usable (HTTP 200; ``degraded`` is common: elastic/kibana#138680)
  (elastic.co/docs/api/doc/kibana, operation get-status). While Kibana starts it answers HTTP 503
  with the same JSON body (elastic/elastic-package#1579), so the body is read whatever the status.
* ``POST /api/saved_objects/_import?overwrite=true`` — multipart/form-data with the NDJSON in the
  field ``file``, header ``kbn-xsrf`` required; 200 answers ``{"success", "successCount",
  "successResults": [{"type", "id", "meta": {"title", "icon"}, ...}], "errors": [{"type", "id",
  "meta"/"title", "error": {"type"}}]}`` (elastic.co/guide/en/kibana/8.x/saved-objects-api-import
  and elastic.co/docs/api/doc/kibana/v8/operation/operation-importsavedobjectsdefault).
* Discover URL state (``src/platform/plugins/shared/discover/common/app_locator_get_location.ts``):
  ``/app/discover#/?_g=(time:(from:…,to:…))&_a=(columns:!(…),dataSource:(dataViewId:'…',
  type:dataView),query:(language:kuery,query:'…'),sort:!(!('@timestamp',desc)))``; ``dataSource``
  replaced ``index`` in 8.15 (elastic/kibana#182321). Values are Rison, URL-encoded like Kibana's
  ``encodeUriQuery`` (``encodeURIComponent`` keeping ``@ : $ , ;``, spaces as ``%20``).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import rison
from elasticsearch import Elasticsearch
from tqdm.auto import tqdm

from workshop.config import get_settings, project_root
from workshop.errors import InvalidInputError, StackError
from workshop.polling import poll
from workshop.stack import connect

SAVED_OBJECTS_PATH = project_root() / "infra" / "kibana" / "saved_objects.ndjson"
# Fixed ids of the objects in SAVED_OBJECTS_PATH (the deep links point at the data view).
DATA_VIEW_ID = "workshop-model-events"
SAVED_SEARCH_ID = "workshop-predicoes-do-modelo"
DASHBOARD_ID = "workshop-monitoramento-do-modelo"
# The columns the exercise adds in Discover (after the @timestamp column Discover always shows).
# Kibana's /api/status levels in which it serves Discover and dashboards: it answers 200 while
# some plugins are `degraded`, which is common (elastic/kibana#138680). doctor uses the same set.
KIBANA_USABLE_LEVELS = frozenset({"available", "degraded"})
DISCOVER_COLUMNS = ["product", "date", "prediction", "model_version", "channel", "latency_ms"]
KIBANA_START_HINT = (
    "O Kibana só existe no stack Docker: pare o motor embutido (`workshop down`, ele ocupa a porta "
    "9200), rode `docker compose up -d` (o Kibana leva 1–2 minutos para subir) e confira com "
    "`workshop doctor`; ou aponte WORKSHOP_ES_URL e WORKSHOP_KIBANA_URL para o stack de outra "
    "máquina. Sem Kibana, o notebook 05 mostra o que o Discover mostraria."
)
TYPE_LABELS = {
    "index-pattern": "data view",
    "search": "busca salva",
    "visualization": "visualização",
    "dashboard": "dashboard",
}
_PREDICTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class KibanaError(StackError):
    """Kibana is not reachable/available, or refused a request (pt-BR message)."""


# --------------------------------------------------------------------------- status / wait


@dataclass(frozen=True)
class KibanaStatus:
    url: str
    reachable: bool
    level: str | None = None
    version: str | None = None
    refused: bool = False  # connection refused: nothing listens there at all

    @property
    def available(self) -> bool:
        """Every plugin ``available`` (the strict reading; use :attr:`usable` to decide)."""
        return self.level == "available"

    @property
    def usable(self) -> bool:
        """Kibana serves Discover and dashboards: ``available`` or ``degraded``.

        Kibana answers ``/api/status`` with 200 while some plugins are ``degraded``, which is
        common (elastic/kibana#138680); requiring ``available`` made notebook 05 skip Kibana and
        ``workshop kibana setup`` time out while compose called it healthy.
        """
        return self.level in KIBANA_USABLE_LEVELS

    @property
    def message(self) -> str:
        if self.available:
            return f"Kibana {self.version or '?'} disponível em {self.url}."
        if self.usable:
            return (
                f"Kibana {self.version or '?'} utilizável em {self.url} (status degraded: algum "
                "serviço interno dele está com problema, mas Discover e dashboards funcionam)."
            )
        if self.reachable:
            return (
                f"O Kibana responde em {self.url}, mas ainda não está pronto "
                f"(status: {self.level or 'desconhecido'})."
            )
        return f"O Kibana não respondeu em {self.url}."


def _base(url: str | None) -> str:
    """Kibana as this process reaches it (API calls): ``url`` or WORKSHOP_KIBANA_URL."""
    return (url or get_settings().kibana_url).rstrip("/")


def _public(url: str | None) -> str:
    """Kibana as the browser reaches it (links): ``url`` or WORKSHOP_KIBANA_PUBLIC_URL."""
    return (url or get_settings().kibana_browser_url).rstrip("/")


def kibana_status(url: str | None = None, timeout: float = 2.0) -> KibanaStatus:
    """One probe of ``GET /api/status``; never raises."""
    base = _base(url)
    try:
        resp = httpx.get(f"{base}/api/status", timeout=timeout)
        body = resp.json()
    except httpx.ConnectError:
        return KibanaStatus(base, reachable=False, refused=True)
    except (httpx.HTTPError, ValueError):
        return KibanaStatus(base, reachable=False)
    if not isinstance(body, dict):
        return KibanaStatus(base, reachable=True, level="unknown")
    overall = body.get("status", {}).get("overall", {})
    level = overall.get("level") or overall.get("state")  # "state" is the pre-8 (v7) format
    version = body.get("version", {}).get("number")
    return KibanaStatus(base, reachable=True, level=level, version=version)


def wait_for_kibana(
    url: str | None = None,
    *,
    timeout: float = 180.0,
    interval: float = 2.0,
    progress: bool = True,
    refused_grace: float = 10.0,
) -> KibanaStatus:
    """Poll ``/api/status`` until Kibana is usable (``available`` or ``degraded``); pt-BR
    :class:`KibanaError` if it never is.

    A Kibana that is starting (Docker publishes its port at once) answers or resets connections,
    and is waited for up to ``timeout``; a port where connections are *refused* for
    ``refused_grace`` seconds has no Kibana at all (the embedded path), and fails at once instead
    of after the full ``timeout`` (issue 13).
    """
    base = _base(url)
    deadline = time.monotonic() + timeout
    status = kibana_status(base)
    with tqdm(
        total=round(timeout),
        desc="Aguardando o Kibana",
        unit="s",
        bar_format="{desc}: {n:.0f}/{total} s",  # elapsed seconds, not a rate
        disable=not progress or status.usable,
        leave=False,
    ) as bar:
        started = time.monotonic()
        while not status.usable:
            if status.refused and time.monotonic() - started >= refused_grace:
                raise KibanaError(
                    f"Nada escuta em {base}: o Kibana não está rodando (conexão recusada). "
                    + KIBANA_START_HINT
                )
            if time.monotonic() >= deadline:
                raise KibanaError(
                    f"{status.message} Esperei {timeout:.0f} s e ele não ficou disponível. "
                    + KIBANA_START_HINT
                )
            time.sleep(interval)
            status = kibana_status(base)
            bar.n = min(round(time.monotonic() - started), bar.total)
            bar.set_postfix_str(status.level or "sem resposta")
    return status


# --------------------------------------------------------------------------- saved objects


def load_saved_objects(path: Path | None = None) -> list[dict[str, Any]]:
    """The saved objects of an NDJSON export file, one per non-empty line."""
    path = path or SAVED_OBJECTS_PATH
    objects: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise KibanaError(f"{path}, linha {number}: JSON inválido ({exc}).") from None
        if not isinstance(obj, dict) or not {"type", "id", "attributes"} <= obj.keys():
            raise KibanaError(f"{path}, linha {number}: não é um objeto salvo do Kibana.")
        objects.append(obj)
    return objects


@dataclass
class ImportResult:
    """What Kibana answered to the import (its documented response, in snake_case)."""

    kibana_url: str
    success: bool
    success_count: int
    objects: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    version: str | None = None
    public_url: str = ""  # where the browser reaches Kibana (links); empty = kibana_url
    alerting: Any = None  # workshop.kibana_alerting.AlertingResult, filled by setup()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dashboard_url"] = dashboard_url(self.public_url or self.kibana_url)
        data["discover_url"] = discover_url(kibana_url=self.public_url or self.kibana_url)
        return data

    def summary(self) -> str:
        """A pt-BR report of what was created (and what failed)."""
        lines = [f"Importados {self.success_count} objetos no Kibana ({self.kibana_url}):"]
        for obj in self.objects:
            label = TYPE_LABELS.get(obj["type"], obj["type"])
            lines.append(f"  • {label:<13} {obj['title']}  (id {obj['id']})")
        for err in self.errors:
            title = err.get("title") or err.get("meta", {}).get("title") or err.get("id")
            kind = err.get("error", {}).get("type", "erro")
            lines.append(f"  ✗ {err.get('type')} {title}: {kind}")
        if self.alerting is not None:
            lines.append(self.alerting.summary())
        if self.success:
            public = self.public_url or self.kibana_url
            lines += [
                f"Dashboard: {dashboard_url(public)}",
                f"Discover:  {discover_url(kibana_url=public)}",
            ]
        return "\n".join(lines)


def import_saved_objects(
    url: str | None = None,
    path: Path | None = None,
    *,
    overwrite: bool = True,
    timeout: float = 30.0,
) -> ImportResult:
    """``POST /api/saved_objects/_import`` with the NDJSON file (multipart field ``file``)."""
    base = _base(url)
    path = path or SAVED_OBJECTS_PATH
    load_saved_objects(path)  # fail early, in pt-BR, on a broken file
    try:
        resp = httpx.post(
            f"{base}/api/saved_objects/_import",
            params={"overwrite": "true" if overwrite else "false"},
            headers={"kbn-xsrf": "true"},
            files={"file": (path.name, path.read_bytes(), "application/ndjson")},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise KibanaError(
            f"Não consegui enviar os objetos ao Kibana em {base} ({exc}). " + KIBANA_START_HINT
        ) from exc
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code != 200 or not isinstance(body, dict) or "success" not in body:
        message = body.get("message") if isinstance(body, dict) else None
        raise KibanaError(
            f"O Kibana recusou a importação (HTTP {resp.status_code}): "
            f"{message or resp.text[:300] or 'sem detalhes'}"
        )
    objects = [
        {
            "type": str(item.get("type")),
            "id": str(item.get("destinationId") or item.get("id")),
            "title": str(item.get("meta", {}).get("title") or item.get("id")),
        }
        for item in body.get("successResults", [])
    ]
    return ImportResult(
        kibana_url=base,
        success=bool(body["success"]),
        success_count=int(body.get("successCount", len(objects))),
        objects=objects,
        errors=list(body.get("errors", [])),
        public_url=_public(url),
    )


def setup(
    url: str | None = None,
    *,
    path: Path | None = None,
    wait_timeout: float = 180.0,
    interval: float = 2.0,
    progress: bool = True,
) -> ImportResult:
    """Wait for Kibana, then import the workshop's data view, saved search and dashboard."""
    status = wait_for_kibana(url, timeout=wait_timeout, interval=interval, progress=progress)
    result = import_saved_objects(url, path)
    result.version = status.version
    if path is None:  # the workshop's own objects: also the checks' alerting (issue 16)
        from workshop import kibana_alerting

        result.alerting = kibana_alerting.provision(url, import_objects=import_saved_objects)
    return result


# --------------------------------------------------------------------------- deep links


def _encode(value: Any) -> str:
    # Kibana's encodeUriQuery: encodeURIComponent, then "@ : $ , ;" back; spaces stay %20.
    return quote(rison.dumps(value), safe="!*'()@:$,;")


def _iso(ts: datetime) -> str:
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def discover_url(
    *,
    kibana_url: str | None = None,
    query: str = "",
    time_from: str | datetime = "now-15m",
    time_to: str | datetime = "now",
    columns: list[str] | None = None,
    data_view_id: str = DATA_VIEW_ID,
) -> str:
    """A Discover URL on the data view, time range, KQL query and columns given.

    ``kibana_url`` defaults to WORKSHOP_KIBANA_PUBLIC_URL (else WORKSHOP_KIBANA_URL): the address
    the participant's browser uses, which differs from the notebook's inside Docker.
    """
    g = {
        "time": {
            "from": _iso(time_from) if isinstance(time_from, datetime) else time_from,
            "to": _iso(time_to) if isinstance(time_to, datetime) else time_to,
        }
    }
    a = {
        "columns": list(DISCOVER_COLUMNS if columns is None else columns),
        "dataSource": {"dataViewId": data_view_id, "type": "dataView"},
        "query": {"language": "kuery", "query": query},
        "sort": [["@timestamp", "desc"]],
    }
    return f"{_public(kibana_url)}/app/discover#/?_g={_encode(g)}&_a={_encode(a)}"


def prediction_url(
    prediction_id: str,
    *,
    timestamp: datetime | None = None,
    kibana_url: str | None = None,
    margin: timedelta = timedelta(minutes=15),
) -> str:
    """Discover opened on one event: KQL ``prediction_id:"…"``, time range around it."""
    if not _PREDICTION_ID.match(prediction_id or ""):
        raise InvalidInputError(
            f"Identificador de predição inválido: {prediction_id!r} (use o prediction_id que o "
            "serviço devolveu, por exemplo 3f2b9c1e-…)."
        )
    if timestamp is None:
        time_from: str | datetime = "now-7d"
        time_to: str | datetime = "now"
    else:
        time_from, time_to = timestamp - margin, timestamp + margin
    return discover_url(
        kibana_url=kibana_url,
        query=f'prediction_id:"{prediction_id}"',
        time_from=time_from,
        time_to=time_to,
    )


_STATUS_CACHE: dict[str, tuple[float, bool]] = {}


def kibana_available(url: str | None = None, max_age: float = 30.0) -> bool:
    """Whether Kibana is available, probed at most every ``max_age`` seconds (for the form)."""
    base = _base(url)
    now = time.monotonic()
    cached = _STATUS_CACHE.get(base)
    if cached is None or now - cached[0] > max_age:
        cached = (now, kibana_status(base, timeout=1.0).usable)
        _STATUS_CACHE[base] = cached
    return cached[1]


def form_event_link(prediction_id: str) -> str | None:
    """The form's link to a prediction's event: Discover around now when Kibana is up, else
    ``None`` (the form then names ``workshop events show ID``)."""
    if not kibana_available():
        return None
    return prediction_url(prediction_id, timestamp=datetime.now(UTC))


def dashboard_url(kibana_url: str | None = None) -> str:
    return f"{_public(kibana_url)}/app/dashboards#/view/{DASHBOARD_ID}"


def parse_discover_url(url: str) -> dict[str, Any]:
    """Decode a Discover URL back into ``{"path", "_g", "_a"}`` (the Rison states as dicts)."""
    parts = urlsplit(url)
    fragment_path, _, fragment_query = parts.fragment.partition("?")
    # Kibana parses the hash query like a query string; keep "+" literal as encodeUriQuery does.
    raw = parse_qs(fragment_query.replace("+", "%2B"), keep_blank_values=True)
    states: dict[str, Any] = {"path": parts.path, "route": fragment_path}
    for key in ("_g", "_a"):
        if key in raw:
            states[key] = rison.loads(raw[key][0])
    return states


# --------------------------------------------------------------------------- events (for links)


def find_event(prediction_id: str, es: Elasticsearch | None = None) -> dict[str, Any] | None:
    """The logged event (``_source``) of one prediction, or ``None`` when it is not indexed."""
    settings = get_settings()
    es = es or connect(settings)
    resp: Any = es.search(
        index=settings.index_pattern,
        query={"term": {"prediction_id": prediction_id}},
        size=1,
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    hits = resp["hits"]["hits"]
    return hits[0]["_source"] if hits else None


def wait_for_event(
    prediction_id: str, es: Elasticsearch | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    """Wait until one prediction's event is searchable (refreshing ``model-*``); pt-BR error."""
    settings = get_settings()
    es = es or connect(settings)

    def look() -> dict[str, Any] | None:
        es.indices.refresh(index=settings.index_pattern, ignore_unavailable=True)
        return find_event(prediction_id, es)

    event = poll(look, lambda found: found is not None, timeout=timeout)
    if event is None:
        raise StackError(
            f"O evento da predição {prediction_id} não apareceu em {settings.index_pattern} "
            f"em {timeout:.0f} s. Veja se o serviço registra eventos (GET /health, campo "
            "events) e rode `workshop doctor`."
        )
    return event


def event_timestamp(event: dict[str, Any]) -> datetime:
    """The ``@timestamp`` of an event document as an aware datetime."""
    value = str(event["@timestamp"]).replace("Z", "+00:00")
    ts = datetime.fromisoformat(value)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
