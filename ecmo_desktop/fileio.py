"""Atomic file writes, one way for every layer (PDFs, exports, settings, backup files and keys).

A file a ward saves is either the old one or the whole new one, never half of each: the bytes go to a
temporary file beside the target (same folder, so the rename stays on one file system), are flushed to
disk, and only then renamed over the target. Should writing fail at any point, the target is untouched
and the temporary file is removed. No Qt and no SQLAlchemy here: ui, services, storage, exchange and
the CLI all import it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

__all__ = ["PRIVATE_FILE", "atomic_write", "atomic_write_bytes", "atomic_write_text"]

PRIVATE_FILE = 0o600  # readable by this user only: patient data, settings, keys


def atomic_write(path: Path, write: Callable[[Path], object], *, mode: int = 0o666) -> Path:
    """Have ``write`` fill a temporary file beside ``path``, make it durable, then rename it over ``path``.

    ``write`` gets the temporary file's path (already created, empty) so libraries that save by file
    name (zip, openpyxl) can write it. ``mode`` is the new file's permission bits before the umask, as
    for ``open()``; ``PRIVATE_FILE`` keeps it to this user. Returns ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(path, mode)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:  # "+": Windows refuses to flush a file opened read-only
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o666) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), mode=mode)


def atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8", mode: int = 0o666) -> Path:
    """Text mode, as ``open(path, "w")``: on Windows ``\\n`` is written as ``\\r\\n``."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding), mode=mode)


def _create_temp(path: Path, mode: int) -> Path:
    """A new, empty file named ``.<name>.<random>.part`` beside ``path`` (never an existing one)."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode))
        except FileExistsError:
            continue
        return tmp


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable where the system allows it (POSIX; Windows cannot open folders)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
