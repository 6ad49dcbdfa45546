"""The package reads as a house: stages in the order the data travels, no cycles, small rooms.

The order below is the map of README's maintainers' part. A module imports (at the top or inside a
function) only stages listed before its own, or modules of its own stage; nothing imports upward,
so there is no import cycle between stages. Every module is at most about 500 lines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "workshop"

#: Low to high. ``stack`` (connecting to Elasticsearch, the embedded engine, doctor) is
#: infrastructure every data stage uses, so it sits right after the settings.
STAGES = [
    "errors",
    "config",
    "formatting",
    "polling",
    "stack",
    "dataset",
    "features",
    "modeling",
    "events",
    "fluentd_dump",
    "service",
    "service_process",
    "lifecycle",
    "widgets",
    "simulator",
    "monitoring",
    "plots",
    "feedback",
    "alerts",
    "kibana_alerting",
    "kibana",
    "doctor",
    "runner",
    "cli",
    "__main__",
]
MAX_LINES = 520  # "about 500": dataset.py (the whole simulated store) is 513


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> set[str]:
    """Every ``workshop...`` module or name this file imports, at any depth of the code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "workshop":
                found.update(f"workshop.{a.name}" for a in node.names)
            elif node.module.startswith("workshop."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("workshop."))
    return found


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_stage_is_on_the_map() -> None:
    stages = {_stage(_dotted(p)) for p in _modules()} - {""}
    assert stages <= set(STAGES), f"not on the map (STAGES): {sorted(stages - set(STAGES))}"


def test_nothing_imports_upward() -> None:
    rank = {name: i for i, name in enumerate(STAGES)}
    upward = []
    for path in _modules():
        here = _stage(_dotted(path))
        if not here:
            continue
        for target in _imports(path):
            there = _stage(target)
            if there and there != here and rank[there] > rank[here]:
                upward.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not upward, "a lower stage imports a higher one:\n" + "\n".join(upward)


def test_no_module_over_500_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_readme_map_lists_every_module() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"workshop/[\w/]+\.py", readme))
    missing = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if str(p.relative_to(ROOT)) not in listed and p.name != "__init__.py"
    ]
    assert not missing, f"README's map misses: {missing}"


#: Modules whose tests live in a file named after what they serve, not after the module.
COVERED_BY = {
    "workshop/cli/_app.py": "tests/unit/cli/test_usage.py",  # the Typer app every CLI test drives
    "workshop/cli/feedback.py": "tests/integration/feedback/test_loop.py",  # the loop, via the CLI
    "workshop/cli/serve.py": "tests/integration/test_service_process.py",  # runs `workshop serve`
    "workshop/events/health.py": "tests/unit/test_doctor.py",  # the doctor line it writes
    "workshop/monitoring/summary.py": "tests/integration/cli/test_monitor.py",  # monitor report
    "workshop/service/prediction.py": "tests/integration/service/test_app.py",  # through the API
    "workshop/service/schemas.py": "tests/integration/service/test_app.py",  # the OpenAPI contract
    "workshop/service/validation.py": "tests/integration/service/test_app.py",  # every bad input
}


def test_tests_mirror_the_package() -> None:
    """Every module of a stage package has a test file named after it (``transports/base.py``:
    ``test_transports.py`` will do), or is listed in :data:`COVERED_BY` with the file that
    tests it."""
    names = {p.stem.removeprefix("test_") for p in (ROOT / "tests").rglob("test_*.py")}
    untested = []
    for path in _modules():
        rel = str(path.relative_to(ROOT))
        if path.parent == PACKAGE or path.name == "__init__.py":
            continue
        if rel in COVERED_BY:
            assert (ROOT / COVERED_BY[rel]).is_file(), f"{rel}: {COVERED_BY[rel]} is gone"
            continue
        if not {path.stem.lstrip("_"), path.parent.name} & names:
            untested.append(rel)
    assert not untested, f"no test file named after: {untested}"
