"""infra/kibana/saved_objects.ndjson: parses, references resolve, and says what the design says.

The shapes follow Kibana 8.19's own sample-data saved objects (see workshop/kibana.py and the
build notes there); Kibana itself cannot run here, so these checks are structural.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from workshop import kibana

OBJECTS = kibana.load_saved_objects()
BY_KEY = {(o["type"], o["id"]): o for o in OBJECTS}


def by_type(kind: str) -> list[dict[str, Any]]:
    return [o for o in OBJECTS if o["type"] == kind]


def test_every_line_is_one_json_object() -> None:
    lines = kibana.SAVED_OBJECTS_PATH.read_text(encoding="utf-8").splitlines()
    assert lines and all(line.strip() for line in lines), "no blank lines in the export"
    for number, line in enumerate(lines, start=1):
        obj = json.loads(line)
        assert isinstance(obj, dict), f"line {number}"
        assert {"type", "id", "attributes", "references"} <= obj.keys(), f"line {number}"
    assert len(OBJECTS) == len(lines) == len(BY_KEY), "ids are unique per type"


def test_every_reference_resolves_to_an_object_in_the_file() -> None:
    for obj in OBJECTS:
        for ref in obj["references"]:
            assert {"name", "type", "id"} <= ref.keys()
            assert (ref["type"], ref["id"]) in BY_KEY, f"{obj['id']} → missing {ref}"


def test_data_view_is_model_star_on_timestamp_with_the_fixed_id() -> None:
    (view,) = by_type("index-pattern")
    assert view["id"] == kibana.DATA_VIEW_ID
    assert view["attributes"]["title"] == "model-*"
    assert view["attributes"]["timeFieldName"] == "@timestamp"
    assert view["attributes"]["name"]
    for key in ("fields", "fieldAttrs", "fieldFormatMap", "runtimeFieldMap", "typeMeta"):
        json.loads(view["attributes"][key])  # stringified JSON, as Kibana stores it


def _search_source(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])


def _index_ref(obj: dict[str, Any]) -> dict[str, Any]:
    source = _search_source(obj)
    name = source["indexRefName"]
    (ref,) = [r for r in obj["references"] if r["name"] == name]
    return ref


def test_saved_search_shows_the_workshop_columns_newest_first() -> None:
    (search,) = by_type("search")
    attrs = search["attributes"]
    assert search["id"] == kibana.SAVED_SEARCH_ID
    assert attrs["title"] == "Predições do modelo"
    assert attrs["columns"] == kibana.DISCOVER_COLUMNS
    assert attrs["sort"] == [["@timestamp", "desc"]]
    assert _search_source(search)["query"] == {"query": "", "language": "kuery"}
    assert _index_ref(search) == {
        "id": kibana.DATA_VIEW_ID,
        "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
        "type": "index-pattern",
    }


def test_visualizations_are_aggregation_based_on_the_data_view() -> None:
    visualizations = by_type("visualization")
    assert len(visualizations) == 2
    states = {}
    for vis in visualizations:
        state = json.loads(vis["attributes"]["visState"])
        assert state["title"] == vis["attributes"]["title"]
        assert state["type"] in {"histogram", "line"}
        assert _index_ref(vis)["id"] == kibana.DATA_VIEW_ID
        json.loads(vis["attributes"]["uiStateJSON"])
        states[state["type"]] = state
    events = {a["type"]: a for a in states["histogram"]["aggs"]}
    assert events["date_histogram"]["params"]["field"] == "@timestamp"
    assert events["terms"]["params"]["field"] == "product"
    assert events["terms"]["schema"] == "group"  # split series: one colour per product
    latency = [a for a in states["line"]["aggs"] if a["schema"] == "metric"]
    assert latency and all(a["params"]["field"] == "latency_ms" for a in latency)
    series_ids = {s["data"]["id"] for s in states["line"]["params"]["seriesParams"]}
    assert series_ids == {a["id"] for a in latency}


def test_dashboard_holds_the_search_and_both_visualizations() -> None:
    (dash,) = by_type("dashboard")
    attrs = dash["attributes"]
    assert dash["id"] == kibana.DASHBOARD_ID
    assert attrs["title"] == "Monitoramento do modelo"
    json.loads(attrs["optionsJSON"])
    assert _search_source(dash)["filter"] == []
    panels = json.loads(attrs["panelsJSON"])
    refs = {r["name"]: r for r in dash["references"]}
    targets = set()
    for panel in panels:
        assert panel["panelIndex"] == panel["gridData"]["i"]
        ref = refs[f"{panel['panelIndex']}:{panel['panelRefName']}"]  # 8.x reference naming
        assert ref["type"] == panel["type"]
        targets.add((ref["type"], ref["id"]))
    assert ("search", kibana.SAVED_SEARCH_ID) in targets
    assert {t for t, _ in targets} == {"search", "visualization"}
    assert len(targets) == 3
    # The dashboard reaches the data view through its panels.
    for kind, obj_id in targets:
        assert _index_ref(BY_KEY[(kind, obj_id)])["id"] == kibana.DATA_VIEW_ID


@pytest.mark.parametrize("obj", OBJECTS, ids=[o["id"] for o in OBJECTS])
def test_objects_carry_8x_migration_versions(obj: dict[str, Any]) -> None:
    # Kibana migrates each object from typeMigrationVersion up to its own version on import.
    assert obj["coreMigrationVersion"] == "8.8.0"
    major = int(obj["typeMigrationVersion"].split(".")[0])
    assert major in {7, 8}


def test_loader_reports_a_broken_file_in_pt_br(tmp_path) -> None:
    broken = tmp_path / "broken.ndjson"
    broken.write_text('{"type": "search", "id": "x", "attributes": {}}\n{not json\n')
    with pytest.raises(kibana.KibanaError, match="linha 2: JSON inválido"):
        kibana.load_saved_objects(broken)
