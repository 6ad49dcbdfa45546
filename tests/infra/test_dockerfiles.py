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


def run_index(commands: list[Any], needle: str) -> int:
    return index_of(commands, lambda c: c.cmd.upper() == "RUN" and needle in c.value[0])


def test_dependencies_come_from_the_lock_before_the_source_is_copied() -> None:
    """Issue 12, item 13: the image installs uv.lock and nothing else (``--locked`` fails on a
    stale lock instead of resolving), and editing workshop/ does not reinstall them."""
    commands = parse(PROJECT_DOCKERFILE)
    install_deps = run_index(commands, "uv sync --locked --no-install-project")
    copy_source = index_of(
        commands, lambda c: c.cmd.upper() == "COPY" and "workshop" in c.value[:-1]
    )
    assert install_deps < copy_source
    early_copies = [
        list(c.value[:-1]) for c in commands[:install_deps] if c.cmd.upper() in {"COPY", "ADD"}
    ]
    assert early_copies == [["pyproject.toml", "uv.lock"]]
    runs = [c.value[0] for c in instructions(PROJECT_DOCKERFILE, "RUN")]
    assert not [r for r in runs if re.search(r"pip install (?!\"uv==)", r)], runs
    assert all("--locked" in r for r in runs if "uv sync" in r)


def test_the_image_and_the_makefile_use_the_same_uv() -> None:
    args = {
        c.value[0].partition("=")[0]: c.value[0].partition("=")[2]
        for c in instructions(PROJECT_DOCKERFILE, "ARG")
    }
    makefile = (ROOT / "Makefile").read_text()
    pinned = re.search(r"^UV_VERSION := (\S+)$", makefile, flags=re.M)
    assert pinned and args["UV_VERSION"] == pinned.group(1)


def test_project_image_installs_the_package() -> None:
    commands = parse(PROJECT_DOCKERFILE)
    install = index_of(
        commands,
        lambda c: c.cmd.upper() == "RUN" and re.match(r"uv sync --locked --python", c.value[0]),
    )
    copy_source = index_of(
        commands, lambda c: c.cmd.upper() == "COPY" and "workshop" in c.value[:-1]
    )
    assert copy_source < install
    assert "workshop --help" in commands[install].value[0]
    # what `workshop setup` (infra/) and the demo runner (notebooks/) read from project_root()
    copied = {src for c in instructions(PROJECT_DOCKERFILE, "COPY") for src in c.value[:-1]}
    assert {"pyproject.toml", "uv.lock", "README.md", "workshop", "infra", "notebooks"} <= copied


def test_the_user_is_created_after_the_dependencies() -> None:
    """Rebuilding with another UID (the README's Linux tip) reuses the dependency layer."""
    commands = parse(PROJECT_DOCKERFILE)
    assert run_index(commands, "uv sync --locked --no-install-project") < run_index(
        commands, "useradd"
    )


def user_creation_script() -> str:
    """The image's group and user creation, exactly as the Dockerfile runs it."""
    runs = [c.value[0] for c in instructions(PROJECT_DOCKERFILE, "RUN")]
    group = next(r for r in runs if "groupadd" in r)
    user = next(r for r in runs if "useradd" in r).split(" && mkdir")[0]
    return f"{group}\n{user}\n"


@pytest.mark.parametrize("gid", ["20", "100", "4242"])
def test_user_creation_accepts_a_gid_debian_already_has(tmp_path: Path, gid: str) -> None:
    """Issue 12, item 9: `groupadd --gid 20` fails in Debian (20 is dialout, 100 users), so the
    Dockerfile reuses an existing group. Run for real on a copy of this Debian machine's account
    files, bind-mounted over /etc/passwd, /etc/group and their shadows in a private mount
    namespace (nothing of the host changes)."""
    import os
    import shutil
    import subprocess

    unshare, groupadd = shutil.which("unshare"), shutil.which("groupadd")
    if not (unshare and groupadd and os.geteuid() == 0):
        missing("root with unshare and groupadd (util-linux, passwd) to run the user creation")
    group_file = Path("/etc/group").read_text()
    if gid in {"20", "100"}:
        assert re.search(rf"^[^:]+:[^:]*:{gid}:", group_file, flags=re.M), "not Debian-like"
    # useradd/groupadd replace the files by renaming, so a copy of the account files goes in a
    # private /etc (bind-mounted over the real one), and a private /home takes --create-home.
    etc = tmp_path / "etc"
    etc.mkdir()
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs", "nsswitch.conf"):
        source = Path("/etc") / name
        if source.exists():
            shutil.copy2(source, etc / name)
    (tmp_path / "home").mkdir()
    script = (
        f"set -e\nmount --bind {etc} /etc\nmount --bind {tmp_path / 'home'} /home\n"
        + user_creation_script().replace("${UID}", "54321").replace("${GID}", gid)
        + "id -u workshop; id -g workshop\n"
    )
    proc = subprocess.run(
        [unshare, "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["54321", gid]
    assert "workshop:" not in Path("/etc/passwd").read_text()  # the host is untouched


def test_the_volume_owner_fix_runs_for_real(tmp_path: Path) -> None:
    """Issue 12, item 8: infra/workshop/fix-home-owner gives WORKSHOP_HOME to the image's user
    and runs the command as that user. Here with the `nobody` account of this machine."""
    import os
    import pwd
    import subprocess

    if os.geteuid() != 0:
        missing("root, to run infra/workshop/fix-home-owner (it chowns and drops privileges)")
    import shutil
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="workshop-home-"))  # under /tmp: `nobody` can reach it
    (home / "models").mkdir(parents=True)
    (home / "models" / "old").write_text("x")  # owned by root, like a volume of another UID
    nobody = pwd.getpwnam("nobody")
    proc = subprocess.run(
        [
            str(ROOT / "infra" / "workshop" / "fix-home-owner"),
            "sh",
            "-c",
            f"id -u && touch {home}/models/new",
        ],
        env={"PATH": "/usr/bin:/bin", "WORKSHOP_USER": "nobody", "WORKSHOP_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(nobody.pw_uid)]
    try:
        for path in (home, home / "models", home / "models" / "old", home / "models" / "new"):
            assert path.stat().st_uid == nobody.pw_uid, path
    finally:
        shutil.rmtree(home)
    # the image has the script where the compose file calls it
    copied = {src for c in instructions(PROJECT_DOCKERFILE, "COPY") for src in c.value[:-1]}
    assert "infra" in copied


def test_jupyterlab_settings_are_shipped_in_the_image() -> None:
    originals = [c.original for c in parse(PROJECT_DOCKERFILE)]
    assert (
        "COPY infra/jupyter/jupyter_server_config.json /etc/jupyter/jupyter_server_config.json"
        in originals
    )
    assert (
        "COPY infra/jupyter/overrides.json /opt/venv/share/jupyter/lab/settings/overrides.json"
        in originals
    )
    env = " ".join(" ".join(c.value) for c in instructions(PROJECT_DOCKERFILE, "ENV"))
    assert "UV_PROJECT_ENVIRONMENT /opt/venv" in env or "UV_PROJECT_ENVIRONMENT=/opt/venv" in env
    # The containers may not write .pyc (PYTHONDONTWRITEBYTECODE): uv writes them at build time.
    assert re.search(r"UV_COMPILE_BYTECODE[ =]1", env) and "PYTHONDONTWRITEBYTECODE" in env


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
    assert {".git", ".venv", ".uv", ".env", ".workshop", "runs"} <= ignored
    # ...but not what the image needs
    for needed in ("workshop", "infra", "notebooks", "pyproject.toml", "uv.lock", "README.md"):
        assert needed not in ignored


# --- the Fluentd image ---------------------------------------------------------------------------


def test_fluentd_image_is_the_official_debian_image_pinned() -> None:
    (base,) = instructions(FLUENTD_DOCKERFILE, "FROM")
    assert re.fullmatch(r"fluent/fluentd:v1\.\d+\.\d+-debian-\d+\.\d+", base.value[0]), base.value
    # the newest Debian image patch found (issue 12, item 12), with its evidence beside it
    assert base.value[0] == "fluent/fluentd:v1.19.3-debian-2.4"
    text = FLUENTD_DOCKERFILE.read_text()
    assert "Evidence for v1.19.3-debian-2.4" in text and "sha256:" in text


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
    es_tag = re.search(
        r"elasticsearch/elasticsearch:(?:\$\{ELASTIC_VERSION:-)?(\d+)\.", COMPOSE_FILE.read_text()
    )
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
