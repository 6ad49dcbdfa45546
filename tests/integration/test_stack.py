"""connect(), the embedded engine lifecycle and the index template, against osmem-server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port
from workshop import stack
from workshop.config import get_settings


def test_connect_uses_the_compat_node_for_the_embedded_engine(es) -> None:
    info = es.info()
    assert stack.is_embedded_info(dict(info))
    node = next(iter(es.transport.node_pool.all()))
    assert isinstance(node, stack.EmbeddedCompatNode)
    # bulk uses the ndjson media type that the engine would reject without the node class
    from elasticsearch import helpers

    ok, errors = helpers.bulk(
        es, [{"_index": "connect-test", "_id": "1", "_source": {"a": 1}}], refresh=True
    )
    assert (ok, errors) == (1, [])
    assert es.count(index="connect-test")["count"] == 1


def test_setup_right_after_embedded_up_says_nothing_changed(stack_env) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "workshop", "setup"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "já instalado, sem mudanças" in proc.stdout
    assert "atualizado" not in proc.stdout and "updated" not in proc.stdout


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc (Linux)")
def test_the_embedded_engine_is_background_work(stack_env) -> None:
    """One Go core, fewer collections, the lowest priority for every thread and for its group
    (stack.ENGINE_GO_ENV, ENGINE_NICE, _lower_priority); a variable set by hand wins."""
    import os

    record = stack.read_record(get_settings())
    assert record is not None
    environ = Path(f"/proc/{record.pid}/environ").read_bytes().split(b"\0")
    for name, value in stack.ENGINE_GO_ENV.items():
        expected = os.environ.get(name, value).encode()
        assert name.encode() + b"=" + expected in environ
    threads = [int(tid) for tid in os.listdir(f"/proc/{record.pid}/task")]
    assert len(threads) > 1  # the Go runtime's threads, not only the first one
    assert {os.getpriority(os.PRIO_PROCESS, tid) for tid in threads} == {stack.ENGINE_NICE}
    autogroup = Path(f"/proc/{record.pid}/autogroup")
    if autogroup.exists():  # a kernel with autogroup: the group's nice orders it among sessions
        assert autogroup.read_text().split()[-1] == str(stack.ENGINE_NICE)


def test_connect_to_a_real_elasticsearch_url_uses_the_default_node(monkeypatch) -> None:
    monkeypatch.setenv("WORKSHOP_ES_ENGINE", "elasticsearch")
    client = stack.connect(url="http://127.0.0.1:9")
    node = next(iter(client.transport.node_pool.all()))
    assert not isinstance(node, stack.EmbeddedCompatNode)


def test_template_is_installed_and_applied(es) -> None:
    result = stack.install_template(es)
    # The session fixture installed it already: same template, so nothing "updated" (issue 13).
    assert result["action"] == "unchanged" and result["acknowledged"]
    got = es.indices.get_index_template(name=stack.TEMPLATE_NAME)["index_templates"][0]
    assert got["index_template"]["index_patterns"] == ["model-*"]
    es.index(
        index="model-2030.01.01",
        id="t1",
        refresh=True,
        document={
            "@timestamp": "2030-01-01T00:00:00Z",
            "prediction": 1.5,
            "product": "Leite integral 1L",
            "onpromotion": False,
        },
    )
    props = es.indices.get_mapping(index="model-2030.01.01")["model-2030.01.01"]["mappings"][
        "properties"
    ]
    assert props["product"]["type"] == "keyword"
    assert props["prediction"]["type"] == "float"
    assert props["onpromotion"]["type"] == "boolean"
    es.indices.delete(index="model-2030.01.01")


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_embedded_up_doctor_setup_down(tmp_path: Path) -> None:
    import os

    port = free_port()
    env = {
        **os.environ,
        "WORKSHOP_HOME": str(tmp_path),
        "WORKSHOP_ES_URL": f"http://127.0.0.1:{port}",
        "WORKSHOP_SERVICE_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_KIBANA_URL": f"http://127.0.0.1:{free_port()}",
    }
    up = _cli(env, "embedded", "up")
    try:
        assert up.returncode == 0, up.stderr
        assert "iniciado" in up.stdout
        again = _cli(env, "embedded", "up")
        assert again.returncode == 0 and "já está rodando" in again.stdout
        doctor = _cli(env, "doctor", "--json")
        assert doctor.returncode == 0, doctor.stderr
        report = json.loads(doctor.stdout.strip().splitlines()[-1])
        assert report["elasticsearch"]["ok"] is True
        assert report["kibana"]["ok"] is False
        setup = _cli(env, "setup", "--json")
        assert setup.returncode == 0, setup.stderr
        assert json.loads(setup.stdout.strip().splitlines()[-1])["acknowledged"] is True
        template = stack.http_get_json(f"http://127.0.0.1:{port}/_index_template/model-events")
        assert template and template["index_templates"][0]["name"] == "model-events"
        status = _cli(env, "embedded", "status")
        assert status.returncode == 0 and "rodando" in status.stdout
    finally:
        down = _cli(env, "embedded", "down")
    assert down.returncode == 0 and "parado" in down.stdout
    assert stack.engine_info(f"http://127.0.0.1:{port}") is None
    assert _cli(env, "embedded", "status").returncode == 1


def test_embedded_up_refuses_a_port_taken_by_something_else(tmp_path: Path, monkeypatch) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
        monkeypatch.setenv("WORKSHOP_ES_URL", f"http://127.0.0.1:{port}")
        with pytest.raises(stack.StackError, match="já está em uso por outro programa"):
            stack.embedded_up(get_settings())


def test_down_does_not_kill_an_unrelated_process(tmp_path: Path, monkeypatch) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
        settings = get_settings()
        settings.run_dir.mkdir(parents=True)
        (settings.run_dir / "embedded.json").write_text(
            json.dumps(
                {"pid": proc.pid, "url": "http://127.0.0.1:1", "started_at": "x", "log": "x"}
            )
        )
        stack.embedded_down(settings)
        assert proc.poll() is None, "an unrelated process with the recorded pid was killed"
    finally:
        proc.kill()
