"""Settings: defaults, WORKSHOP_* overrides, validation messages, .env.example coverage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workshop.config import EventTransport, Settings, get_settings, project_root
from workshop.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("WORKSHOP_"):
            monkeypatch.delenv(key)


def test_defaults() -> None:
    s = get_settings()
    assert s.es_url == "http://localhost:9200"
    assert s.kibana_url == "http://localhost:5601"
    assert s.service_url == "http://localhost:11000"
    assert (s.fluentd_host, s.fluentd_port) == ("localhost", 24224)
    assert s.event_transport is EventTransport.ELASTICSEARCH
    assert s.home_dir == project_root() / ".workshop"
    assert s.run_dir == s.home_dir / "run"
    assert s.index_pattern == "model-*"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WORKSHOP_ES_URL", "http://es:9201/")
    monkeypatch.setenv("WORKSHOP_FLUENTD_PORT", "24225")
    monkeypatch.setenv("WORKSHOP_EVENT_TRANSPORT", "fluentd")
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    s = get_settings()
    assert s.es_url == "http://es:9201"  # trailing slash removed
    assert s.fluentd_port == 24225
    assert s.event_transport is EventTransport.FLUENTD
    assert s.models_dir == tmp_path.resolve() / "models"


def test_relative_home_is_taken_from_the_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSHOP_HOME", "./outra-pasta")
    monkeypatch.chdir("/")
    assert get_settings().home_dir == project_root() / "outra-pasta"


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        ("WORKSHOP_ES_URL", "localhost:9200", "URL inválida"),
        ("WORKSHOP_FLUENTD_PORT", "porta", "WORKSHOP_FLUENTD_PORT"),
        ("WORKSHOP_FLUENTD_PORT", "70000", "WORKSHOP_FLUENTD_PORT"),
        ("WORKSHOP_EVENT_TRANSPORT", "kafka", "WORKSHOP_EVENT_TRANSPORT"),
    ],
)
def test_invalid_values_give_a_portuguese_error(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match="Configuração inválida") as info:
        get_settings()
    assert fragment in str(info.value)


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^(WORKSHOP_[A-Z_]+)=", text, flags=re.M))
    expected = {f"WORKSHOP_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected
    # each variable is preceded by a comment line explaining it
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("WORKSHOP_") and not lines[i - 1].startswith("WORKSHOP_"):
            assert lines[i - 1].startswith("# "), f"no explanation above {line}"


def test_browser_urls_fall_back_to_the_service_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSHOP_SERVICE_URL", "http://model:11000")
    monkeypatch.setenv("WORKSHOP_KIBANA_URL", "http://kibana:5601")
    s = get_settings()
    assert s.service_browser_url == "http://model:11000"
    assert s.kibana_browser_url == "http://kibana:5601"
    monkeypatch.setenv("WORKSHOP_SERVICE_PUBLIC_URL", "http://localhost:11000/")
    monkeypatch.setenv("WORKSHOP_KIBANA_PUBLIC_URL", "http://localhost:5601")
    s = get_settings()
    assert s.service_browser_url == "http://localhost:11000"
    assert s.kibana_browser_url == "http://localhost:5601"
