"""The composition root's refusals, the one error path, the excepthooks, and settings."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import threading

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from ecmo_desktop import app as app_module
from ecmo_desktop.domain.errors import RuleViolation, StorageError, ValidationError
from ecmo_desktop.log import install_excepthooks, setup_logging, uninstall_excepthooks
from ecmo_desktop.settings import SCHEMA_VERSION, Settings, SettingsStore, config_dir
from ecmo_desktop.ui.dialogs.login import LoginDialog
from ecmo_desktop.ui.errors import ERROR_BOX_NAME, ExceptionReporter, error_text, show_error


# ---- app.main: a database that cannot be opened ------------------------------------------------
@pytest.fixture
def shown_boxes(monkeypatch) -> list[tuple[str, str]]:
    """QMessageBox.exec replaced: record (title, text) instead of blocking the test."""
    boxes: list[tuple[str, str]] = []

    def fake_exec(box: QMessageBox) -> int:
        boxes.append((box.windowTitle(), box.text()))
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    return boxes


@pytest.fixture
def restore_app(qapp):
    yield qapp
    uninstall_excepthooks()
    qapp.setQuitOnLastWindowClosed(True)


def test_damaged_database_is_named_in_chinese_and_left_untouched(tmp_path, shown_boxes, restore_app) -> None:
    path = tmp_path / "病区数据" / "ecmo.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"this is not a database" * 100)
    before = path.read_bytes()
    code = app_module.main(["ecmo-ward", "--db", str(path)])
    assert code == app_module.EXIT_DATABASE
    ((title, text),) = shown_boxes
    assert title == "无法打开数据库"
    assert str(path) in text and "不是 ECMO Ward 数据库文件" in text
    assert "程序没有改动这个文件" in text
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["ecmo.sqlite3"]  # no -wal/-shm created


def test_newer_schema_is_refused_with_upgrade_advice(
    tmp_path, sqlite_template, shown_boxes, restore_app
) -> None:
    path = tmp_path / "newer.sqlite3"
    shutil.copyfile(sqlite_template, path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed2099'")
    before = path.read_bytes()
    assert app_module.main(["ecmo-ward", "--db", f"sqlite:///{path}"]) == app_module.EXIT_DATABASE
    ((_title, text),) = shown_boxes
    assert "更新版本的 ECMO Ward" in text and str(path) in text
    assert path.read_bytes() == before


def test_unreachable_postgresql_is_named_without_the_password(shown_boxes, restore_app) -> None:
    url = "postgresql+psycopg://ward:Secret2026pw@127.0.0.1:1/ecmo"
    assert (
        app_module.main(["--db", url]) == app_module.EXIT_DATABASE
    )  # as __main__ passes it: no program name
    ((_title, text),) = shown_boxes
    assert "PostgreSQL：127.0.0.1:1/ecmo" in text
    assert "Secret2026pw" not in text


def test_main_starts_at_the_login_and_exits_cleanly(qtbot, seeded_db_for_main, restore_app) -> None:
    seen: list[str] = []

    def close_login() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, LoginDialog) and widget.isVisible():
                seen.append(widget.windowTitle())
                widget.reject()  # 退出 → the session ends the application
                timer.stop()

    timer = QTimer()
    timer.timeout.connect(close_login)
    timer.start(20)
    code = app_module.main(["ecmo-ward", "--db", seeded_db_for_main, "--lang", "zh_CN"])
    assert code == 0
    assert seen == ["ECMO Ward 登录"]
    if "WenQuanYi Micro Hei" in app_module.QFontDatabase.families():  # Debian ward PCs: fonts-wqy-microhei
        assert QApplication.font().families()[0] == "WenQuanYi Micro Hei"


@pytest.fixture
def seeded_db_for_main(seeded, tmp_path) -> str:
    seeded.container.close()
    return seeded.container.url


def test_program_name_is_optional() -> None:
    assert app_module.split_program(["ecmo-ward", "--db", "x"]) == ("ecmo-ward", ["--db", "x"])
    assert app_module.split_program(["--lang", "en"]) == ("ecmo-ward", ["--lang", "en"])
    assert app_module.split_program([]) == ("ecmo-ward", [])


def test_describe_database() -> None:
    assert app_module.describe_database("sqlite:////data/ecmo.sqlite3") == "SQLite：/data/ecmo.sqlite3"
    assert (
        app_module.describe_database("postgresql+psycopg://u:pw@db.ward:5432/ecmo")
        == "PostgreSQL：db.ward:5432/ecmo"
    )


# ---- the error path ------------------------------------------------------------------------------
def _boxes() -> list[QMessageBox]:
    return [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QMessageBox) and w.objectName() == ERROR_BOX_NAME and w.isVisible()
    ]


def test_known_errors_show_their_own_words_and_rule_id() -> None:
    assert (
        error_text(
            RuleViolation("R13", "{name} 临床工作 {years} 年，专家组成员须 8 年以上", name="王芳", years=5)
        )
        == "[R13] 王芳 临床工作 5 年，专家组成员须 8 年以上"
    )
    assert error_text(
        StorageError("磁盘空间已满，数据未保存。之前已保存的数据不受影响，请释放空间后重试")
    ).startswith("磁盘空间已满")
    assert error_text(ValidationError("必填", field="体重")) == "体重：必填"
    assert "意外错误" in error_text(KeyError("x"))


def test_known_error_box_has_no_traceback_unknown_one_folds_it_away(qtbot) -> None:
    box = show_error(None, StorageError("数据库正被其他程序占用，请稍后重试"))
    assert box is not None
    qtbot.addWidget(box)
    assert box.text() == "数据库正被其他程序占用，请稍后重试" and box.detailedText() == ""
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError as exc:
        unknown = show_error(None, exc)
    assert unknown is not None
    qtbot.addWidget(unknown)
    assert "程序出现意外错误" in unknown.text()
    assert "ZeroDivisionError: boom" in unknown.detailedText()
    assert "Traceback" in unknown.detailedText()


def test_worker_thread_exception_is_logged_and_shown_on_the_gui_thread(qtbot, tmp_path) -> None:
    log_path = setup_logging(tmp_path / "logs", console=False)
    reporter = ExceptionReporter()
    install_excepthooks(reporter)
    try:

        def crash() -> None:
            raise RuntimeError("worker exploded")

        thread = threading.Thread(target=crash, name="scanner-reader")
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: len(_boxes()) == 1)
        box = _boxes()[0]
        assert "程序出现意外错误" in box.text() and "worker exploded" in box.detailedText()
        box.close()
    finally:
        uninstall_excepthooks()
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_path.read_text(encoding="utf-8")
    assert "uncaught exception in thread scanner-reader" in text and "RuntimeError: worker exploded" in text


def test_setup_logging_twice_does_not_duplicate_handlers(tmp_path) -> None:
    setup_logging(tmp_path, console=True)
    setup_logging(tmp_path, console=True)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_ecmo", False)]
    assert len(ours) == 2  # one file, one console


# ---- settings --------------------------------------------------------------------------------------
def test_settings_default_roundtrip_and_env_override(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ECMO_CONFIG_DIR", str(tmp_path / "cfg"))
    assert config_dir() == tmp_path / "cfg"
    store = SettingsStore()
    assert store.load() == Settings()
    assert store.load().language == "zh_CN"
    saved = store.update(
        language="en", camera_index=2, last_username="zhangwei", scanner_gs_substitutes=("<GS>", "~")
    )
    assert SettingsStore().load() == saved
    raw = json.loads((tmp_path / "cfg" / "settings.json").read_text(encoding="utf-8"))
    assert raw["schema_version"] == SCHEMA_VERSION and raw["scanner_gs_substitutes"] == ["<GS>", "~"]


def test_settings_bad_values_fall_back_one_field_at_a_time(tmp_path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "schema_version": 1,
                "language": "fr",
                "camera_index": "two",
                "last_username": "lina",
                "scanner_gs_substitutes": [1, 2],
            }
        ),
        encoding="utf-8",
    )
    settings = SettingsStore(path).load()
    assert (settings.language, settings.camera_index, settings.last_username) == ("zh_CN", 0, "lina")
    assert settings.scanner_gs_substitutes == Settings().scanner_gs_substitutes


def test_damaged_settings_file_is_set_aside(tmp_path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b"\xff\xfe{not json")
    assert SettingsStore(path).load() == Settings()
    assert (tmp_path / "settings.json.damaged").exists()


def test_keys_of_a_newer_version_survive_a_save(tmp_path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 7, "language": "en", "printer": "HP-3F"}), encoding="utf-8")
    store = SettingsStore(path)
    assert store.load().language == "en"
    store.update(last_username="sunli")
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["printer"] == "HP-3F" and raw["schema_version"] == 7 and raw["last_username"] == "sunli"


def test_settings_never_hold_clinical_fields() -> None:
    from dataclasses import fields

    assert {f.name for f in fields(Settings)} == {
        "language",
        "camera_index",
        "window_geometry",
        "last_username",
        "scanner_gs_substitutes",
        "scanner_burst_gap_ms",
    }


def _log_text(path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


def test_an_error_box_that_points_to_the_log_has_written_the_traceback_there_once(qtbot, tmp_path) -> None:
    """Issue 9.7: "详细信息已写入日志" was not true for errors nobody had logged (a print thread's)."""
    from ecmo_desktop.ui.tasks import TaskRunner

    log_path = setup_logging(tmp_path / "logs", console=False)

    def failing_driver() -> None:
        raise OSError(5, "printer driver I/O error")

    try:
        failing_driver()
    except OSError as caught:
        exc = caught
    box = show_error(None, exc)
    assert box is not None
    qtbot.addWidget(box)
    assert "详细信息已写入日志" in box.text()
    text = _log_text(log_path)
    assert "Traceback" in text and "failing_driver" in text and "printer driver I/O error" in text

    # an operation's failure is logged by the worker; the box then does not log it a second time
    boxes: list[QMessageBox | None] = []
    runner = TaskRunner(
        default_error=lambda parent, error, details: boxes.append(show_error(parent, error, details))
    )
    try:
        runner.run_op(lambda: 1 / 0)
        qtbot.waitUntil(lambda: runner.pending == 0 and len(boxes) == 1)
    finally:
        runner.shutdown()
    assert boxes[0] is not None and "详细信息已写入日志" in boxes[0].text()
    qtbot.addWidget(boxes[0])
    assert _log_text(log_path).count("ZeroDivisionError: division by zero") == 1
