"""``workshop doctor`` with every component down: clear pt-BR messages, exit code 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import free_port
from workshop import doctor
from workshop.config import get_settings


def _down_env(tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "WORKSHOP_HOME": str(tmp_path),
        "WORKSHOP_ES_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_KIBANA_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_SERVICE_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_FLUENTD_PORT": str(free_port()),
    }


def test_doctor_json_with_everything_down(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "workshop", "doctor", "--json"],
        env=_down_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(report) == {"elasticsearch", "fluentd", "kibana", "servico", "recusados"}
    assert all(part["ok"] is False for name, part in report.items() if name != "recusados")
    assert report["recusados"]["ok"] is True  # nothing refused in a fresh WORKSHOP_HOME
    assert "workshop up" in report["elasticsearch"]["hint"]
    assert report["elasticsearch"]["url"].startswith("http://127.0.0.1:")


def test_doctor_table_says_what_to_do(tmp_path, monkeypatch) -> None:
    for key, value in _down_env(tmp_path).items():
        if key.startswith("WORKSHOP_"):
            monkeypatch.setenv(key, value)
    checks = doctor.run_checks(get_settings())
    table = doctor.format_checks(checks)
    assert table.count("✗") == 4
    assert "O que fazer:" in table
    assert "docker compose up -d" in table and "workshop up" in table
    assert "workshop down" in table  # the form stays up until the workshop ends


def test_doctor_never_advises_starting_kibana_beside_the_embedded_engine(tmp_path, monkeypatch):
    # Issue 13: `docker compose up -d kibana` without Docker's ES collides with the embedded
    # engine on 9200 and would show an empty Kibana. The advice frees the port first.
    for key, value in _down_env(tmp_path).items():
        if key.startswith("WORKSHOP_"):
            monkeypatch.setenv(key, value)
    hint = next(c for c in doctor.run_checks(get_settings()) if c.component == "kibana").hint
    assert "docker compose up -d kibana" not in hint
    assert "workshop down" in hint and "docker compose up -d" in hint
    assert "WORKSHOP_KIBANA_URL" in hint and "notebook 05" in hint


def test_doctor_exit_code_is_zero_when_elasticsearch_answers(tmp_path, monkeypatch) -> None:
    """Only Elasticsearch decides the exit code: the others are optional in embedded mode."""
    server = _json_server({"/": (200, {"cluster_name": "x", "version": {"number": "8.19.3"}})})
    try:
        env = _down_env(tmp_path)
        env["WORKSHOP_ES_URL"] = f"http://127.0.0.1:{server.server_port}"
        proc = subprocess.run(
            [sys.executable, "-m", "workshop", "doctor"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "✓  Elasticsearch" in proc.stdout and "Elasticsearch 8.19.3" in proc.stdout
    finally:
        server.shutdown()


def _json_server(routes: dict[str, tuple[int, dict]]):
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from threading import Thread

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = routes.get(self.path, (404, {"error": "not found"}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_doctor_reads_the_503_bodies_of_a_service_without_model_and_a_starting_kibana(
    tmp_path, monkeypatch
) -> None:
    server = _json_server(
        {
            "/health": (503, {"ok": False, "model_loaded": False, "model_version": None}),
            "/api/status": (503, {"status": {"overall": {"level": "unavailable"}}}),
        }
    )
    try:
        for key, value in _down_env(tmp_path).items():
            if key.startswith("WORKSHOP_"):
                monkeypatch.setenv(key, value)
        url = f"http://127.0.0.1:{server.server_port}"
        monkeypatch.setenv("WORKSHOP_SERVICE_URL", url)
        monkeypatch.setenv("WORKSHOP_KIBANA_URL", url)
        checks = {c.component: c for c in doctor.run_checks(get_settings())}
    finally:
        server.shutdown()
    assert not checks["servico"].ok
    assert checks["servico"].detail == "no ar, mas sem modelo"
    assert "workshop train" in checks["servico"].hint
    assert not checks["kibana"].ok
    assert checks["kibana"].detail == "status unavailable"
    assert "aguarde" in checks["kibana"].hint


def test_without_docker_fluentd_is_not_something_to_fix(tmp_path, monkeypatch) -> None:
    for key, value in _down_env(tmp_path).items():
        if key.startswith("WORKSHOP_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("WORKSHOP_EVENT_TRANSPORT", "elasticsearch")
    checks = {c.component: c for c in doctor.run_checks(get_settings())}
    assert "normal sem Docker" in checks["fluentd"].detail
    assert checks["fluentd"].hint == ""
    monkeypatch.setenv("WORKSHOP_EVENT_TRANSPORT", "fluentd")
    checks = {c.component: c for c in doctor.run_checks(get_settings())}
    assert "docker compose up -d fluentd" in checks["fluentd"].hint


def test_doctor_shows_the_event_counters_of_a_degraded_service(tmp_path, monkeypatch) -> None:
    events = {
        "transport": "elasticsearch",
        "state": "degraded",
        "reasons": ["há eventos esperando e nenhum envio deu certo nos últimos 12 s"],
        "sent": 1200,
        "spooled": 340,
        "replayed": 0,
        "failed": 0,
        "overflowed": 0,
        "queued": 1340,
        "spool_size": 1340,
        "journal_bytes": 3 << 20,
        "journal_max_bytes": 256 << 20,
        "last_success": None,
        "last_success_age_s": 12.0,
        "last_error": None,
    }
    health = {"ok": True, "status": "degraded", "model_loaded": True, "model_version": "v1"}
    server = _json_server({"/health": (200, {**health, "events": events})})
    try:
        for key, value in _down_env(tmp_path).items():
            if key.startswith("WORKSHOP_"):
                monkeypatch.setenv(key, value)
        monkeypatch.setenv("WORKSHOP_SERVICE_URL", f"http://127.0.0.1:{server.server_port}")
        checks = doctor.run_checks(get_settings())
    finally:
        server.shutdown()
    by_name = {c.component: c for c in checks}
    assert not by_name["eventos"].ok
    assert "na fila 1.340" in by_name["eventos"].detail
    assert "enviados 1.200" in by_name["eventos"].detail
    assert "3,0 MB de 256,0 MB" in by_name["eventos"].detail
    assert "último envio há 12 s" in by_name["eventos"].detail
    table = doctor.format_checks(checks)
    assert "Eventos do serviço" in table and "nenhum envio deu certo" in table


def test_doctor_shows_a_degraded_kibana_as_usable(tmp_path, monkeypatch) -> None:
    """Issue 12, item 4: compose calls a degraded Kibana healthy (200), so doctor must too."""
    server = _json_server({"/api/status": (200, {"status": {"overall": {"level": "degraded"}}})})
    try:
        for key, value in _down_env(tmp_path).items():
            if key.startswith("WORKSHOP_"):
                monkeypatch.setenv(key, value)
        monkeypatch.setenv("WORKSHOP_KIBANA_URL", f"http://127.0.0.1:{server.server_port}")
        checks = {c.component: c for c in doctor.run_checks(get_settings())}
    finally:
        server.shutdown()
    assert checks["kibana"].ok
    assert checks["kibana"].detail == "status degraded (utilizável)"
    assert checks["kibana"].hint == ""


def test_doctor_counts_refused_documents_on_both_paths(tmp_path, monkeypatch) -> None:
    """Issue 12, item 11: the direct transport keeps refused documents in spool/rejected.jsonl,
    Fluentd in rejected/<tag>.<day>.log (fluent.conf's @ERROR label); doctor counts both."""
    for key, value in _down_env(tmp_path).items():
        if key.startswith("WORKSHOP_"):
            monkeypatch.setenv(key, value)
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "rejected.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    rejected = tmp_path / "fluentd-buffer" / "rejected"
    rejected.mkdir(parents=True)
    (rejected / "model.prediction.20261201.log").write_text('{"x":1}\n{"x":2}\n\n{"x":3}\n')
    monkeypatch.setenv("WORKSHOP_FLUENTD_REJECTED_DIR", str(rejected))
    check = next(c for c in doctor.run_checks(get_settings()) if c.component == "recusados")
    assert not check.ok
    assert check.detail == "2 no spool/rejected.jsonl, 3 no rejected/ do Fluentd"
    assert "rejected" in check.hint
    monkeypatch.setenv("WORKSHOP_FLUENTD_REJECTED_DIR", "")
    check = next(c for c in doctor.run_checks(get_settings()) if c.component == "recusados")
    assert "não visível" in check.detail
