"""Checks of the real Kibana for the workflow's stack job (issue 12, item 6).

    python3 .ci/kibana_check.py import-report kibana-setup.log
    .venv/bin/python .ci/kibana_check.py browser --out executed/screenshots

``import-report``: the last line of ``workshop kibana setup --json`` must report success, no
error, and every object of infra/kibana/saved_objects.ndjson imported (standard library only, so
the runner's python3 runs it).

``browser``: Playwright with Debian's Chromium against the running stack (Kibana, the model
service, Elasticsearch at their WORKSHOP_* addresses, defaults localhost): makes a fresh prediction
through the service, waits for its event in Elasticsearch, opens its Discover link and asserts
exactly 1 hit (``data-test-subj="discoverQueryHits"``, the hit counter Kibana's own tests read),
then opens the workshop dashboard and asserts every panel of the saved dashboard renders
(``embeddablePanel`` with ``data-render-complete="true"``) and none shows ``embeddableError`` —
the selectors of Kibana's Scout ``EmbeddablePanels`` helper. Screenshots go to ``--out``.
Exit status 1 with a message on any failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAVED_OBJECTS = ROOT / "infra" / "kibana" / "saved_objects.ndjson"
HITS = '[data-test-subj="discoverQueryHits"]'
PANEL = '[data-test-subj="embeddablePanel"]'
PANEL_ERROR = '[data-test-subj="embeddableError"]'
RENDER_COMPLETE = '[data-render-complete="true"]'


class CheckFailed(Exception):
    """What the stack job prints before failing."""


def saved_objects(path: Path = SAVED_OBJECTS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def dashboard_panel_count(path: Path = SAVED_OBJECTS) -> int:
    (dashboard,) = [o for o in saved_objects(path) if o["type"] == "dashboard"]
    return len(json.loads(dashboard["attributes"]["panelsJSON"]))


def check_import_report(text: str, path: Path = SAVED_OBJECTS) -> str:
    """The JSON report (last non-empty line) imported every saved object, without errors."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CheckFailed("workshop kibana setup --json printed nothing")
    try:
        report = json.loads(lines[-1])
    except ValueError as exc:
        raise CheckFailed(f"the last line is not JSON: {lines[-1]!r} ({exc})") from None
    expected = {(o["type"], o["id"]) for o in saved_objects(path)}
    imported = {(o["type"], o["id"]) for o in report.get("objects", [])}
    if not report.get("success") or report.get("errors"):
        raise CheckFailed(f"Kibana reported errors: {report.get('errors')}")
    if report.get("success_count") != len(expected) or imported != expected:
        raise CheckFailed(
            f"imported {report.get('success_count')} objects, expected {len(expected)}; "
            f"missing {sorted(expected - imported)}"
        )
    return f"Kibana {report.get('version')}: imported all {len(expected)} objects"


def check_discover_hits(page: Any, url: str, screenshot: Path, timeout_ms: int = 120_000) -> str:
    """Open a Discover link and require exactly one hit."""
    page.goto(url)
    hits = page.locator(HITS)
    hits.wait_for(timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    text = hits.inner_text().strip()
    while text != "1" and time.monotonic() < deadline:  # the counter updates after the search
        time.sleep(0.5)
        text = hits.inner_text().strip()
    page.screenshot(path=str(screenshot), full_page=True)
    if text != "1":
        raise CheckFailed(f"Discover shows {text!r} hits for the fresh prediction, expected 1")
    return "Discover: exactly 1 hit"


def check_dashboard(
    page: Any, url: str, panels: int, screenshot: Path, timeout_ms: int = 120_000
) -> str:
    """Open the dashboard; every panel renders and none is in error."""
    page.goto(url)
    page.locator(PANEL).first.wait_for(timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        count = page.locator(PANEL).count()
        done = page.locator(f"{PANEL}{RENDER_COMPLETE}, {PANEL} {RENDER_COMPLETE}").count()
        errors = page.locator(PANEL_ERROR).count()
        if errors or (count >= panels and done >= panels):
            break
        time.sleep(0.5)
    page.screenshot(path=str(screenshot), full_page=True)
    if errors:
        raise CheckFailed(f"{errors} dashboard panel(s) show an error")
    if count != panels or done < panels:
        raise CheckFailed(f"dashboard: {count} panels, {done} rendered, expected {panels}")
    return f"dashboard: {panels} panels rendered, none in error"


def fresh_prediction_url() -> str:
    """POST a prediction to the service, wait for its event, return its Discover link.

    A service or Elasticsearch that does not answer is a CheckFailed naming the address."""
    import httpx
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from workshop import kibana
    from workshop.config import get_settings
    from workshop.errors import WorkshopError

    settings = get_settings()
    url = f"{settings.service_url}/api/predict"
    try:
        resp = httpx.post(
            url,
            json={
                "date": (date.today() + timedelta(days=7)).isoformat(),
                "product": "Leite integral 1L",
                "onpromotion": True,
            },
            timeout=30,
        )
        resp.raise_for_status()
        prediction_id = resp.json()["prediction_id"]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise CheckFailed(f"model service: POST {url} did not give a prediction ({exc!r})") from exc
    try:
        event = kibana.wait_for_event(prediction_id, timeout=120)
    except (WorkshopError, ApiError, TransportError) as exc:
        raise CheckFailed(f"elasticsearch at {settings.es_url}: {exc}") from exc
    return kibana.prediction_url(prediction_id, timestamp=kibana.event_timestamp(event))


def run_browser(out: Path) -> list[str]:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))  # the flags the suite's browser tests use, from the checkout
    from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
    from workshop import kibana

    out.mkdir(parents=True, exist_ok=True)
    link = fresh_prediction_url()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            return [
                check_discover_hits(page, link, out / "discover-prediction.png"),
                check_dashboard(
                    page, kibana.dashboard_url(), dashboard_panel_count(), out / "dashboard.png"
                ),
            ]
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    report = sub.add_parser("import-report")
    report.add_argument("file", type=Path)
    browser = sub.add_parser("browser")
    browser.add_argument("--out", type=Path, default=Path("screenshots"))
    args = parser.parse_args(argv)
    try:
        if args.command == "import-report":
            results = [check_import_report(args.file.read_text())]
        else:
            results = run_browser(args.out)
    except CheckFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
