"""``workshop doctor``: is every part of the stack up, and what to do when one is not (pt-BR).

Checks Elasticsearch (or the embedded engine), Fluentd, Kibana and the model service (with the
event logger's counters from its ``/health``), each with a hint that works on the path the
participant is on. Above every stage it asks about, so it may import them all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from workshop.config import Settings, get_settings
from workshop.events.transports.fluentd import speaks_forward
from workshop.kibana import KIBANA_USABLE_LEVELS
from workshop.stack import (
    engine_info,
    http_get_json,
    is_embedded_info,
    tcp_reachable,
)


@dataclass
class Check:
    component: str
    ok: bool
    url: str
    detail: str
    hint: str = ""


START_HINT = "sem Docker, `workshop up`; com Docker, `docker compose up -d`"
# Without Docker the embedded engine holds 9200: `docker compose up -d kibana` would start
# Docker's Elasticsearch beside it (port clash) and show an empty Kibana (issue 13).
KIBANA_HINT = (
    "o Kibana só existe no stack Docker. Para usá-lo: `workshop down` (libera a porta 9200 do "
    "motor embutido) e `docker compose up -d`; ou aponte WORKSHOP_ES_URL e WORKSHOP_KIBANA_URL "
    "para o stack de outra máquina. Sem Kibana, o notebook 05 mostra o que o Discover mostraria"
)


def rejected_check(settings: Settings) -> Check:
    """Documents Elasticsearch refused for good, on both paths: spool/rejected.jsonl (direct
    transport) and Fluentd's rejected/ files (WORKSHOP_FLUENTD_REJECTED_DIR, Fluentd path)."""
    from workshop.fluentd_dump import count_jsonl, count_rejected

    direct = count_jsonl(settings.spool_dir / "rejected.jsonl")
    via_fluentd = count_rejected(settings.fluentd_rejected_path)
    detail = f"{direct} no spool/rejected.jsonl, " + (
        "Fluentd: pasta rejected/ não visível aqui"
        if via_fluentd is None
        else f"{via_fluentd} no rejected/ do Fluentd"
    )
    total = direct + (via_fluentd or 0)
    hint = (
        "veja o motivo em spool/rejected.jsonl ou `docker compose exec fluentd ls "
        "/fluentd/buffer/rejected` (em geral um campo com tipo errado)"
        if total
        else ""
    )
    return Check("recusados", total == 0, str(settings.spool_dir), detail, hint)


def run_checks(settings: Settings | None = None) -> list[Check]:
    """Check every component once; never raises."""
    settings = settings or get_settings()
    checks: list[Check] = []

    info = engine_info(settings.es_url)
    if info:
        flavour = "motor embutido" if is_embedded_info(info) else "Elasticsearch"
        version = info.get("version", {}).get("number", "?")
        checks.append(Check("elasticsearch", True, settings.es_url, f"{flavour} {version}"))
    else:
        checks.append(Check("elasticsearch", False, settings.es_url, "não respondeu", START_HINT))

    fluentd_url = f"tcp://{settings.fluentd_host}:{settings.fluentd_port}"
    if tcp_reachable(settings.fluentd_host, settings.fluentd_port):
        # Issue 13: any program on 24224 counted as Fluentd; it must ack the forward protocol.
        if speaks_forward(settings.fluentd_host, settings.fluentd_port):
            checks.append(Check("fluentd", True, fluentd_url, "responde ao protocolo forward"))
        else:
            checks.append(
                Check(
                    "fluentd",
                    False,
                    fluentd_url,
                    "a porta está aberta, mas quem responde não é o Fluentd (sem ack do forward)",
                    "descubra quem ocupa a porta (`lsof -i :24224`) e suba o Fluentd do Docker",
                )
            )
    else:
        uses_fluentd = settings.event_transport == "fluentd"
        checks.append(
            Check(
                "fluentd",
                False,
                fluentd_url,
                "porta fechada"
                + (
                    ""
                    if uses_fluentd
                    else " (normal sem Docker: eventos vão direto ao Elasticsearch)"
                ),
                "rode `docker compose up -d fluentd`" if uses_fluentd else "",
            )
        )

    status = http_get_json(settings.kibana_url + "/api/status")
    if status:
        level = status.get("status", {}).get("overall", {}).get("level", "?")
        usable = level in KIBANA_USABLE_LEVELS
        detail = f"status {level}" + (" (utilizável)" if level == "degraded" else "")
        hint = "" if usable else "aguarde o Kibana terminar de subir"
        checks.append(Check("kibana", usable, settings.kibana_url, detail, hint))
    else:
        checks.append(
            Check(
                "kibana",
                False,
                settings.kibana_url,
                "não respondeu (no modo sem Docker não há Kibana)",
                KIBANA_HINT,
            )
        )

    checks.append(rejected_check(settings))

    health = http_get_json(settings.service_url + "/health")
    if health and isinstance(health.get("events"), dict) and "sent" in health["events"]:
        from workshop.events.health import describe

        ok, detail, hint = describe(health["events"])
        checks.append(Check("eventos", ok, settings.service_url + "/health", detail, hint))
    if health and health.get("model_loaded", health.get("ok")):
        checks.append(
            Check(
                "servico", True, settings.service_url, f"modelo {health.get('model_version', '?')}"
            )
        )
    elif health:
        checks.append(
            Check(
                "servico",
                False,
                settings.service_url,
                "no ar, mas sem modelo",
                "treine um modelo: notebook 01 ou `workshop train --promote`",
            )
        )
    else:
        checks.append(
            Check(
                "servico",
                False,
                settings.service_url,
                "não respondeu",
                "rode `workshop up` (o formulário fica no ar até `workshop down`)",
            )
        )
    return checks


def checks_as_dict(checks: list[Check]) -> dict[str, dict[str, Any]]:
    return {c.component: {k: v for k, v in asdict(c).items() if k != "component"} for c in checks}


def format_checks(checks: list[Check]) -> str:
    """A pt-BR table with ✓/✗, the URL, and what to do for each ✗."""
    names = {
        "elasticsearch": "Elasticsearch",
        "fluentd": "Fluentd",
        "kibana": "Kibana",
        "servico": "Serviço do modelo",
        "recusados": "Eventos recusados",
        "eventos": "Eventos do serviço",
    }
    rows = [("", "Componente", "URL", "Situação")]
    rows += [
        ("✓" if c.ok else "✗", names.get(c.component, c.component), c.url, c.detail) for c in checks
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    todo = [
        f"  • {names.get(c.component, c.component)}: {c.hint}"
        for c in checks
        if not c.ok and c.hint
    ]
    if todo:
        lines += ["", "O que fazer:", *todo]
    return "\n".join(lines)
