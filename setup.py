"""Build hooks only; the project's metadata is in pyproject.toml.

`db/` (Alembic migrations) and `resources/` (translations, icons, templates, fonts) live at the top
of the checkout, where ``ecmo_desktop.paths`` finds them in a source checkout or an editable install.
A wheel has no such top level, so the build copies both into the package as ``ecmo_desktop/_data/``,
which ``paths.project_root()`` looks at next. An sdist carries them at its top level, so a wheel
built from the sdist gets them too. Editable installs copy nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
DATA_DIRS = ("db", "resources")
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".swp", "~")


def _data_files() -> list[Path]:
    """Every shipped file under db/ and resources/, relative to the checkout."""
    files: list[Path] = []
    for top in DATA_DIRS:
        for root, dirs, names in os.walk(HERE / top):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(names):
                if name.endswith(SKIP_SUFFIXES) or name.startswith("."):
                    continue
                files.append((Path(root) / name).relative_to(HERE))
    return files


class BuildPyWithData(build_py):
    """build_py that also copies db/ and resources/ to ecmo_desktop/_data/ in the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout
        missing = [d for d in DATA_DIRS if not (HERE / d).is_dir()]
        if missing:
            raise SystemExit(f"setup.py: {', '.join(missing)} missing next to setup.py: cannot build a wheel")
        target = Path(self.build_lib) / "ecmo_desktop" / "_data"
        if target.exists():
            shutil.rmtree(target)
        for rel in _data_files():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(HERE / rel, dest)


class SdistWithData(sdist):
    """sdist that carries db/ and resources/ (no MANIFEST.in needed)."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        extra = [str(rel) for rel in _data_files()]
        super().make_release_tree(base_dir, sorted(set(files) | set(extra)))


setup(cmdclass={"build_py": BuildPyWithData, "sdist": SdistWithData})
