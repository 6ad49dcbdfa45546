"""Debian's Chromium as every browser check of the kit launches it (the suite's browser tests and
``.ci/kibana_check.py browser``): one list of flags, so the two cannot drift apart."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")  # apt-get install -y chromium
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
