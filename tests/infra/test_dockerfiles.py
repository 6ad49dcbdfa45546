"""Static checks of the two Dockerfiles, read with BuildKit's parser (the ``dockerfile`` package).

No image is built here (no Docker engine); these checks pin down what the issue asks of them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, missing

PROJECT_DOCKERFILE = ROOT / "Dockerfile"
FLUENTD_DOCKERFILE = ROOT / "infra" / "fluentd" / "Dockerfile"


def parse(path: Path) -> list[Any]:
    try:
        import dockerfile
    except ImportError:
        missing("the Dockerfile parser: pip install 'dockerfile>=3.4,<4' (dev dependency)")
    return list(dockerfile.parse_file(str(path)))


def instructions(path: Path, name: str) -> list[Any]:
    return [c for c in parse(path) if c.cmd.upper() == name]


def index_of(commands: list[Any], predicate: Callable[[Any], object]) -> int:
    for i, command in enumerate(commands):
        if predicate(command):
            return i
    raise AssertionError("instruction not found")


def final_user(path: Path) -> str:
    users = instructions(path, "USER")
    assert users, f"{path.name}: no USER instruction (runs as root)"
    return str(users[-1].value[0])


# --- the project image ---------------------------------------------------------------------------


def test_project_image_is_python_3_11_slim_pinned() -> None:
    (base,) = instructions(PROJECT_DOCKERFILE, "FROM")
    image = base.value[0]
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image), image
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert ">=3.11" in requires


def test_project_image_runs_as_a_non_root_user() -> None:
    user = final_user(PROJECT_DOCKERFILE)
    assert user not in {"root", "0", "0:0"}
    run_lines = " ".join(" ".join(c.value) for c in instructions(PROJECT_DOCKERFILE, "RUN"))
    assert "useradd" in run_lines and user.split(":")[0] in run_lines


def test_dependencies_are_installed_before_the_source_is_copied() -> None:
    """Editing workshop/ must not reinstall the dependencies: pyproject.toml is copied and the
    dependencies installed from it first, the source after."""
    commands = parse(PROJECT_DOCKERFILE)
    copy_pyproject = index_of(
        commands, lambda c: c.cmd.upper() == "COPY" and "pyproject.toml" in c.value[:-1]
    )
    install_deps = index_of(
        commands, lambda c: c.cmd.upper() == "RUN" and "pip install -r" in c.value[0]
    )
    copy_source = index_of(
        commands, lambda c: c.cmd.upper() == "COPY" and "workshop" in c.value[:-1]
    )
    assert copy_pyproject < install_deps < copy_source
    assert "pyproject.toml" in commands[install_deps].value[0]
    # nothing but pyproject.toml is copied before the dependencies are installed
    early_copies = [c for c in commands[:install_deps] if c.cmd.upper() in {"COPY", "ADD"}]
    assert [list(c.value[:-1]) for c in early_copies] == [["pyproject.toml"]]


def test_project_image_installs_the_package() -> None:
    commands = parse(PROJECT_DOCKERFILE)
    install = index_of(
        commands,
        lambda c: c.cmd.upper() == "RUN" and re.search(r"pip install [^&]*-e \.", c.value[0]),
    )
    copy_source = index_of(
        commands, lambda c: c.cmd.upper() == "COPY" and "workshop" in c.value[:-1]
    )
    assert copy_source < install
    assert "--no-deps" in commands[install].value[0]
    # what `workshop setup` (infra/) and the demo runner (notebooks/) read from project_root()
    copied = {src for c in instructions(PROJECT_DOCKERFILE, "COPY") for src in c.value[:-1]}
    assert {"pyproject.toml", "README.md", "workshop", "infra", "notebooks"} <= copied


def test_project_image_default_command_is_the_model_service() -> None:
    (cmd,) = instructions(PROJECT_DOCKERFILE, "CMD")
    assert cmd.json and list(cmd.value) == [
        "workshop",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "11000",
    ]


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".env", ".workshop", "runs"} <= ignored
    # ...but not what the image needs
    for needed in ("workshop", "infra", "notebooks", "pyproject.toml", "README.md"):
        assert needed not in ignored


# --- the Fluentd image ---------------------------------------------------------------------------


def test_fluentd_image_is_the_official_debian_image_pinned() -> None:
    (base,) = instructions(FLUENTD_DOCKERFILE, "FROM")
    assert re.fullmatch(r"fluent/fluentd:v1\.\d+\.\d+-debian-\d+\.\d+", base.value[0]), base.value


def fluentd_gem_pins() -> dict[str, str]:
    args = {}
    for command in instructions(FLUENTD_DOCKERFILE, "ARG"):
        name, _, default = command.value[0].partition("=")
        args[name] = default
    pins = {}
    for command in instructions(FLUENTD_DOCKERFILE, "RUN"):
        for gem, version in re.findall(
            r"gem install [^&]*?([\w-]+) -v \"?\$\{?(\w+)\}?", command.value[0]
        ):
            pins[gem] = args.get(version, version)
    return pins


def test_fluentd_gems_are_pinned_to_versions_that_speak_to_elasticsearch_8() -> None:
    from tests.infra.conftest import COMPOSE_FILE

    pins = fluentd_gem_pins()
    assert set(pins) == {
        "elastic-transport",
        "elasticsearch-api",
        "elasticsearch",
        "fluent-plugin-elasticsearch",
    }, pins
    for gem, version in pins.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{gem} {version} is not exact"
    # the client's major must be the server's: the 9.x client sends compatible-with=9 headers
    es_tag = re.search(r"elasticsearch/elasticsearch:(\d+)\.", COMPOSE_FILE.read_text())
    assert es_tag
    assert pins["elasticsearch"].split(".")[0] == es_tag.group(1) == "8"
    assert pins["elasticsearch-api"] == pins["elasticsearch"]
    assert pins["elastic-transport"].startswith("8.")


def test_fluentd_gems_are_installed_dependencies_first_and_verified() -> None:
    (install,) = [
        c
        for c in instructions(FLUENTD_DOCKERFILE, "RUN")
        if "fluent-plugin-elasticsearch" in c.value[0]
    ]
    script = install.value[0]
    order = [
        script.index(f"gem install --no-document {gem} ")
        for gem in (
            "elastic-transport",
            "elasticsearch-api",
            "elasticsearch",
            "fluent-plugin-elasticsearch",
        )
    ]
    assert order == sorted(order), "the plugin must come last, its dependencies already satisfied"
    assert "Gem::Specification.find_all_by_name" in script and "abort(" in script


@pytest.mark.parametrize(
    "instruction",
    [
        "COPY fluent.conf /fluentd/etc/fluent.conf",
        "RUN fluentd --dry-run -c /fluentd/etc/fluent.conf",
    ],
)
def test_fluentd_image_validates_its_configuration_at_build_time(instruction: str) -> None:
    originals = [c.original for c in parse(FLUENTD_DOCKERFILE)]
    assert instruction in originals


def test_fluentd_runs_as_the_images_unprivileged_user() -> None:
    assert final_user(FLUENTD_DOCKERFILE) == "fluent"
    run_lines = " ".join(c.value[0] for c in instructions(FLUENTD_DOCKERFILE, "RUN"))
    assert "chown -R fluent:fluent /fluentd/buffer" in run_lines
