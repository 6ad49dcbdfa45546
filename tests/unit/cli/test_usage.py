"""Usage errors (bad option values, unknown options or commands) are explained in pt-BR."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _workshop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workshop", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("simulate", "--n", "0"),
            "Valor inválido para '--n': o valor deve ser pelo menos 1. "
            "Veja `workshop simulate --help`.",
        ),
        (("events", "tail", "--n", "abc"), "'--n' / '-n': use um número inteiro."),
        (("events", "tail", "a", "b"), "Argumentos a mais: a b."),
        (("nope",), "Comando desconhecido: nope. Veja `workshop --help`."),
        (("doctor", "--bogus"), "Opção desconhecida: --bogus."),
        (("models", "promote"), "Falta 'version'."),
    ],
)
def test_usage_errors_are_portuguese(args: tuple[str, ...], expected: str) -> None:
    proc = _workshop(*args)
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr
    # Issue 13: the parser's English reason ("(detalhe: Input should be …)") is not shown.
    for english in ("detalhe", "Input should", "Invalid value", "No such", "Missing", "Got "):
        assert english not in proc.stderr, (english, proc.stderr)


def test_a_group_without_command_shows_its_help() -> None:
    proc = _workshop("events")
    assert proc.returncode == 2
    assert "Uso:" in proc.stderr and "Erro" not in proc.stderr
    assert "count" in proc.stderr and "replay" in proc.stderr


def test_a_mistyped_command_gets_a_pt_br_suggestion() -> None:
    # Issue 13: "Comando desconhecido: taill'. did you mean 'tail" (half-parsed English).
    proc = _workshop("events", "taill")
    assert proc.returncode == 2
    assert "Comando desconhecido: taill. Você quis dizer 'tail'?" in proc.stderr
    assert "did you mean" not in proc.stderr.lower()


@pytest.mark.parametrize(
    "args", [(), ("events",), ("events", "show"), ("up",), ("down",), ("monitor", "report")]
)
def test_help_is_portuguese(args: tuple[str, ...]) -> None:
    proc = _workshop(*args, "--help")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.startswith("Uso: workshop")
    assert "Mostra esta ajuda e sai." in text
    english_words = ("Usage:", "Options:", "Commands:", "Show this", "[default:", "[required]")
    for english in english_words:
        assert english not in text, (english, text)
