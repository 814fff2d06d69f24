"""Atomic writes: the target is the old file or the whole new one, never half; nothing is left beside it."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from ecmo_desktop.fileio import PRIVATE_FILE, atomic_write, atomic_write_bytes, atomic_write_text


def test_writes_a_new_file_in_a_new_folder_and_replaces_an_old_one(tmp_path: Path) -> None:
    target = tmp_path / "新建" / "目录.csv"
    assert atomic_write_bytes(target, b"first") == target
    assert target.read_bytes() == b"first"
    atomic_write_bytes(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert os.listdir(target.parent) == ["目录.csv"]


def test_the_target_is_untouched_when_writing_fails_midway(tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    target.write_bytes(b"the previous export")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_bytes(b"half of the new")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"the previous export"
    assert os.listdir(tmp_path) == ["export.csv"]  # the temporary file is gone too


def test_the_target_is_untouched_when_flushing_to_disk_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "settings.json"
    target.write_text("{}", encoding="utf-8")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        atomic_write_text(target, '{"language": "en"}')
    assert target.read_text(encoding="utf-8") == "{}"
    assert os.listdir(tmp_path) == ["settings.json"]


def test_writers_that_save_by_file_name_get_an_empty_file(tmp_path: Path) -> None:
    seen: list[bytes] = []
    atomic_write(tmp_path / "book.xlsx", lambda tmp: (seen.append(tmp.read_bytes()), tmp.write_bytes(b"PK")))
    assert seen == [b""] and (tmp_path / "book.xlsx").read_bytes() == b"PK"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_private_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "key.json", "{}", mode=PRIVATE_FILE)
        atomic_write_bytes(tmp_path / "doc.pdf", b"%PDF")
    finally:
        os.umask(old)
    assert (tmp_path / "key.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "doc.pdf").stat().st_mode & 0o777 == 0o644  # as open() would make it
