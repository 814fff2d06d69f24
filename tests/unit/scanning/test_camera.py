"""Camera capture (against a stand-in for OpenCV) and the per-frame → binding confirmation rule."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from ecmo_desktop.scanning.camera import (
    CameraError,
    CameraInfo,
    CameraLost,
    CameraSource,
    ConfirmationFilter,
    list_cameras,
    trusted_on_one_frame,
)
from ecmo_desktop.scanning.corpus import hibc_check_char
from ecmo_desktop.scanning.decode import DecodedSymbol

GS1 = DecodedSymbol("DataMatrix", "0106912345678902" + "10LOT7A\x1d" + "17281231")
GS1_BAD_CHECK = DecodedSymbol("DataMatrix", "0106912345678903" + "10LOT7A\x1d" + "17281231")
HIBC_DATA = "+A123BJC5D6E71/$$3281231LOT1Z"
HIBC = DecodedSymbol("Code128", HIBC_DATA + hibc_check_char(HIBC_DATA))
EAN = DecodedSymbol("EAN13", "6901234567892")
EAN_MISREAD = DecodedSymbol("EAN13", "0940869152147")  # valid check digit, wrong number
PLAIN_QR = DecodedSymbol("QRCode", "SN:ABC;MODEL:X1")


# ---------------------------------------------------------------- capture


class FakeCapture:
    """Behaves like ``cv2.VideoCapture`` for one index: opened or not, frames or a failure."""

    def __init__(
        self, opened: bool = True, frames: int = 1_000, shape: tuple[int, int] = (720, 1280)
    ) -> None:
        self.opened = opened
        self.frames = frames
        self.shape = shape
        self.released = False
        self.props: dict[int, float] = {}

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, Any]:
        if self.frames <= 0:
            return False, None
        self.frames -= 1
        return True, np.zeros((*self.shape, 3), np.uint8)

    def set(self, prop_id: int, value: float) -> bool:
        self.props[prop_id] = value
        return True

    def release(self) -> None:
        self.released = True


def factory_for(devices: dict[int, FakeCapture]):
    calls: list[tuple[int, int]] = []

    def factory(index: int, backend: int) -> FakeCapture:
        calls.append((index, backend))
        return devices.get(index, FakeCapture(opened=False))

    factory.calls = calls  # type: ignore[attr-defined]
    return factory


def test_camera_delivers_frames_at_the_requested_size_and_releases() -> None:
    device = FakeCapture()
    with CameraSource(
        1, width=1280, height=720, backend=cv2.CAP_ANY, capture_factory=factory_for({1: device})
    ) as camera:
        assert camera.is_open
        assert camera.read().shape == (720, 1280, 3)
    assert device.released and not camera.is_open
    assert device.props[cv2.CAP_PROP_FRAME_WIDTH] == 1280
    assert device.props[cv2.CAP_PROP_FRAME_HEIGHT] == 720


def test_no_camera_gives_a_chinese_error_naming_the_index() -> None:
    camera = CameraSource(2, capture_factory=factory_for({}))
    with pytest.raises(CameraError) as info:
        camera.open()
    assert "摄像头 2" in str(info.value)
    assert not camera.is_open


def test_real_opencv_without_such_a_camera_raises_camera_error() -> None:
    """Index 57 exists on no ward PC: OpenCV must fail to open it, and we must say so clearly."""
    with pytest.raises(CameraError):
        CameraSource(57).open()


def test_unplugged_camera_raises_camera_lost_and_can_be_closed() -> None:
    device = FakeCapture(frames=2)
    camera = CameraSource(0, capture_factory=factory_for({0: device}))
    camera.read()  # opens on first read
    camera.read()
    with pytest.raises(CameraLost):
        camera.read()
    camera.close()
    camera.close()
    assert device.released


def test_list_cameras_keeps_only_devices_that_deliver_a_frame() -> None:
    devices = {0: FakeCapture(), 2: FakeCapture(shape=(480, 640)), 3: FakeCapture(frames=0)}
    factory = factory_for(devices)
    assert list_cameras(5, capture_factory=factory) == [CameraInfo(0, 1280, 720), CameraInfo(2, 640, 480)]
    assert [index for index, _ in factory.calls] == [0, 1, 2, 3, 4]
    assert all(device.released for device in devices.values())


def test_list_cameras_on_a_pc_without_any_is_empty() -> None:
    assert list_cameras(3, capture_factory=factory_for({})) == []


# ---------------------------------------------------------------- single-frame trust


@pytest.mark.parametrize(
    "symbol, trusted",
    [
        (GS1, True),
        (DecodedSymbol("Code128", GS1.text), True),
        (HIBC, True),
        (DecodedSymbol("DataMatrix", HIBC.text), True),
        (GS1_BAD_CHECK, False),
        (DecodedSymbol("Code128", HIBC_DATA + "Z"), False),  # wrong mod-43 character
        (EAN, False),  # its only check is the one the symbology already used
        (EAN_MISREAD, False),
        (DecodedSymbol("Code128", EAN.text), False),  # a bare GTIN-13 parses as EAN, not GS1
        (PLAIN_QR, False),
        (DecodedSymbol("QRCode", "ABC-12345"), False),  # a plain serial has no check at all
        (DecodedSymbol("DataMatrix", "\x00\xff"), False),
    ],
)
def test_which_reads_are_trusted_on_one_frame(symbol: DecodedSymbol, trusted: bool) -> None:
    assert trusted_on_one_frame(symbol) is trusted


# ---------------------------------------------------------------- confirmation filter


def run(confirm: ConfirmationFilter, frames: list[list[DecodedSymbol]]) -> list[tuple[int, str]]:
    """(frame number, text) of everything emitted."""
    return [(n, s.text) for n, frame in enumerate(frames) for s in confirm.feed(frame)]


def test_untrusted_code_needs_two_consecutive_frames() -> None:
    assert run(ConfirmationFilter(), [[EAN], [EAN]]) == [(1, EAN.text)]


def test_reads_in_non_consecutive_frames_do_not_confirm() -> None:
    assert run(ConfirmationFilter(), [[EAN], [], [EAN], [], [EAN]]) == []


def test_validated_gs1_and_hibc_bind_on_their_first_frame() -> None:
    assert run(ConfirmationFilter(), [[GS1, HIBC]]) == [(0, GS1.text), (0, HIBC.text)]


def test_a_one_frame_misread_is_never_emitted() -> None:
    frames = [[EAN_MISREAD], [EAN], [EAN], [EAN_MISREAD], [EAN]]
    assert run(ConfirmationFilter(), frames) == [(2, EAN.text)]


def test_code_held_in_front_of_the_camera_binds_once() -> None:
    assert run(ConfirmationFilter(), [[GS1]] * 200) == [(0, GS1.text)]


def test_code_binds_again_after_it_was_away_long_enough() -> None:
    frames = [[EAN]] * 3 + [[]] * 4 + [[EAN]] * 3
    assert run(ConfirmationFilter(release_after=4), frames) == [(1, EAN.text), (8, EAN.text)]


def test_a_short_dropout_does_not_rebind() -> None:
    """The decoder misses a few frames while the label is still there: no second binding."""
    frames = [[GS1]] * 3 + [[]] * 3 + [[GS1]] * 3 + [[]] * 3 + [[GS1]]
    assert run(ConfirmationFilter(release_after=4), frames) == [(0, GS1.text)]


def test_codes_are_tracked_independently_and_in_frame_order() -> None:
    frames = [[PLAIN_QR, GS1], [PLAIN_QR, EAN], [EAN, PLAIN_QR]]
    assert run(ConfirmationFilter(), frames) == [(0, GS1.text), (1, PLAIN_QR.text), (2, EAN.text)]


def test_duplicates_and_empty_texts_in_one_frame() -> None:
    same_text_other_reader = DecodedSymbol("Code128", GS1.text)
    emitted = ConfirmationFilter().feed([GS1, same_text_other_reader, DecodedSymbol("QRCode", "")])
    assert emitted == [GS1]


def test_reset_forgets_held_and_previous_codes() -> None:
    confirm = ConfirmationFilter()
    assert confirm.feed([GS1]) == [GS1]
    confirm.feed([EAN])
    confirm.reset()
    assert confirm.feed([EAN]) == []
    assert confirm.feed([GS1]) == [GS1]


def test_release_after_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ConfirmationFilter(release_after=0)
