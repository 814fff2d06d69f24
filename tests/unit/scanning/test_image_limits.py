"""Issue 10 §6: decode-image refuses a pixel bomb and a FIFO with a message, quickly and in bounded memory."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from ecmo_desktop.cli import main as cli_main
from ecmo_desktop.scanning.decode import MAX_IMAGE_PIXELS, ImageReadError, ImageTooLarge, load_image


def _png_header_bomb(path: Path, width: int, height: int) -> None:
    """A valid PNG of black rows declaring ``width``×``height`` (a few hundred KB on disk)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    comp = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    data = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", data)
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [8000, 30000])  # 64 MP (under Pillow's own guard) and 900 MP
def test_a_pixel_bomb_is_refused_from_its_header(tmp_path: Path, side: int) -> None:
    path = tmp_path / "bomb.png"
    _png_header_bomb(path, side, side)
    assert path.stat().st_size < 2_000_000 and side * side > MAX_IMAGE_PIXELS
    with pytest.raises(ImageTooLarge) as info:
        load_image(path)
    assert str(MAX_IMAGE_PIXELS // 1_000_000) in info.value.user_message()


def test_a_fifo_and_a_folder_are_refused_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "camera.png"
    os.mkfifo(fifo)
    good = tmp_path / "ok.png"
    cv2.imwrite(str(good), np.full((40, 40, 3), 255, np.uint8))
    assert load_image(good).shape == (40, 40, 3)
    with pytest.raises(ImageReadError):
        load_image(tmp_path)
    bomb = tmp_path / "bomb.png"
    _png_header_bomb(bomb, 30000, 30000)
    assert cli_main(["decode-image", str(fifo), str(bomb), str(good), "--json"]) == 1
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [e.get("error", {}).get("reason") for e in lines] == ["unreadable_image", "image_too_large", None]
    assert "不是普通文件" in lines[0]["error"]["message"]
