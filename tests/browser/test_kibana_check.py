""".ci/kibana_check.py, the stack job's Kibana checks, against stand-in pages in real Chromium.

The real Kibana only runs in the workflow's stack job; here the same functions run against
pages that carry the markup they look for (Kibana's hit counter and embeddable panel test
subjects), so a check that can never fail, or never pass, is caught before the job runs.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.browser


def load_check() -> Any:
    spec = importlib.util.spec_from_file_location("kibana_check", ROOT / ".ci" / "kibana_check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = load_check()

DISCOVER = """<html><body><span data-test-subj="discoverQueryHits">…</span>
<script>setTimeout(() => {{ document.querySelector('[data-test-subj=discoverQueryHits]')
.textContent = '{hits}'; }}, 300);</script></body></html>"""
PANEL_OK = '<div data-test-subj="embeddablePanel"><div data-render-complete="true">ok</div></div>'
PANEL_ERROR = (
    '<div data-test-subj="embeddablePanel"><div data-test-subj="embeddableError">x</div></div>'
)


@pytest.fixture()
def pages() -> Iterator[tuple[str, dict[str, str]]]:
    routes: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = routes.get(self.path.split("#")[0], "not found").encode()
            self.send_response(200 if self.path in routes else 404)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", routes
    finally:
        server.shutdown()


def test_discover_with_exactly_one_hit_passes(page: Any, pages: Any, tmp_path: Path) -> None:
    base, routes = pages
    routes["/one"] = DISCOVER.format(hits="1")
    assert check.check_discover_hits(page, base + "/one", tmp_path / "d.png", 5000)
    assert (tmp_path / "d.png").stat().st_size > 0


def test_discover_with_two_hits_fails(page: Any, pages: Any, tmp_path: Path) -> None:
    base, routes = pages
    routes["/two"] = DISCOVER.format(hits="2")
    with pytest.raises(check.CheckFailed, match="'2' hits"):
        check.check_discover_hits(page, base + "/two", tmp_path / "d.png", 2000)


def test_dashboard_checks(page: Any, pages: Any, tmp_path: Path) -> None:
    base, routes = pages
    panels = check.dashboard_panel_count()
    assert panels == 3
    routes["/ok"] = "<html><body>" + PANEL_OK * panels + "</body></html>"
    routes["/error"] = "<html><body>" + PANEL_OK * (panels - 1) + PANEL_ERROR + "</body></html>"
    routes["/missing"] = "<html><body>" + PANEL_OK * (panels - 1) + "</body></html>"
    assert "3 panels rendered" in check.check_dashboard(
        page, base + "/ok", panels, tmp_path / "a.png"
    )
    with pytest.raises(check.CheckFailed, match="show an error"):
        check.check_dashboard(page, base + "/error", panels, tmp_path / "b.png", 2000)
    with pytest.raises(check.CheckFailed, match="2 panels"):
        check.check_dashboard(page, base + "/missing", panels, tmp_path / "c.png", 2000)


def test_the_import_report_must_name_every_saved_object() -> None:
    objects = check.saved_objects()
    good = {
        "success": True,
        "success_count": len(objects),
        "errors": [],
        "version": "8.19.26",
        "objects": [{"type": o["type"], "id": o["id"], "title": "t"} for o in objects],
    }
    assert "all 5 objects" in check.check_import_report("progress…\n" + json.dumps(good))
    partial = {**good, "success_count": len(objects) - 1, "objects": good["objects"][1:]}
    with pytest.raises(check.CheckFailed, match="missing"):
        check.check_import_report(json.dumps(partial))
    failed = {**good, "success": False, "errors": [{"id": "x"}]}
    with pytest.raises(check.CheckFailed, match="errors"):
        check.check_import_report(json.dumps(failed))
    with pytest.raises(check.CheckFailed, match="not JSON"):
        check.check_import_report("Aguardando o Kibana")


def test_browser_check_names_a_service_that_does_not_answer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No stack: one FAILED line with the address, exit 1, no traceback and no browser."""
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("WORKSHOP_SERVICE_URL", url)
    assert check.main(["browser", "--out", str(tmp_path / "shots")]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("FAILED: model service: POST " + url + "/api/predict")
        and "Traceback" not in err
    )


def test_browser_check_names_an_elasticsearch_that_does_not_answer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The service answers, Elasticsearch does not: FAILED with its address, exit 1."""
    import httpx

    from tests.conftest import free_port

    def answered(url: str, **_: Any) -> httpx.Response:
        return httpx.Response(
            200, json={"prediction_id": "p-1"}, request=httpx.Request("POST", url)
        )

    es_url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("WORKSHOP_ES_URL", es_url)
    monkeypatch.setattr(httpx, "post", answered)
    monkeypatch.setattr("workshop.kibana.poll", lambda look, done, timeout: look())
    assert check.main(["browser", "--out", str(tmp_path / "shots")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"FAILED: elasticsearch at {es_url}") and "Traceback" not in err
