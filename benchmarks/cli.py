"""Benchmark of the CLI's start: wall time and peak memory of the everyday commands.

    .venv/bin/python benchmarks/cli.py [--runs 7]

Runs, each in a fresh interpreter and ``--runs`` times, ``python -c "import typer"`` (the floor:
the interpreter plus the CLI library) and ``workshop --help``, ``workshop doctor``, ``workshop
embedded up/status/down`` and ``workshop events tail`` against a private embedded engine (a
temporary ``WORKSHOP_HOME`` and a free port). Reports the median wall time and the peak resident
memory of each, the heavy modules (pandas, scikit-learn, SciPy, matplotlib) each one loaded, and
the target: ``workshop --help`` within 2x the floor. Prints ONE JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "sklearn", "scipy", "matplotlib")
TARGET_HELP_RATIO = 2.0

# The child reports its own peak RSS (KiB on Linux) and the heavy packages it imported, at exit.
REPORT = f"""
import atexit, json, resource, sys
def _report():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
    sys.stderr.write("\\nBENCH=" + json.dumps({{"peak_kib": peak, "heavy": heavy}}) + "\\n")
atexit.register(_report)
"""
BASELINE = REPORT + "import typer\n"
WORKSHOP = REPORT + (
    'sys.argv = ["workshop", *sys.argv[1:]]\nfrom workshop.cli import main\nmain()\n'
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def once(code: str, args: list[str], env: dict[str, str]) -> dict:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    wall = time.perf_counter() - start
    lines = [line for line in proc.stderr.splitlines() if line.startswith("BENCH=")]
    if not lines:
        raise SystemExit(f"{args or 'import typer'}: no report; stderr:\n{proc.stderr[-2000:]}")
    report = json.loads(lines[-1].removeprefix("BENCH="))
    return {"wall_s": wall, "rc": proc.returncode, **report}


def measure(code: str, args: list[str], env: dict[str, str], runs: int) -> dict:
    samples = [once(code, args, env) for _ in range(runs)]
    return {
        "wall_s_median": round(statistics.median(s["wall_s"] for s in samples), 4),
        "wall_s_min": round(min(s["wall_s"] for s in samples), 4),
        "peak_mib": round(max(s["peak_kib"] for s in samples) / 1024, 1),
        "exit_codes": sorted({s["rc"] for s in samples}),
        "heavy_modules": sorted({m for s in samples for m in s["heavy"]}),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as home:
        env = {
            **os.environ,
            "WORKSHOP_HOME": home,
            "WORKSHOP_ES_URL": f"http://127.0.0.1:{free_port()}",
            "WORKSHOP_ES_ENGINE": "embedded",
        }
        results: dict[str, dict] = {
            "python -c 'import typer'": measure(BASELINE, [], env, args.runs),
            "workshop --help": measure(WORKSHOP, ["--help"], env, args.runs),
        }
        # One start and one stop (each run is a real engine start/stop), then the commands that
        # talk to the running engine, then the stop.
        results["workshop embedded up"] = measure(WORKSHOP, ["embedded", "up"], env, 1)
        try:
            for command in (["embedded", "status"], ["doctor"], ["events", "tail"]):
                results["workshop " + " ".join(command)] = measure(
                    WORKSHOP, command, env, args.runs
                )
        finally:
            results["workshop embedded down"] = measure(WORKSHOP, ["embedded", "down"], env, 1)

    floor = results["python -c 'import typer'"]["wall_s_median"]
    help_ratio = results["workshop --help"]["wall_s_median"] / floor
    heavy = {name: r["heavy_modules"] for name, r in results.items() if r["heavy_modules"]}
    out = {
        "benchmark": "cli",
        "commands": results,
        "help_ratio": round(help_ratio, 3),
        "targets": {
            "help_ratio_max": TARGET_HELP_RATIO,
            "help_ratio_met": help_ratio <= TARGET_HELP_RATIO,
            "no_heavy_imports_met": not heavy,
        },
        "heavy_imports": heavy,
    }
    print(json.dumps(out, ensure_ascii=False))
    return out


if __name__ == "__main__":
    main()
