"""Issue 10 §6: bad database URLs and locations get a message that says what is wrong — an
unsupported scheme names the supported ones, a read-only medium is not called "damaged", a typo
in a folder is not silently created, and a FIFO is not opened."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ecmo_desktop.cli import main as cli_main


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli_main([*argv, "--json"]) == 1
    return str(json.loads(capsys.readouterr().out)["error"]["message"])


@pytest.mark.parametrize(
    "url", ["mysql://u:secret@host/db", "postgresql+asyncpg://u@host/db", "oracle://h/db"]
)
def test_unsupported_database_urls_name_the_supported_schemes(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    message = _error(capsys, "verify", "--db", url, "--user", "admin")
    assert "sqlite" in message and "postgresql" in message
    assert "secret" not in message


def test_init_db_does_not_create_missing_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "typo" / "sub" / "ward.sqlite3"
    message = _error(capsys, "init-db", "--db", str(target))
    assert str(tmp_path / "typo" / "sub") in message
    assert not (tmp_path / "typo").exists()


def test_a_fifo_is_not_opened_as_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "ward.sqlite3"
    os.mkfifo(fifo)
    assert "不是普通文件" in _error(capsys, "verify", "--db", str(fifo), "--user", "admin")


@pytest.fixture
def read_only_mount(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A tmpfs remounted read-only: the only read-only medium root cannot write through (REL-8)."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mnt)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("needs root with the right to mount a tmpfs (a chmod does not stop root)")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def test_a_database_on_a_read_only_medium_is_not_called_damaged(
    read_only_mount: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = read_only_mount / "ward.sqlite3"
    admin = read_only_mount.parent / "admin.json"
    admin.write_text(
        json.dumps({"username": "admin", "full_name": "管理员", "password": "First-Pass-2026"}),
        encoding="utf-8",
    )
    assert (
        cli_main(
            [
                "init-db",
                "--db",
                str(db),
                "--hospital",
                "测试医院",
                "--city",
                "呼和浩特",
                "--admin-from",
                str(admin),
                "--json",
            ]
        )
        == 0
    )
    capsys.readouterr()
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    monkeypatch.setenv("ECMO_PASSWORD", "First-Pass-2026")
    message = _error(capsys, "users", "list", "--db", str(db), "--user", "admin")  # a login writes
    assert "只读" in message and "损坏" in message and "请从备份恢复" not in message
