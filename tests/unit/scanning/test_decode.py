"""The decode pipeline on single, controlled images: payload fidelity, odd inputs, still files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from ecmo_desktop.domain.codes import parse_code_json
from ecmo_desktop.scanning import decode
from ecmo_desktop.scanning.corpus import KINDS, blank_frames, render_sample
from ecmo_desktop.scanning.decode import (
    DecodedSymbol,
    ImageReadError,
    decode_file,
    decode_files_json,
    decode_frame,
    pyzbar_available,
)

GS1_HRI = "(01)06912345678902(10)LOT7A(17)281231(21)SN0042"
GS1_PLAIN = "0106912345678902" + "10LOT7A\x1d" + "17281231" + "21SN0042"
CLEAN = {
    "module_px": 4.0,
    "rotation": 0.0,
    "perspective": 0.0,
    "glare": 0.0,
    "blur": 0.0,
    "motion": 0,
    "noise": 1.0,
    "jpeg": 95,
}


def _on_paper(barcode: zxingcpp.Barcode, scale: int = 4) -> np.ndarray:
    """A symbol centred on a white 1280×720 BGR frame."""
    symbol = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=scale))
    frame = np.full((720, 1280), 255, np.uint8)
    y, x = (720 - symbol.shape[0]) // 2, (1280 - symbol.shape[1]) // 2
    frame[y : y + symbol.shape[0], x : x + symbol.shape[1]] = symbol
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize("budget", ["live", "thorough"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_clean_label_of_every_family_decodes_exactly(kind: str, budget: str) -> None:
    sample = render_sample(kind, np.random.default_rng(5), **CLEAN)
    symbols = decode_frame(sample.image, budget=budget)
    assert DecodedSymbol(sample.symbology, sample.expected) in symbols
    assert all(s.text == sample.expected for s in symbols)


@pytest.mark.parametrize(
    "fmt, name",
    [(zxingcpp.DataMatrix, "DataMatrix"), (zxingcpp.Code128, "Code128"), (zxingcpp.QRCode, "QRCode")],
)
def test_gs1_separator_arrives_as_ascii_29(fmt: zxingcpp.BarcodeFormat, name: str) -> None:
    """Plain text mode: FNC1 becomes GS, exactly what a wedge scanner types; no ``]d2`` prefix."""
    image = _on_paper(zxingcpp.create_barcode(GS1_HRI, fmt, gs1=True), scale=3)
    assert decode_frame(image) == [DecodedSymbol(name, GS1_PLAIN)]


def test_tilted_gs1_128_is_levelled_before_decoding() -> None:
    """At 9° a long Code 128 no longer fits one scan line; the pipeline levels the crop."""
    sample = render_sample(
        "GS1-128", np.random.default_rng(11), **(CLEAN | {"rotation": 9.0, "module_px": 2.6})
    )
    assert DecodedSymbol("Code128", sample.expected) in decode_frame(sample.image)


def test_binary_payload_comes_back_as_safe_text() -> None:
    """A DataMatrix holding non-UTF-8 bytes must not crash anything downstream (SQLite, JSON)."""
    image = _on_paper(zxingcpp.create_barcode(b"\xff\xfe\x80abc\xc4\x00z", zxingcpp.DataMatrix))
    (symbol,) = decode_frame(image)
    assert symbol.symbology == "DataMatrix"
    assert "abc" in symbol.text
    symbol.text.encode("utf-8")  # no lone surrogates
    status, fields = parse_code_json(symbol.text)
    assert status == 2 and fields["error"]["reason"]


def test_chinese_qr_text_is_kept() -> None:
    image = _on_paper(zxingcpp.create_barcode("氧合器 SN:A123", zxingcpp.QRCode))
    assert decode_frame(image) == [DecodedSymbol("QRCode", "氧合器 SN:A123")]


@pytest.mark.parametrize(
    "data, text",
    [("ECMO-序列号".encode(), "ECMO-序列号"), ("膜肺".encode("gb18030"), "膜肺"), (b"\xff\xfe", "\xff\xfe")],
)
def test_zbar_bytes_become_text(data: bytes, text: str) -> None:
    assert decode._bytes_to_text(data) == text


@pytest.mark.parametrize("budget", ["live", "thorough"])
def test_frames_without_a_code_return_nothing(budget: str) -> None:
    for frame in blank_frames():
        assert decode_frame(frame, budget=budget) == []


@pytest.mark.parametrize("shape", [(1, 1), (3, 5, 3), (20, 20), (16, 2000, 4)])
def test_tiny_and_odd_shaped_images_return_nothing(shape: tuple[int, ...]) -> None:
    assert decode_frame(np.full(shape, 200, np.uint8)) == []


def test_grey_bgra_and_float_frames_decode_like_bgr() -> None:
    sample = render_sample("HIBC DataMatrix", np.random.default_rng(3), **CLEAN)
    gray = cv2.cvtColor(sample.image, cv2.COLOR_BGR2GRAY)
    variants = [
        gray,
        gray[:, :, None],
        cv2.cvtColor(sample.image, cv2.COLOR_BGR2BGRA),
        sample.image.astype(np.float32) / 255.0,
    ]
    for image in variants:
        assert [s.text for s in decode_frame(image)] == [sample.expected]


@pytest.mark.parametrize(
    "bad", [np.zeros((0, 0), np.uint8), np.zeros(10, np.uint8), np.zeros((4, 4, 2), np.uint8)]
)
def test_non_images_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        decode_frame(bad)


def test_works_without_libzbar(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a PC without the zbar library the camera still reads every symbology through zxing."""
    monkeypatch.setattr(decode, "_pyzbar", None)
    assert not pyzbar_available()
    sample = render_sample("EAN-13", np.random.default_rng(2), **CLEAN)
    assert decode_frame(sample.image, budget="thorough") == [DecodedSymbol("EAN13", sample.expected)]


def test_pyzbar_is_found_on_this_machine() -> None:
    """The benchmarks and the fallback assume libzbar; a silent ImportError would hide it."""
    assert pyzbar_available()


def _read(symbology: str, text: str, box: tuple[float, float, float, float]) -> decode._Read:
    return decode._Read(DecodedSymbol(symbology, text), box)


def test_rival_ean_readings_of_one_symbol_are_settled_by_majority() -> None:
    found = decode._Collector()
    right, wrong = "6938969152147", "0940869152147"  # both carry a valid check digit
    assert not found.add(
        [_read("EAN13", wrong, (182, 148, 382, 172)), _read("EAN13", right, (177, 184, 383, 217))]
    )
    assert found.result() == []  # a tie withholds both
    assert found.add([_read("EAN13", right, (177, 194, 382, 207))])
    assert found.result() == [DecodedSymbol("EAN13", right)]


def test_separate_codes_are_not_rivals() -> None:
    found = decode._Collector()
    found.add(
        [
            _read("Code128", "+A123BJC5D6E71", (100, 100, 500, 140)),
            _read("Code128", "+$$3281231LOT1Z", (100, 160, 500, 200)),  # stacked just below
            _read("EAN13", "6938969152147", (600, 100, 800, 180)),
            _read("EAN13", "6901234567892", (900, 100, 1100, 180)),
        ]
    )  # side by side
    assert len(found.result()) == 4


# ---------------------------------------------------------------- still images


def _png(path: Path, image: np.ndarray) -> Path:
    ok, data = cv2.imencode(".png", image)
    assert ok
    path.write_bytes(data.tobytes())
    return path


def test_decode_file_reads_a_png_with_a_chinese_name(tmp_path: Path) -> None:
    path = _png(
        tmp_path / "氧合器 标签.png",
        _on_paper(zxingcpp.create_barcode(GS1_HRI, zxingcpp.DataMatrix, gs1=True)),
    )
    assert decode_file(path) == [DecodedSymbol("DataMatrix", GS1_PLAIN)]


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + bytes(200)])
def test_unreadable_file_gives_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "坏图.png"
    path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        decode_file(path)
    assert "无法读取图片文件" in str(info.value) and "坏图.png" in str(info.value)


def test_missing_file_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError):
        decode_file(tmp_path / "nothing.jpg")


def test_decode_files_json_lines(tmp_path: Path) -> None:
    gs1 = _png(
        tmp_path / "gs1.png", _on_paper(zxingcpp.create_barcode(GS1_HRI, zxingcpp.DataMatrix, gs1=True))
    )
    qr = _png(tmp_path / "qr.png", _on_paper(zxingcpp.create_barcode("SN:ABC;MODEL:X1", zxingcpp.QRCode)))
    empty = _png(tmp_path / "empty.png", np.full((100, 100, 3), 255, np.uint8))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")

    lines = list(decode_files_json([gs1, str(qr), empty, broken]))

    assert [line["file"] for line in lines] == [str(gs1), str(qr), str(empty), str(broken)]
    first = lines[0]
    assert set(first) == {"file", "codes"}
    assert first["codes"] == [
        {"symbology": "DataMatrix", "text": GS1_PLAIN, "parsed": parse_code_json(GS1_PLAIN)[1], "error": None}
    ]
    assert first["codes"][0]["parsed"]["gtin"] == "06912345678902"
    assert "\\u001d" in json.dumps(first)  # GS survives the JSON line as an escape

    (code,) = lines[1]["codes"]
    assert code["symbology"] == "QRCode" and code["parsed"] is None
    assert code["error"] == parse_code_json("SN:ABC;MODEL:X1")[1]["error"]

    assert lines[2] == {"file": str(empty), "codes": []}
    assert lines[3]["codes"] == [] and lines[3]["error"]["reason"] == "unreadable_image"
    for line in lines:
        json.loads(json.dumps(line, ensure_ascii=False))
