"""The alerts stage's infra files: the rules file, the monitoring-* template, the Kibana objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.unit.test_kibana_alerting import check_es_query_params
from workshop import kibana, kibana_alerting, stack
from workshop.alerts import Measurement, judge, load_rules
from workshop.alerts.rules import RULES_PATH

MONITORING = kibana.load_saved_objects(kibana_alerting.MONITORING_OBJECTS_PATH)
MODEL = kibana.load_saved_objects()


def test_the_rules_file_lives_in_infra_monitoring_and_loads() -> None:
    assert RULES_PATH.parent.name == "monitoring" and RULES_PATH.suffix == ".toml"
    assert len(load_rules().rules) >= 4


def test_the_template_types_every_field_a_check_document_has() -> None:
    template = json.loads(stack.MONITORING_TEMPLATE_PATH.read_text())
    assert template["index_patterns"] == ["monitoring-*"]
    props = template["template"]["mappings"]["properties"]
    now = datetime.now(UTC)
    for rule in load_rules().rules:
        doc = judge(rule, "v1", Measurement(1.0, 500, limit=0.5, healthy=True), now, now).to_dict()
        assert set(doc) <= set(props), set(doc) - set(props)
    assert {props[k]["type"] for k in ("rule", "version", "state", "window")} == {"keyword"}
    assert props["value"]["type"] == props["threshold"]["type"] == "float"
    assert props["n"]["type"] == "long" and props["@timestamp"]["type"] == "date"
    assert set(props["psi"]["properties"]) == {"product", "family", "weekday", "promotion",
                                               "prediction"}  # fmt: skip


def test_the_health_dashboard_and_its_data_view() -> None:
    by_key = {(o["type"], o["id"]): o for o in MONITORING + MODEL}
    (view,) = [o for o in MONITORING if o["type"] == "index-pattern"]
    assert view["id"] == kibana_alerting.MONITORING_DATA_VIEW_ID
    assert view["attributes"]["title"] == "monitoring-*"
    assert view["attributes"]["timeFieldName"] == "@timestamp"
    (dash,) = [o for o in MONITORING if o["type"] == "dashboard"]
    assert dash["id"] == kibana_alerting.HEALTH_DASHBOARD_ID
    assert dash["attributes"]["title"] == "Saúde do modelo"
    panels = json.loads(dash["attributes"]["panelsJSON"])
    assert len(panels) == len(dash["references"]) == 5
    for obj in MONITORING:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in by_key, f"{obj['id']} → {ref}"
    titles = {by_key[(r["type"], r["id"])]["attributes"]["title"] for r in dash["references"]}
    assert any("Drift" in t for t in titles) and any("Latência" in t for t in titles)
    assert any("Erro real" in t for t in titles) and any("Alertas" in t for t in titles)


def test_every_rule_becomes_a_valid_kibana_es_query_rule() -> None:
    for rule in load_rules().rules:
        payload = kibana_alerting.rule_payload(rule)
        assert payload["rule_type_id"] == ".es-query"
        check_es_query_params(payload["params"])
        assert rule.name in payload["params"]["esQuery"]
