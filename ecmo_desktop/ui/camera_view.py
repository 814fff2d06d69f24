"""The camera view: live preview, decoding off the GUI thread, and "open image…" for still photos.

Two worker threads, so neither the preview nor the GUI waits for the decoder:

* ``CaptureThread`` reads frames from ``scanning.CameraSource`` (the index chosen in settings),
  publishes a scaled ``QImage`` for the preview — only one waiting at a time, always the newest, so
  a busy GUI drops frames instead of queueing them — and hands the raw frame to the decoder slot;
* ``DecodeThread`` takes the newest frame from that slot (older ones are dropped while it works),
  runs ``scanning.LiveDecoder`` (the live plan over successive frames) and ``ConfirmationFilter`` and
  emits a code only
  once it is confirmed, which the scan bar feeds into the same binding path as the wedge scanner.

Without a camera (none connected, busy, no permission) the view says so and everything else keeps
working: the wedge scanner and "打开图片…" do not need it. The threads stop when the view is hidden,
closed or the application quits; a thread object is kept alive until it has really finished, so Qt
never destroys a running thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRect, Qt, QThread, Signal
from PySide6.QtGui import QColor, QFont, QHideEvent, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import _, ngettext
from ecmo_desktop.scanning import (
    CameraError,
    CameraInfo,
    CameraSource,
    ConfirmationFilter,
    DecodedSymbol,
    LiveDecoder,
    decode_file,
    list_cameras,
)
from ecmo_desktop.settings import SettingsStore
from ecmo_desktop.ui.scan_text import readable_text, shown_text
from ecmo_desktop.ui.tasks import run_cpu

log = logging.getLogger(__name__)

FRAME_INTERVAL_MS = 33.0  # ~30 fps at most; a real camera's read() paces itself as well
PREVIEW_WIDTH = 640
_THREADS: set[QThread] = set()  # running workers, held until finished (never destroyed while running)


def _keep(thread: QThread) -> None:
    _THREADS.add(thread)
    thread.finished.connect(lambda t=thread: _THREADS.discard(t))


def to_qimage(frame: np.ndarray, max_width: int = PREVIEW_WIDTH) -> QImage:
    """A BGR (or grey, or BGRA) frame as a detached QImage no wider than ``max_width``."""
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    if frame.ndim == 2:
        image = QImage(frame.data, width, height, width, QImage.Format.Format_Grayscale8)
    elif frame.shape[2] == 4:
        image = QImage(frame.data, width, height, 4 * width, QImage.Format.Format_ARGB32)
    else:
        image = QImage(frame.data, width, height, 3 * width, QImage.Format.Format_BGR888)
    if width > max_width:
        return image.scaledToWidth(max_width, Qt.TransformationMode.FastTransformation)
    return image.copy()  # the numpy buffer goes away with the next frame


class FrameSlot:
    """The newest frame for the decoder; a frame not taken yet is replaced (dropped) by a newer one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self.closed = False

    def put(self, frame: np.ndarray) -> None:
        with self._cond:
            self._frame = frame
            self._cond.notify()

    def take(self, timeout: float) -> np.ndarray | None:
        with self._cond:
            if self._frame is None and not self.closed:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            return frame

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class CaptureThread(QThread):
    """Reads the camera; publishes the newest preview image and feeds the decoder slot."""

    frame_ready = Signal()  # a preview image is waiting in take_preview()
    opened = Signal()
    failed = Signal(str)  # translated: no camera, or it stopped delivering

    def __init__(
        self,
        source: CameraSource,
        slot: FrameSlot,
        *,
        frame_interval_ms: float = FRAME_INTERVAL_MS,
        preview_width: int = PREVIEW_WIDTH,
    ) -> None:
        super().__init__()
        self.setObjectName("ecmo-camera-capture")
        self._source = source
        self._slot = slot
        self._interval = frame_interval_ms / 1000.0
        self._preview_width = preview_width
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._preview: QImage | None = None
        self._preview_waiting = False
        self.frames = 0

    def run(self) -> None:
        try:
            self._source.open()
        except CameraError as exc:
            self.failed.emit(exc.user_message())
            self._slot.close()
            return
        self.opened.emit()
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    frame = self._source.read()
                except CameraError as exc:
                    if not self._stop.is_set():
                        self.failed.emit(exc.user_message())
                    return
                self.frames += 1
                self._slot.put(frame)
                image = to_qimage(frame, self._preview_width)
                with self._lock:
                    self._preview = image
                    notify = not self._preview_waiting
                    self._preview_waiting = True
                if notify:  # one signal in flight at most: a busy GUI drops frames, never queues them
                    self.frame_ready.emit()
                rest = self._interval - (time.monotonic() - started)
                if rest > 0:
                    self._stop.wait(rest)
        finally:
            self._source.close()
            self._slot.close()

    def take_preview(self) -> QImage | None:
        with self._lock:
            image, self._preview = self._preview, None
            self._preview_waiting = False
            return image

    def stop(self) -> None:
        self._stop.set()


class DecodeThread(QThread):
    """Decodes the newest frame, confirms reads across frames, emits codes to bind."""

    decoded = Signal(list)  # texts read in the frame just decoded (the preview overlay)
    scanned = Signal(str)  # a confirmed code

    def __init__(
        self,
        slot: FrameSlot,
        confirm: ConfirmationFilter,
        decode: Callable[[np.ndarray], list[DecodedSymbol]] | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("ecmo-camera-decode")
        self._slot = slot
        self._confirm = confirm
        # the live plan spread over successive frames: no frame pays for every retry (LiveDecoder)
        self._decode = decode or LiveDecoder().decode
        self._stop = threading.Event()
        self.decoded_frames = 0

    def run(self) -> None:
        while not self._stop.is_set():
            frame = self._slot.take(0.1)
            if frame is None:
                if self._slot.closed:
                    return
                continue
            try:
                symbols = self._decode(frame)
            except ValueError as exc:  # a frame of a shape the decoder cannot read: skip it
                log.warning("camera frame not decodable: %s", exc)
                continue
            self.decoded_frames += 1
            self.decoded.emit([s.text for s in symbols])
            for symbol in self._confirm.feed(symbols):
                if not self._stop.is_set():
                    self.scanned.emit(symbol.text)

    def stop(self) -> None:
        self._stop.set()
        self._slot.close()


class ImageScan(QObject):
    """ "打开图片…": choose a photo or screenshot of a label, decode it thoroughly off the GUI thread."""

    scanned = Signal(str)
    failed = Signal(str)  # translated
    finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._parent = parent
        self.busy = False
        self.chooser: QInputDialog | None = None

    def choose(self) -> QFileDialog:
        dialog = QFileDialog(self._parent, _("打开条码图片"))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter(_("图片 (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.decode)
        dialog.open()
        return dialog

    def decode(self, path: str) -> None:
        if self.busy or not path:
            return
        self.busy = True
        run_cpu(
            lambda _op: decode_file(path),
            lambda symbols: self._decoded(path, symbols),
            self._error,
            parent=self,
        )

    def _decoded(self, path: str, symbols: list[DecodedSymbol]) -> None:
        self.busy = False
        texts = list(dict.fromkeys(s.text for s in symbols if s.text))
        if not texts:
            self.failed.emit(_("图片中没有找到条码：{file}").format(file=Path(path).name))
        elif len(texts) == 1:
            self.scanned.emit(texts[0])
        else:
            self._choose_among(texts)
        self.finished.emit()

    def _choose_among(self, texts: list[str]) -> None:
        """Several codes on one photo: the person picks the one meant (never all at once)."""
        dialog = QInputDialog(self._parent)
        dialog.setWindowTitle(_("图片中有多个条码"))
        dialog.setLabelText(_("请选择要使用的条码："))
        shown = [shown_text(t) for t in texts]
        dialog.setComboBoxItems(shown)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.textValueSelected.connect(lambda value: self.scanned.emit(texts[shown.index(value)]))
        self.chooser = dialog
        dialog.open()

    def _error(self, exc: BaseException) -> None:
        self.busy = False
        message = (
            exc.user_message()
            if isinstance(exc, EcmoError)
            else _("无法识别图片：{error}").format(error=str(exc)[:200])
        )
        self.failed.emit(message)
        self.finished.emit()


class CameraView(QWidget):
    """Live preview with the detected code drawn on it; ``scanned(text)`` for each confirmed code."""

    scanned = Signal(str)
    image_scanned = Signal(str)
    closed = Signal()  # the person switched the camera off here

    def __init__(
        self,
        settings: SettingsStore,
        *,
        capture_factory: Any = None,
        frame_interval_ms: float = FRAME_INTERVAL_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("camera_view")
        self.settings = settings
        self.capture_factory = capture_factory
        self.frame_interval_ms = frame_interval_ms
        self.capture: CaptureThread | None = None
        self.decoder: DecodeThread | None = None
        self.overlay: list[str] = []
        self.decoded_frames = 0
        self.shown_frames = 0
        self.error = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel(_("摄像头：")))
        self.camera_combo = QComboBox()
        self.camera_combo.setObjectName("camera_combo")
        self.camera_combo.activated.connect(self._camera_chosen)
        row.addWidget(self.camera_combo)
        self.probe_button = QPushButton(_("检测摄像头"))
        self.probe_button.setObjectName("probe_button")
        self.probe_button.setAutoDefault(False)
        self.probe_button.clicked.connect(lambda _checked=False: self.probe())
        row.addWidget(self.probe_button)
        self.image_button = QPushButton(_("打开图片…"))
        self.image_button.setObjectName("camera_image_button")
        self.image_button.setAutoDefault(False)
        self.image_button.clicked.connect(lambda _checked=False: self.images.choose())
        row.addWidget(self.image_button)
        row.addStretch(1)
        close = QPushButton(_("关闭摄像头"))
        close.setAutoDefault(False)
        close.clicked.connect(lambda _checked=False: self._close_clicked())
        row.addWidget(close)
        layout.addLayout(row)
        self.preview = QLabel()
        self.preview.setObjectName("camera_preview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(480, 270)
        self.preview.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.preview.setFixedHeight(360)
        self.preview.setStyleSheet("background: #263238; color: #eceff1; border-radius: 4px;")
        self.preview.setWordWrap(True)
        layout.addWidget(self.preview)
        self.status = QLabel()
        self.status.setObjectName("camera_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.images: ImageScan = ImageScan(self)
        self.images.scanned.connect(self.image_scanned.emit)
        self.images.failed.connect(self.status.setText)
        self._fill_combo([])
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    # ---- cameras ----------------------------------------------------------------------------------
    def _fill_combo(self, found: list[CameraInfo]) -> None:
        chosen = self.settings.load().camera_index
        self.camera_combo.clear()
        indexes = {c.index: c for c in found}
        if chosen not in indexes:
            self.camera_combo.addItem(_("摄像头 {index}").format(index=chosen), chosen)
        for info in found:
            self.camera_combo.addItem(
                _("摄像头 {index}（{width}×{height}）").format(
                    index=info.index, width=info.width, height=info.height
                ),
                info.index,
            )
        self.camera_combo.setCurrentIndex(max(0, self.camera_combo.findData(chosen)))

    def probe(self) -> None:
        """Look for cameras (slow: each index is opened) off the GUI thread, then offer them."""
        running = self.running
        self.stop()  # the camera in use cannot be opened twice
        self.probe_button.setEnabled(False)
        self.status.setText(_("正在检测摄像头…"))
        factory = self.capture_factory

        def work() -> list[CameraInfo]:
            return list_cameras(capture_factory=factory) if factory is not None else list_cameras()

        def done(found: list[CameraInfo]) -> None:
            self.probe_button.setEnabled(True)
            self._fill_combo(found)
            self.status.setText(
                ngettext("找到 {n} 个摄像头", "找到 {n} 个摄像头", len(found)).format(n=len(found))
                if found
                else _("没有找到摄像头。仍可使用扫码枪扫码，或用“打开图片…”识别照片中的条码。")
            )
            if running and found:
                self.start()

        def failed(exc: BaseException) -> None:
            self.probe_button.setEnabled(True)
            self.status.setText(_("检测摄像头失败：{error}").format(error=str(exc)[:200]))

        run_cpu(lambda _op: work(), done, failed, parent=self)

    def _camera_chosen(self, row: int) -> None:
        index = self.camera_combo.itemData(row)
        if not isinstance(index, int) or index == self.settings.load().camera_index:
            return
        self.settings.update(camera_index=index)
        if self.running:
            self.stop()
            self.start()

    # ---- running ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.capture is not None

    def start(self) -> None:
        if self.capture is not None:
            return
        index = self.settings.load().camera_index
        source = (
            CameraSource(index)
            if self.capture_factory is None
            else CameraSource(index, capture_factory=self.capture_factory)
        )
        slot = FrameSlot()
        capture = CaptureThread(source, slot, frame_interval_ms=self.frame_interval_ms)
        decoder = DecodeThread(slot, ConfirmationFilter())
        capture.frame_ready.connect(self._frame_ready)
        capture.opened.connect(lambda i=index: self._opened(i))
        capture.failed.connect(self._failed)
        decoder.decoded.connect(self._decoded)
        decoder.scanned.connect(self._scanned)
        self.capture, self.decoder = capture, decoder
        self.error = ""
        self.overlay = []
        self.status.setText(_("正在打开摄像头 {index}…").format(index=index))
        self.preview.setText(_("正在打开摄像头…"))
        for thread in (capture, decoder):
            _keep(thread)
            thread.start()

    def stop(self) -> None:
        """Stop and join both workers; safe to call twice (hide, close, quit)."""
        capture, decoder = self.capture, self.decoder
        self.capture = self.decoder = None
        for thread in (capture, decoder):
            if thread is not None:
                thread.stop()
        for thread in (capture, decoder):
            if thread is not None:
                thread.wait()

    def _opened(self, index: int) -> None:
        self.status.setText(
            _("摄像头 {index} 已打开：把条码放在画面中央，识别后自动提交").format(index=index)
        )

    def _failed(self, message: str) -> None:
        self.stop()
        self.error = message
        text = _("{error}。仍可使用扫码枪扫码，或用“打开图片…”识别照片中的条码。").format(
            error=message.rstrip("。")
        )
        self.preview.clear()
        self.preview.setText(text)
        self.status.setText(text)

    def _frame_ready(self) -> None:
        capture = self.capture
        image = capture.take_preview() if capture is not None else None
        if image is None:
            return
        self.shown_frames += 1
        if self.overlay:
            self._draw_overlay(image)
        pixmap = QPixmap.fromImage(image)
        self.preview.setPixmap(
            pixmap.scaled(
                self.preview.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def _draw_overlay(self, image: QImage) -> None:
        """The code being read, printed across the bottom of the picture."""
        painter = QPainter(image)
        try:
            font = QFont(painter.font())
            font.setPixelSize(max(14, image.height() // 22))
            font.setBold(True)
            painter.setFont(font)
            line = painter.fontMetrics().height() + 6
            box = QRect(
                0, image.height() - line * len(self.overlay) - 6, image.width(), line * len(self.overlay) + 6
            )
            painter.fillRect(box, QColor(0, 0, 0, 170))
            painter.setPen(QColor("#a5d6a7"))
            for n, text in enumerate(self.overlay):
                painter.drawText(
                    QRect(8, box.y() + 3 + n * line, image.width() - 16, line),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                    _("识别到：{code}").format(code=readable_text(text)),
                )
        finally:
            painter.end()

    def _decoded(self, texts: list[str]) -> None:
        self.decoded_frames += 1
        self.overlay = texts

    def _scanned(self, text: str) -> None:
        if self.capture is not None:  # a code decoded after stop() is not acted on
            self.scanned.emit(text)

    def _close_clicked(self) -> None:
        self.stop()
        self.closed.emit()

    def hideEvent(self, event: QHideEvent) -> None:
        self.stop()
        super().hideEvent(event)
