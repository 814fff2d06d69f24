"""Device catalogue, receiving, usage, recalls and equipment: the SQL behind ``DeviceService``.

Nothing here decides R6. ``add_usage`` simply inserts; the partial unique index
``uq_device_usage_single_use`` refuses a second active binding of a single-use item and the unit of
work turns that into ``IntegrityConflict``. ``active_holder`` only answers "who holds it" for the
message.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Exists, Select, and_, bindparam, case, exists, false, insert, or_, select
from sqlalchemy.orm import aliased

from ecmo_desktop.domain.devices import (
    Equipment,
    EquipmentLink,
    EquipmentUse,
    Item,
    ItemEvent,
    ProcedureRef,
    Product,
    ProductRequest,
    Recall,
    ReceivedItemRow,
    Receiving,
    RunBrief,
    ScanContext,
    TraceRow,
    Usage,
    UsageHolder,
)
from ecmo_desktop.domain.errors import NotFound
from ecmo_desktop.i18n import N_
from ecmo_desktop.storage import mapping_devices as m
from ecmo_desktop.storage.orm.audit import AuditRow
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
from ecmo_desktop.storage.orm.people import PatientRow, StaffRow
from ecmo_desktop.storage.orm.records import ProcedureRow
from ecmo_desktop.storage.orm.runs import RunRow
from ecmo_desktop.storage.repositories.base import Repository


def _holds_single_use(u: Any) -> Any:
    """The R6 index's predicate: a binding that holds a single-use item for good — not voided, or
    voided although the item was used (``item_spent``)."""
    return and_(u.single_use, or_(u.voided_at.is_(None), u.item_spent))


def _holds(u: Any) -> Any:
    """A binding keeps its item out of stock: any binding of a single-use item that holds it (retired
    ones too: a used oxygenator never goes back on the shelf), or a binding of a reusable item that
    is neither voided nor removed."""
    return or_(_holds_single_use(u), and_(u.voided_at.is_(None), u.removed_at.is_(None)))


def _in_use() -> Exists:
    """An item is out of stock while a binding holds it (``_holds``)."""
    return exists().where(UsageRow.item_id == ItemRow.id, _holds(UsageRow))


@functools.cache
def _scan_statement(by: str) -> Select[*tuple[Any, ...]]:
    """The scan-context query for an item named by ``key``, by ``id`` or not at all (``none``).

    Six tables, not nine: PostgreSQL spends far longer planning a join than running this one, so the
    names of whoever holds the item (needed only to word a refusal) are fetched separately then.
    """
    hu = aliased(UsageRow)
    i, p, rc = ItemRow, ProductRow, RecallRow
    item_on = {
        "key": i.item_key == bindparam("item_key"),
        "id": i.id == bindparam("item_id"),
        "none": false(),
    }[by]
    return (
        select(
            RunRow.id,
            RunRow.run_number,
            RunRow.status,
            PatientRow.id,
            PatientRow.name,
            PatientRow.mrn,
            i,
            p,
            hu.id,
            rc,
        )
        .select_from(RunRow)
        .join(PatientRow, PatientRow.id == RunRow.patient_id)
        .outerjoin(i, item_on)
        .outerjoin(p, p.id == i.product_id)
        .outerjoin(hu, and_(hu.item_id == i.id, _holds_single_use(hu)))
        .outerjoin(
            rc,
            and_(
                rc.lot == i.lot,
                rc.lifted_at.is_(None),
                or_(rc.product_id.is_(None), rc.product_id == i.product_id),
            ),
        )
        .where(RunRow.id == bindparam("run_id"))
        .order_by(rc.id)
        .limit(1)
    )


@functools.cache
def _trace_statement(filters: frozenset[str], include_voided: bool) -> Select[*tuple[Any, ...]]:
    """The trace query for one combination of filters (bound parameters named like the filters)."""
    binder = aliased(StaffRow)
    u, i, p = UsageRow, ItemRow, ProductRow
    stmt = (
        select(
            u.id,
            u.bound_at,
            binder.full_name,
            u.procedure_id,
            u.override_reason,
            u.warnings,
            u.removed_at,
            u.removal_reason,
            u.voided_at,
            u.void_reason,
            i.id,
            i.item_key,
            i.serial,
            i.lot,
            i.expiry,
            i.raw_code,
            i.symbology,
            p.id,
            p.name,
            p.category,
            p.manufacturer,
            p.model,
            p.gtin,
            p.udi_di,
            p.nmpa_number,
            u.run_id,
            RunRow.run_number,
            RunRow.status,
            RunRow.patient_id,
            PatientRow.name,
            PatientRow.mrn,
        )
        .join(i, i.id == u.item_id)
        .join(p, p.id == i.product_id)
        .join(RunRow, RunRow.id == u.run_id)
        .join(PatientRow, PatientRow.id == RunRow.patient_id)
        .outerjoin(binder, binder.id == u.bound_by_id)
    )
    if "run_id" in filters:
        stmt = stmt.where(u.run_id == bindparam("run_id"))
    if "patient_id" in filters:
        stmt = stmt.where(RunRow.patient_id == bindparam("patient_id"))
    if "lot" in filters:
        stmt = stmt.where(i.lot == bindparam("lot"))
    if "gtin" in filters:
        stmt = stmt.where(or_(p.gtin == bindparam("gtin"), p.udi_di == bindparam("gtin")))
    if "item_ids" in filters:
        stmt = stmt.where(u.item_id.in_(bindparam("item_ids", expanding=True)))
    if not include_voided:
        stmt = stmt.where(u.voided_at.is_(None))
    return stmt.order_by(u.bound_at, u.id)


@functools.cache
def _stock_statement(filters: frozenset[str]) -> Select[ItemRow, ProductRow, ReceivingRow | None, str | None]:
    """Items no binding holds, soonest expiry first, for one combination of filters."""
    stmt = (
        select(ItemRow, ProductRow, ReceivingRow, StaffRow.full_name)
        .join(ProductRow, ProductRow.id == ItemRow.product_id)
        .outerjoin(ReceivingRow, ReceivingRow.id == ItemRow.receiving_id)
        .outerjoin(StaffRow, StaffRow.id == ReceivingRow.received_by_id)
        .where(~_in_use())
    )
    if "product_id" in filters:
        stmt = stmt.where(ItemRow.product_id == bindparam("product_id"))
    if "category" in filters:
        stmt = stmt.where(ProductRow.category == bindparam("category"))
    if "lot" in filters:
        stmt = stmt.where(ItemRow.lot == bindparam("lot"))
    if "gtin" in filters:
        stmt = stmt.where(ProductRow.gtin == bindparam("gtin"))
    return stmt.order_by(ItemRow.expiry.is_(None), ItemRow.expiry, ItemRow.id).limit(bindparam("limit"))


@functools.cache
def _receiving_items_statement() -> Select[
    ItemRow, ProductRow, UsageRow | None, int | None, int | None, str | None, str | None
]:
    """A delivery's items, newest first, each with the one binding that explains its state.

    The binding is picked by a correlated subquery (SQLite has no LATERAL): the one that holds the
    item now — the same test as ``_in_use`` — else the latest one, so each item gives exactly one row.
    """
    u = aliased(UsageRow)
    holds = _holds(u)
    chosen = (
        select(u.id)
        .where(u.item_id == ItemRow.id)
        .order_by(case((holds, 0), else_=1), u.id.desc())
        .limit(1)
        .correlate(ItemRow)
        .scalar_subquery()
    )
    return (
        select(
            ItemRow, ProductRow, UsageRow, RunRow.run_number, PatientRow.id, PatientRow.name, PatientRow.mrn
        )
        .join(ProductRow, ProductRow.id == ItemRow.product_id)
        .outerjoin(UsageRow, UsageRow.id == chosen)
        .outerjoin(RunRow, RunRow.id == UsageRow.run_id)
        .outerjoin(PatientRow, PatientRow.id == RunRow.patient_id)
        .where(ItemRow.receiving_id == bindparam("receiving_id"))
        .order_by(ItemRow.id.desc())
    )


class SqlDeviceRepository(Repository):
    # ---- catalogue ---------------------------------------------------------------------------------
    def get_product(self, product_id: int) -> Product:
        return m.product(self._get(ProductRow, product_id, "器械产品"))

    def product_by_identifier(self, *, gtin: str | None, udi_di: str | None) -> Product | None:
        """GTIN first, then the DI (a product may be catalogued by either)."""
        if gtin:
            row = self.session.scalars(select(ProductRow).where(ProductRow.gtin == gtin)).first()
            if row is None:
                row = self.session.scalars(select(ProductRow).where(ProductRow.udi_di == gtin)).first()
            if row is not None:
                return m.product(row)
        if udi_di:
            row = self.session.scalars(select(ProductRow).where(ProductRow.udi_di == udi_di)).first()
            if row is not None:
                return m.product(row)
        return None

    def product_by_name(self, *, name: str, manufacturer: str, model: str) -> Product | None:
        row = self.session.scalars(
            select(ProductRow)
            .where(
                ProductRow.name == name,
                ProductRow.manufacturer == manufacturer,
                ProductRow.model == model,
                ProductRow.gtin.is_(None),
                ProductRow.udi_di.is_(None),
            )
            .order_by(ProductRow.id)
        ).first()
        return m.product(row) if row else None

    def list_products(self, *, include_inactive: bool = False) -> list[Product]:
        stmt = select(ProductRow).order_by(ProductRow.category, ProductRow.name, ProductRow.id)
        if not include_inactive:
            stmt = stmt.where(ProductRow.active)
        return [m.product(r) for r in self.session.scalars(stmt)]

    def add_product(self, *, now: datetime, created_by_id: int | None, **fields: Any) -> Product:
        row = ProductRow(created_at=now, created_by_id=created_by_id, active=True, **fields)
        self.session.add(row)
        self.session.flush()
        return m.product(row)

    def update_product(
        self, product_id: int, *, expected_version: int | None = None, **fields: Any
    ) -> Product:
        row = self._get(ProductRow, product_id, "器械产品")
        self._check_version(row, expected_version)
        self._apply(row, fields)
        self.session.flush()
        return m.product(row)

    # ---- receiving and stock -----------------------------------------------------------------------
    def _receiving(self, row: ReceivingRow) -> Receiving:
        name = self.session.scalar(select(StaffRow.full_name).where(StaffRow.id == row.received_by_id)) or ""
        return m.receiving(row, name)

    def add_receiving(
        self, *, supplier: str, received_at: datetime, received_by_id: int, delivery_note: str
    ) -> Receiving:
        row = ReceivingRow(
            supplier=supplier,
            received_at=received_at,
            received_by_id=received_by_id,
            delivery_note=delivery_note,
        )
        self.session.add(row)
        self.session.flush()
        return self._receiving(row)

    def get_receiving(self, receiving_id: int) -> Receiving:
        return self._receiving(self._get(ReceivingRow, receiving_id, "入库单"))

    def list_receivings(self, *, offset: int, limit: int) -> list[Receiving]:
        rows = self.session.execute(
            select(ReceivingRow, StaffRow.full_name)
            .join(StaffRow, StaffRow.id == ReceivingRow.received_by_id)
            .order_by(ReceivingRow.received_at.desc(), ReceivingRow.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [m.receiving(r, name) for r, name in rows]

    def receiving_items(self, receiving_id: int) -> list[ReceivedItemRow]:
        """Every item of one delivery with its product and current state, in one query."""
        rows = self.session.execute(_receiving_items_statement(), {"receiving_id": receiving_id})
        return [m.received_item(*row) for row in rows]

    def add_item(
        self,
        *,
        product_id: int,
        item_key: str | None,
        serial: str | None,
        lot: str | None,
        expiry: date | None,
        production_date: date | None,
        raw_code: str,
        symbology: str | None,
        receiving_id: int | None,
        now: datetime,
    ) -> Item:
        row = ItemRow(
            product_id=product_id,
            item_key=item_key,
            serial=serial,
            lot=lot,
            expiry=expiry,
            production_date=production_date,
            raw_code=raw_code,
            symbology=symbology,
            receiving_id=receiving_id,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return m.item(row)

    def get_item(self, item_id: int) -> Item:
        return m.item(self._get(ItemRow, item_id, "器械"))

    def item_by_key(self, item_key: str) -> Item | None:
        row = self.session.scalars(select(ItemRow).where(ItemRow.item_key == item_key)).first()
        return m.item(row) if row else None

    def items_by_serial(self, serial: str) -> list[Item]:
        rows = self.session.scalars(select(ItemRow).where(ItemRow.serial == serial).order_by(ItemRow.id))
        return [m.item(r) for r in rows]

    def free_lot_item(self, product_id: int, lot: str | None) -> Item | None:
        """The oldest-expiring unit of a lot-only delivery that no binding holds.

        ``SKIP LOCKED`` lets two PostgreSQL sessions take different units instead of queueing on the
        same one; SQLite's single writer makes the question moot there.
        """
        stmt = (
            select(ItemRow)
            .where(
                ItemRow.product_id == product_id,
                ItemRow.item_key.is_(None),
                ItemRow.lot.is_(None) if lot is None else ItemRow.lot == lot,
                ~_in_use(),
            )
            .order_by(ItemRow.expiry.is_(None), ItemRow.expiry, ItemRow.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=ItemRow)
        )
        row = self.session.scalars(stmt).first()
        return m.item(row) if row else None

    def stock(
        self,
        *,
        product_id: int | None = None,
        category: str | None = None,
        lot: str | None = None,
        gtin: str | None = None,
        limit: int = 5000,
    ) -> list[tuple[Item, Product, Receiving | None]]:
        given = {"product_id": product_id, "category": category, "lot": lot, "gtin": gtin}
        params: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        params["limit"] = limit
        rows = self.session.execute(_stock_statement(frozenset(params) - {"limit"}), params)
        return [
            (m.item(i), m.product(p), m.receiving(r, name or "") if r is not None else None)
            for i, p, r, name in rows
        ]

    # ---- usage -------------------------------------------------------------------------------------
    def add_usage(
        self,
        *,
        item_id: int,
        run_id: int,
        procedure_id: int | None,
        single_use: bool,
        bound_at: datetime,
        bound_by_id: int,
        scanned_text: str,
        override_reason: str | None,
        warnings: Sequence[str],
    ) -> Usage:
        """One Core INSERT … RETURNING id (the hot path of every scan; no ORM unit-of-work needed).

        The R6 index speaks here: a second active binding raises, and the unit of work turns it into
        ``IntegrityConflict``.
        """
        values = {
            "item_id": item_id,
            "run_id": run_id,
            "procedure_id": procedure_id,
            "single_use": single_use,
            "bound_at": bound_at,
            "bound_by_id": bound_by_id,
            "scanned_text": scanned_text,
            "override_reason": override_reason,
            "warnings": m.join_warnings(list(warnings)),
        }
        usage_id = self.session.execute(insert(UsageRow).values(**values).returning(UsageRow.id)).scalar_one()
        return Usage(
            id=usage_id,
            item_id=item_id,
            run_id=run_id,
            procedure_id=procedure_id,
            single_use=single_use,
            bound_at=bound_at,
            bound_by_id=bound_by_id,
            scanned_text=scanned_text,
            override_reason=override_reason,
            warnings=tuple(warnings),
            removed_at=None,
            removal_reason=None,
            voided_at=None,
            voided_by_id=None,
            void_reason=None,
        )

    def get_usage(self, usage_id: int) -> Usage:
        return m.usage(self._get(UsageRow, usage_id, "器械使用记录"))

    def update_usage(self, usage_id: int, **fields: Any) -> Usage:
        row = self._get(UsageRow, usage_id, "器械使用记录")
        self._apply(row, fields)
        self.session.flush()
        return m.usage(row)

    def run_brief(self, run_id: int) -> RunBrief:
        row = self.session.execute(
            select(
                RunRow.id,
                RunRow.run_number,
                RunRow.status,
                PatientRow.id.label("patient_id"),
                PatientRow.name,
                PatientRow.mrn,
            )
            .join(PatientRow, PatientRow.id == RunRow.patient_id)
            .where(RunRow.id == run_id)
        ).first()
        if row is None:
            raise NotFound(N_("找不到{what}（编号 {id}）"), what="ECMO 病例", id=run_id)
        return RunBrief(
            run_id=row.id,
            run_number=row.run_number,
            status=row.status,
            patient_id=row.patient_id,
            patient_name=row.name,
            mrn=row.mrn,
        )

    def scan_context(
        self, run_id: int, *, item_key: str | None = None, item_id: int | None = None
    ) -> ScanContext:
        """The run (with its patient), the item named by key or id (with its product), the binding
        that holds the item now and an active recall of its lot — one round trip for the bedside check.

        Plain LEFT JOINs (SQLite has no LATERAL): the partial unique index allows at most one active
        single-use binding per item, so the holder join adds no rows; two active recalls of one lot
        (one for the product, one for any product) would, and the first is taken. The statement is
        built once per process (``_scan_statement``): constructing it costs more than running it.
        """
        by = "key" if item_key is not None else "id" if item_id is not None else "none"
        params: dict[str, Any] = {"run_id": run_id}
        if by == "key":
            params["item_key"] = item_key
        elif by == "id":
            params["item_id"] = item_id
        row = self.session.execute(_scan_statement(by), params).first()
        if row is None:
            raise NotFound(N_("找不到{what}（编号 {id}）"), what="ECMO 病例", id=run_id)
        run = RunBrief(
            run_id=row[0],
            run_number=row[1],
            status=row[2],
            patient_id=row[3],
            patient_name=row[4],
            mrn=row[5],
        )
        item_row, product_row, holder_usage_id, recall_row = row[6], row[7], row[8], row[9]
        holder = self.active_holder(item_row.id) if holder_usage_id is not None else None
        return ScanContext(
            run=run,
            item=m.item(item_row) if item_row is not None else None,
            product=m.product(product_row) if product_row is not None else None,
            holder=holder,
            recall=m.recall(recall_row) if recall_row is not None else None,
        )

    def active_holder(self, item_id: int) -> UsageHolder | None:
        row = self.session.execute(
            select(
                UsageRow.id,
                UsageRow.run_id,
                UsageRow.bound_at,
                RunRow.run_number,
                RunRow.status,
                PatientRow.id.label("patient_id"),
                PatientRow.name,
                PatientRow.mrn,
                StaffRow.full_name,
            )
            .join(RunRow, RunRow.id == UsageRow.run_id)
            .join(PatientRow, PatientRow.id == RunRow.patient_id)
            .outerjoin(StaffRow, StaffRow.id == UsageRow.bound_by_id)
            .where(UsageRow.item_id == item_id, _holds_single_use(UsageRow))
            .order_by(UsageRow.id)
            .limit(1)
        ).first()
        if row is None:
            return None
        return UsageHolder(
            usage_id=row.id,
            run_id=row.run_id,
            run_number=row.run_number,
            run_status=row.status,
            patient_id=row.patient_id,
            patient_name=row.name,
            mrn=row.mrn,
            bound_at=row.bound_at,
            bound_by_name=row.full_name or "",
        )

    def trace(
        self,
        *,
        run_id: int | None = None,
        patient_id: int | None = None,
        lot: str | None = None,
        gtin: str | None = None,
        item_ids: Sequence[int] | None = None,
        include_voided: bool = True,
    ) -> list[TraceRow]:
        """Every use matching all the filters given, oldest first (the recall and trace queries).

        Plain columns, not ORM entities, and one prepared statement per filter combination: a recall
        reads every use of a lot, and building tracked objects or the statement itself cost more than
        running the query.
        """
        given = {
            "run_id": run_id,
            "patient_id": patient_id,
            "lot": lot,
            "gtin": gtin,
            "item_ids": list(item_ids) if item_ids is not None else None,
        }
        params = {k: v for k, v in given.items() if v is not None}
        stmt = _trace_statement(frozenset(params), include_voided)
        return [
            TraceRow(
                usage_id=r[0],
                bound_at=r[1],
                bound_by_name=r[2] or "",
                procedure_id=r[3],
                override_reason=r[4],
                warnings=m.split_warnings(r[5]),
                removed_at=r[6],
                removal_reason=r[7],
                voided_at=r[8],
                void_reason=r[9],
                item_id=r[10],
                item_key=r[11],
                serial=r[12],
                lot=r[13],
                expiry=r[14],
                raw_code=r[15],
                symbology=r[16],
                product_id=r[17],
                product_name=r[18],
                category=r[19],
                manufacturer=r[20] or "",
                model=r[21] or "",
                gtin=r[22],
                udi_di=r[23],
                nmpa_number=r[24] or "",
                run_id=r[25],
                run_number=r[26],
                run_status=r[27],
                patient_id=r[28],
                patient_name=r[29],
                mrn=r[30],
            )
            for r in self.session.execute(stmt, params)
        ]

    def item_events(self, item_id: int) -> list[ItemEvent]:
        """Received, then each binding's bound / voided / retired steps, in time order."""
        events: list[ItemEvent] = []
        item = self._get(ItemRow, item_id, "器械")
        if item.receiving_id is not None:
            rec = self._get(ReceivingRow, item.receiving_id, "入库单")
            name = (
                self.session.scalar(select(StaffRow.full_name).where(StaffRow.id == rec.received_by_id)) or ""
            )
            events.append(ItemEvent(at=rec.received_at, kind="received", by_name=name, detail=rec.supplier))
        binder, voider = aliased(StaffRow), aliased(StaffRow)
        rows = self.session.execute(
            select(
                UsageRow,
                RunRow.run_number,
                PatientRow.name,
                PatientRow.mrn,
                binder.full_name,
                voider.full_name.label("voided_by"),
            )
            .join(RunRow, RunRow.id == UsageRow.run_id)
            .join(PatientRow, PatientRow.id == RunRow.patient_id)
            .outerjoin(binder, binder.id == UsageRow.bound_by_id)
            .outerjoin(voider, voider.id == UsageRow.voided_by_id)
            .where(UsageRow.item_id == item_id)
            .order_by(UsageRow.id)
        )
        for u, run_number, pname, mrn, bound_by, voided_by in rows:
            common: dict[str, Any] = {
                "run_id": u.run_id,
                "run_number": run_number,
                "patient_name": pname,
                "mrn": mrn,
                "usage_id": u.id,
            }
            events.append(
                ItemEvent(
                    at=u.bound_at,
                    kind="bound",
                    by_name=bound_by or "",
                    detail=u.override_reason or "",
                    **common,
                )
            )
            if u.removed_at is not None:
                retired_by = self.session.scalar(
                    select(AuditRow.actor_name)
                    .where(
                        AuditRow.entity == "device_usage",
                        AuditRow.entity_id == u.id,
                        AuditRow.action == "retire",
                    )
                    .order_by(AuditRow.seq)
                    .limit(1)
                )
                events.append(
                    ItemEvent(
                        at=u.removed_at,
                        kind="retired",
                        by_name=retired_by or "",
                        detail=u.removal_reason or "",
                        **common,
                    )
                )
            if u.voided_at is not None:
                events.append(
                    ItemEvent(
                        at=u.voided_at,
                        kind="voided",
                        by_name=voided_by or "",
                        detail=u.void_reason or "",
                        **common,
                    )
                )
        events.sort(key=lambda e: e.at)
        return events

    def procedure_run(self, procedure_id: int) -> int | None:
        return self.session.scalar(select(ProcedureRow.run_id).where(ProcedureRow.id == procedure_id))

    def procedures(self, run_id: int, kind: str | None = None) -> list[ProcedureRef]:
        stmt = select(ProcedureRow.id, ProcedureRow.kind, ProcedureRow.started_at).where(
            ProcedureRow.run_id == run_id, ProcedureRow.voided_at.is_(None)
        )
        if kind is not None:
            stmt = stmt.where(ProcedureRow.kind == kind)
        rows = self.session.execute(stmt.order_by(ProcedureRow.started_at, ProcedureRow.id))
        return [ProcedureRef(id=r.id, kind=r.kind, started_at=r.started_at) for r in rows]

    # ---- recalls -----------------------------------------------------------------------------------
    def active_recall(self, product_id: int, lot: str) -> Recall | None:
        row = self.session.scalars(
            select(RecallRow)
            .where(
                RecallRow.lot == lot,
                RecallRow.lifted_at.is_(None),
                or_(RecallRow.product_id.is_(None), RecallRow.product_id == product_id),
            )
            .order_by(RecallRow.id)
            .limit(1)
        ).first()
        return m.recall(row) if row else None

    def lot_recalled(self, lot: str) -> bool:
        """Whether any active recall names this lot (of any product): one indexed look-up."""
        return bool(
            self.session.scalar(select(exists().where(RecallRow.lot == lot, RecallRow.lifted_at.is_(None))))
        )

    def add_recall(
        self, *, product_id: int | None, lot: str, reason: str, recalled_at: datetime, recorded_by_id: int
    ) -> Recall:
        row = RecallRow(
            product_id=product_id,
            lot=lot,
            reason=reason,
            recalled_at=recalled_at,
            recorded_by_id=recorded_by_id,
        )
        self.session.add(row)
        self.session.flush()
        return m.recall(row)

    def get_recall(self, recall_id: int) -> Recall:
        return m.recall(self._get(RecallRow, recall_id, "召回记录"))

    def lift_recall(self, recall_id: int, *, lifted_at: datetime) -> Recall:
        row = self._get(RecallRow, recall_id, "召回记录")
        row.lifted_at = lifted_at
        self.session.flush()
        return m.recall(row)

    def list_recalls(self, *, active_only: bool = False) -> list[Recall]:
        stmt = select(RecallRow).order_by(RecallRow.recalled_at.desc(), RecallRow.id.desc())
        if active_only:
            stmt = stmt.where(RecallRow.lifted_at.is_(None))
        return [m.recall(r) for r in self.session.scalars(stmt)]

    # ---- requests to add a product ---------------------------------------------------------------
    def _request(self, row: ProductRequestRow) -> ProductRequest:
        name = self.session.scalar(select(StaffRow.full_name).where(StaffRow.id == row.requested_by_id))
        return m.product_request(row, name or "")

    def add_product_request(
        self,
        *,
        device_identifier: str,
        raw_code: str,
        run_id: int,
        requested_by_id: int,
        requested_at: datetime,
    ) -> ProductRequest:
        row = ProductRequestRow(
            device_identifier=device_identifier,
            raw_code=raw_code,
            run_id=run_id,
            requested_by_id=requested_by_id,
            requested_at=requested_at,
            status="open",
            resolution_note="",
        )
        self.session.add(row)
        self.session.flush()
        return self._request(row)

    def open_product_request(self, device_identifier: str) -> ProductRequest | None:
        row = self.session.scalars(
            select(ProductRequestRow)
            .where(
                ProductRequestRow.device_identifier == device_identifier, ProductRequestRow.status == "open"
            )
            .order_by(ProductRequestRow.id)
            .limit(1)
        ).first()
        return self._request(row) if row else None

    def get_product_request(self, request_id: int) -> ProductRequest:
        return self._request(self._get(ProductRequestRow, request_id, "添加产品请求"))

    def product_requests(self, *, open_only: bool = True) -> list[ProductRequest]:
        stmt = (
            select(ProductRequestRow, StaffRow.full_name)
            .join(StaffRow, StaffRow.id == ProductRequestRow.requested_by_id)
            .order_by(ProductRequestRow.requested_at, ProductRequestRow.id)
        )
        if open_only:
            stmt = stmt.where(ProductRequestRow.status == "open")
        return [m.product_request(row, name) for row, name in self.session.execute(stmt)]

    def resolve_product_request(
        self,
        request_id: int,
        *,
        status: str,
        resolved_by_id: int,
        resolved_at: datetime,
        note: str,
        product_id: int | None,
    ) -> ProductRequest:
        row = self._get(ProductRequestRow, request_id, "添加产品请求")
        row.status, row.resolved_by_id, row.resolved_at = status, resolved_by_id, resolved_at
        row.resolution_note, row.product_id = note, product_id
        self.session.flush()
        return self._request(row)

    # ---- capital equipment -------------------------------------------------------------------------
    def add_equipment(self, *, hospital_id: int, now: datetime, **fields: Any) -> Equipment:
        row = EquipmentRow(hospital_id=hospital_id, created_at=now, active=True, **fields)
        self.session.add(row)
        self.session.flush()
        return m.equipment(row)

    def get_equipment(self, equipment_id: int) -> Equipment:
        return m.equipment(self._get(EquipmentRow, equipment_id, "设备"))

    def equipment_by_serial(self, hospital_id: int, serial: str) -> Equipment | None:
        row = self.session.scalars(
            select(EquipmentRow).where(EquipmentRow.hospital_id == hospital_id, EquipmentRow.serial == serial)
        ).first()
        return m.equipment(row) if row else None

    def update_equipment(
        self, equipment_id: int, *, expected_version: int | None = None, **fields: Any
    ) -> Equipment:
        row = self._get(EquipmentRow, equipment_id, "设备")
        self._check_version(row, expected_version)
        self._apply(row, fields)
        self.session.flush()
        return m.equipment(row)

    def list_equipment(self, *, include_inactive: bool = False) -> list[Equipment]:
        """Every device with the run it serves now (its open link), in one query.

        Nothing in the schema forbids two open links of one device (the service refuses the second,
        but two PCs may race), so rows are ordered newest link first within a device and only the
        first is kept: the list never shows a device twice.
        """
        link = RunEquipmentRow
        stmt = (
            select(
                EquipmentRow,
                link.id,
                link.run_id,
                link.from_at,
                RunRow.run_number,
                PatientRow.id,
                PatientRow.name,
                PatientRow.mrn,
            )
            .outerjoin(link, and_(link.equipment_id == EquipmentRow.id, link.to_at.is_(None)))
            .outerjoin(RunRow, RunRow.id == link.run_id)
            .outerjoin(PatientRow, PatientRow.id == RunRow.patient_id)
            .order_by(
                EquipmentRow.kind,
                EquipmentRow.model,
                EquipmentRow.serial,
                EquipmentRow.id,
                link.from_at.desc(),
                link.id.desc(),
            )
        )
        if not include_inactive:
            stmt = stmt.where(EquipmentRow.active)
        result: list[Equipment] = []
        seen: set[int] = set()
        for row, link_id, run_id, since, run_number, patient_id, name, mrn in self.session.execute(stmt):
            if row.id in seen:
                continue
            seen.add(row.id)
            current = None
            if link_id is not None:
                current = EquipmentUse(
                    link_id=link_id,
                    run_id=run_id,
                    run_number=run_number,
                    patient_id=patient_id,
                    patient_name=name,
                    mrn=mrn,
                    since=since,
                )
            result.append(m.equipment(row, current))
        return result

    def add_link(
        self, *, run_id: int, equipment_id: int, from_at: datetime, linked_by_id: int
    ) -> EquipmentLink:
        row = RunEquipmentRow(
            run_id=run_id, equipment_id=equipment_id, from_at=from_at, linked_by_id=linked_by_id
        )
        self.session.add(row)
        self.session.flush()
        return self._links(and_(RunEquipmentRow.id == row.id))[0]

    def get_link(self, link_id: int) -> EquipmentLink:
        self._get(RunEquipmentRow, link_id, "设备使用记录")
        return self._links(RunEquipmentRow.id == link_id)[0]

    def end_link(self, link_id: int, *, to_at: datetime) -> EquipmentLink:
        row = self._get(RunEquipmentRow, link_id, "设备使用记录")
        row.to_at = to_at
        self.session.flush()
        return self._links(RunEquipmentRow.id == link_id)[0]

    def links(
        self, *, run_id: int | None = None, equipment_id: int | None = None, open_only: bool = False
    ) -> list[EquipmentLink]:
        conditions = []
        if run_id is not None:
            conditions.append(RunEquipmentRow.run_id == run_id)
        if equipment_id is not None:
            conditions.append(RunEquipmentRow.equipment_id == equipment_id)
        if open_only:
            conditions.append(RunEquipmentRow.to_at.is_(None))
        return self._links(and_(*conditions) if conditions else None)

    def _links(self, condition: Any) -> list[EquipmentLink]:
        stmt = (
            select(RunEquipmentRow, EquipmentRow, PatientRow.name, PatientRow.mrn, RunRow.run_number)
            .join(EquipmentRow, EquipmentRow.id == RunEquipmentRow.equipment_id)
            .join(RunRow, RunRow.id == RunEquipmentRow.run_id)
            .join(PatientRow, PatientRow.id == RunRow.patient_id)
        )
        if condition is not None:
            stmt = stmt.where(condition)
        rows = self.session.execute(stmt.order_by(RunEquipmentRow.from_at, RunEquipmentRow.id))
        return [
            m.link(link, equipment_row=eq, patient_name=name, mrn=mrn, run_number=number)
            for link, eq, name, mrn, number in rows
        ]
