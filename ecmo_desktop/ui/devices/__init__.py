"""Device traceability in the GUI (R5–R8): the 器械 page and the case view's 器械 tab.

``DevicesPage`` is registered on the main window (目录 · 入库 · 库存 · 召回/追溯 · 设备);
``RunDevicesTab`` is the bedside scan tab of one run. Both go through ``DeviceService`` /
``EquipmentService`` on the task runner and read the scan through ``ui.scan_bar.ScanBar``.
"""

from ecmo_desktop.ui.devices.page import DEVICES_PAGE_ROLES, DevicesPage
from ecmo_desktop.ui.devices.run_devices_tab import RUN_DEVICES_TAB_TITLE, RunDevicesTab

__all__ = ["DEVICES_PAGE_ROLES", "RUN_DEVICES_TAB_TITLE", "DevicesPage", "RunDevicesTab"]
