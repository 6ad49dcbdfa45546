"""workshop.kibana_alerting against a local stub of Kibana 8.19 that validates each request.

The stub checks what Kibana's own route schemas require (sources cited in
workshop/kibana_alerting.py): the ``kbn-xsrf`` header, the create/update bodies of connectors
and rules (no unknown keys, required keys, the update bodies without the immutable ones), the
``.index`` / ``.server-log`` config and action params, and the ``.es-query`` params
(``src/platform/packages/shared/response-ops/rule_params/es_query/v1.ts``). Creating an id that
exists answers 409, as Kibana does, so the second setup exercises the update path.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import free_port, http_stub
from workshop import kibana, kibana_alerting
from workshop.alerts import load_rules

CONNECTOR_CREATE = {"name", "connector_type_id", "config", "secrets"}
CONNECTOR_UPDATE = {"name", "config", "secrets"}
RULE_CREATE_REQUIRED = {"name", "rule_type_id", "consumer", "params", "schedule"}
RULE_CREATE = RULE_CREATE_REQUIRED | {
    "enabled", "tags", "throttle", "actions", "notify_when", "alert_delay", "flapping",
}  # fmt: skip
RULE_UPDATE = {"name", "tags", "schedule", "throttle", "params", "actions", "notify_when",
               "alert_delay", "flapping"}  # fmt: skip
ACTION_KEYS = {"group", "id", "params", "frequency", "uuid", "alerts_filter",
               "use_alert_data_for_template"}  # fmt: skip
NOTIFY_WHEN = {"onActionGroupChange", "onActiveAlert", "onThrottleInterval"}
COMPARATORS = {">", ">=", "<", "<=", "between", "notBetween"}
ES_QUERY_PARAMS = {
    "size", "timeWindowSize", "excludeHitsFromPreviousRun", "timeWindowUnit", "threshold",
    "thresholdComparator", "aggType", "aggField", "groupBy", "termField", "termSize",
    "searchType", "timeField", "searchConfiguration", "esQuery", "index", "esqlQuery",
    "sourceFields",
}  # fmt: skip
LOG_LEVELS = {"trace", "debug", "info", "warn", "error", "fatal"}


def check_es_query_params(p: dict[str, Any]) -> None:
    assert set(p) <= ES_QUERY_PARAMS, set(p) - ES_QUERY_PARAMS
    assert p["searchType"] == "esQuery"
    assert isinstance(p["index"], list) and p["index"] and all(p["index"])
    assert isinstance(p["timeField"], str) and p["timeField"]
    assert 0 <= p["size"] <= 10000
    assert isinstance(p["timeWindowSize"], int) and p["timeWindowSize"] >= 1
    assert p["timeWindowUnit"] in {"s", "m", "h", "d"}
    assert 1 <= len(p["threshold"]) <= 2 and p["thresholdComparator"] in COMPARATORS
    assert p.get("aggType", "count") == "count" or p.get("aggField")
    assert json.loads(p["esQuery"])["query"]  # "[esQuery]: must contain query"
    if p.get("groupBy") == "top":
        assert p.get("termField") and 1 <= p["termSize"] <= 1000
    assert p.get("groupBy", "all") in {"all", "top"}


class Stub:
    def __init__(self) -> None:
        self.connectors: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.url = ""

    def connector(self, method: str, cid: str, body: dict[str, Any]) -> tuple[int, dict]:
        if method == "POST":
            assert set(body) <= CONNECTOR_CREATE and {"name", "connector_type_id"} <= set(body)
            if cid in self.connectors:
                return 409, {"statusCode": 409, "message": f"Connector {cid} already exists"}
            kind = body["connector_type_id"]
        else:
            assert set(body) <= CONNECTOR_UPDATE and "name" in body, body
            kind = self.connectors[cid]["connector_type_id"]
        config = body.get("config", {})
        if kind == ".index":
            assert set(config) <= {"index", "refresh", "executionTimeField"} and config["index"]
            assert isinstance(config.get("refresh", False), bool)
        elif kind == ".server-log":
            assert config == {}
        else:
            raise AssertionError(f"unexpected connector type {kind}")
        self.connectors[cid] = {**body, "connector_type_id": kind}
        return 200, {"id": cid, "connector_type_id": kind}

    def rule(self, method: str, rid: str, body: dict[str, Any]) -> tuple[int, dict]:
        if method == "POST":
            assert RULE_CREATE_REQUIRED <= set(body) <= RULE_CREATE, set(body)
            assert body["rule_type_id"] == ".es-query"
            if rid in self.rules:
                return 409, {"statusCode": 409, "message": f"Rule {rid} already exists"}
        else:
            assert set(body) <= RULE_UPDATE, set(body) - RULE_UPDATE
            assert rid in self.rules
        assert body["schedule"]["interval"][-1] in "smhd"
        check_es_query_params(body["params"])
        for action in body.get("actions", []):
            assert set(action) <= ACTION_KEYS and action["id"] in self.connectors
            assert action["group"] in {"query matched", "recovered"}
            freq = action["frequency"]
            assert set(freq) == {"summary", "notify_when", "throttle"}
            assert freq["notify_when"] in NOTIFY_WHEN
            kind = self.connectors[action["id"]]["connector_type_id"]
            if kind == ".server-log":
                assert set(action["params"]) <= {"message", "level"}
                assert action["params"]["level"] in LOG_LEVELS and action["params"]["message"]
            else:
                assert set(action["params"]) <= {"documents", "indexOverride"}
                docs = action["params"]["documents"]
                assert docs and all(isinstance(d, dict) for d in docs)
        self.rules[rid] = body
        return 200, {"id": rid}


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            stub.calls.append((self.command, self.path))
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.headers.get("kbn-xsrf") is None:
                return self._send(400, {"message": "Request must contain a kbn-xsrf header."})
            try:
                if self.path.startswith("/api/saved_objects/_import"):
                    n = raw.count(b'"coreMigrationVersion"')
                    return self._send(200, {"success": True, "successCount": n,
                                            "successResults": []})  # fmt: skip
                body = json.loads(raw)
                kind, _, oid = self.path.removeprefix("/api/").rpartition("/")
                if kind == "actions/connector":
                    return self._send(*stub.connector(self.command, oid, body))
                if kind == "alerting/rule":
                    return self._send(*stub.rule(self.command, oid, body))
                return self._send(404, {"message": "Not Found"})
            except (AssertionError, KeyError, ValueError) as exc:
                return self._send(400, {"message": f"[request body]: {exc!r}"})

        do_POST = _handle
        do_PUT = _handle

    return Handler


@pytest.fixture
def stub() -> Iterator[Stub]:
    stub = Stub()
    with http_stub(_handler(stub)) as url:
        stub.url = url
        yield stub


def test_provision_creates_connectors_and_one_rule_per_rule(stub: Stub) -> None:
    result = kibana_alerting.provision(stub.url, import_objects=kibana.import_saved_objects)
    names = [r.name for r in load_rules().rules]
    assert set(result.rules) == {f"workshop-regra-{n.replace('_', '-')}" for n in names}
    assert set(result.rules.values()) == {"created"}
    assert set(stub.connectors) == {kibana_alerting.INDEX_CONNECTOR_ID,
                                    kibana_alerting.LOG_CONNECTOR_ID}  # fmt: skip
    assert result.objects == len(kibana.load_saved_objects(kibana_alerting.MONITORING_OBJECTS_PATH))
    drift = stub.rules["workshop-regra-drift-entradas"]
    query = json.loads(drift["params"]["esQuery"])["query"]["bool"]["filter"]
    assert {"term": {"rule": "drift_entradas"}} in query
    assert {"term": {"state": "firing"}} in query
    assert (
        drift["params"]["index"] == ["monitoring-*"] and drift["params"]["termField"] == "version"
    )


def test_provision_is_idempotent(stub: Stub) -> None:
    kibana_alerting.provision(stub.url, import_objects=kibana.import_saved_objects)
    again = kibana_alerting.provision(stub.url, import_objects=kibana.import_saved_objects)
    assert set(again.rules.values()) == set(again.connectors.values()) == {"updated"}
    puts = [path for method, path in stub.calls if method == "PUT"]
    assert len(puts) == len(again.rules) + len(again.connectors)
    assert "atualizada" in again.summary()


def test_a_refusal_is_reported_in_pt_br_with_the_encryption_hint() -> None:
    class Refusing(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            code, body = (200, {"success": True, "successCount": 7, "successResults": []})
            if "alerting" in self.path:
                code, body = 400, {"message": "Unable to create alerting rules: encryption key"}
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(kibana_alerting.AlertingError, match="KIBANA_ENCRYPTION_KEY"):
            kibana_alerting.provision(
                f"http://127.0.0.1:{server.server_address[1]}",
                import_objects=kibana.import_saved_objects,
            )
    finally:
        server.shutdown()
        server.server_close()
