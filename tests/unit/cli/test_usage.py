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
        (("simulate", "--n", "0"), "Valor inválido para '--n'. Veja `workshop simulate --help`."),
        (("events", "tail", "--n", "abc"), "Valor inválido para '--n' / '-n'."),
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


def test_a_group_without_command_shows_its_help() -> None:
    proc = _workshop("events")
    assert proc.returncode == 2
    assert "Usage:" in proc.stderr and "Erro" not in proc.stderr
    assert "count" in proc.stderr and "replay" in proc.stderr
