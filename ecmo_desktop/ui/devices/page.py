"""The main window's 器械 page: 目录 · 入库 · 库存 · 召回/追溯 · 设备 (R5–R8).

Each sub-tab loads when first shown and refreshes on the ``devices`` broadcast, so a binding at a
bedside PC window, a delivery scanned in, or a recall marked shows everywhere without reopening.
Tabs whose actions the user's roles lack are still readable (trace is everyone's); only the
receiving tab is left out for roles that cannot receive.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices.catalogue_tab import CatalogueTab
from ecmo_desktop.ui.devices.equipment_tab import EquipmentTab
from ecmo_desktop.ui.devices.receiving_tab import ReceivingTab
from ecmo_desktop.ui.devices.stock_tab import StockTab
from ecmo_desktop.ui.devices.trace_tab import TraceTab

DEVICES_PAGE_ROLES = frozenset({"nurse", "perfusionist", "doctor", "admin"})
TAB_TITLES = {
    "catalogue": N_("目录"),
    "receiving": N_("入库"),
    "stock": N_("库存"),
    "trace": N_("召回/追溯"),
    "equipment": N_("设备"),
}


class DevicesPage(QWidget):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.setObjectName("devices_page")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        layout.addWidget(self.tabs)
        self.catalogue = CatalogueTab(ui)
        self.receiving = ReceivingTab(ui) if ui.can(Action.RECEIVE_DEVICE) else None
        self.stock = StockTab(ui)
        self.trace = TraceTab(ui)
        self.equipment = EquipmentTab(ui)
        self.tabs.addTab(self.catalogue, tab_title("catalogue"))
        if self.receiving is not None:
            self.tabs.addTab(self.receiving, tab_title("receiving"))
        self.tabs.addTab(self.stock, tab_title("stock"))
        self.tabs.addTab(self.trace, tab_title("trace"))
        self.tabs.addTab(self.equipment, tab_title("equipment"))

    def show_tab(self, key: str) -> QWidget | None:
        widget = getattr(self, key, None)
        if isinstance(widget, QWidget) and self.tabs.indexOf(widget) >= 0:
            self.tabs.setCurrentWidget(widget)
            return widget
        return None


def tab_title(key: str) -> str:
    """The translated title of a sub-tab (looked up by key, so the keys are not taken for msgids)."""
    title = TAB_TITLES[key]
    return _(title)
