"""The corpus generator itself: its labels must be true, or every rate measured on it is fiction."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp

from ecmo_desktop.domain.codes import parse_code
from ecmo_desktop.domain.errors import CodeError
from ecmo_desktop.scanning.corpus import KINDS, corpus_frame, make_payload

SCHEMES = {
    "GS1 DataMatrix": "gs1",
    "GS1-128": "gs1",
    "EAN-13": "ean13",
    "HIBC Code128": "hibc",
    "HIBC DataMatrix": "hibc",
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_payloads_round_trip_and_are_valid_codes(kind: str) -> None:
    rng = np.random.default_rng(99)
    for _ in range(25):
        barcode, expected = make_payload(kind, rng)
        image = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=2))
        read = zxingcpp.read_barcode(image, text_mode=zxingcpp.TextMode.Plain, is_pure=True)
        assert read is not None and read.text == expected
        if kind == "QR" and not expected.startswith("01"):
            with pytest.raises(CodeError):  # "SN:…;MODEL:…" is a label text, not a UDI
                parse_code(expected)
            continue
        parsed = parse_code(expected)
        assert parsed.scheme == SCHEMES.get(kind, "gs1") and parsed.is_validated


def test_same_seed_same_pixels_and_frames_differ_only_by_noise() -> None:
    first, again, second = (
        corpus_frame(3, "GS1-128"),
        corpus_frame(3, "GS1-128"),
        corpus_frame(3, "GS1-128", frame=1),
    )
    assert np.array_equal(first.image, again.image)
    assert first.expected == second.expected and first.params == second.params
    difference = np.abs(first.image.astype(int) - second.image.astype(int))
    assert 0 < difference.mean() < 12
    assert first.image.shape == (720, 1280, 3) and first.image.dtype == np.uint8
