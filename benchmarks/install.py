"""Benchmark of `make install` on a fresh clone (issue 12, item 13: target ≤ 30 s).

    python3 benchmarks/install.py [--cold-cache] [--source PATH]

Clones the repository (``--source``, default this checkout; committed files only, like a
participant's ``git clone``) into a temporary directory and times ``make install`` there: uv
bootstrapped from PyPI into ``.uv/`` unless a uv of the pinned version is on PATH, then
``uv sync --locked`` of uv.lock into ``.venv``. ``--cold-cache`` gives uv an empty cache (every
wheel downloaded, like a participant's first install); without it uv's usual cache is used (a
re-install). Prints ONE JSON object: ``seconds`` (wall clock of ``make install``),
``target_seconds``, ``cold_cache``, ``packages`` (distributions in the new .venv), ``uv``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-cache", action="store_true", help="empty uv cache")
    parser.add_argument("--source", type=Path, default=ROOT, help="repository to clone")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-install-"))
    try:
        clone = work / "clone"
        subprocess.run(
            ["git", "clone", "--quiet", str(args.source), str(clone)], check=True, timeout=300
        )
        env = dict(os.environ)
        env.pop("VIRTUAL_ENV", None)
        if args.cold_cache:
            env["UV_CACHE_DIR"] = str(work / "uv-cache")
        start = time.monotonic()
        proc = subprocess.run(
            ["make", "install"], cwd=clone, env=env, capture_output=True, text=True, timeout=1800
        )
        seconds = time.monotonic() - start
        if proc.returncode != 0:
            sys.exit(f"make install failed:\n{proc.stdout}\n{proc.stderr}")
        site = next((clone / ".venv" / "lib").glob("python3*/site-packages"))
        packages = len(list(site.glob("*.dist-info")))
        uv = next(
            (
                p
                for p in (clone / ".uv" / "bin" / "uv", shutil.which("uv"))
                if p and Path(p).exists()
            ),
            None,
        )
        version = subprocess.run([str(uv), "--version"], capture_output=True, text=True).stdout
        print(
            json.dumps(
                {
                    "benchmark": "install",
                    "seconds": round(seconds, 1),
                    "target_seconds": TARGET_SECONDS,
                    "cold_cache": args.cold_cache,
                    "packages": packages,
                    "uv": version.strip(),
                }
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
