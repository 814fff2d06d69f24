"""库存: items received and not yet bound, soonest expiry first; expired red, within 30 days amber.

The colours come from ``domain.devices.expiry_status`` as the service computed it (Beijing calendar
day; the expiry date itself is still usable), so the stock view, the receiving notes and the
bedside refusal of an expired item agree on the same day.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ecmo_desktop.domain.devices import ExpiryStatus, StockRow
from ecmo_desktop.domain.enums import DeviceCategory
from ecmo_desktop.i18n import N_, _, ngettext
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices.common import (
    EXPIRY_LABELS,
    DevicesTab,
    DeviceTableModel,
    category_text,
    date_text,
    expiry_colours,
    time_text,
)
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths


def days_text(row: StockRow) -> str:
    if row.days_left is None:
        return "—"
    if row.days_left < 0:
        return _("已过期 {n} 天").format(n=-row.days_left)
    return ngettext("{n} 天", "{n} 天", row.days_left).format(n=row.days_left)


class StockTab(DevicesTab):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ui, parent)
        self.setObjectName("stock_tab")
        self.devices = ui.services.devices
        self.loads = 0
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        filters.addWidget(QLabel(_("有效期：")))
        self.status_combo = QComboBox()
        self.status_combo.setObjectName("status_filter")
        self.status_combo.addItem(_("全部"), None)
        for status in (ExpiryStatus.EXPIRED, ExpiryStatus.EXPIRING, ExpiryStatus.OK, ExpiryStatus.UNKNOWN):
            self.status_combo.addItem(_(EXPIRY_LABELS[status]), status.value)
        filters.addWidget(self.status_combo)
        filters.addWidget(QLabel(_("类别：")))
        self.category_combo = QComboBox()
        self.category_combo.setObjectName("category_filter")
        self.category_combo.addItem(_("全部"), None)
        for value, label in DeviceCategory.choices():
            self.category_combo.addItem(label, value)
        filters.addWidget(self.category_combo)
        refresh = QPushButton(_("刷新"))
        refresh.setAutoDefault(False)
        refresh.clicked.connect(lambda _checked=False: self.reload())
        filters.addWidget(refresh)
        filters.addStretch(1)
        self.summary = QLabel()
        self.summary.setObjectName("stock_summary")
        filters.addWidget(self.summary)
        layout.addLayout(filters)
        for combo in (self.status_combo, self.category_combo):
            combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.model: DeviceTableModel[StockRow] = DeviceTableModel(
            [
                (N_("产品"), lambda r: r.product.name),
                (N_("类别"), lambda r: category_text(r.product.category)),
                (N_("批号"), lambda r: r.item.lot or "—"),
                (N_("序列号"), lambda r: r.item.serial or _("（无序列号）")),
                (N_("有效期"), lambda r: date_text(r.item.expiry)),
                (N_("剩余"), days_text),
                (N_("状态"), lambda r: _(EXPIRY_LABELS[r.expiry_status])),
                (N_("供应商"), lambda r: r.supplier),
                (N_("入库时间"), lambda r: time_text(r.received_at)),
            ],
            background=lambda r: expiry_colours(r.expiry_status)[0],
            foreground=lambda r: expiry_colours(r.expiry_status)[1],
            parent=self,
        )
        self.table = make_table(self.model, stretch_column=0)
        self.table.setObjectName("stock_table")
        set_column_widths(self.table, [26, 10, 14, 16, 11, 11, 10, 22, 16])
        layout.addWidget(self.table, 1)
        legend = QLabel(_("红色：已过期，不得使用；黄色：30 天内过期，请优先使用或退换"))
        legend.setStyleSheet("color: #607d8b;")
        layout.addWidget(legend)

    def reload(self) -> None:
        devices = self.devices
        status, category = self.status_combo.currentData(), self.category_combo.currentData()
        statuses = (status,) if status else ()
        self.ui.tasks.run_op(
            lambda: devices.stock(category=category, statuses=statuses), self._loaded, parent=self
        )

    def _loaded(self, rows: list[StockRow]) -> None:
        self.loads += 1
        self.model.set_rows(rows)
        expired = sum(1 for r in rows if r.expiry_status is ExpiryStatus.EXPIRED)
        expiring = sum(1 for r in rows if r.expiry_status is ExpiryStatus.EXPIRING)
        self.summary.setText(
            _("共 {n} 件；已过期 {e} 件，30 天内过期 {s} 件").format(n=len(rows), e=expired, s=expiring)
        )
