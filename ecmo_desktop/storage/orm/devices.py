"""Device catalogue, received items, their use on runs (R5–R8), recalls and capital equipment."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from ecmo_desktop.storage.orm.base import Base, Versioned


class ProductRow(Versioned, Base):
    __tablename__ = "device_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    manufacturer: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    udi_di: Mapped[str | None] = mapped_column(String(120), unique=True)  # HIBC / MA product id
    nmpa_number: Mapped[str] = mapped_column(String(80), default="")  # 注册证编号 (R5)
    single_use: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class ReceivingRow(Base):
    """入库: one delivery; its items reference it (R7: the source is traceable)."""

    __tablename__ = "device_receiving"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]
    received_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    delivery_note: Mapped[str] = mapped_column(String(100), default="")


class ItemRow(Base):
    """One physical device. ``item_key`` (scheme:DI:serial) is unique: one row per physical item."""

    __tablename__ = "device_item"
    __table_args__ = (Index("ix_device_item_lot", "lot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("device_product.id"), index=True)
    item_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    serial: Mapped[str | None] = mapped_column(String(60), index=True)
    lot: Mapped[str | None] = mapped_column(String(60))
    expiry: Mapped[date | None] = mapped_column(Date)
    production_date: Mapped[date | None] = mapped_column(Date)
    raw_code: Mapped[str] = mapped_column(Text)
    symbology: Mapped[str | None] = mapped_column(String(20))
    receiving_id: Mapped[int | None] = mapped_column(ForeignKey("device_receiving.id"), index=True)
    created_at: Mapped[datetime]


class UsageRow(Base):
    """An item bound to a run (and the procedure it was used at).

    The partial unique index is the R6 guard: a single-use item can have at most one binding that
    holds it — not voided, or voided although the item was used (``item_spent``: retired from the
    circuit or on a closed run; voiding corrects the record, it does not unuse the item) — whatever
    any application check believes: two ward PCs scanning the same serial at once cannot both win.
    """

    __tablename__ = "device_usage"
    __table_args__ = (
        Index(
            "uq_device_usage_single_use",
            "item_id",
            unique=True,
            sqlite_where=text("single_use = 1 AND (voided_at IS NULL OR item_spent = 1)"),
            postgresql_where=text("single_use AND (voided_at IS NULL OR item_spent)"),
        ),
        Index("ix_device_usage_run", "run_id"),
        Index("ix_device_usage_item", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("device_item.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("ecmo_run.id"))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedure.id"), index=True)
    single_use: Mapped[bool] = mapped_column(Boolean)
    bound_at: Mapped[datetime]
    bound_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    scanned_text: Mapped[str] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)  # R5 / expiry / recall overrides
    warnings: Mapped[str] = mapped_column(String(200), default="")
    removed_at: Mapped[datetime | None]  # retired at a circuit change (still used, not voided)
    removal_reason: Mapped[str | None] = mapped_column(Text)
    voided_at: Mapped[datetime | None]  # wrong scan: amended away with a reason, never deleted
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)
    # voided, but the item was used: it stays out of stock and in the R6 index (migration 0002)
    item_spent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RecallRow(Base):
    __tablename__ = "lot_recall"
    __table_args__ = (Index("ix_lot_recall_lot", "lot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("device_product.id"))
    lot: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Text)
    recalled_at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    lifted_at: Mapped[datetime | None]


class ProductRequestRow(Base):
    """A bedside request to add an unknown product to the catalogue (the administrator's worklist)."""

    __tablename__ = "device_product_request"
    __table_args__ = (Index("ix_device_product_request_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_identifier: Mapped[str] = mapped_column(String(120))
    raw_code: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int] = mapped_column(ForeignKey("ecmo_run.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resolved_at: Mapped[datetime | None]
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    product_id: Mapped[int | None] = mapped_column(ForeignKey("device_product.id"))


class EquipmentRow(Versioned, Base):
    """Capital equipment (consoles, heater-coolers): reusable, tracked by serial."""

    __tablename__ = "equipment"
    __table_args__ = (Index("uq_equipment_serial", "hospital_id", "serial", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    kind: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(100))
    manufacturer: Mapped[str] = mapped_column(String(200), default="")
    serial: Mapped[str] = mapped_column(String(60))
    purchase_date: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class RunEquipmentRow(Base):
    __tablename__ = "run_equipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ecmo_run.id"), index=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    from_at: Mapped[datetime]
    to_at: Mapped[datetime | None]
    linked_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
