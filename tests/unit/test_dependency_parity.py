"""pyproject.toml and environment.yml must declare the same dependencies with the same ranges."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$")


def _normalise(requirement: str) -> tuple[str, str]:
    match = _REQ.match(requirement)
    assert match, f"unparseable requirement {requirement!r}"
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    spec = ",".join(
        sorted(part.strip() for part in match.group(2).replace(" ", "").split(",") if part.strip())
    )
    return name, spec


def pyproject_requirements(path: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    project = tomllib.loads(path.read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return dict(_normalise(r) for r in reqs)


def environment_requirements(path: Path = ROOT / "environment.yml") -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    reqs: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            reqs += [r for r in dep.get("pip", []) if not r.startswith("-")]
        elif not dep.startswith(("python ", "python>", "python=")) and dep != "pip":
            reqs.append(dep)
    return dict(_normalise(r) for r in reqs)


def test_same_packages_and_ranges() -> None:
    py = pyproject_requirements()
    env = environment_requirements()
    missing_in_env = sorted(set(py) - set(env))
    missing_in_py = sorted(set(env) - set(py))
    assert not missing_in_env, f"in pyproject.toml but not environment.yml: {missing_in_env}"
    assert not missing_in_py, f"in environment.yml but not pyproject.toml: {missing_in_py}"
    differing = {n: (py[n], env[n]) for n in py if py[n] != env[n]}
    assert not differing, f"ranges differ (pyproject, environment): {differing}"


def test_every_dependency_has_a_compatible_range() -> None:
    for name, spec in pyproject_requirements().items():
        assert ">=" in spec and "<" in spec, f"{name} needs a lower and an upper bound: {spec!r}"


def test_parity_check_detects_a_difference(tmp_path: Path) -> None:
    env = (ROOT / "environment.yml").read_text().replace("pandas >=2.2,<4", "pandas >=2.0,<4")
    changed = tmp_path / "environment.yml"
    changed.write_text(env)
    assert environment_requirements(changed)["pandas"] != pyproject_requirements()["pandas"]


def test_python_version_matches() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python "))
    assert _normalise(python)[1] == _normalise("python" + project["requires-python"])[1]
