"""Kibana alerting for the checks: connectors, one Elasticsearch query rule per rule of the file,
the ``monitoring-*`` data view and the dashboard "Saúde do modelo".

Called by :func:`workshop.kibana.setup` (``workshop kibana setup``) after the model-events import.
Idempotent: a connector or rule is created with a fixed id and, when Kibana answers 409 (it
exists), updated in place with PUT.

Request shapes, checked against Kibana 8.19's own route schemas (elastic/kibana, 8.19 branch):

* ``POST /api/actions/connector/{id}`` — body ``{name, connector_type_id, config, secrets}``
  (``x-pack/platform/plugins/shared/actions/common/routes/connector/apis/create/schemas/v1.ts``);
  ``PUT /api/actions/connector/{id}`` takes ``{name, config, secrets}`` (no type).
* ``.index`` connector: config ``{index, refresh, executionTimeField}``, action params
  ``{documents: [ {...} ], indexOverride}``; ``.server-log``: empty config, params ``{message,
  level}`` with level one of trace|debug|info|warn|error|fatal
  (``x-pack/platform/plugins/shared/stack_connectors/server/connector_types/es_index/index.ts``,
  ``.../server_log/index.ts``). Both need only the basic (free) licence.
* ``POST /api/alerting/rule/{id}`` — body ``{name, rule_type_id, consumer, enabled, tags,
  schedule: {interval}, params, actions: [{group, id, params, frequency: {summary, notify_when,
  throttle}}]}`` (``x-pack/platform/plugins/shared/alerting/common/routes/rule/apis/create/
  schemas/v1.ts``); ``PUT /api/alerting/rule/{id}`` the same without rule_type_id, consumer and
  enabled.
* ``.es-query`` params with ``searchType: esQuery``: ``index`` (list), ``timeField``, ``esQuery``
  (a JSON string with a ``query`` key), ``size`` (0–10000), ``threshold`` (1–2 numbers),
  ``thresholdComparator`` (``>`` …), ``timeWindowSize`` ≥ 1, ``timeWindowUnit`` s|m|h|d,
  ``groupBy: top`` with ``termField`` and ``termSize`` (one alert per model version)
  (``src/platform/packages/shared/response-ops/rule_params/es_query/v1.ts``). Its action groups
  are ``query matched`` and ``recovered``.
* Every write carries the ``kbn-xsrf`` header (Kibana refuses writes without it).

Kibana's alerting also needs ``xpack.encryptedSavedObjects.encryptionKey`` (set by the compose
file from ``.env``); without it rule creation answers 400 and the error below says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from workshop.alerts.rules import Rule, RuleSet, load_rules
from workshop.config import get_settings, project_root
from workshop.errors import StackError

MONITORING_OBJECTS_PATH = project_root() / "infra" / "kibana" / "monitoring_objects.ndjson"
MONITORING_DATA_VIEW_ID = "workshop-monitoring-checks"
HEALTH_DASHBOARD_ID = "workshop-saude-do-modelo"
INDEX_CONNECTOR_ID = "workshop-alertas-indice"
LOG_CONNECTOR_ID = "workshop-alertas-log"
ALERTS_INDEX = "monitoring-kibana-alertas"
RULE_TYPE = ".es-query"
CONSUMER = "stackAlerts"
MATCHED = "query matched"
RECOVERED = "recovered"
SEVERITY_LEVEL = {"baixa": "info", "média": "warn", "alta": "error"}
HEADERS = {"kbn-xsrf": "true"}


class AlertingError(StackError):
    """Kibana refused an alerting or actions request (pt-BR message)."""


def rule_id(rule: Rule) -> str:
    return f"workshop-regra-{rule.name.replace('_', '-')}"


def connector_payloads() -> dict[str, dict[str, Any]]:
    """The two connectors (create bodies), by id."""
    return {
        INDEX_CONNECTOR_ID: {
            "name": "Workshop: alertas no índice monitoring-kibana-alertas",
            "connector_type_id": ".index",
            "config": {"index": ALERTS_INDEX, "refresh": True, "executionTimeField": "@timestamp"},
            "secrets": {},
        },
        LOG_CONNECTOR_ID: {
            "name": "Workshop: alertas no log do Kibana",
            "connector_type_id": ".server-log",
            "config": {},
            "secrets": {},
        },
    }


def _frequency() -> dict[str, Any]:
    # One notification per state change, not one per check interval (alert fatigue).
    return {"summary": False, "notify_when": "onActionGroupChange", "throttle": None}


def _actions(rule: Rule) -> list[dict[str, Any]]:
    level = SEVERITY_LEVEL[rule.severity]
    document = {
        "kind": "kibana_alert",
        "rule": rule.name,
        "severity": rule.severity,
        "version": "{{context.group}}",
        "message": "{{context.message}}",
    }
    return [
        {
            "group": MATCHED,
            "id": LOG_CONNECTOR_ID,
            "params": {
                "level": level,
                "message": f"[workshop] {rule.description} Versão {{{{context.group}}}}: "
                "{{context.message}}",
            },
            "frequency": _frequency(),
        },
        {
            "group": MATCHED,
            "id": INDEX_CONNECTOR_ID,
            "params": {"documents": [{**document, "transition": "firing"}]},
            "frequency": _frequency(),
        },
        {
            "group": RECOVERED,
            "id": INDEX_CONNECTOR_ID,
            "params": {"documents": [{**document, "transition": "resolved"}]},
            "frequency": _frequency(),
        },
    ]


def rule_payload(rule: Rule, interval: str = "1m") -> dict[str, Any]:
    """The create body of the Kibana rule mirroring one rule of the file.

    The rule asks ``monitoring-*`` for this rule's ``firing`` check documents of the last two
    minutes (the checks run every minute), one alert per ``version``.
    """
    query = {
        "query": {
            "bool": {
                "filter": [
                    {"term": {"kind": "check"}},
                    {"term": {"rule": rule.name}},
                    {"term": {"state": "firing"}},
                ]
            }
        }
    }
    return {
        "name": f"Workshop · {rule.name}",
        "rule_type_id": RULE_TYPE,
        "consumer": CONSUMER,
        "enabled": True,
        "tags": ["workshop", f"severidade:{rule.severity}", f"sinal:{rule.signal.value}"],
        "schedule": {"interval": interval},
        "params": {
            "searchType": "esQuery",
            "index": ["monitoring-*"],
            "timeField": "@timestamp",
            "esQuery": json.dumps(query),
            "size": 10,
            "threshold": [0],
            "thresholdComparator": ">",
            "timeWindowSize": 2,
            "timeWindowUnit": "m",
            "groupBy": "top",
            "termField": "version",
            "termSize": 10,
            "excludeHitsFromPreviousRun": False,
            "aggType": "count",
        },
        "actions": _actions(rule),
    }


_UPDATE_DROP = {
    "connector": ("connector_type_id",),
    "rule": ("rule_type_id", "consumer", "enabled"),
}


@dataclass
class AlertingResult:
    """What was created or updated in Kibana."""

    connectors: dict[str, str] = field(default_factory=dict)  # id → created | updated
    rules: dict[str, str] = field(default_factory=dict)
    objects: int = 0

    def summary(self) -> str:
        male = {"created": "criado", "updated": "atualizado"}
        female = {"created": "criada", "updated": "atualizada"}
        lines = [
            f"Alertas no Kibana: {len(self.rules)} regras, {len(self.connectors)} conectores, "
            f"{self.objects} objetos do dashboard Saúde do modelo:"
        ]
        lines += [f"  • conector {cid}: {male[v]}" for cid, v in self.connectors.items()]
        lines += [f"  • regra {rid}: {female[v]}" for rid, v in self.rules.items()]
        lines.append(f"Dashboard: {health_dashboard_url()}")
        lines.append(f"Regras:    {rules_url()}")
        return "\n".join(lines)


def _refusal(resp: httpx.Response, what: str) -> AlertingError:
    try:
        body = resp.json()
        detail = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        detail = None
    detail = detail or resp.text[:300] or "sem detalhes"
    hint = ""
    if "encrypt" in detail.lower():
        hint = (
            " O Kibana precisa de xpack.encryptedSavedObjects.encryptionKey: confira "
            "KIBANA_ENCRYPTION_KEY no .env (veja .env.example) e recrie o contêiner do Kibana."
        )
    return AlertingError(f"O Kibana recusou {what} (HTTP {resp.status_code}): {detail}.{hint}")


def _upsert(client: httpx.Client, kind: str, path: str, body: dict[str, Any]) -> str:
    """POST (create with the fixed id); on 409 PUT (update). Returns created | updated."""
    what = "o conector" if kind == "connector" else "a regra"
    try:
        resp = client.post(path, json=body, headers=HEADERS)
        if resp.status_code == 409:
            update = {k: v for k, v in body.items() if k not in _UPDATE_DROP[kind]}
            resp = client.put(path, json=update, headers=HEADERS)
            if resp.status_code != 200:
                raise _refusal(resp, f"atualizar {what} {path}")
            return "updated"
    except httpx.HTTPError as exc:
        raise AlertingError(f"Não consegui falar com o Kibana ({exc}).") from exc
    if resp.status_code != 200:
        raise _refusal(resp, f"criar {what} {path}")
    return "created"


def provision(
    url: str | None = None,
    *,
    rules: RuleSet | None = None,
    rules_path: Path | None = None,
    objects_path: Path | None = None,
    import_objects: Callable[[str, Path], Any],
    timeout: float = 30.0,
) -> AlertingResult:
    """Connectors, one rule per rule of the file, and the "Saúde do modelo" saved objects.

    ``import_objects(url, path)`` is :func:`workshop.kibana.import_saved_objects`, passed in by
    :func:`workshop.kibana.setup`: this module stays below ``kibana`` (no import cycle).
    """
    base = (url or get_settings().kibana_url).rstrip("/")
    rules = rules or load_rules(rules_path)
    result = AlertingResult()
    imported = import_objects(base, objects_path or MONITORING_OBJECTS_PATH)
    if not imported.success:
        raise AlertingError(
            "O Kibana não importou todos os objetos do dashboard Saúde do modelo: "
            + "; ".join(str(e.get("id")) for e in imported.errors)
        )
    result.objects = imported.success_count
    with httpx.Client(base_url=base, timeout=timeout) as client:
        for cid, body in connector_payloads().items():
            result.connectors[cid] = _upsert(
                client, "connector", f"/api/actions/connector/{cid}", body
            )
        for rule in rules.rules:
            rid = rule_id(rule)
            result.rules[rid] = _upsert(
                client, "rule", f"/api/alerting/rule/{rid}", rule_payload(rule)
            )
    return result


def health_dashboard_url(kibana_url: str | None = None) -> str:
    base = (kibana_url or get_settings().kibana_browser_url).rstrip("/")
    return f"{base}/app/dashboards#/view/{HEALTH_DASHBOARD_ID}"


def rules_url(kibana_url: str | None = None) -> str:
    """Stack Management → Rules (Kibana 8.x app path)."""
    base = (kibana_url or get_settings().kibana_browser_url).rstrip("/")
    return f"{base}/app/management/insightsAndAlerting/triggersActions/rules"
