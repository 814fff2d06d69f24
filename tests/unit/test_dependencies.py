"""Every declared dependency is used, and the ones that decide what passes are bounded.

A dependency nobody imports still costs every fresh clone a download (and a frozen build its size);
an unbounded test tool makes a fresh clone red the day its next release changes the rules.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SOURCES = ("ecmo_desktop", "tests", "scripts", "benchmarks", "db", "packaging")

# Dependencies that are run as commands or loaded as plugins, not imported: where each is used.
NOT_IMPORTED = {
    "ruff": ("scripts/test.sh", "ruff check"),
    "mypy": ("scripts/test.sh", ".venv/bin/mypy"),
    "import-linter": ("scripts/test.sh", "lint-imports"),
    "pytest-xdist": ("scripts/test.sh", "-n 2"),
    "pytest-qt": ("tests/ui/conftest.py", "qtbot"),
    "pytest-timeout": ("pyproject.toml", 'timeout_method = "thread"'),
    "defusedxml": (
        "ecmo_desktop/exchange/import_cases.py",
        "openpyxl.DEFUSEDXML",
    ),  # openpyxl parses through it
    "setuptools": ("tests/storage/test_packaging.py", "--no-build-isolation"),
}
# Test tools whose next major (or, for ruff, minor) release may fail a clean checkout.
MUST_BE_BOUNDED = {
    "pytest",
    "pytest-qt",
    "pytest-xdist",
    "pytest-timeout",
    "hypothesis",
    "import-linter",
    "ruff",
    "babel",
    "mypy",
}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _declared() -> list[str]:
    project = PYPROJECT["project"]
    return project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]


def _imported_modules() -> set[str]:
    pattern = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w]*)", re.MULTILINE)
    found: set[str] = set()
    for top in SOURCES:
        for path in (ROOT / top).rglob("*.py"):
            found.update(pattern.findall(path.read_text(encoding="utf-8", errors="replace")))
    return found


def test_every_declared_dependency_is_used() -> None:
    modules_of: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            modules_of.setdefault(dist.lower().replace("_", "-"), set()).add(module)
    imported = _imported_modules()
    unused = []
    for requirement in _declared():
        name = _name(requirement)
        if name in NOT_IMPORTED:
            path, evidence = NOT_IMPORTED[name]
            if evidence not in (ROOT / path).read_text(encoding="utf-8"):
                unused.append(f"{name} (expected {evidence!r} in {path})")
            continue
        modules = modules_of.get(name, set())
        assert modules, f"{name} is declared but not installed: pip install -e '.[test]'"
        if not modules & imported:
            unused.append(f"{name} (modules {sorted(modules)} never imported)")
    assert not unused, "declared but unused dependencies:\n" + "\n".join(unused)


def test_test_tools_have_an_upper_bound() -> None:
    unbounded = [r for r in _declared() if _name(r) in MUST_BE_BOUNDED and "<" not in r and "==" not in r]
    assert not unbounded, f"unbounded test tools (a fresh clone would get untested releases): {unbounded}"
