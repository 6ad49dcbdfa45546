"""``workshop train --json`` / ``models list`` / ``models promote`` as a participant runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from workshop.config import get_settings
from workshop.modeling import Predictor


def _workshop(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WORKSHOP_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_train_json_registers_and_promotes(tmp_path: Path) -> None:
    proc = _workshop(tmp_path, "train", "--promote", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"version", "nwrmsle", "mae", "r2", "baseline_nwrmsle", "train_seconds"} <= set(summary)
    assert summary["version"] == "v1" and summary["promoted"] is True
    assert summary["nwrmsle"] <= 0.75 * summary["baseline_nwrmsle"]
    assert summary["baseline_nwrmsle"] == min(summary["baselines"].values())
    assert "Etapas" in proc.stderr  # the progress bar goes to stderr, the JSON to stdout

    settings = get_settings(home=tmp_path)
    predictor = Predictor.load(settings=settings)
    assert predictor.version == "v1"
    assert predictor.predict("2026-02-14", "103665", False).prediction > 0

    listing = _workshop(tmp_path, "models", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    data = json.loads(listing.stdout.strip().splitlines()[-1])
    assert data["production"] == "v1"
    assert [m["version"] for m in data["models"]] == ["v1"] and data["models"][0]["production"]

    text = _workshop(tmp_path, "models", "list")
    assert "★ v1" in text.stdout and "NWRMSLE" in text.stdout
    # pt-BR dates (issue 13): the training range and the creation time, never ISO.
    assert "01/01/2024 a 31/12/2025" in text.stdout
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", text.stdout)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text.stdout), text.stdout  # no ISO date


def test_second_training_then_promote_and_errors(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from tests.integration.service.test_app import trained_home

    settings = trained_home(tmp_path_factory, "second-training")  # v1, promoted
    tmp_path = settings.home_dir
    second = _workshop(tmp_path, "train", "--seed", "7")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Modelo v2 registrado" in second.stdout and "semente 7" in second.stdout
    assert "workshop models promote v2" in second.stdout  # registered, not promoted

    promoted = _workshop(tmp_path, "models", "promote", "v2", "--json")
    assert promoted.returncode == 0, promoted.stderr
    pointer = json.loads(promoted.stdout.strip().splitlines()[-1])
    assert pointer["version"] == "v2" and pointer["previous"] == "v1"

    missing = _workshop(tmp_path, "models", "promote", "v9")
    assert missing.returncode == 1
    assert "Versão de modelo não encontrada: v9 (disponíveis: v1, v2)" in missing.stderr
    invalid = _workshop(tmp_path, "models", "promote", "producao")
    assert invalid.returncode == 1 and "Versão inválida" in invalid.stderr


def test_list_shows_the_feedback_comparison_of_a_retrained_version(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Issue 13: v2 listed with v1's holdout figures; the gain seen in notebook 06 was nowhere.
    from tests.integration.service.test_app import register_copy, trained_home
    from workshop.modeling import Registry
    from workshop.modeling.registry import CARD_FILE

    settings = trained_home(tmp_path_factory, "models-list")  # v1, trained once per session
    assert register_copy(settings, promote=False) == "v2"  # a second version, in milliseconds
    tmp_path = settings.home_dir
    registry = Registry(settings)
    card = registry.card("v2")
    card["feedback"] = {
        "comparison": {
            "old_version": "v1",
            "new_version": "v2",
            "family": "LATICÍNIOS",
            "window_start": "2026-02-09",
            "window_end": "2026-03-08",
            "family_nwrmsle_old": 0.5123,
            "family_nwrmsle_new": 0.2345,
            "overall_nwrmsle_old": 0.3012,
            "overall_nwrmsle_new": 0.2801,
            "promoted": True,
        }
    }
    (registry.path("v2") / CARD_FILE).write_text(json.dumps(card))
    text = _workshop(tmp_path, "models", "list").stdout
    assert "Comparações do ciclo de feedback" in text
    assert "v1 → v2" in text and "LATICÍNIOS 0,512 → 0,234" in text and "(promovida)" in text
    data = json.loads(_workshop(tmp_path, "models", "list", "--json").stdout.splitlines()[-1])
    assert data["models"][1]["feedback_comparison"]["family_nwrmsle_new"] == 0.2345
