"""Where the program's files are: shipped resources, migrations, and the user's data folder.

Resources are looked up relative to the source checkout, a non-editable install (copied into
``ecmo_desktop/_data``) or a PyInstaller bundle (``sys._MEIPASS``), in that order, so migrations
and fonts are found however the app was installed.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

import platformdirs

APP_NAME = "ECMOWard"
APP_AUTHOR = "ECMOWard"

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def project_root() -> Path:
    """The folder that holds ``resources/`` and ``db/``."""
    candidates: list[Path] = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidates.append(Path(frozen))
    candidates.append(_PACKAGE_DIR.parent)  # source checkout / editable install
    candidates.append(_PACKAGE_DIR / "_data")  # wheel install
    for candidate in candidates:
        if (candidate / "resources").is_dir() and (candidate / "db").is_dir():
            return candidate
    raise FileNotFoundError(f"resources/ and db/ not found near {_PACKAGE_DIR}")


def resource_path(*parts: str) -> Path:
    return project_root().joinpath("resources", *parts)


def migrations_dir() -> Path:
    return project_root() / "db" / "migrations"


def i18n_dir() -> Path:
    return resource_path("i18n")


def data_dir() -> Path:
    """The user's data folder; ``ECMO_DATA_DIR`` overrides it (tests, portable installs)."""
    override = os.environ.get("ECMO_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_path() -> Path:
    return data_dir() / "ecmo_ward.sqlite3"


def log_dir() -> Path:
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def backup_dir() -> Path:
    path = data_dir() / "backups"
    path.mkdir(parents=True, exist_ok=True)
    return path
