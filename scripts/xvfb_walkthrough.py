"""Print through the real window on a 1366×768 virtual screen, with pictures of each step.

    Xvfb :92 -screen 0 1366x768x24 -fbdir /tmp/fb &
    ECMO_DATA_DIR=/tmp/walk .venv/bin/python -m ecmo_desktop demo --cases 4
    ECMO_DATA_DIR=/tmp/walk DISPLAY=:92 QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/xvfb_walkthrough.py /tmp/fb/Xvfb_screen0 OUT_DIR [--printer ECMO-PDF]

Runs the real app (``app.main``) and drives it with Qt key presses and clicks: log in (demo doctor
zhangwei), 病例 → first case (Enter), 文书 → 生成并保存 the operation note → 打印… → choose the printer
in Qt's print dialog → 打印; then opens the largest record dialogs. Pictures are read from the Xvfb
framebuffer (``-fbdir``; grabbing the window shows Qt dialogs black) and saved as PNG. Exits 0 when the
document was sent to the printer (CUPS-PDF then writes it to ~/PDF). There is no window manager, so
focus is given with ``xdotool windowfocus`` when it is installed.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtPrintSupport import QPrintDialog
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox, QDialogButtonBox, QLineEdit, QTableView, QTabWidget

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("framebuffer", type=Path, help="the Xvfb -fbdir file (…/Xvfb_screen0)")
parser.add_argument("out", type=Path, help="folder for the PNG pictures")
parser.add_argument("--printer", default="ECMO-PDF")
parser.add_argument("--user", default="zhangwei")
parser.add_argument("--password", default="Ward2026demo")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

app = QApplication(["ecmo-ward"])
log: list[str] = []


def shot(name: str) -> None:
    """The screen as Xvfb holds it (XWD: a big-endian header, a colour map, then 32-bit pixels)."""
    QApplication.processEvents()
    data = args.framebuffer.read_bytes()
    h = struct.unpack(">25I", data[:100])
    width, height, bytes_per_line = h[4], h[5], h[12]
    start = h[0] + h[19] * 12
    image = QImage(
        data[start : start + bytes_per_line * height],
        width,
        height,
        bytes_per_line,
        QImage.Format.Format_RGB32,
    )
    image.copy().save(str(args.out / f"{name}.png"))
    log.append(f"picture {name}.png")


def visible(cls: type) -> Any:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, cls) and w.isVisible()), None)


def later(ms: int, fn: Callable[[], None]) -> None:
    QTimer.singleShot(ms, fn)


def wait_for(find: Callable[[], Any], then: Callable[[Any], None], tries: int = 600) -> None:
    found = find()
    if found:
        then(found)
    elif tries:
        later(100, lambda: wait_for(find, then, tries - 1))
    else:
        log.append(f"gave up waiting before {then.__name__}")
        finish(1)


def finish(code: int) -> None:
    print("\n".join(log), flush=True)
    app.exit(code)


def focus(widget: Any) -> None:
    if shutil.which("xdotool"):
        subprocess.run(["xdotool", "windowfocus", str(int(widget.winId()))], check=False)


def log_in(dialog: Any) -> None:
    focus(dialog)
    edits = [e for e in dialog.findChildren(QLineEdit) if e.isVisible()]
    user, password = edits[0], edits[-1]
    user.setFocus()
    user.selectAll()
    QTest.keyClicks(user, args.user)
    password.setFocus()
    QTest.keyClicks(password, args.password)
    shot("01-login")
    QTest.keyClick(password, Qt.Key.Key_Return)
    from ecmo_desktop.ui.main_window import MainWindow

    wait_for(lambda: visible(MainWindow), main_window)


def main_window(window: Any) -> None:
    log.append(f"main window {window.geometry().getRect()}")
    focus(window)
    later(2500, lambda: cases(window))


def cases(window: Any) -> None:
    shot("02-worklist")
    item, _page = window._pages["cases"]
    QTest.mouseClick(
        window.nav.viewport(), Qt.MouseButton.LeftButton, pos=window.nav.visualItemRect(item).center()
    )
    later(2000, lambda: open_case(window))


def open_case(window: Any) -> None:
    shot("03-cases")
    table = next(
        t for t in window.page("cases").findChildren(QTableView) if t.isVisible() and t.model().rowCount()
    )
    QTest.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(table.model().index(0, 1)).center()
    )
    QTest.keyClick(table, Qt.Key.Key_Return)
    from ecmo_desktop.ui.case_view import CaseView

    wait_for(lambda: visible(CaseView), documents)


def documents(view: Any) -> None:
    log.append(f"case window {view.geometry().getRect()}")
    focus(view)

    def go() -> None:
        shot("04-case")
        tabs = view.findChild(QTabWidget)
        index = [tabs.tabText(i) for i in range(tabs.count())].index("文书")
        QTest.mouseClick(tabs.tabBar(), Qt.MouseButton.LeftButton, pos=tabs.tabBar().tabRect(index).center())
        tab = tabs.widget(index)
        tab.kind.setCurrentIndex(tab.kind.findData("opnote"))
        tab.generated.connect(lambda printed: later(1500, lambda: print_it(view, tab, printed)))
        QTest.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton)

    later(2500, go)


def print_it(view: Any, tab: Any, printed: Any) -> None:
    log.append(f"generated {printed.document.document_number} {printed.document.title}")
    shot("05-documents")
    tab.printed.connect(
        lambda pages: (
            log.append(f"sent {pages} pages: {tab.notice.text()}"),
            later(1000, lambda: (shot("07-printed"), dialogs(view))),
        )
    )
    later(300, answer_print_dialog)
    QTest.mouseClick(tab.print_button, Qt.MouseButton.LeftButton)  # returns when the print dialog closes


def answer_print_dialog() -> None:
    dialog = visible(QPrintDialog)
    if dialog is None:
        later(100, answer_print_dialog)
        return
    focus(dialog)
    printers = dialog.findChild(QComboBox, "printers")
    printers.setCurrentIndex(printers.findText(args.printer))
    log.append(f"print dialog {dialog.windowTitle()!r}: printer {printers.currentText()}")
    shot("06-print-dialog")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    QTest.mouseClick(ok, Qt.MouseButton.LeftButton)


def dialogs(view: Any) -> None:
    from ecmo_desktop.ui.records import case_records
    from ecmo_desktop.ui.records.cannulation_tab import ProcedureDialog
    from ecmo_desktop.ui.records.daily_tab import DailyEntryDialog
    from ecmo_desktop.ui.records.decision_tab import DecisionDialog

    case = case_records(view)
    todo = [
        ("08-daily-dialog", lambda: DailyEntryDialog(case, view)),
        ("09-procedure-dialog", lambda: ProcedureDialog(case, "cannulation", view)),
        ("10-decision-dialog", lambda: DecisionDialog(case, "start", view)),
    ]

    def next_one() -> None:
        if not todo:
            finish(0)
            return
        name, make = todo.pop(0)
        dialog = make()
        dialog.open()
        focus(dialog)

        def picture() -> None:
            ok = dialog.ok_button
            log.append(
                f"{name}: {dialog.geometry().getRect()}, 保存 at "
                f"{ok.mapToGlobal(ok.rect().topLeft()).toTuple()}"
            )
            shot(name)
            dialog.done(0)
            later(300, next_one)

        later(1200, picture)

    next_one()


def start() -> None:
    from ecmo_desktop.ui.dialogs.login import LoginDialog

    wait_for(lambda: visible(LoginDialog), log_in)


later(500, start)
later(240_000, lambda: (log.append("timed out"), finish(2)))

from ecmo_desktop import app as app_module  # noqa: E402 - after the QApplication this script drives

sys.exit(app_module.main(["ecmo-ward"]))
