"""What a support call needs first: the versions this copy runs on and where its data lives.

``ecmo-desktop --version`` prints it. It stays light on purpose (about 0.1 s): library versions come
from package metadata rather than importing SQLAlchemy or Alembic, the schema head is read from
the migration files' ``revision``/``down_revision`` lines (as Alembic reads them), and the default
database's revision straight from its ``alembic_version`` table, opened read-only. Only Qt's core
shared library is loaded (ctypes, not PySide6), for the Qt version PySide6 really runs on.

It lives outside ``ecmo_desktop.cli`` because it asks PySide6 for the Qt version, and the CLI
package must not import Qt (import-linter contract); ``ecmo_desktop.__main__`` answers ``--version``.
"""

from __future__ import annotations

import ast
import os
import platform
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

from ecmo_desktop import __version__
from ecmo_desktop.i18n import _
from ecmo_desktop.paths import data_dir, default_database_path, migrations_dir


def _dist_version(name: str) -> str:
    """From the ``NAME-VERSION.dist-info`` folder's name on ``sys.path`` (importing ``importlib.metadata``
    alone costs ~25 ms); anywhere else (an egg, a frozen build) through ``importlib.metadata``."""
    key = re.sub(r"[-_.]+", "_", name).lower()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            if folder.endswith(".dist-info") and "-" in folder:
                dist, _sep, found = folder[: -len(".dist-info")].partition("-")
                if re.sub(r"[-_.]+", "_", dist).lower() == key:
                    return found
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return _("未安装")


def _qt_versions() -> str:
    """PySide6's version from its ``_config.py`` and Qt's from ``qVersion()`` of the QtCore library it
    ships, loaded with ctypes: importing PySide6 and QtCore costs ~150 ms, more than the rest of
    ``--version`` (issue 15). Anything unexpected (a frozen build, another layout) falls back to importing."""
    try:
        return _qt_versions_light()
    except Exception:  # noqa: BLE001 - the light path is an optimisation only
        pass
    try:
        import PySide6
        from PySide6 import QtCore
    except ImportError as exc:
        return _("不可用（{error}）").format(error=exc)
    return f"PySide6 {PySide6.__version__}, Qt {QtCore.qVersion()}"


_QT_CORE_LIBRARIES = ("Qt/lib/libQt6Core.so.6", "Qt6Core.dll", "Qt/lib/QtCore.framework/QtCore")


def _qt_versions_light() -> str:
    import ctypes
    from importlib.util import find_spec

    spec = find_spec("PySide6")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise LookupError("PySide6")
    folder = Path(next(iter(spec.submodule_search_locations)))
    match = re.search(r'^version = "([^"]+)"', (folder / "_config.py").read_text(encoding="utf-8"), re.M)
    library = next(folder / name for name in _QT_CORE_LIBRARIES if (folder / name).is_file())
    if match is None:
        raise LookupError("version")
    q_version = ctypes.CDLL(str(library)).qVersion  # extern "C" const char *qVersion()
    q_version.restype = ctypes.c_char_p
    return f"PySide6 {match.group(1)}, Qt {q_version().decode('ascii')}"


def schema_head(versions: Path | None = None) -> str:
    """The newest migration: the revision no other migration names as its ``down_revision``."""
    folder = versions or migrations_dir() / "versions"
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(folder.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for names, value in _revision_lines(source):
            values = [value] if isinstance(value, str) else list(value or ())
            (revisions if "revision" in names else parents).update(values)
    heads = sorted(revisions - parents)
    return ", ".join(heads) if heads else "?"


_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)


def _revision_lines(source: str) -> list[tuple[set[str], Any]]:
    """The module-level ``revision``/``down_revision`` assignments: one line each, read with a regular
    expression (parsing every migration costs ~30 ms of ``--version``); the whole module is parsed only
    when a value does not fit on its line."""
    found: list[tuple[set[str], Any]] = []
    for match in _REVISION_LINE.finditer(source):
        try:
            found.append(({match.group(1)}, ast.literal_eval(match.group(2))))
        except (ValueError, SyntaxError):
            return _revision_assignments(source)
    return found


def _revision_assignments(source: str) -> list[tuple[set[str], Any]]:
    found: list[tuple[set[str], Any]] = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = {t.id for t in targets if isinstance(t, ast.Name)} & {"revision", "down_revision"}
        if node.value is not None and names:
            found.append((names, ast.literal_eval(node.value)))
    return found


def database_revision(path: Path) -> str:
    """The revision recorded in an SQLite file, read without writing (or why there is none)."""
    if not path.exists():
        return _("尚未创建")
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error as exc:
        return _("无法读取（{error}）").format(error=exc)
    return row[0] if row else _("空")


def version_report() -> str:
    """One line per item, labels translated into the current language."""
    revision_label, folder_label, database_label = _("架构版本"), _("数据文件夹"), _("数据库")
    url = os.environ.get("ECMO_DATABASE_URL")
    if url and "://" in url:
        shown = re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", url)  # never print the password
        database = _("{url}（由 ECMO_DATABASE_URL 指定，未连接）").format(url=shown)
    else:
        path = Path(url).resolve() if url else default_database_path()
        database = f"{path} ({revision_label}: {database_revision(path)})"
    lines = [
        f"ECMO Ward {__version__}",
        f"Python {platform.python_version()} ({platform.python_implementation()}, {sys.executable})",
        f"Qt: {_qt_versions()}",
        f"SQLAlchemy {_dist_version('SQLAlchemy')}, Alembic {_dist_version('alembic')}",
        f"SQLite {sqlite3.sqlite_version}",
        f"{revision_label}: {schema_head()}",
        f"{folder_label}: {data_dir()}",
        f"{database_label}: {database}",
    ]
    return "\n".join(lines)
