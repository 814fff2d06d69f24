"""Device rows → domain values (kept apart from ``mapping.py`` so device work does not touch it)."""

from __future__ import annotations

from ecmo_desktop.domain.devices import (
    Equipment,
    EquipmentLink,
    EquipmentUse,
    Item,
    ItemUse,
    Product,
    ProductRequest,
    Recall,
    ReceivedItemRow,
    Receiving,
    Usage,
)
from ecmo_desktop.storage.orm.devices import (
    EquipmentRow,
    ItemRow,
    ProductRequestRow,
    ProductRow,
    RecallRow,
    ReceivingRow,
    RunEquipmentRow,
    UsageRow,
)


def split_warnings(text: str | None) -> tuple[str, ...]:
    """``device_usage.warnings`` holds the overridden verdict kinds comma-separated (a short column)."""
    return tuple(w for w in (text or "").split(",") if w)


def join_warnings(warnings: tuple[str, ...] | list[str]) -> str:
    return ",".join(warnings)


def product(row: ProductRow) -> Product:
    return Product(
        id=row.id,
        category=row.category,
        name=row.name,
        manufacturer=row.manufacturer or "",
        model=row.model or "",
        gtin=row.gtin,
        udi_di=row.udi_di,
        nmpa_number=row.nmpa_number or "",
        single_use=bool(row.single_use),
        active=bool(row.active),
        version=row.version,
        created_at=row.created_at,
    )


def receiving(row: ReceivingRow, received_by_name: str = "") -> Receiving:
    return Receiving(
        id=row.id,
        supplier=row.supplier,
        received_at=row.received_at,
        received_by_id=row.received_by_id,
        received_by_name=received_by_name,
        delivery_note=row.delivery_note or "",
    )


def item(row: ItemRow) -> Item:
    return Item(
        id=row.id,
        product_id=row.product_id,
        item_key=row.item_key,
        serial=row.serial,
        lot=row.lot,
        expiry=row.expiry,
        production_date=row.production_date,
        raw_code=row.raw_code,
        symbology=row.symbology,
        receiving_id=row.receiving_id,
        created_at=row.created_at,
    )


def usage(row: UsageRow) -> Usage:
    return Usage(
        id=row.id,
        item_id=row.item_id,
        run_id=row.run_id,
        procedure_id=row.procedure_id,
        single_use=bool(row.single_use),
        bound_at=row.bound_at,
        bound_by_id=row.bound_by_id,
        scanned_text=row.scanned_text,
        override_reason=row.override_reason,
        warnings=split_warnings(row.warnings),
        removed_at=row.removed_at,
        removal_reason=row.removal_reason,
        voided_at=row.voided_at,
        voided_by_id=row.voided_by_id,
        void_reason=row.void_reason,
    )


def recall(row: RecallRow) -> Recall:
    return Recall(
        id=row.id,
        product_id=row.product_id,
        lot=row.lot,
        reason=row.reason,
        recalled_at=row.recalled_at,
        recorded_by_id=row.recorded_by_id,
        lifted_at=row.lifted_at,
    )


def product_request(row: ProductRequestRow, requested_by_name: str) -> ProductRequest:
    return ProductRequest(
        id=row.id,
        device_identifier=row.device_identifier,
        raw_code=row.raw_code,
        run_id=row.run_id,
        requested_by_id=row.requested_by_id,
        requested_by_name=requested_by_name,
        requested_at=row.requested_at,
        status=row.status,
        resolved_by_id=row.resolved_by_id,
        resolved_at=row.resolved_at,
        resolution_note=row.resolution_note or "",
        product_id=row.product_id,
    )


def received_item(
    item_row: ItemRow,
    product_row: ProductRow,
    usage_row: UsageRow | None,
    run_number: int | None,
    patient_id: int | None,
    patient_name: str | None,
    mrn: str | None,
) -> ReceivedItemRow:
    """One row of the delivery query; the usage columns are NULL for an item never bound."""
    use = None
    if usage_row is not None:
        use = ItemUse(
            usage_id=usage_row.id,
            run_id=usage_row.run_id,
            run_number=run_number or 0,
            patient_id=patient_id or 0,
            patient_name=patient_name or "",
            mrn=mrn or "",
            single_use=bool(usage_row.single_use),
            bound_at=usage_row.bound_at,
            removed_at=usage_row.removed_at,
            voided_at=usage_row.voided_at,
        )
    return ReceivedItemRow(item=item(item_row), product=product(product_row), use=use)


def equipment(row: EquipmentRow, current_run: EquipmentUse | None = None) -> Equipment:
    return Equipment(
        id=row.id,
        hospital_id=row.hospital_id,
        kind=row.kind,
        model=row.model,
        manufacturer=row.manufacturer or "",
        serial=row.serial,
        purchase_date=row.purchase_date,
        active=bool(row.active),
        notes=row.notes or "",
        created_at=row.created_at,
        version=row.version,
        current_run=current_run,
    )


def link(
    row: RunEquipmentRow,
    *,
    equipment_row: EquipmentRow | None = None,
    patient_name: str = "",
    mrn: str = "",
    run_number: int = 0,
) -> EquipmentLink:
    return EquipmentLink(
        id=row.id,
        run_id=row.run_id,
        equipment_id=row.equipment_id,
        from_at=row.from_at,
        to_at=row.to_at,
        linked_by_id=row.linked_by_id,
        equipment=equipment(equipment_row) if equipment_row is not None else None,
        patient_name=patient_name,
        mrn=mrn,
        run_number=run_number,
    )
