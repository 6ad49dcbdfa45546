"""The participant's rehearsal (issue 13): the whole workshop, as a participant does it, in a real
browser, on the path without Docker.

JupyterLab is started exactly as `workshop lab` starts it (infra/jupyter/: allow_root, kernels over
IPC, no news toast) on a fresh WORKSHOP_HOME with nothing running: notebook 00's `workshop up`
starts the embedded engine and the model service, as for a participant. Each notebook (parameters
injected by papermill, ``fast = True`` like the notebook suite) is opened and run with **Run All**
through the UI, in order, waiting for the kernel to go idle; no cell may end in an error. After each
notebook, every link its outputs show is opened in the browser and checked for what the text says
(the form answers and predicts, /docs shows Swagger UI); the form link of notebook 02 is opened
again after notebook 06, and after notebook 07 — which ends the workshop — the service is down.
No page may request anything outside localhost. Screenshots go to ``runs/rehearsal/<time>/``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import nbformat
import pytest

from tests.browser.conftest import stop_jupyterlab, wait_for_jupyterlab
from tests.conftest import free_port
from workshop import runner

pytestmark = pytest.mark.browser

NOTEBOOKS = runner.list_notebooks()
SHOTS = runner.RUNS_DIR / "rehearsal" / datetime.now().strftime("%Y%m%d-%H%M%S")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# Only what the rehearsal needs to read the outputs: every cell rendered (no virtual scrolling).
# The news toast is NOT turned off here: infra/jupyter/ must do it (the test checks it is absent).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


@pytest.fixture(scope="module")
def participant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A fresh participant: own WORKSHOP_HOME, nothing running, ports of their own; the
    notebooks prepared with the CI parameters; JupyterLab as `workshop lab` starts it."""
    from workshop import lifecycle, stack
    from workshop.cli.lab import lab_environment
    from workshop.config import get_settings

    base = tmp_path_factory.mktemp("rehearsal")
    env = {
        "WORKSHOP_HOME": str(base / "home"),
        "WORKSHOP_ES_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_SERVICE_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_KIBANA_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_FLUENTD_PORT": str(free_port()),
        "WORKSHOP_EVENT_TRANSPORT": "elasticsearch",
    }
    settings = get_settings(
        home=Path(env["WORKSHOP_HOME"]),
        es_url=env["WORKSHOP_ES_URL"],
        service_url=env["WORKSHOP_SERVICE_URL"],
    )
    root = base / "lab"
    root.mkdir()
    import papermill

    for notebook in NOTEBOOKS:
        papermill.execute_notebook(
            str(notebook),
            str(root / notebook.name),
            kernel_name=runner.KERNEL_NAME,
            prepare_only=True,
            parameters=runner.parameters_for(notebook, runner.CI_PARAMETERS),
            progress_bar=False,
        )
    settings_dir = base / "lab-settings"
    for name, value in LAB_SETTINGS.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = free_port(), secrets.token_hex(16)
    lab_env = lab_environment(
        {
            **os.environ,
            **env,
            "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
            "JUPYTERLAB_WORKSPACES_DIR": str(base / "lab-workspaces"),
            "JUPYTER_RUNTIME_DIR": str(base / "jupyter-runtime"),
        }
    )
    log_path = base / "jupyterlab.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            "--ServerApp.open_browser=False",
        ],
        env=lab_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_jupyterlab(proc, url, token, log_path)
        yield {
            "url": url,
            "token": token,
            "root": root,
            "env": env,
            "settings": settings,
            "log": log_path,
        }
    finally:
        lifecycle.service_down(settings)
        stack.embedded_down(settings)
        stop_jupyterlab(proc)
        log.close()


@pytest.fixture(scope="module")
def lab_context(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """One browser context for the whole rehearsal; any request off localhost is refused and
    recorded (issue 13: a blank /docs came from a CDN)."""
    outside: list[str] = []
    context = browser.new_context(locale="pt-BR", viewport={"width": 1366, "height": 900})

    def guard(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    try:
        yield context, outside
    finally:
        context.close()


def test_the_participant_journey_in_jupyterlab(
    participant: dict[str, Any], lab_context: tuple[Any, list[str]]
) -> None:
    context, outside = lab_context
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    form_url = participant["env"]["WORKSHOP_SERVICE_URL"]
    kibana_port = urlsplit(participant["env"]["WORKSHOP_KIBANA_URL"]).port
    service_port = urlsplit(form_url).port
    lab_port = urlsplit(participant["url"]).port
    checked: dict[str, str] = {}
    try:
        for notebook in NOTEBOOKS:
            run_all(page, participant, notebook.name)
            saved = saved_notebook(participant, notebook.name)
            errors = [
                f"{notebook.name} cell {i}: {o.get('ename')}: {o.get('evalue')}"
                for i, cell in enumerate(saved.cells)
                for o in cell.get("outputs", [])
                if o.get("output_type") == "error"
            ]
            assert not errors, errors
            if notebook == NOTEBOOKS[-1]:
                break  # it ends the workshop: its links are meant to be gone now (see below)
            for link in output_links(page):
                if urlsplit(link).port == kibana_port:
                    continue  # no Kibana on this path: the text says so (notebook 05)
                if urlsplit(link).port == lab_port:
                    continue  # a printed file path JupyterLab turned into a link to itself
                checked[link] = check_link(context, link, notebook.stem, service_port)
            if notebook.name.startswith("06_"):
                # The dead form of issue 13: after 06 the form of 02 must still answer.
                checked[form_url + "/#after-06"] = check_link(
                    context, form_url + "/", "after-06", service_port
                )
        form_checks = [r for u, r in checked.items() if urlsplit(u).port == service_port]
        assert any(r.startswith("form: predicted") for r in form_checks), checked
        assert any(r.startswith("docs:") for r in form_checks), checked
        # Notebook 07 ends the workshop: only now is the form gone.
        with pytest.raises(httpx.ConnectError):
            httpx.get(form_url + "/health", timeout=3)
        with pytest.raises(httpx.ConnectError):  # and the embedded engine `up` started
            httpx.get(participant["env"]["WORKSHOP_ES_URL"], timeout=3)
        assert "Workshop encerrado" in "".join(
            o.get("text", "")
            for c in saved_notebook(participant, NOTEBOOKS[-1].name).cells
            for o in c.get("outputs", [])
        )
        assert not page.locator(".jp-Notification-Toast").count(), "the news toast is back"
        lab_log = participant["log"].read_text(errors="replace")
        assert "without encryption" not in lab_log, "kernels talk over TCP again"
        assert not outside, f"pages requested outside localhost: {outside}"
    except Exception:
        page.screenshot(path=str(SHOTS / "failure.png"))
        (SHOTS / "failure.html").write_text(page.content())
        print(f"screenshots and page: {SHOTS}")
        raise
    print(f"rehearsal screenshots: {SHOTS}; links checked: {json.dumps(checked, indent=1)}")


# --------------------------------------------------------------------------- driving JupyterLab


def run_all(page: Any, participant: dict[str, Any], name: str) -> None:
    """Open a notebook, Run All Cells from the menu, wait until every cell ran and the kernel
    is idle, save it, and screenshot the top and the end."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    if page.url.startswith(participant["url"]):
        # Close the previous notebook and open the next from the file browser, as a participant
        # moving on would (no reload: with two tabs open, "Run All Cells" goes to whichever
        # notebook JupyterLab considers current).
        page.locator(".lm-MenuBar-item", has_text="File").first.click()
        page.get_by_role("menuitem", name="Close All Tabs", exact=True).click()
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            dialog.get_by_role("button", name=re.compile("Discard|Don.t Save")).first.click()
        page.wait_for_selector(".jp-NotebookPanel", state="detached")
        page.locator(".jp-DirListing-item", has_text=name).first.dblclick()
    else:
        page.goto(f"{participant['url']}/lab/tree/{name}?token={participant['token']}")
    page.locator(".lm-TabBar-tab.jp-mod-current", has_text=name).wait_for()
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    page.wait_for_selector(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']",
        timeout=120_000,
    )
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
    # "Run All Cells" right after the kernel says idle is sometimes dropped while the kernel
    # connection settles (nothing runs, no error): try again until the first cell starts.
    for _attempt in range(4):
        accept_kernel_dialog(page)
        # focus this notebook (the menu acts on the current one)
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.click()
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            page.wait_for_function(
                "() => { const p = document.querySelector("
                "'.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt');"
                " return p && /\\[(\\*|\\d+)\\]/.test(p.textContent); }",
                timeout=15_000,
            )
            break
        except PlaywrightTimeoutError:
            continue
    page.wait_for_function(  # every code cell ran ("[n]:"), none pending ("[*]:"), kernel idle
        "() => { const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');"
        " const p = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];"
        " const idle = panel.querySelector("
        "\".jp-Notebook-ExecutionIndicator[data-status='idle']\");"
        " return idle && p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }",
        timeout=240_000,
        polling=500,
    )
    page.screenshot(path=str(SHOTS / f"{Path(name).stem}-fim.png"))
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    for _attempt in range(3):  # the toolbar's save button, as a participant would
        panel.locator("[data-command='docmanager:save']").first.click()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # the save lands on disk
            try:
                saved = nbformat.read(participant["root"] / name, as_version=4)
            except Exception:  # read while JupyterLab writes it
                time.sleep(0.3)
                continue
            if all(c.get("execution_count") for c in saved.cells if c.cell_type == "code"):
                break
            time.sleep(0.5)
        else:
            continue
        break
    else:
        pytest.fail(f"{name}: the executed notebook was not saved")
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer").first.evaluate(
        "e => e.scrollTo(0, 0)"
    )
    page.screenshot(path=str(SHOTS / f"{Path(name).stem}-inicio.png"))


def accept_kernel_dialog(page: Any) -> None:
    """JupyterLab sometimes asks "Select Kernel" while a kernel connection settles; the
    participant clicks Select (the notebook's own kernel is preselected)."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.count():
        dialog.get_by_role("button", name="Select Kernel").click()
        dialog.wait_for(state="detached")


def saved_notebook(participant: dict[str, Any], name: str) -> Any:
    return nbformat.read(participant["root"] / name, as_version=4)


def output_links(page: Any) -> list[str]:
    """Every http(s) link the visible notebook's outputs show (Markdown links and the URLs
    JupyterLab turns into links in printed text)."""
    hrefs = page.eval_on_selector_all(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output a[href]",
        "els => els.map(e => e.href)",
    )
    return sorted({h for h in hrefs if h.startswith(("http://", "https://"))})


def check_link(context: Any, link: str, where: str, service_port: int | None = None) -> str:
    """Open a link as the participant would and check it shows what the text promised."""
    page = context.new_page()
    try:
        response = page.goto(link.split("#")[0], wait_until="load")
        parts = urlsplit(link)
        assert response is not None, link
        path = parts.path
        if parts.port == service_port and path == "/health":
            # /health is 200 when the service can predict and 503 when it cannot (no model yet,
            # before notebook 01): either way a JSON body that says which, in pt-BR.
            health = json.loads(page.locator("body").inner_text())
            assert response.status in (200, 503), (link, response.status)
            assert health["status"] in ("ok", "degraded", "sem modelo"), health
            assert (response.status == 200) == bool(health["model_loaded"]), health
            page.screenshot(path=str(SHOTS / f"link-{where}-health.png"), full_page=True)
            return f"/health: {response.status}, {health['status']}"
        assert response.status < 400, (link, response.status)
        slug = re.sub(r"[^a-z0-9]+", "-", f"{where}-{parts.port}-{path}".lower()).strip("-")
        if parts.port != service_port:  # e.g. the Elasticsearch address notebook 00 prints
            body = page.locator("body").inner_text()
            assert body.strip(), link
            result = f"{parts.port}{path}: {len(body)} characters"
        elif path in ("", "/") and page.locator("#sem-modelo").count():
            # Notebook 00 points to the form before notebook 01 trains a model: the page must
            # say so (and how to fix it) rather than fail.
            banner = page.locator("#sem-modelo").inner_text()
            assert "notebook 01" in banner or "workshop train" in banner, banner
            result = "form: up, no model yet (banner says how to train one)"
        elif path in ("", "/"):
            page.locator("h1", has_text="Previsão de vendas").wait_for()
            page.select_option("#item_nbr", index=0)
            page.fill("#date", "2026-01-15")
            page.click("#enviar")
            page.locator("#resultado #prediction-id").wait_for()
            shown = page.locator("#onde-evento").inner_text()
            assert "workshop events show" in shown, shown
            result = "form: predicted, " + page.locator("#prediction").inner_text()
        elif path == "/docs":
            page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
            page.locator(".opblock-summary-path", has_text="/api/predict").first.wait_for()
            result = "docs: Swagger UI rendered"
        else:
            body = page.locator("body").inner_text()
            assert body.strip(), link
            result = f"{path}: {len(body)} characters"
        page.screenshot(path=str(SHOTS / f"link-{slug}.png"), full_page=True)
        return result
    finally:
        page.close()
