"""The 器械 tab inside the real shell: its place in the case view, and scans at a locked PC (ACC-5).

The lock is the shell's own (``SessionController.lock``): its idle monitor swallows every key outside
the lock screen, so a wedge scanner "typing" at a locked PC reaches no scan field, and the camera
path is refused while the lock screen is the modal window. After unlocking, the same keys bind.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from ecmo_desktop.ui.devices import RunDevicesTab
from ecmo_desktop.ui.main_window import NAV_DEVICES
from ecmo_desktop.ui.scan_bar import Level, ScanSource
from tests.kit.ui import sign_in
from tests.kit.ui_devices import make_ward, oxy_label, receive, run_rows, wait_banner
from tests.kit.ui_scan import scan_keys
from tests.ui.conftest import PASSWORD, wait_tasks


def test_scans_at_a_locked_pc_go_nowhere_and_bind_after_unlock(
    qtbot: Any, ui: Any, seeded: Any, session_factory: Any
) -> None:
    ward = make_ward(seeded)
    code = oxy_label("SN41")
    receive(ward, code)
    seeded.container.ctx.user = None
    session = session_factory(ui)
    sign_in(qtbot, session, "chenjing")
    window = session.main_window
    assert NAV_DEVICES in window.page_keys()
    view = window.open_case(ward.run1)
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert titles[titles.index("随访") + 1] == "器械"  # after the record's own tabs, before documents/history
    tab = view.findChild(RunDevicesTab)
    assert tab is not None
    view.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.loads >= 1, timeout=10_000)
    tab.scan_bar.sound = lambda level: None
    bar = tab.scan_bar

    screen = session.lock()
    assert screen is not None and session.is_locked
    at = scan_keys(bar.field, code)
    assert bar.field.text() == "" and bar.banner.level is None  # not a key reached the field
    assert not bar.submit_external(code, ScanSource.CAMERA)  # the camera path is shut as well
    wait_tasks(qtbot, ui.tasks)
    assert run_rows(ui, ward.run1) == []

    screen.password.setText(PASSWORD)
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not session.is_locked, timeout=10_000)
    scan_keys(bar.field, code, start=at + 5_000)  # positive control: the same scan now binds
    wait_banner(qtbot, ui, bar, Level.OK)
    assert [r.serial for r in run_rows(ui, ward.run1)] == ["SN41"]
