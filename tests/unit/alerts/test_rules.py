"""workshop.alerts.rules: the rules file is validated whole, errors name the rule and the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from workshop.alerts import rules
from workshop.alerts.rules import RulesError, Signal, load_rules, parse_rules

GOOD = {
    "name": "drift_x",
    "description": "Drift de teste.",
    "signal": "drift",
    "window": "15m",
    "threshold": 0.25,
    "min_n": 200,
    "severity": "alta",
}


def test_the_shipped_file_has_the_four_signals() -> None:
    ruleset = load_rules()
    assert {r.signal for r in ruleset.rules} == set(Signal)
    drift = next(r for r in ruleset.rules if r.signal is Signal.DRIFT)
    assert (
        drift.threshold == 0.25 and drift.min_n >= 1 and drift.window_delta == timedelta(minutes=15)
    )
    assert "prediction" not in drift.watched_features


def test_table_is_one_row_per_rule_in_pt_br() -> None:
    table = load_rules().table()
    assert list(table.columns)[:3] == ["sinal", "janela", "limite"]
    assert len(table) == len(load_rules().rules)
    # thresholds as a participant reads them: 0,25 and 1,5, not 0.25 and 1.5
    assert table.loc["drift_entradas", "limite"] == "0,25"
    assert all("." not in str(v) for v in table["limite"])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"threshold": "alto"}, "regra 'drift_x', campo threshold: 'alto' não é um número"),
        ({"window": "quinze"}, "regra 'drift_x', campo window: duração inválida"),
        ({"signal": "cpu"}, "regra 'drift_x', campo signal: valor 'cpu' inválido"),
        ({"severity": "urgente"}, "regra 'drift_x', campo severity: valor 'urgente' inválido"),
        ({"min_n": 0}, "regra 'drift_x', campo min_n: precisa ser ≥ 1"),
        ({"threshold": None}, "regra 'drift_x', campo threshold: obrigatório"),
        ({"features": ["cor"]}, "regra 'drift_x', campo features: variáveis desconhecidas"),
        ({"extra": 1}, "regra 'drift_x': campo desconhecido 'extra'"),
    ],
)
def test_errors_name_the_rule_and_the_field(change: dict, expected: str) -> None:
    rule = {**GOOD, **change}
    rule = {k: v for k, v in rule.items() if v is not None}
    with pytest.raises(RulesError) as info:
        parse_rules({"rule": [rule]})
    assert expected in str(info.value)
    assert "nenhuma regra foi carregada" in str(info.value)


def test_a_rule_without_name_is_named_by_position() -> None:
    unnamed = {k: v for k, v in GOOD.items() if k != "name"}
    with pytest.raises(RulesError, match="regra nº 2, campo name: obrigatório e ausente"):
        parse_rules({"rule": [GOOD, unnamed]})


def test_nothing_runs_on_a_half_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nname = "ok_rule"\ndescription = "ok"\nsignal = "latency_p95"\nwindow = "5m"\n'
        'threshold = 100\nseverity = "baixa"\n\n'
        '[[rule]]\nname = "bad"\ndescription = "x"\nsignal = "latency_p95"\nwindow = "5m"\n'
        'threshold = -1\nseverity = "baixa"\n'
    )
    with pytest.raises(RulesError, match="regra 'bad', campo threshold"):
        load_rules(path)


def test_duplicated_names_and_silence_thresholds_are_refused() -> None:
    with pytest.raises(RulesError, match="nome repetido: 'drift_x'"):
        parse_rules({"rule": [GOOD, GOOD]})
    silence = {**GOOD, "name": "s", "signal": "silence", "threshold": 5}
    with pytest.raises(RulesError, match="regra 's', campo threshold: a regra de silêncio"):
        parse_rules({"rule": [silence]})


def test_broken_toml_and_missing_file_are_pt_br(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]\nname = ")
    with pytest.raises(RulesError, match="TOML inválido"):
        load_rules(bad)
    with pytest.raises(RulesError, match="não encontrado"):
        load_rules(tmp_path / "nope.toml")
    with pytest.raises(RulesError, match="pelo menos uma regra"):
        parse_rules({"rule": []})


def test_durations() -> None:
    assert rules.parse_duration("90s") == timedelta(seconds=90)
    assert rules.parse_duration("7d") == timedelta(days=7)
    for bad in ("0m", "1 h", "15", "m"):
        with pytest.raises(ValueError, match="duração inválida"):
            rules.parse_duration(bad)
