"""The README's Docker part says what the stack does (issue 12, items 7, 8, 10, 11, 14)."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def docker_part() -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index("### Com Docker") : text.index("### Endereços")]


def test_setup_is_only_listed_by_ps_all() -> None:
    part = docker_part()
    for line in part.splitlines():
        if "Exited (0)" in line:
            assert "docker compose ps -a" in line, line
    assert not re.search(r"docker compose ps(?! -a)\s+#", part)


def test_windows_wsl2_memory_is_set_in_wslconfig() -> None:
    part = docker_part()
    assert r"%UserProfile%\.wslconfig" in part
    assert re.search(r"\[wsl2\]\s*\n\s*memory=\d+GB", part)
    assert "wsl --shutdown" in part


def test_the_uid_tip_says_which_fix_applies() -> None:
    part = docker_part()
    tip = next(line for line in part.split("\n- ") if "Permission denied" in line)
    assert "setup" in tip and "down -v" in tip  # the volume is fixed at start, no wipe needed


def test_alternatives_to_docker_desktop_are_marked_as_not_tested_by_ci() -> None:
    part = docker_part()
    section = part[part.index("#### Alternativas ao Docker Desktop") :]
    assert "(não testadas pelo CI)" in section.splitlines()[0]
    assert "não testa nenhuma delas" in section
    for tool, docs in (
        ("Rancher Desktop", "docs.rancherdesktop.io"),
        ("Colima", "github.com/abiosoft/colima"),
        ("Podman", "docs.podman.io"),
    ):
        assert tool in section and docs in section, tool


def test_refused_documents_and_fluentd_dumps_are_explained_for_both_paths() -> None:
    text = (ROOT / "README.md").read_text()
    assert "spool/rejected.jsonl" in text and "/fluentd/buffer/rejected/" in text
    assert "fluent-binlog-reader cat -f json" in text and "fluent-cat model.prediction" in text
    assert "48 minutos" in text
