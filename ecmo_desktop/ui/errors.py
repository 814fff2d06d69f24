"""The one error path of the UI (DESIGN habit 9).

Known failures (``EcmoError``: validation, a rule of the regulation, permission, storage) are shown
with their own translated words and never a traceback; anything unexpected becomes a short
generic message with the technical details folded away. That message says the details are in the
log, so ``show_error`` writes them there itself (once: paths that logged already marked the error).
"""

from __future__ import annotations

import logging
import traceback

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from ecmo_desktop.domain.errors import (
    AccountLocked,
    AuthenticationFailed,
    ConcurrencyConflict,
    EcmoError,
    PermissionDenied,
    RuleViolation,
    StorageError,
    ValidationError,
)
from ecmo_desktop.i18n import _
from ecmo_desktop.log import log_exception

log = logging.getLogger(__name__)

MAX_OPEN_BOXES = 3  # an error storm must not bury the ward PC in message boxes
ERROR_BOX_NAME = "ecmo_error_box"
# Boxes without a parent are owned by Python: hold them until closed, or they vanish unseen.
_unparented: set[QMessageBox] = set()


def error_title(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return _("输入有误")
    if isinstance(exc, RuleViolation):
        return _("不符合规范要求")
    if isinstance(exc, (AuthenticationFailed, AccountLocked)):
        return _("登录失败")
    if isinstance(exc, PermissionDenied):
        return _("权限不足")
    if isinstance(exc, ConcurrencyConflict):
        return _("记录已被修改")
    if isinstance(exc, StorageError):
        return _("数据库错误")
    if isinstance(exc, EcmoError):
        return _("操作未完成")
    return _("意外错误")


def error_text(exc: BaseException) -> str:
    """What a person reads: the error's own message, or a generic one for the unexpected."""
    if isinstance(exc, EcmoError):
        return exc.user_message()
    if isinstance(exc, MemoryError):
        return _("内存不足，当前操作未完成。请关闭其他程序后重试。")
    if isinstance(exc, PermissionError):
        return _("没有访问文件的权限，当前操作未完成：{name}").format(name=exc.filename or "")
    if isinstance(exc, OSError) and exc.errno == 28:  # ENOSPC
        return _("磁盘空间已满，当前操作未完成。请释放空间后重试。")
    return _("程序出现意外错误，当前操作未完成。已保存的数据不受影响；详细信息已写入日志，请联系管理员。")


def details_of(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _open_boxes() -> int:
    return sum(
        1 for w in QApplication.topLevelWidgets() if w.objectName() == ERROR_BOX_NAME and w.isVisible()
    )


def show_error(parent: QWidget | None, exc: BaseException, details: str = "") -> QMessageBox | None:
    """A non-blocking message box; unexpected errors get a folded "details" section and are logged."""
    known = isinstance(exc, EcmoError)
    if not known:
        log_exception(exc, "unexpected error shown to the user", details=details)
    if _open_boxes() >= MAX_OPEN_BOXES:
        log.warning("too many error boxes open; not showing: %r", exc)
        return None
    box = QMessageBox(
        QMessageBox.Icon.Warning if known else QMessageBox.Icon.Critical,
        error_title(exc),
        error_text(exc),
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setObjectName(ERROR_BOX_NAME)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if not known:
        box.setDetailedText(details or details_of(exc))
    box.setWindowModality(Qt.WindowModality.ApplicationModal)
    if parent is None:
        _unparented.add(box)
        box.finished.connect(lambda _r, b=box: _unparented.discard(b))
    box.open()
    return box


def show_error_from_task(parent: QWidget | None, exc: BaseException, details: str) -> None:
    """Adapter for ``TaskRunner``'s default error path."""
    show_error(parent, exc, details)


class ExceptionReporter(QObject):
    """Receives uncaught exceptions from any thread and shows them on the GUI thread.

    ``sys.excepthook``/``threading.excepthook`` call the instance; the signal is queued when the
    call comes from a worker thread, so the message box is always built on the GUI thread.
    """

    _report = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._report.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def __call__(self, exc: BaseException) -> None:
        self._report.emit(exc, details_of(exc))

    def _show(self, exc: BaseException, details: str) -> None:
        show_error(QApplication.activeWindow(), exc, details)
