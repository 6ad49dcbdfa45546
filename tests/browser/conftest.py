"""Playwright driving Debian's Chromium (``apt-get install -y chromium``), and a trained model."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import missing
from workshop.config import Settings


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        missing("apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("make install (playwright, from uv.lock)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="pt-BR", viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def trained_settings(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings whose own WORKSHOP_HOME holds one promoted model (v1)."""
    from tests.integration.service.test_app import trained_home

    return trained_home(tmp_path_factory, "browser-home")


def wait_for_jupyterlab(
    proc: Any, url: str, token: str, log_path: Path, timeout: float = 90
) -> None:
    """Until JupyterLab's /api/status answers 200; fail with its log if it exits or never does."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/api/status", params={"token": token}).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"JupyterLab did not start in {timeout:.0f} s")
        time.sleep(0.5)


def stop_jupyterlab(proc: Any) -> None:
    """Stop a JupyterLab server started by a test: two SIGINTs (the first only asks to confirm),
    then SIGKILL after 30 s."""
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
