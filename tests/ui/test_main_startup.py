"""Issue 15 at the GUI's start: the full integrity check runs in the background after the login window is
up and a damaged file is reported clearly; the benchmark's start-up probe logs in through the login window."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from ecmo_desktop import app as app_module
from ecmo_desktop.log import uninstall_excepthooks
from ecmo_desktop.storage.engine import sqlite_path
from ecmo_desktop.ui.dialogs.login import LoginDialog
from tests.conftest import PASSWORD


@pytest.fixture
def shown_boxes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    boxes: list[tuple[str, str]] = []

    def fake_exec(box: QMessageBox) -> int:
        boxes.append((box.windowTitle(), box.text()))
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    return boxes


@pytest.fixture
def restore_app(qapp):  # type: ignore[no-untyped-def]
    yield qapp
    uninstall_excepthooks()
    qapp.setQuitOnLastWindowClosed(True)


def _sqlite_seeded(seeded, backend: str) -> Path:  # type: ignore[no-untyped-def]
    if backend != "sqlite":
        pytest.skip("the file check is SQLite's")
    seeded.container.close()
    path = sqlite_path(seeded.container.url)
    assert path is not None
    return path


def _zero_table_page(path: Path, table: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(bytes(page_size))


def _close_login_when(condition, seen: list[str]) -> QTimer:  # type: ignore[no-untyped-def]
    timer = QTimer()
    ticks = [0]

    def tick() -> None:
        ticks[0] += 1
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, LoginDialog) and widget.isVisible() and (condition() or ticks[0] > 1500):
                seen.append(widget.windowTitle())
                timer.stop()
                widget.reject()

    timer.timeout.connect(tick)
    timer.start(20)
    return timer


def test_a_damaged_table_is_reported_after_the_login_window_is_up(
    seeded, backend, shown_boxes, restore_app
) -> None:  # type: ignore[no-untyped-def]
    path = _sqlite_seeded(seeded, backend)
    _zero_table_page(path, "complication")  # the start reads no such row: only the full check sees it
    seen: list[str] = []
    timer = _close_login_when(lambda: bool(shown_boxes), seen)
    code = app_module.main(["ecmo-ward", "--db", str(path), "--lang", "zh_CN"])
    timer.stop()
    assert code == 0 and seen == ["ECMO Ward 登录"]  # the start was not refused: the login window came up
    ((title, text),) = shown_boxes
    assert title == "数据库文件损坏"
    assert str(path) in text and "已损坏" in text and "从备份恢复" in text


def test_a_sound_database_starts_without_a_box(seeded, backend, shown_boxes, restore_app) -> None:  # type: ignore[no-untyped-def]
    path = _sqlite_seeded(seeded, backend)
    seen: list[str] = []
    finished: list[bool] = []
    real = app_module.watch_integrity_check

    def watch(check, url):  # type: ignore[no-untyped-def]
        timer = real(check, url)
        timer.timeout.connect(lambda: finished.append(check.done))
        return timer

    app_module.watch_integrity_check, saved = watch, real
    try:
        timer = _close_login_when(lambda: any(finished), seen)
        assert app_module.main(["ecmo-ward", "--db", str(path), "--lang", "zh_CN"]) == 0
        timer.stop()
    finally:
        app_module.watch_integrity_check = saved
    assert any(finished) and shown_boxes == []


def test_the_startup_probe_logs_in_through_the_login_window(
    seeded, backend, tmp_path, monkeypatch, restore_app
) -> None:  # type: ignore[no-untyped-def]
    seeded.container.close()
    probe = tmp_path / "probe.txt"
    monkeypatch.setenv(app_module.STARTUP_PROBE_ENV, str(probe))
    monkeypatch.setenv(app_module.STARTUP_PROBE_LOGIN_ENV, f"chenjing\t{PASSWORD}")
    assert app_module.main(["ecmo-ward", "--db", seeded.container.url, "--lang", "zh_CN"]) == 0
    marks = [line.split()[0] for line in probe.read_text(encoding="utf-8").splitlines()]
    assert marks == ["login_painted", "main_painted"]


_FIRST_PAINT_PROBE = r"""
import sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
from ecmo_desktop import app as app_module
from ecmo_desktop.ui.dialogs.login import LoginDialog

app = QApplication(["ecmo-ward", "-platform", "offscreen"])
seen = []

class Probe(QObject):
    def eventFilter(self, watched, event):
        if isinstance(watched, LoginDialog) and event.type() == QEvent.Type.Paint and not seen:
            seen.append(sorted(m for m in ("sqlalchemy", "ecmo_desktop.container") if m in sys.modules))
            seen.append(watched.hospital.text())
            QTimer.singleShot(3000, watched.reject)
        return False

probe = Probe()
app.installEventFilter(probe)
code = app_module.main(["ecmo-ward", "--db", sys.argv[1], "--lang", "zh_CN"])
print(code, seen, sorted(m for m in ("sqlalchemy", "ecmo_desktop.container") if m in sys.modules))
"""


def test_the_login_window_is_painted_before_the_database_layer_loads(seeded, backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 15: SQLAlchemy and the table mapping load behind the login window, not before it."""
    import os
    import subprocess
    import sys

    path = _sqlite_seeded(seeded, backend)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ECMO_DATA_DIR": str(tmp_path)}
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = str(root)
    run = subprocess.run(
        [sys.executable, "-c", _FIRST_PAINT_PROBE, str(path)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert (
        run.stdout.strip().splitlines()[-1]
        == "0 [[], '正在打开数据库…'] ['ecmo_desktop.container', 'sqlalchemy']"
    )


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////data/ecmo ward/ecmo.sqlite3",
        "sqlite:///relative.sqlite3",
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql+psycopg://ward:Secret99@db.example:5433/ecmo",
        "postgresql://db.example/ecmo",
        "postgresql+psycopg://ward@/ecmo",
        "postgresql+psycopg://ward:p%40ss@[::1]:5432/ecmo?sslmode=require",
    ],
)
def test_the_database_label_is_what_sqlalchemy_would_say(url: str) -> None:
    """Parsed without SQLAlchemy (not loaded yet when the login window shows it), the same text."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        expected = (
            f"SQLite：{u.database}" if u.database and u.database != ":memory:" else "SQLite：内存数据库"
        )
    else:
        expected = f"PostgreSQL：{u.host or 'localhost'}{f':{u.port}' if u.port else ''}/{u.database or ''}"
    label = app_module.describe_database(url)
    assert label.replace("[::1]", "::1") == expected and "Secret99" not in label


@pytest.mark.parametrize("given", [None, "ward.sqlite3", "sqlite:///x/y.sqlite3", "postgresql://h/db"])
def test_the_database_url_is_resolved_as_the_container_does(
    given: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecmo_desktop.container import resolve_database_url

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ECMO_DATABASE_URL", raising=False)
    assert app_module.database_url(given) == resolve_database_url(given)
    monkeypatch.setenv("ECMO_DATABASE_URL", "env.sqlite3")
    assert app_module.database_url(given) == resolve_database_url(given)
