"""The whole loop through the CLI, as an instructor runs it: ``workshop feedback demo --json``
(real training, the real service as a subprocess, the simulator), then ``label``, ``report`` and
``retrain`` on the same world.

Isolated from the rest of the session: its own WORKSHOP_HOME (registry), index prefix and service
port.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port
from workshop import stack

SCENARIO_KEYS = {
    "old_version",
    "new_version",
    "family_nwrmsle_old",
    "family_nwrmsle_new",
    "overall_nwrmsle_old",
    "overall_nwrmsle_new",
    "promoted",
}


@pytest.fixture
def demo_env(es, tmp_path_factory: pytest.TempPathFactory):
    from tests.integration.service.test_app import trained_home

    # v1, history only and promoted (trained once per session): the demo starts from it
    tmp_path = trained_home(tmp_path_factory, "feedback-demo").home_dir
    prefix = f"fbdemo{uuid.uuid4().hex[:8]}"
    body = stack.load_template()
    body["index_patterns"] = [f"{prefix}-*"]
    es.indices.put_index_template(name=prefix, **body)
    env = {
        **os.environ,
        "WORKSHOP_HOME": str(tmp_path),
        "WORKSHOP_INDEX_PREFIX": prefix,
        "WORKSHOP_SERVICE_URL": f"http://127.0.0.1:{free_port()}",
    }
    yield env
    es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
    es.indices.delete_index_template(name=prefix)


def workshop(env: dict[str, str], *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_feedback_demo_meets_the_targets_and_cli_commands(demo_env) -> None:
    result = workshop(demo_env, "feedback", "demo", "--fast", "--json")
    assert result.keys() >= SCENARIO_KEYS
    # the targets, on a window after both trainings
    assert result["family_nwrmsle_new"] <= 0.8 * result["family_nwrmsle_old"]
    assert result["overall_nwrmsle_new"] <= result["overall_nwrmsle_old"]
    assert result["promoted"] is True
    trained = result["trained_until"]
    assert all(result["window_start"] > day for day in trained.values())
    # the story: the family's live error was above the others'; curation dropped duplicates
    assert result["live_family_nwrmsle"] > result["live_other_families_nwrmsle"]
    assert result["curation"]["dropped_duplicates"] > 0
    assert result["events_logged"] == result["requests_ok"] == result["labelled"]
    # the service hot-reloaded the promoted version; new events carry it
    assert result["service_model_version"] == result["new_version"]
    assert result["events_new_version"] > 0

    # default as_of = today: also the events answered by the new version (evaluation weeks)
    later = workshop(demo_env, "feedback", "label", "--json")
    assert later["labelled"] == result["events_new_version"]
    assert later["already_labelled"] == result["labelled"]
    again = workshop(demo_env, "feedback", "label", "--json")
    assert (again["labelled"], again["skipped_future"]) == (0, 0)

    report = workshop(demo_env, "feedback", "report", "--by", "family,model_version", "--json")
    versions = {row["model_version"] for row in report["rows"]}
    assert result["old_version"] in versions
    assert report["overall"]["n"] >= result["labelled"]

    retrain = workshop(demo_env, "feedback", "retrain", "--json")  # no --promote
    assert retrain["old_version"] == result["new_version"]
    assert retrain["promoted"] is False
    assert retrain.keys() >= SCENARIO_KEYS
    pointer = json.loads((Path(demo_env["WORKSHOP_HOME"]) / "models" / "production").read_text())
    assert pointer["version"] == result["new_version"]
