"""pyproject.toml, uv.lock and environment.yml must declare the same dependencies and ranges.

uv.lock is what `make install`, the image and CI install (issue 12, item 13): it must be the lock
of the current pyproject.toml (same requirements, every locked version inside its range) and cover
the platforms participants bring.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$")


def _normalise(requirement: str) -> tuple[str, str]:
    requirement = requirement.split(";", 1)[0]  # environment markers are compared separately
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


# --------------------------------------------------------------------------- uv.lock

LOCK = ROOT / "uv.lock"
PLATFORMS = {
    frozenset({"sys_platform == 'linux'", "platform_machine == 'x86_64'"}),
    frozenset({"sys_platform == 'linux'", "platform_machine == 'aarch64'"}),
    frozenset({"sys_platform == 'darwin'", "platform_machine == 'arm64'"}),
    frozenset({"sys_platform == 'darwin'", "platform_machine == 'x86_64'"}),
    frozenset({"sys_platform == 'win32'", "platform_machine == 'AMD64'"}),
}


def _lock(path: Path = LOCK) -> dict:
    return tomllib.loads(path.read_text())


def _project_package(lock: dict) -> dict:
    (package,) = [p for p in lock["package"] if p.get("source", {}).get("editable") == "."]
    return package


def lock_requirements(path: Path = LOCK) -> dict[str, str]:
    """What the lock was made from: the project's requires-dist, normalised like the others."""
    reqs = _project_package(_lock(path))["metadata"]["requires-dist"]
    return dict(_normalise(f"{r['name']}{r.get('specifier', '')}") for r in reqs)


def _markers(clauses: str) -> frozenset[str]:
    return frozenset(part.strip() for part in clauses.split(" and "))


def test_the_lock_is_the_lock_of_pyproject() -> None:
    py, locked = pyproject_requirements(), lock_requirements()
    differing = {n: (py[n], locked[n]) for n in py if n in locked and py[n] != locked[n]}
    assert py == locked, (
        "uv.lock is stale: run `make lock` "
        f"(only in pyproject: {sorted(set(py) - set(locked))}, "
        f"only in uv.lock: {sorted(set(locked) - set(py))}, ranges differ: {differing})"
    )


def test_every_locked_version_is_inside_the_pyproject_range() -> None:
    from packaging.specifiers import SpecifierSet

    versions: dict[str, list[str]] = {}
    for package in _lock()["package"]:
        versions.setdefault(re.sub(r"[-_.]+", "-", package["name"]).lower(), []).append(
            package["version"]
        )
    for name, spec in pyproject_requirements().items():
        assert name in versions, f"{name} is not in uv.lock"
        for version in versions[name]:
            assert version in SpecifierSet(spec), f"{name} {version} outside {spec}"


def test_the_lock_covers_the_participants_platforms() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = {_markers(m) for m in project["tool"]["uv"]["required-environments"]}
    assert wanted == PLATFORMS
    assert {_markers(m) for m in _lock()["required-markers"]} == PLATFORMS
    assert _lock()["requires-python"].replace(" ", "") == project["project"]["requires-python"]


def test_the_build_backend_is_pinned_in_the_lock_too() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pinned = project["tool"]["uv"]["build-constraint-dependencies"]
    locked = [f"{c['name']}{c['specifier']}" for c in _lock()["manifest"]["build-constraints"]]
    assert sorted(pinned) == sorted(locked)
    assert all("==" in p for p in pinned)
    backend = project["build-system"]["requires"]
    assert {_normalise(r)[0] for r in backend} == {_normalise(p)[0] for p in pinned}


def test_markers_agree_between_pyproject_and_environment_yml() -> None:
    def markers(reqs: list[str]) -> dict[str, str]:
        return {_normalise(r)[0]: r.split(";", 1)[1].strip() for r in reqs if ";" in r}

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert markers(project["dependencies"]) == markers(pip)


def test_a_stale_lock_is_detected(tmp_path: Path) -> None:
    """Control: a lock made from other ranges fails the comparison above."""
    stale = tmp_path / "uv.lock"
    stale.write_text(LOCK.read_text().replace('specifier = ">=2.2,<4"', 'specifier = ">=2.0,<4"'))
    assert lock_requirements(stale)["pandas"] != pyproject_requirements()["pandas"]
