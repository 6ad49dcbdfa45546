"""The model registry: versions, cards, the production pointer, loading, clear errors."""

from __future__ import annotations

import json
import threading
from datetime import date
from pathlib import Path

import pytest

from workshop import dataset as ds
from workshop.config import Settings, get_settings
from workshop.errors import InvalidInputError, ModelNotFoundError
from workshop.modeling import Predictor, Registry, make_pipeline
from workshop.modeling.registry import CARD_FILE, MODEL_FILE, PRODUCTION_FILE


@pytest.fixture(scope="module")
def small_model():
    history = ds.generate_history(start=date(2025, 1, 1), end=date(2025, 3, 31))
    return make_pipeline(max_iter=5).fit(history, history["unit_sales"])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings(home=tmp_path)


def _card(**extra: object) -> dict:
    return {"metrics": {"nwrmsle": 0.5, "mae": 1.0, "r2": 0.1}, "seed": 1, **extra}


def test_register_versions_are_monotonic(settings: Settings, small_model) -> None:
    registry = Registry(settings)
    assert registry.versions() == [] and registry.list() == []
    assert registry.register(small_model, _card()) == "v1"
    assert registry.register(small_model, _card(version="ignored")) == "v2"
    assert registry.versions() == ["v1", "v2"]
    assert [c["version"] for c in registry.list()] == ["v1", "v2"]
    root = settings.models_dir
    assert (root / "v2" / MODEL_FILE).is_file() and (root / "v2" / CARD_FILE).is_file()
    assert registry.card("v2")["metrics"]["nwrmsle"] == 0.5
    # v10 sorts after v9 (numbers, not text)
    for _ in range(8):
        registry.register(small_model, _card())
    assert registry.versions()[-2:] == ["v9", "v10"] and registry.latest_version() == "v10"


def test_concurrent_registrations_get_distinct_versions(settings: Settings, small_model) -> None:
    registry = Registry(settings)
    versions: list[str] = []
    threads = [
        threading.Thread(target=lambda: versions.append(registry.register(small_model, _card())))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(versions, key=lambda v: int(v[1:])) == ["v1", "v2", "v3", "v4"]


def test_incomplete_version_is_ignored(settings: Settings, small_model) -> None:
    registry = Registry(settings)
    (settings.models_dir / "v1").mkdir(parents=True)  # a training that crashed before its card
    assert registry.versions() == []
    assert registry.register(small_model, _card()) == "v2"


def test_promote_and_production_pointer(settings: Settings, small_model) -> None:
    registry = Registry(settings)
    assert registry.production_version() is None
    registry.register(small_model, _card())
    registry.register(small_model, _card())
    pointer = registry.promote("v1")
    assert pointer["version"] == "v1" and registry.production_version() == "v1"
    registry.promote("v2")
    assert registry.production_version() == "v2"
    data = json.loads((settings.models_dir / PRODUCTION_FILE).read_text())
    assert data["version"] == "v2" and "promoted_at" in data
    leftovers = [p.name for p in settings.models_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # the temp file of the atomic write was renamed, not left behind


def test_load_returns_a_working_model(settings: Settings, small_model) -> None:
    registry = Registry(settings)
    registry.register(small_model, _card())
    registry.promote("v1")
    model = registry.load("v1")
    rows = ds.generate_history(start=date(2025, 4, 1), end=date(2025, 4, 2))
    assert (model.predict(rows) == small_model.predict(rows)).all()
    predictor = Predictor.load(settings=settings)
    assert predictor.version == "v1"
    assert predictor.predict("2025-04-01", "103520", False).prediction == pytest.approx(
        small_model.predict(rows.iloc[:1])[0]
    )
    assert Predictor.load("v1", settings=settings).version == "v1"


def test_missing_version_is_a_clear_error(settings: Settings, small_model) -> None:
    registry = Registry(settings)
    registry.register(small_model, _card())
    for call in (registry.card, registry.load, registry.promote):
        with pytest.raises(ModelNotFoundError, match=r"não encontrada: v7 \(disponíveis: v1\)"):
            call("v7")
    with pytest.raises(ModelNotFoundError, match="v7"):
        Predictor.load("v7", settings=settings)


@pytest.mark.parametrize("bad", ["1", "v0", "latest", "../v1", "v1/../../etc", ""])
def test_invalid_version_strings(settings: Settings, bad: str) -> None:
    with pytest.raises(InvalidInputError, match="Versão inválida"):
        Registry(settings).card(bad)


def test_no_production_yet_says_how_to_promote(settings: Settings, small_model) -> None:
    Registry(settings).register(small_model, _card())
    with pytest.raises(ModelNotFoundError, match="workshop models promote v1"):
        Predictor.load(settings=settings)


def test_unreadable_pointer_means_no_production(settings: Settings, small_model) -> None:
    registry = Registry(settings)
    registry.register(small_model, _card())
    settings.models_dir.joinpath(PRODUCTION_FILE).write_text("{half a json")
    assert registry.production_version() is None
    settings.models_dir.joinpath(PRODUCTION_FILE).write_text('{"version": "v5"}')
    assert registry.production_version() is None  # points at a version that does not exist
