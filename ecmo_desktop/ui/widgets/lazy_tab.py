"""A tab that reads its data when first shown and again whenever a broadcast says its data changed.

The sub-tabs of a page cost nothing until the person opens them; once shown, a tab stays current
with what this and the other ward PCs save (``TaskRunner.changed``) without being reopened.
Subclasses implement ``reload`` and say in ``wants_reload`` which broadcasts concern them.
"""

from __future__ import annotations

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QWidget

from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext


class LazyTab(QWidget):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self._loaded_once = False
        ui.tasks.changed.connect(self._changed)

    def reload(self) -> None:
        """Read the tab's data again (on the task runner)."""
        raise TypeError(f"{type(self).__name__} must define reload()")  # every concrete tab does

    def wants_reload(self, changes: frozenset[Change]) -> bool:
        """Whether a broadcast of these changes changed what the tab shows."""
        return False

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._loaded_once:
            self._loaded_once = True
            self.reload()

    def _changed(self, changes: frozenset[Change]) -> None:
        if self._loaded_once and self.wants_reload(changes):
            self.reload()
