"""Notebook 02 in a real JupyterLab: run all cells, click "Prever" in the widget form and see the
prediction (model version and prediction id) in its output area."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import stop_jupyterlab, wait_for_jupyterlab
from tests.conftest import ROOT, free_port
from workshop.config import Settings

pytestmark = pytest.mark.browser

NOTEBOOK = ROOT / "notebooks" / "02_servico_de_predicao.ipynb"
LAB_SETTINGS = {
    # render every cell (no virtual scrolling) so the widget is in the page
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


@pytest.fixture()
def jupyterlab(trained_settings: Settings, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on a free port, serving a copy of notebook 02."""
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    settings_dir = tmp_path / "lab-settings"
    for name, value in LAB_SETTINGS.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "WORKSHOP_HOME": str(trained_settings.home),
        "WORKSHOP_SERVICE_URL": f"http://127.0.0.1:{free_port()}",
        "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
    }
    log = (tmp_path / "jupyterlab.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            "--ServerApp.allow_root=True",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_jupyterlab(proc, url, token, tmp_path / "jupyterlab.log")
        yield url, token
    finally:
        from workshop import lifecycle
        from workshop.config import get_settings

        # notebook 02 runs `workshop up`, whose service outlives the kernel by design
        lifecycle.service_down(get_settings(home=trained_settings.home))
        stop_jupyterlab(proc)
        log.close()


def test_widget_form_in_jupyterlab(page: Any, jupyterlab: tuple[str, str], tmp_path: Path) -> None:
    try:
        run_notebook_and_click(page, *jupyterlab)
    except Exception:
        page.screenshot(path=str(tmp_path / "jupyterlab.png"), full_page=True)
        (tmp_path / "jupyterlab.html").write_text(page.content())
        print(f"screenshot and page: {tmp_path}")
        raise


def run_notebook_and_click(page: Any, url: str, token: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.set_default_timeout(60_000)
    page.goto(f"{url}/lab/tree/{NOTEBOOK.name}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)

    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
    # "Run All Cells" right after the page says "Idle" is sometimes dropped while the kernel
    # connection settles (nothing runs, no error): try again until the first cell starts.
    for _attempt in range(4):
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            page.wait_for_function(
                "() => { const p = document.querySelector('.jp-CodeCell .jp-InputPrompt');"
                " return p && /\\[(\\*|\\d+)\\]/.test(p.textContent); }",
                timeout=15_000,
            )
            break
        except PlaywrightTimeoutError:
            continue

    button = page.locator(".jupyter-widgets button", has_text="Prever").first
    button.wait_for(state="visible", timeout=180_000)
    output = page.locator(".workshop-prediction-output").first
    # the notebook itself "clicks" once from code; wait for that and for the run to finish
    output.locator(".prediction-id").wait_for(timeout=180_000)
    page.wait_for_function(  # every code cell has run: "[n]:" prompts, none pending "[*]:"
        "() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];"
        " return p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }",
        timeout=180_000,
    )
    notebook_text = page.locator(".jp-Notebook").inner_text()
    assert "Traceback" not in notebook_text, "a cell of notebook 02 failed in JupyterLab"
    first_id = output.locator(".prediction-id").text_content()

    button.scroll_into_view_if_needed()
    button.click()
    page.wait_for_function(
        "(old) => { const e = document.querySelector('.workshop-prediction-output .prediction-id');"
        " return e && e.textContent !== old; }",
        arg=first_id,
        timeout=30_000,
    )
    text = output.text_content() or ""
    assert "Previsão:" in text and "unidades vendidas" in text
    assert output.locator(".model-version").text_content() == "v1"
    assert output.locator(".prediction-id").text_content() != first_id
