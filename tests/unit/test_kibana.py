"""workshop.kibana: import client, wait-for-Kibana, Discover deep links, and the CLI."""

from __future__ import annotations

import email.parser
import email.policy
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from tests.conftest import free_port, http_stub
from workshop import kibana
from workshop.cli import app
from workshop.errors import InvalidInputError


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    fields: dict[str, tuple[str | None, bytes]]  # multipart name -> (filename, content)


@dataclass
class FakeKibana:
    """A local HTTP server that plays Kibana 8.19 for ``/api/status`` and the import API.

    It checks each import request against the documented contract of
    ``POST /api/saved_objects/_import`` (method, path, ``overwrite`` query, ``kbn-xsrf`` header,
    multipart/form-data with the NDJSON in the field ``file``) and answers like Kibana's
    documented response: ``{"success", "successCount", "successResults": [{"type", "id",
    "meta": {"title", "icon"}, "overwrite", "managed"}]}``, or ``{"statusCode": 400, "error",
    "message"}`` for a request Kibana would reject. ``statuses`` is the sequence of
    ``status.overall.level`` values ``/api/status`` reports (the last one repeats); a level other
    than ``available`` is answered with HTTP 503, as Kibana does while it starts.
    """

    statuses: list[str] = field(default_factory=lambda: ["available"])
    import_errors: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    def status_body(self) -> tuple[int, dict[str, Any]]:
        level = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        body = {
            "name": "kibana",
            "version": {"number": "8.19.0", "build_flavor": "default"},
            "status": {"overall": {"level": level, "summary": f"Kibana is {level}"}},
        }
        return (200 if level == "available" else 503), body

    def import_body(self, rec: Recorded) -> tuple[int, dict[str, Any]]:
        problems = []
        if "kbn-xsrf" not in rec.headers:
            problems.append("Request must contain a kbn-xsrf header.")
        if not rec.headers.get("content-type", "").startswith("multipart/form-data; boundary="):
            problems.append("Unsupported Media Type")
        if set(rec.fields) != {"file"} or not rec.fields["file"][0]:
            problems.append("[request body.file]: expected a file field")
        if problems:
            return 400, {"statusCode": 400, "error": "Bad Request", "message": "; ".join(problems)}
        objects = [json.loads(line) for line in rec.fields["file"][1].decode().splitlines() if line]
        failed = {(e["type"], e["id"]) for e in self.import_errors}
        results = [
            {
                "type": o["type"],
                "id": o["id"],
                "meta": {"title": o["attributes"].get("title"), "icon": "index"},
                "overwrite": rec.query.get("overwrite") == ["true"],
                "managed": False,
            }
            for o in objects
            if (o["type"], o["id"]) not in failed
        ]
        body: dict[str, Any] = {
            "success": not self.import_errors,
            "successCount": len(results),
            "successResults": results,
        }
        if self.import_errors:
            body["errors"] = self.import_errors
        return 200, body


def _handler(fake: FakeKibana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> Recorded:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            fields: dict[str, tuple[str | None, bytes]] = {}
            ctype = headers.get("content-type", "")
            if ctype.startswith("multipart/"):
                msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                    f"content-type: {ctype}\r\n\r\n".encode() + raw
                )
                for part in msg.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
            rec = Recorded(self.command, parts.path, parse_qs(parts.query), headers, fields)
            fake.requests.append(rec)
            return rec

        def do_GET(self) -> None:
            rec = self._record()
            if rec.path == "/api/status":
                self._send(*fake.status_body())
            else:
                self._send(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"})

        def do_POST(self) -> None:
            rec = self._record()
            if rec.path == "/api/saved_objects/_import":
                self._send(*fake.import_body(rec))
            elif rec.path.startswith(("/api/actions/connector/", "/api/alerting/rule/")):
                # setup() also provisions the checks' alerting (tests/unit/test_kibana_alerting.py
                # validates those bodies against Kibana's schemas)
                self._send(200, {"id": rec.path.rsplit("/", 1)[-1]})
            else:
                self._send(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"})

    return Handler


@pytest.fixture
def fake_kibana() -> Iterator[FakeKibana]:
    fake = FakeKibana()
    with http_stub(_handler(fake)) as url:
        fake.url = url
        yield fake


# --------------------------------------------------------------------------- import contract


def test_import_sends_the_documented_request(fake_kibana: FakeKibana) -> None:
    result = kibana.import_saved_objects(fake_kibana.url)

    (req,) = fake_kibana.requests
    assert (req.method, req.path) == ("POST", "/api/saved_objects/_import")
    assert req.query == {"overwrite": ["true"]}
    assert req.headers["kbn-xsrf"]
    filename, content = req.fields["file"]
    assert filename == "saved_objects.ndjson"
    assert content == kibana.SAVED_OBJECTS_PATH.read_bytes()

    assert result.success and result.success_count == 5 and not result.errors
    titles = {(o["type"], o["title"]) for o in result.objects}
    assert ("search", "Predições do modelo") in titles
    assert ("dashboard", "Monitoramento do modelo") in titles
    assert ("index-pattern", "model-*") in titles
    report = result.summary()
    assert "Importados 5 objetos" in report and "busca salva" in report
    assert kibana.DASHBOARD_ID in result.as_dict()["dashboard_url"]


def test_the_fake_rejects_what_kibana_rejects(fake_kibana: FakeKibana) -> None:
    # Guards the contract test itself: without kbn-xsrf or the "file" field Kibana answers 400.
    import httpx

    ndjson = kibana.SAVED_OBJECTS_PATH.read_bytes()
    url = f"{fake_kibana.url}/api/saved_objects/_import?overwrite=true"
    no_xsrf = httpx.post(url, files={"file": ("x.ndjson", ndjson)})
    wrong_field = httpx.post(url, headers={"kbn-xsrf": "1"}, files={"upload": ("x.ndjson", ndjson)})
    assert no_xsrf.status_code == 400 and "kbn-xsrf" in no_xsrf.json()["message"]
    assert wrong_field.status_code == 400


def test_import_reports_objects_kibana_could_not_import(fake_kibana: FakeKibana) -> None:
    fake_kibana.import_errors = [
        {
            "type": "dashboard",
            "id": kibana.DASHBOARD_ID,
            "meta": {"title": "Monitoramento do modelo", "icon": "dashboardApp"},
            "error": {"type": "missing_references", "references": []},
        }
    ]
    result = kibana.import_saved_objects(fake_kibana.url)
    assert not result.success and result.success_count == 4
    assert "✗ dashboard Monitoramento do modelo: missing_references" in result.summary()


def test_import_turns_an_http_error_into_a_pt_br_error(fake_kibana: FakeKibana) -> None:
    with pytest.raises(kibana.KibanaError, match=r"recusou a importação \(HTTP 404\)"):
        kibana.import_saved_objects(fake_kibana.url + "/prefixo-errado")


# --------------------------------------------------------------------------- waiting


def test_wait_gives_up_with_a_pt_br_error_when_kibana_never_answers() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(kibana.KibanaError) as info:
        kibana.wait_for_kibana(url, timeout=0.6, interval=0.1, progress=False)
    message = str(info.value)
    assert f"O Kibana não respondeu em {url}" in message
    assert "docker compose up -d" in message and "motor embutido" in message


def test_wait_stops_early_when_nothing_listens_instead_of_the_full_timeout() -> None:
    # Issue 13: `workshop kibana setup` without Kibana waited the whole 180 s. A refused
    # connection past the grace period means no Kibana at all: it fails long before `timeout`
    # (here 600 s; the test would hit pytest's timeout if it waited).
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(kibana.KibanaError) as info:
        kibana.wait_for_kibana(url, timeout=600, interval=0.1, progress=False, refused_grace=0.3)
    message = str(info.value)
    assert f"Nada escuta em {url}" in message
    assert "workshop down" in message and "docker compose up -d" in message


def test_wait_reports_a_kibana_that_stays_unavailable(fake_kibana: FakeKibana) -> None:
    fake_kibana.statuses = ["unavailable"]
    with pytest.raises(kibana.KibanaError, match=r"ainda não está pronto \(status: unavailable\)"):
        kibana.wait_for_kibana(fake_kibana.url, timeout=0.5, interval=0.1, progress=False)


def test_setup_waits_through_503_then_imports_into_a_degraded_kibana(
    fake_kibana: FakeKibana,
) -> None:
    """Issue 12, item 4: Kibana answers 200 with plugins `degraded` (elastic/kibana#138680);
    that is usable, so the import goes ahead instead of waiting 180 s and failing."""
    fake_kibana.statuses = ["unavailable", "degraded", "available"]
    result = kibana.setup(fake_kibana.url, wait_timeout=10, interval=0.1, progress=False)
    assert result.success and result.version == "8.19.0"
    paths = [r.path for r in fake_kibana.requests]
    first_import = paths.index("/api/saved_objects/_import")
    assert first_import >= 2 and paths[:first_import] == ["/api/status"] * first_import
    assert paths[first_import + 1] == "/api/saved_objects/_import"  # the "Saúde do modelo" objects
    rest = paths[first_import + 2 :]
    assert rest and all(p.startswith(("/api/actions/", "/api/alerting/")) for p in rest)


@pytest.mark.parametrize(
    ("level", "usable"),
    [("available", True), ("degraded", True), ("unavailable", False), ("critical", False)],
)
def test_available_and_degraded_are_usable(
    fake_kibana: FakeKibana, level: str, usable: bool
) -> None:
    fake_kibana.statuses = [level]
    status = kibana.kibana_status(fake_kibana.url)
    assert status.usable is usable
    if level == "degraded":
        assert "utilizável" in status.message and "Discover" in status.message


def test_status_of_an_unreachable_kibana() -> None:
    status = kibana.kibana_status(f"http://127.0.0.1:{free_port()}", timeout=0.5)
    assert not status.reachable and not status.available
    assert status.message.startswith("O Kibana não respondeu")


# --------------------------------------------------------------------------- deep links


def test_discover_link_opens_the_data_view_with_the_query() -> None:
    query = "product : \"Leite integral 1L\" and onpromotion : true and not channel : 'x!y' +1 #&"
    url = kibana.discover_url(kibana_url="http://kb:5601/", query=query, time_from="now-1h")
    assert url.startswith("http://kb:5601/app/discover#/?_g=(")
    assert " " not in url and '"' not in url and "+" not in url.split("#", 1)[1]
    state = kibana.parse_discover_url(url)
    assert state["path"] == "/app/discover" and state["route"] == "/"
    assert state["_a"]["dataSource"] == {"dataViewId": kibana.DATA_VIEW_ID, "type": "dataView"}
    assert state["_a"]["query"] == {"language": "kuery", "query": query}
    assert state["_a"]["columns"] == kibana.DISCOVER_COLUMNS
    assert state["_a"]["sort"] == [["@timestamp", "desc"]]
    assert state["_g"] == {"time": {"from": "now-1h", "to": "now"}}


def test_prediction_link_targets_one_event_around_its_timestamp() -> None:
    pid = "3f2b9c1e-7a1d-4c55-9a63-1f0e2d3c4b5a"
    ts = datetime(2025, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
    state = kibana.parse_discover_url(kibana.prediction_url(pid, timestamp=ts))
    assert state["_a"]["query"]["query"] == f'prediction_id:"{pid}"'
    assert state["_a"]["dataSource"]["dataViewId"] == kibana.DATA_VIEW_ID
    assert state["_g"]["time"] == {
        "from": "2025-03-01T11:45:00.250Z",
        "to": "2025-03-01T12:15:00.250Z",
    }
    without_ts = kibana.parse_discover_url(kibana.prediction_url(pid))
    assert without_ts["_g"]["time"] == {"from": "now-7d", "to": "now"}


def test_prediction_link_accepts_naive_and_offset_timestamps() -> None:
    naive = datetime(2025, 3, 1, 12, 0)
    offset = datetime(2025, 3, 1, 9, 0, tzinfo=UTC) + timedelta(hours=0)
    a = kibana.parse_discover_url(kibana.prediction_url("abc", timestamp=naive))
    b = kibana.parse_discover_url(kibana.prediction_url("abc", timestamp=offset))
    assert a["_g"]["time"]["from"] == "2025-03-01T11:45:00.000Z"
    assert b["_g"]["time"]["to"] == "2025-03-01T09:15:00.000Z"


@pytest.mark.parametrize("bad", ["", "a b", 'x"y', "x'y", "z" * 65])
def test_prediction_link_rejects_bad_ids_in_pt_br(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="Identificador de predição inválido"):
        kibana.prediction_url(bad)


def test_event_timestamp_parses_the_document_field() -> None:
    ts = kibana.event_timestamp({"@timestamp": "2025-03-01T12:00:00.123Z"})
    assert ts == datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)


# --------------------------------------------------------------------------- CLI


def test_cli_setup_json_reports_what_was_created(fake_kibana: FakeKibana) -> None:
    result = CliRunner().invoke(app, ["kibana", "setup", "--url", fake_kibana.url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["success"] and report["success_count"] == 5 and report["version"] == "8.19.0"
    assert {o["id"] for o in report["objects"]} >= {kibana.DATA_VIEW_ID, kibana.DASHBOARD_ID}
    assert kibana.parse_discover_url(report["discover_url"])["_a"]["dataSource"]["dataViewId"] == (
        kibana.DATA_VIEW_ID
    )


def test_cli_setup_text_output_is_pt_br(fake_kibana: FakeKibana) -> None:
    result = CliRunner().invoke(app, ["kibana", "setup", "--url", fake_kibana.url])
    assert result.exit_code == 0, result.output
    assert "Kibana 8.19.0 disponível" in result.stdout
    assert "dashboard" in result.stdout and "Monitoramento do modelo" in result.stdout


def test_cli_setup_without_kibana_fails_with_a_pt_br_message() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.run(
        [sys.executable, "-m", "workshop", "kibana", "setup", "--url", url, "--timeout", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert f"Erro: O Kibana não respondeu em {url}" in proc.stderr
    assert "docker compose up -d" in proc.stderr


def test_cli_link_prints_a_discover_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kibana, "find_event", lambda pid: {"@timestamp": "2025-03-01T12:00:00Z"})
    up = kibana.KibanaStatus("http://kb:5601", reachable=True, level="available", version="8.19")
    monkeypatch.setattr(kibana, "kibana_status", lambda url=None: up)
    result = CliRunner().invoke(
        app, ["kibana", "link", "--prediction-id", "abc-123", "--url", "http://kb:5601", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    state = kibana.parse_discover_url(report["url"])
    assert state["_a"]["query"]["query"] == 'prediction_id:"abc-123"'
    assert state["_g"]["time"]["from"] == "2025-03-01T11:45:00.000Z"
    assert report["note"] is None


def test_cli_link_without_the_event_widens_the_time_range(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(pid: str) -> None:
        raise ConnectionError("no Elasticsearch")

    monkeypatch.setattr(kibana, "find_event", unreachable)
    result = CliRunner().invoke(app, ["kibana", "link", "--prediction-id", "abc-123"])
    assert result.exit_code == 0, result.output
    assert "Elasticsearch indisponível" in result.stderr
    url = result.stdout.strip().splitlines()[-1]
    assert kibana.parse_discover_url(url)["_g"]["time"]["from"] == "now-7d"


def test_cli_link_says_kibana_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 13: the link was printed without a word about Kibana being down.
    monkeypatch.setattr(kibana, "find_event", lambda pid: {"@timestamp": "2025-03-01T12:00:00Z"})
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["kibana", "link", "--prediction-id", "abc-123", "--url", url])
    assert result.exit_code == 0, result.output
    assert f"O Kibana não respondeu em {url}" in result.stderr
    assert "workshop events show abc-123" in result.stderr


def test_cli_link_refuses_an_id_that_exists_nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kibana, "find_event", lambda pid: None)
    result = CliRunner().invoke(app, ["kibana", "link", "--prediction-id", "abc-123"])
    assert result.exit_code != 0
    assert "Nenhuma predição com o ID abc-123" in str(result.exception or result.output)


def test_links_use_the_browser_address_and_the_api_the_internal_one(
    fake_kibana: FakeKibana, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Docker: the notebook reaches Kibana at its service name, the browser at localhost.
    monkeypatch.setenv("WORKSHOP_KIBANA_URL", fake_kibana.url)
    monkeypatch.setenv("WORKSHOP_KIBANA_PUBLIC_URL", "http://localhost:5601")
    assert kibana.discover_url().startswith("http://localhost:5601/app/discover#/")
    result = kibana.setup(progress=False)
    assert result.kibana_url == fake_kibana.url and fake_kibana.requests
    assert result.as_dict()["dashboard_url"].startswith("http://localhost:5601/app/dashboards#/")
    monkeypatch.delenv("WORKSHOP_KIBANA_PUBLIC_URL")
    assert kibana.discover_url().startswith(fake_kibana.url)
