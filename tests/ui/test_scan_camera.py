"""The camera view on a fake capture: webcam-like corpus frames bind once, no camera, still images.

``CameraSource(capture_factory=…)`` stands in for OpenCV: the fake "camera" keeps delivering two
noisy frames of one GS1 DataMatrix label (``scanning.corpus``), as a label held still in front of a
webcam does. Decoding, the confirmation filter and the binding are the real ones.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from ecmo_desktop.domain.codes import parse_code
from ecmo_desktop.domain.devices import ProductInput
from ecmo_desktop.scanning.corpus import corpus_frame
from ecmo_desktop.ui.camera_view import CameraView
from ecmo_desktop.ui.scan_bar import Level
from tests.kit.ui_devices import (
    log_in,
    make_ward,
    open_tab,
    oxy_label,
    receive,
    run_rows,
    wait_banner,
)
from tests.kit.ui_scan import scan_keys
from tests.ui.conftest import wait_tasks

SCENE = 3  # a GS1 DataMatrix scene of the corpus whose label expires after the tests' "today"


class FakeCapture:
    """What ``cv2.VideoCapture`` does for CameraSource: opened, frames forever, released once."""

    def __init__(self, frames: list[np.ndarray], *, opened: bool = True) -> None:
        self.frames = frames
        self.opened = opened
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, Any]:
        frame = self.frames[self.reads % len(self.frames)]
        self.reads += 1
        return True, frame

    def set(self, prop_id: int, value: float) -> bool:
        return True

    def release(self) -> None:
        self.released = True


@pytest.fixture(scope="module")
def scene() -> tuple[str, list[np.ndarray]]:
    samples = [corpus_frame(SCENE, "GS1 DataMatrix", n) for n in range(2)]
    return samples[0].expected, [s.image for s in samples]


def _catalogue_and_receive(seeded: Any, ward: Any, text: str) -> None:
    parsed = parse_code(text, today=date(2026, 3, 2))
    assert parsed.gtin and parsed.serial and parsed.expiry and parsed.expiry > date(2026, 3, 2)
    seeded.login("admin")
    ward.c.devices.add_product(
        ProductInput(
            category="oxygenator",
            name="HLS 氧合器",
            manufacturer="Maquet",
            gtin=parsed.gtin,
            nmpa_number="国械注进20163450999",
        )
    )
    seeded.login("chenjing")
    receive(ward, text)


def test_camera_binds_a_datamatrix_once_after_confirmation(
    qtbot: Any, ui: Any, seeded: Any, scene: tuple[str, list[np.ndarray]]
) -> None:
    text, frames = scene
    ward = make_ward(seeded)
    _catalogue_and_receive(seeded, ward, text)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    fake = FakeCapture(frames)
    tab.scan_bar.capture_factory = lambda index, backend: fake
    tab.scan_bar.camera_button.click()
    view = tab.scan_bar.camera_view
    assert isinstance(view, CameraView) and view.running
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert "摄像头：" in tab.scan_bar.banner.detail.text()
    seen = view.decoded_frames
    qtbot.waitUntil(lambda: view.decoded_frames >= seen + 8, timeout=20_000)  # the label stays in view
    wait_tasks(qtbot, ui.tasks)
    parsed = parse_code(text, today=date(2026, 3, 2))
    rows = run_rows(ui, ward.run1)
    assert [(r.lot, r.serial) for r in rows] == [
        (parsed.lot, parsed.serial)
    ]  # bound once, lot and serial apart
    assert view.overlay == [text] and view.shown_frames >= 1  # the code is drawn on the live picture
    assert view.preview.pixmap() is not None and not view.preview.pixmap().isNull()
    tab.scan_bar.camera_button.click()  # switched off: both workers stop and the device is released
    assert not view.running and fake.released
    reads = fake.reads
    qtbot.waitUntil(lambda: not view.isVisible())
    assert fake.reads == reads


def test_no_camera_says_so_and_the_scanner_still_works(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    code = oxy_label("SN51")
    receive(ward, code)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    tab.scan_bar.capture_factory = lambda index, backend: FakeCapture([], opened=False)
    tab.scan_bar.camera_button.click()
    view = tab.scan_bar.camera_view
    qtbot.waitUntil(lambda: bool(view.error), timeout=10_000)
    assert not view.running
    assert view.status.text() == (
        "无法打开摄像头 0：未连接、被其他程序占用或没有访问权限。"
        "仍可使用扫码枪扫码，或用“打开图片…”识别照片中的条码。"
    )
    scan_keys(tab.scan_bar.field, code)
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert [r.serial for r in run_rows(ui, ward.run1)] == ["SN51"]


def test_open_a_still_image_decodes_and_binds(
    qtbot: Any, ui: Any, seeded: Any, tmp_path: Path, scene: tuple[str, list[np.ndarray]]
) -> None:
    text, frames = scene
    ward = make_ward(seeded)
    _catalogue_and_receive(seeded, ward, text)
    photo = tmp_path / "标签照片.png"  # a Chinese file name, as a ward PC's photos folder has
    ok, data = cv2.imencode(".png", frames[0])
    assert ok
    photo.write_bytes(data.tobytes())
    empty = tmp_path / "空白.png"
    empty.write_bytes(cv2.imencode(".png", np.full((200, 300, 3), 128, np.uint8))[1].tobytes())
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    tab.scan_bar.open_image(str(empty))
    wait_banner(qtbot, ui, tab.scan_bar, Level.BLOCKED)
    assert tab.scan_bar.banner.message.text() == "图片中没有找到条码：空白.png"
    tab.scan_bar.open_image(str(photo))
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert "图片：" in tab.scan_bar.banner.detail.text()
    assert [r.serial for r in run_rows(ui, ward.run1)] == [parse_code(text, today=date(2026, 3, 2)).serial]


def test_the_camera_is_chosen_from_the_ones_found_and_kept_in_settings(
    qtbot: Any, settings_store: Any, scene: tuple[str, list[np.ndarray]]
) -> None:
    _text, frames = scene
    opened: list[int] = []

    def factory(index: int, backend: int) -> FakeCapture:
        opened.append(index)
        return FakeCapture(frames, opened=index == 1)  # only the second USB camera is plugged in

    view = CameraView(settings_store, capture_factory=factory)
    qtbot.addWidget(view)
    view.show()
    assert [view.camera_combo.itemText(i) for i in range(view.camera_combo.count())] == ["摄像头 0"]
    view.probe()
    qtbot.waitUntil(lambda: view.probe_button.isEnabled(), timeout=10_000)
    assert view.status.text() == "找到 1 个摄像头"
    assert [view.camera_combo.itemData(i) for i in range(view.camera_combo.count())] == [0, 1]
    assert view.camera_combo.itemText(1) == "摄像头 1（1280×720）"
    view.camera_combo.activated.emit(1)  # the person picks it
    assert settings_store.load().camera_index == 1
    view.start()
    qtbot.waitUntil(lambda: view.shown_frames >= 1, timeout=10_000)
    assert opened[-1] == 1 and view.status.text().startswith("摄像头 1 已打开")
    view.stop()
