"""Device traceability (R5–R8): catalogue, receiving, bedside binding, recall and trace.

Capital equipment (consoles, heater-coolers) is ``services/equipment.py``.

The bedside scan
----------------
``DeviceService.bind_scan(run_id, text)`` turns one scan into one ``ScanVerdict`` (see
``domain/devices.py`` for every kind). Parse → run open? → item by its key (else: label expired? →
product by GTIN/DI → received? recalled lot?) →
checks (already held, expired, recalled, no NMPA number, no serial, wrong slot) → INSERT the usage
and its audit row in one transaction.

**R6 is decided by the database.** The partial unique index ``uq_device_usage_single_use`` allows
one non-voided binding per single-use item. The service looks first (``_precheck_reuse``) only to
word a kinder message; when two ward PCs scan the same item at the same moment both may pass that
look, and then the second INSERT fails on the index. That ``IntegrityConflict`` is answered in a
*fresh* transaction (the failed one is dead on PostgreSQL) that reads who holds the item and
returns ``blocked_reused`` naming the patient, MRN, run and time. Tests run the race with the look
removed, so the index alone is proven to decide.

``bind_scan`` is safe to retry: each attempt is one transaction that writes the usage and its audit
row together or nothing, so ``Service._transact`` may rerun it whole after a PostgreSQL
serialization failure or deadlock (REL-5) without double-binding.

Labels without a serial (lot-only)
----------------------------------
Many cannulae and tubing packs carry GTIN + lot + expiry but no serial: the physical unit cannot be
told apart from its siblings, so no constraint can prove it was never used before. We do not refuse
them (that would stop a cannulation), and we do not pretend:

* receiving records one ``device_item`` row per unit (``quantity``), ``item_key`` NULL;
* binding takes one *unbound* unit of that product + lot from stock (``free_lot_item``) and binds
  that row, so the R6 index still guarantees each received unit is bound at most once, and a ward
  can never bind more units of a lot than it received (stock exhausted → ``not_received``);
* the scan answers ``warn_no_serial`` (rule R6) and binds only with a reason in which the nurse
  attests an unopened, unused package; the reason and the warning are stored on the usage and in
  the audit row, and a recall by lot still finds every patient.

A hand-typed **plain** code carries no DI: it is matched by serial among received items (exactly one
match binds) or against the product the user picks (``product_id``); otherwise ``needs_product``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from ecmo_desktop.domain.codes import ParsedCode, parse_code
from ecmo_desktop.domain.devices import (
    NOT_UDI_SCANNED,
    VERDICT_MESSAGES,
    WARNING_ORDER,
    CatalogueImportResult,
    CodeEntry,
    ExpiryStatus,
    Item,
    ItemHistory,
    NeedsProductError,
    ProcedureRef,
    Product,
    ProductInput,
    ProductRequest,
    ProductRequestStatus,
    Recall,
    ReceivedItemRow,
    ReceiveResult,
    Receiving,
    RunBrief,
    ScannedCode,
    ScanVerdict,
    StockRow,
    TraceRow,
    UnknownProductError,
    Usage,
    UsageHolder,
    VerdictKind,
    canonical_item_key,
    expiry_status,
    normalise_gtin,
)
from ecmo_desktop.domain.enums import DeviceCategory, RunStatus
from ecmo_desktop.domain.errors import (
    CodeError,
    FieldError,
    IntegrityConflict,
    PermissionDenied,
    TransientConflict,
    ValidationError,
)
from ecmo_desktop.domain.time import format_local, to_local
from ecmo_desktop.domain.validation import clean_text
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.base import Service, diff, snapshot
from ecmo_desktop.services.permissions import Action, allowed, requires
from ecmo_desktop.services.ports import UnitOfWork

log = logging.getLogger(__name__)

# The R6 index as each backend names it in the violation (SQLite names the indexed column).
R6_CONSTRAINTS = frozenset({"uq_device_usage_single_use", "device_usage.item_id"})
ITEM_KEY_CONSTRAINTS = frozenset({"uq_device_item_item_key", "device_item.item_key"})
PRODUCT_DI_CONSTRAINTS = frozenset(
    {"uq_device_product_gtin", "uq_device_product_udi_di", "device_product.gtin", "device_product.udi_di"}
)
CLOSED_RUN_STATUSES = frozenset({RunStatus.ENDED.value, RunStatus.CANCELLED.value})
MAX_QUANTITY = 500
LOT_ATTEMPTS = 5  # units of one lot taken by other PCs at the same moment before we give up


def scanned(parsed: ParsedCode) -> ScannedCode:
    return ScannedCode(
        scheme=parsed.scheme,
        gtin=parsed.gtin,
        product_id=parsed.product_id,
        lot=parsed.lot,
        serial=parsed.serial,
        expiry=parsed.expiry,
        production_date=parsed.production_date,
        raw=parsed.raw,
        item_key=parsed.item_key,
        device_identifier=parsed.device_identifier,
    )


def _fmt_date(value: date | None) -> str:
    return value.isoformat() if value else "-"


def _category_label(value: str) -> str:
    return DeviceCategory(value).label if value in DeviceCategory._value2member_map_ else value


def _optional(value: str | None, field: str, max_length: int) -> str | None:
    text = clean_text(value, field, max_length=max_length)
    return text or None


@dataclass(frozen=True)
class _Target:
    """What a scan resolved to before the checks."""

    product: Product
    item: Item


class DeviceService(Service):
    """Catalogue (admin), receiving (入库), bedside binding, void/retire, recall and trace."""

    # ---- helpers -----------------------------------------------------------------------------------
    def _today(self) -> date:
        """The ward's calendar day (Beijing time): expiry dates on labels are local dates."""
        return to_local(self.ctx.now()).date()

    def _parse(self, text: str) -> ParsedCode:
        return parse_code(text, today=self._today())

    def _clean_product(self, data: ProductInput) -> dict[str, Any]:
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        if data.category not in DeviceCategory._value2member_map_:
            errors.append(FieldError(N_("类别"), N_("请选择")))
        values["category"] = data.category
        for key, label, limit, required in (
            ("name", N_("产品名称"), 200, True),
            ("manufacturer", N_("生产企业"), 200, False),
            ("model", N_("型号"), 100, False),
            ("nmpa_number", N_("注册证编号"), 80, False),
        ):
            try:
                values[key] = clean_text(getattr(data, key), label, required=required, max_length=limit)
            except ValidationError as exc:
                errors.extend(exc.errors)
        values["gtin"] = None
        if data.gtin is not None and str(data.gtin).strip():
            try:
                values["gtin"] = normalise_gtin(str(data.gtin))
            except ValueError as exc:
                errors.append(FieldError("GTIN", str(exc)))
        try:
            di = clean_text(data.udi_di, "UDI-DI", max_length=120).upper()
            values["udi_di"] = di or None
        except ValidationError as exc:
            errors.extend(exc.errors)
        values["single_use"] = bool(data.single_use)
        if errors:
            raise ValidationError(errors)
        return values

    def _check_di_free(self, uow: UnitOfWork, values: dict[str, Any], own_id: int | None) -> None:
        for key, label in (("gtin", "GTIN"), ("udi_di", "UDI-DI")):
            if values.get(key):
                other = uow.devices.product_by_identifier(
                    gtin=values[key] if key == "gtin" else None,
                    udi_di=values[key] if key == "udi_di" else None,
                )
                if other is not None and other.id != own_id:
                    raise ValidationError(
                        FieldError(
                            label,
                            N_("{value} 已属于目录中的产品“{name}”"),
                            {"value": values[key], "name": other.name},
                        )
                    )

    # ---- catalogue ---------------------------------------------------------------------------------
    @requires(Action.VIEW_CASES)
    def list_products(self, *, include_inactive: bool = False) -> list[Product]:
        return self._read(lambda uow: uow.devices.list_products(include_inactive=include_inactive))

    @requires(Action.VIEW_CASES)
    def get_product(self, product_id: int) -> Product:
        return self._read(lambda uow: uow.devices.get_product(product_id))

    @requires(Action.VIEW_CASES)
    def find_product_for_code(self, text: str) -> tuple[ScannedCode, Product | None]:
        """Parse a label and look its product up (``CodeError`` for a code the parser refuses)."""
        parsed = self._parse(text)
        code = scanned(parsed)
        if parsed.device_identifier is None:
            return code, None
        return code, self._read(
            lambda uow: uow.devices.product_by_identifier(gtin=parsed.gtin, udi_di=parsed.product_id)
        )

    @requires(Action.RECEIVE_DEVICE)
    def screen_for_receiving(self, text: str) -> tuple[ScannedCode, Product | None, ScanVerdict | None]:
        """What a scan at the receiving desk names, and whether it must be refused before any prompt.

        The third value is a ``blocked_expired`` / ``blocked_recalled`` verdict when the label's own
        expiry has passed or its lot is recalled: then neither "add to catalogue?" nor the
        missing-fields form is offered. ``CodeError`` for a code the parser refuses.
        """
        parsed = self._parse(text)
        code = scanned(parsed)

        def work(uow: UnitOfWork) -> tuple[ScannedCode, Product | None, ScanVerdict | None]:
            product = (
                uow.devices.product_by_identifier(gtin=parsed.gtin, udi_di=parsed.product_id)
                if parsed.device_identifier is not None
                else None
            )
            refusal = self._expired_label(uow, parsed, code)
            if refusal is None and product is not None:
                probe = ScanVerdict(VerdictKind.NOT_RECEIVED, "", code=code, product=product)
                refusal = self._recalled_unreceived(uow, probe, parsed, code)
            return code, product, refusal

        return self._read(work)

    @requires(Action.MANAGE_CATALOGUE)
    def product_input_from_code(self, text: str) -> ProductInput:
        """A new product's form pre-filled from a scanned label: its GTIN, or its HIBC/MA DI.

        Category, name and NMPA number are not on a UDI label; the administrator types them.
        """
        parsed = self._parse(text)
        if parsed.device_identifier is None:
            raise CodeError("no_di", N_("此条码不含产品标识（GTIN/UDI-DI），不能用来建立目录条目"))
        return ProductInput(
            category=DeviceCategory.OTHER.value,
            name="",
            gtin=parsed.gtin,
            udi_di=None if parsed.gtin else parsed.product_id,
        )

    @requires(Action.MANAGE_CATALOGUE)
    def add_product(self, data: ProductInput) -> Product:
        values = self._clean_product(data)
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> Product:
            self._check_di_free(uow, values, None)
            try:
                product = uow.devices.add_product(now=self.ctx.now(), created_by_id=user.id or None, **values)
            except IntegrityConflict as exc:
                if exc.constraint in PRODUCT_DI_CONSTRAINTS:
                    raise ValidationError(FieldError("GTIN/UDI-DI", N_("该产品标识已在目录中"))) from exc
                raise
            self._audit(uow, "create", "device_product", product.id, after=product)
            self._requests_answered(uow, product)
            uow.commit()
            return product

        return self._transact(work)

    # ---- requests to add a product (bedside → administrator's worklist) ----------------------------
    def _requests_answered(self, uow: UnitOfWork, product: Product) -> None:
        """A product just added closes the open bedside requests for its identifier (audited)."""
        user = self.ctx.require_user()
        for di in {d for d in (product.gtin, product.udi_di) if d}:
            request = uow.devices.open_product_request(di)
            while request is not None:
                done = uow.devices.resolve_product_request(
                    request.id,
                    status=ProductRequestStatus.ADDED.value,
                    resolved_by_id=user.id,
                    resolved_at=self.ctx.now(),
                    note="",
                    product_id=product.id,
                )
                self._audit(
                    uow,
                    "resolve",
                    "device_product_request",
                    request.id,
                    before=request,
                    after=done,
                    run_id=request.run_id,
                )
                request = uow.devices.open_product_request(di)

    @requires(Action.BIND_DEVICE)
    def request_product(self, run_id: int, text: str) -> ProductRequest:
        """Someone who may not edit the catalogue scanned an unknown product at the bedside: record a
        request on the administrator's worklist. One open request per product identifier — a second
        scan of the same product returns the open one instead of piling up duplicates."""
        parsed = self._parse(text)
        di = parsed.device_identifier
        if di is None:
            raise CodeError("no_di", N_("此条码不含产品标识（GTIN/UDI-DI），不能用来建立目录条目"))
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> ProductRequest:
            run = uow.devices.run_brief(run_id)
            if uow.devices.product_by_identifier(gtin=parsed.gtin, udi_di=parsed.product_id) is not None:
                raise ValidationError(FieldError(N_("产品"), N_("该产品已在器械目录中，请重新扫码")))
            existing = uow.devices.open_product_request(di)
            if existing is not None:
                return existing
            request = uow.devices.add_product_request(
                device_identifier=di,
                raw_code=parsed.raw,
                run_id=run_id,
                requested_by_id=user.id,
                requested_at=self.ctx.now(),
            )
            self._audit(
                uow,
                "create",
                "device_product_request",
                request.id,
                after=request,
                run_id=run_id,
                patient_id=run.patient_id,
            )
            uow.commit()
            return request

        return self._transact(work)

    @requires(Action.MANAGE_CATALOGUE)
    def product_requests(self, *, open_only: bool = True) -> list[ProductRequest]:
        return self._read(lambda uow: uow.devices.product_requests(open_only=open_only))

    @requires(Action.MANAGE_CATALOGUE)
    def dismiss_product_request(self, request_id: int, reason: str) -> ProductRequest:
        """The administrator declines to add the product (not for ECMO use, a wrong label …), saying why."""
        why = clean_text(reason, N_("原因"), required=True, max_length=500, multiline=True)
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> ProductRequest:
            request = uow.devices.get_product_request(request_id)
            if not request.open:
                raise ValidationError(FieldError(N_("请求"), N_("该请求已处理")))
            done = uow.devices.resolve_product_request(
                request_id,
                status=ProductRequestStatus.DISMISSED.value,
                resolved_by_id=user.id,
                resolved_at=self.ctx.now(),
                note=why,
                product_id=None,
            )
            self._audit(
                uow,
                "dismiss",
                "device_product_request",
                request_id,
                before=request,
                after=done,
                run_id=request.run_id,
                reason=why,
            )
            uow.commit()
            return done

        return self._transact(work)

    @requires(Action.MANAGE_CATALOGUE)
    def update_product(self, product_id: int, data: ProductInput, *, expected_version: int) -> Product:
        values = self._clean_product(data)

        def work(uow: UnitOfWork) -> Product:
            self._check_di_free(uow, values, product_id)
            before = uow.devices.get_product(product_id)
            after = uow.devices.update_product(product_id, expected_version=expected_version, **values)
            old, new = diff(snapshot(before), snapshot(after))
            self._audit(uow, "update", "device_product", product_id, before=old, after=new)
            uow.commit()
            return after

        return self._transact(work)

    @requires(Action.MANAGE_CATALOGUE)
    def set_product_active(self, product_id: int, active: bool, *, reason: str) -> Product:
        """Withdraw a product from the catalogue (never delete it: its items and uses stay traceable)."""
        why = clean_text(reason, N_("原因"), required=True, max_length=500)

        def work(uow: UnitOfWork) -> Product:
            product = uow.devices.update_product(product_id, active=active)
            self._audit(
                uow,
                "activate" if active else "deactivate",
                "device_product",
                product_id,
                after={"active": active},
                reason=why,
            )
            uow.commit()
            return product

        return self._transact(work)

    @requires(Action.MANAGE_CATALOGUE)
    def import_catalogue(self, rows: Sequence[ProductInput]) -> CatalogueImportResult:
        """Create or update products from rows (a parsed CSV), all or nothing, each change audited.

        Rows match existing products by GTIN, else UDI-DI, else name + manufacturer + model.
        """
        errors: list[FieldError] = []
        cleaned: list[dict[str, Any]] = []
        for number, row in enumerate(rows, start=1):
            try:
                cleaned.append(self._clean_product(row))
            except ValidationError as exc:
                where = _("第 {row} 行").format(row=number)
                errors.extend(FieldError(where, e.user_message()) for e in exc.errors)
        if errors:
            raise ValidationError(errors)
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> CatalogueImportResult:
            created = updated = unchanged = 0
            products: list[Product] = []
            for values in cleaned:
                existing = None
                if values["gtin"] or values["udi_di"]:
                    existing = uow.devices.product_by_identifier(gtin=values["gtin"], udi_di=values["udi_di"])
                else:
                    existing = uow.devices.product_by_name(
                        name=values["name"], manufacturer=values["manufacturer"], model=values["model"]
                    )
                if existing is None:
                    product = uow.devices.add_product(
                        now=self.ctx.now(), created_by_id=user.id or None, **values
                    )
                    self._audit(
                        uow, "create", "device_product", product.id, after=product, reason=N_("目录导入")
                    )
                    self._requests_answered(uow, product)
                    created += 1
                else:
                    old, new = diff(snapshot(existing.as_input()), snapshot(ProductInput(**values)))
                    if not old and not new:
                        unchanged += 1
                        products.append(existing)
                        continue
                    product = uow.devices.update_product(existing.id, **values)
                    self._audit(
                        uow,
                        "update",
                        "device_product",
                        product.id,
                        before=old,
                        after=new,
                        reason=N_("目录导入"),
                    )
                    updated += 1
                products.append(product)
            self._audit(
                uow,
                "import",
                "device_catalogue",
                None,
                after={"rows": len(cleaned), "created": created, "updated": updated, "unchanged": unchanged},
            )
            uow.commit()
            return CatalogueImportResult(created, updated, unchanged, tuple(products))

        return self._transact(work)

    @requires(Action.VIEW_CASES)
    def export_catalogue(self) -> list[Product]:
        """Every product, withdrawn ones included, for ``exchange.catalogue_csv.write_catalogue``."""
        products = self._read(lambda uow: uow.devices.list_products(include_inactive=True))

        def work(uow: UnitOfWork) -> None:
            self._audit(uow, "export", "device_catalogue", None, after={"products": len(products)})
            uow.commit()

        self._transact(work)
        return products

    # ---- receiving ---------------------------------------------------------------------------------
    @requires(Action.RECEIVE_DEVICE)
    def start_receiving(
        self, *, supplier: str, received_at: datetime | None = None, delivery_note: str = ""
    ) -> Receiving:
        """Open a delivery (入库单): supplier, time and the logged-in receiver (R7)."""
        who = clean_text(supplier, N_("供应商"), required=True, max_length=200)
        note = clean_text(delivery_note, N_("随货单号"), max_length=100)
        now = self.ctx.now()
        when = received_at or now
        if when.tzinfo is None:
            raise ValidationError(FieldError(N_("入库时间"), N_("时间缺少时区")))
        if when > now:
            raise ValidationError(FieldError(N_("入库时间"), N_("不能晚于当前时间")))
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> Receiving:
            rec = uow.devices.add_receiving(
                supplier=who, received_at=when, received_by_id=user.id, delivery_note=note
            )
            self._audit(uow, "create", "device_receiving", rec.id, after=rec)
            uow.commit()
            return rec

        return self._transact(work)

    @requires(Action.VIEW_CASES)
    def list_receivings(self, *, offset: int = 0, limit: int = 200) -> list[Receiving]:
        return self._read(
            lambda uow: uow.devices.list_receivings(offset=offset, limit=max(1, min(limit, 1000)))
        )

    @requires(Action.VIEW_CASES)
    def receiving_items(self, receiving_id: int) -> list[ReceivedItemRow]:
        """What one delivery contained and where each item is now (in stock, bound, voided, retired),
        newest first, so an earlier delivery can be checked after the receiving session has ended.

        ``NotFound`` for an unknown delivery, so a stale id is not mistaken for an empty one.
        """

        def work(uow: UnitOfWork) -> list[ReceivedItemRow]:
            rows = uow.devices.receiving_items(receiving_id)
            if not rows:
                uow.devices.get_receiving(receiving_id)
            return rows

        return self._read(work)

    def _merge(self, label: str, from_code: Any, typed: Any) -> Any:
        if from_code is not None and typed is not None and from_code != typed:
            raise ValidationError(
                FieldError(
                    label,
                    N_("条码中为 {code}，与手工输入的 {typed} 不一致"),
                    {"code": from_code, "typed": typed},
                )
            )
        return from_code if from_code is not None else typed

    def _resolve_product(self, uow: UnitOfWork, parsed: ParsedCode, product_id: int | None) -> Product:
        if parsed.device_identifier is not None:
            product = uow.devices.product_by_identifier(gtin=parsed.gtin, udi_di=parsed.product_id)
            if product is None:
                raise UnknownProductError(parsed.device_identifier, scanned(parsed))
            if product_id is not None and product_id != product.id:
                raise ValidationError(
                    FieldError(N_("产品"), N_("条码属于“{name}”，与所选产品不一致"), {"name": product.name})
                )
            return product
        if product_id is None:
            raise NeedsProductError()
        return uow.devices.get_product(product_id)

    def _receive(
        self,
        uow: UnitOfWork,
        receiving_id: int,
        parsed: ParsedCode,
        *,
        product_id: int | None,
        lot: str | None,
        serial: str | None,
        expiry: date | None,
        production_date: date | None,
        quantity: int,
    ) -> ReceiveResult:
        rec = uow.devices.get_receiving(receiving_id)
        product = self._resolve_product(uow, parsed, product_id)
        lot_value = self._merge(N_("批号"), parsed.lot, _optional(lot, N_("批号"), 60))
        serial_value = self._merge(N_("序列号"), parsed.serial, _optional(serial, N_("序列号"), 60))
        expiry_value = self._merge(N_("有效期"), parsed.expiry, expiry)
        produced = self._merge(N_("生产日期"), parsed.production_date, production_date)
        self._check_receivable(uow, product, lot_value, expiry_value)
        if not 1 <= quantity <= MAX_QUANTITY:
            raise ValidationError(FieldError(N_("数量"), N_("应为 1–{max}"), {"max": MAX_QUANTITY}))
        key: str | None = None
        if serial_value:
            if quantity != 1:
                raise ValidationError(FieldError(N_("数量"), N_("有序列号的器械每件单独入库，数量只能为 1")))
            key = (
                parsed.item_key
                if parsed.serial and parsed.item_key
                else canonical_item_key(product, serial_value)
            )
            existing = uow.devices.item_by_key(key)
            if existing is not None:
                raise self._duplicate_receipt(uow, existing)
        items: list[Item] = []
        for _unit in range(quantity):
            try:
                item = uow.devices.add_item(
                    product_id=product.id,
                    item_key=key,
                    serial=serial_value,
                    lot=lot_value,
                    expiry=expiry_value,
                    production_date=produced,
                    raw_code=parsed.raw,
                    symbology=parsed.scheme,
                    receiving_id=rec.id,
                    now=self.ctx.now(),
                )
            except IntegrityConflict as exc:
                if exc.constraint in ITEM_KEY_CONSTRAINTS:
                    raise ValidationError(FieldError(N_("序列号"), N_("该器械已入库，不能重复入库"))) from exc
                raise
            self._audit(uow, "receive", "device_item", item.id, after=item)
            items.append(item)
        notes: list[str] = []
        status = expiry_status(expiry_value, self._today())
        if status is ExpiryStatus.EXPIRING:
            notes.append(N_("注意：该器械将在 30 天内过期"))
        elif status is ExpiryStatus.UNKNOWN:
            notes.append(N_("注意：未记录有效期"))
        if not product.has_nmpa:
            notes.append(N_("注意：该产品没有注册证编号，床旁扫码时需填写理由（R5）"))
        if key is None and product.single_use:
            notes.append(N_("注意：标签无序列号，系统按批号库存数量管理，无法逐件核查重复使用"))
        return ReceiveResult(rec, product, tuple(items), tuple(notes))

    def _check_receivable(
        self, uow: UnitOfWork, product: Product, lot: str | None, expiry: date | None
    ) -> None:
        """An expired item or a recalled lot never enters stock (the stock is what the bedside trusts)."""
        if expiry is not None and expiry < self._today():
            raise ValidationError(
                FieldError(
                    N_("有效期"),
                    N_("该器械已过期（有效期至 {expiry}），不能入库"),
                    {"expiry": expiry.isoformat()},
                )
            )
        recall = uow.devices.active_recall(product.id, lot) if lot else None
        if recall is not None:
            raise ValidationError(
                FieldError(
                    N_("批号"),
                    N_("批号 {lot} 已被召回（{reason}），不能入库"),
                    {"lot": lot, "reason": recall.reason},
                )
            )

    def _duplicate_receipt(self, uow: UnitOfWork, existing: Item) -> ValidationError:
        when, supplier = "-", "-"
        if existing.receiving_id is not None:
            rec = uow.devices.get_receiving(existing.receiving_id)
            when, supplier = format_local(rec.received_at), rec.supplier
        return ValidationError(
            FieldError(
                N_("序列号"),
                N_("该器械（序列号 {serial}）已于 {when} 从 {supplier} 入库，不能重复入库"),
                {"serial": existing.serial or "-", "when": when, "supplier": supplier},
            )
        )

    @requires(Action.RECEIVE_DEVICE)
    def receive_scan(
        self,
        receiving_id: int,
        text: str,
        *,
        product_id: int | None = None,
        lot: str | None = None,
        serial: str | None = None,
        expiry: date | None = None,
        production_date: date | None = None,
        quantity: int = 1,
    ) -> ReceiveResult:
        """Record one scanned item (or ``quantity`` units of a lot-only label) into a delivery.

        Lot, serial and expiry come from the code; typed values fill what the label lacks and must
        agree with what it has. Raises ``CodeError`` (unreadable code), ``UnknownProductError``
        (offer "add to catalogue"), ``NeedsProductError`` (plain code: pick the product) or
        ``ValidationError`` (e.g. the same serial received before).
        """
        parsed = self._parse(text)

        def work(uow: UnitOfWork) -> ReceiveResult:
            result = self._receive(
                uow,
                receiving_id,
                parsed,
                product_id=product_id,
                lot=lot,
                serial=serial,
                expiry=expiry,
                production_date=production_date,
                quantity=quantity,
            )
            uow.commit()
            return result

        return self._transact(work)

    @requires(Action.TRACE)
    def stock(
        self,
        *,
        product_id: int | None = None,
        category: str | None = None,
        statuses: Sequence[ExpiryStatus | str] = (),
    ) -> list[StockRow]:
        """Items received and not bound, soonest expiry first, each with its expiry warning."""
        today = self._today()
        wanted = {ExpiryStatus(s) for s in statuses}
        rows = self._read(lambda uow: uow.devices.stock(product_id=product_id, category=category))
        return [
            r
            for r in (self._stock_row(i, p, rec, today) for i, p, rec in rows)
            if not wanted or r.expiry_status in wanted
        ]

    @staticmethod
    def _stock_row(item: Item, product: Product, rec: Receiving | None, today: date) -> StockRow:
        return StockRow(
            item=item,
            product=product,
            supplier=rec.supplier if rec else "",
            received_at=rec.received_at if rec else None,
            expiry_status=expiry_status(item.expiry, today),
            days_left=(item.expiry - today).days if item.expiry else None,
        )

    # ---- bedside binding ---------------------------------------------------------------------------
    @requires(Action.BIND_DEVICE)
    def bind_scan(
        self,
        run_id: int,
        text: str,
        *,
        procedure_id: int | None = None,
        override_reason: str | None = None,
        product_id: int | None = None,
        expected_category: str | None = None,
        entry: CodeEntry | str = CodeEntry.MANUAL,
    ) -> ScanVerdict:
        """Bind the scanned item to the run (at ``procedure_id``) and say what happened.

        Returns a ``ScanVerdict``; only ``bound`` wrote anything (usage + audit, one transaction),
        and ``blocked_*``/``run_closed`` write a failed-attempt audit row. Warnings (``warn_*``,
        ``wrong_category``) bind when the scan is repeated with ``override_reason``. ``product_id``
        says which product a hand-typed plain code belongs to; ``expected_category`` is the slot the
        scan was made into (oxygenator, drainage cannula …). ``entry`` says how the code came: a
        plain (non-UDI) code is refused when scanned and needs confirming when typed (``CodeEntry``).
        """
        reason = self._clean_reason(override_reason)
        try:
            parsed = self._parse(text)
        except CodeError as err:
            return ScanVerdict(VerdictKind.INVALID_CODE, err.message, dict(err.params), reason=err.reason)
        how = CodeEntry(entry)
        if parsed.scheme == "plain" and how is CodeEntry.SCANNED:
            return ScanVerdict(
                VerdictKind.INVALID_CODE,
                NOT_UDI_SCANNED,
                {"code": parsed.raw},
                code=scanned(parsed),
                reason="not_udi",
            )
        if parsed.scheme == "plain" and how is CodeEntry.TYPED:
            return ScanVerdict(
                VerdictKind.CONFIRM_MANUAL,
                VERDICT_MESSAGES[VerdictKind.CONFIRM_MANUAL],
                {"code": parsed.raw},
                code=scanned(parsed),
            )
        return self._bind(
            run_id,
            parsed,
            text,
            procedure_id=procedure_id,
            reason=reason,
            product_id=product_id,
            expected_category=expected_category,
            item_id=None,
        )

    @requires(Action.RECEIVE_DEVICE)
    def receive_and_bind(
        self,
        run_id: int,
        text: str,
        *,
        supplier: str,
        procedure_id: int | None = None,
        override_reason: str | None = None,
        product_id: int | None = None,
        lot: str | None = None,
        serial: str | None = None,
        expiry: date | None = None,
        expected_category: str | None = None,
        delivery_note: str = "",
    ) -> ScanVerdict:
        """After ``not_received`` and the user's "receive now": record the receipt, then bind it.

        The receipt is committed first (the item is physically on the ward either way); the binding
        then runs every check of ``bind_scan`` against exactly the item just received.
        """
        user = self.ctx.require_user()
        if not allowed(Action.BIND_DEVICE, user.roles):
            raise PermissionDenied(N_("您的角色无权执行此操作（{action}）"), action=Action.BIND_DEVICE.value)
        reason = self._clean_reason(override_reason)
        try:
            parsed = self._parse(text)
        except CodeError as err:
            return ScanVerdict(VerdictKind.INVALID_CODE, err.message, dict(err.params), reason=err.reason)
        who = clean_text(supplier, N_("供应商"), required=True, max_length=200)
        note = clean_text(delivery_note, N_("随货单号"), max_length=100)

        def receive(uow: UnitOfWork) -> Item:
            run = uow.runs.get(run_id)
            if run.status in CLOSED_RUN_STATUSES:
                raise ValidationError(FieldError(N_("ECMO 病例"), N_("该 ECMO 病例已结束，不能再绑定器械")))
            rec = uow.devices.add_receiving(
                supplier=who, received_at=self.ctx.now(), received_by_id=user.id, delivery_note=note
            )
            self._audit(uow, "create", "device_receiving", rec.id, after=rec, reason=N_("床旁入库"))
            result = self._receive(
                uow,
                rec.id,
                parsed,
                product_id=product_id,
                lot=lot,
                serial=serial,
                expiry=expiry,
                production_date=None,
                quantity=1,
            )
            uow.commit()
            return result.items[0]

        item = self._transact(receive)
        return self._bind(
            run_id,
            parsed,
            text,
            procedure_id=procedure_id,
            reason=reason,
            product_id=product_id,
            expected_category=expected_category,
            item_id=item.id,
        )

    @staticmethod
    def _clean_reason(value: str | None) -> str:
        return clean_text(value, N_("理由"), max_length=500, multiline=True) if value is not None else ""

    def _bind(
        self,
        run_id: int,
        parsed: ParsedCode,
        text: str,
        *,
        procedure_id: int | None,
        reason: str,
        product_id: int | None,
        expected_category: str | None,
        item_id: int | None,
    ) -> ScanVerdict:
        state: dict[str, Any] = {}

        def work(uow: UnitOfWork) -> ScanVerdict:
            return self._check_and_bind(
                uow,
                run_id,
                parsed,
                text,
                procedure_id=procedure_id,
                reason=reason,
                product_id=product_id,
                expected_category=expected_category,
                item_id=item_id,
                state=state,
            )

        for _attempt in range(LOT_ATTEMPTS):
            try:
                return self._transact(work)
            except IntegrityConflict as exc:
                if exc.constraint not in R6_CONSTRAINTS:
                    raise
                target: _Target = state["target"]
                if not target.item.serialised and item_id is None:
                    log.info("lot unit %s taken by another workstation; taking the next", target.item.id)
                    continue
                verdict = self._transact(
                    partial(self._reused_after_conflict, run_id=run_id, parsed=parsed, target=target)
                )
                if verdict is not None:
                    return verdict
        raise TransientConflict()

    def _precheck_reuse(self, holder: UsageHolder | None) -> UsageHolder | None:
        """Who already holds the item, as read before the INSERT, for a friendly message.

        Not the guard — the R6 index is. This seam exists so tests can make the look-up find nobody
        and prove the index alone refuses the second binding (REL-4's negative control).
        """
        return holder

    def _check_and_bind(
        self,
        uow: UnitOfWork,
        run_id: int,
        parsed: ParsedCode,
        text: str,
        *,
        procedure_id: int | None,
        reason: str,
        product_id: int | None,
        expected_category: str | None,
        item_id: int | None,
        state: dict[str, Any],
    ) -> ScanVerdict:
        code = scanned(parsed)
        context = uow.devices.scan_context(
            run_id, item_key=parsed.item_key if item_id is None else None, item_id=item_id
        )
        run = context.run
        if procedure_id is not None and uow.devices.procedure_run(procedure_id) != run_id:
            raise ValidationError(FieldError(N_("操作记录"), N_("该操作记录不属于此 ECMO 病例")))
        if run.status in CLOSED_RUN_STATUSES:
            verdict = ScanVerdict(
                VerdictKind.RUN_CLOSED,
                VERDICT_MESSAGES[VerdictKind.RUN_CLOSED],
                {"status": RunStatus(run.status).label},
                code=code,
            )
            return self._refuse(uow, verdict, run, None)
        if context.item is not None and context.product is not None:  # the common case: all read already
            target = _Target(context.product, context.item)
            holder, recall = context.holder, context.recall
        else:
            expired = self._expired_label(uow, parsed, code)
            if expired is not None:  # before "add to catalogue?" / "receive now?" / "pick the product"
                return self._refuse(uow, expired, run, None)
            resolved = self._resolve_target(uow, parsed, product_id, code)
            if isinstance(resolved, ScanVerdict):
                recalled = self._recalled_unreceived(uow, resolved, parsed, code)
                return self._refuse(uow, recalled, run, None) if recalled is not None else resolved
            target = resolved
            holder = uow.devices.active_holder(target.item.id) if target.item.serialised else None
            recall = (
                uow.devices.active_recall(target.product.id, target.item.lot) if target.item.lot else None
            )
        state["target"] = target
        product, item = target.product, target.item
        if product.single_use and item.serialised:
            holder = self._precheck_reuse(holder)
            if holder is not None:
                return self._refuse(uow, self._reused_verdict(holder, run_id, code, target), run, item)
        expiry = min((d for d in (item.expiry, parsed.expiry) if d is not None), default=None)
        if expiry is not None and expiry < self._today():
            verdict = ScanVerdict(
                VerdictKind.BLOCKED_EXPIRED,
                VERDICT_MESSAGES[VerdictKind.BLOCKED_EXPIRED],
                {"expiry": expiry.isoformat(), "product": product.name},
                code=code,
                product=product,
                item=item,
            )
            return self._refuse(uow, verdict, run, item)
        pending: dict[VerdictKind, dict[str, Any]] = {}
        if recall is not None:
            pending[VerdictKind.WARN_RECALLED] = {"lot": item.lot, "recall_reason": recall.reason}
        if not product.has_nmpa:
            pending[VerdictKind.WARN_NO_NMPA] = {}
        if product.single_use and not item.serialised:
            pending[VerdictKind.WARN_NO_SERIAL] = {}
        if expected_category and expected_category != product.category:
            pending[VerdictKind.WRONG_CATEGORY] = {
                "actual": _category_label(product.category),
                "expected": _category_label(expected_category),
            }
        kinds = tuple(k for k in WARNING_ORDER if k in pending)
        if kinds and not reason:
            first = kinds[0]
            params = {
                "product": product.name,
                "lot": item.lot or "-",
                "serial": item.serial or "-",
                **pending[first],
            }
            return ScanVerdict(
                first,
                VERDICT_MESSAGES[first],
                params,
                code=code,
                product=product,
                item=item,
                recall=recall,
                pending=kinds,
            )
        usage = uow.devices.add_usage(
            item_id=item.id,
            run_id=run_id,
            procedure_id=procedure_id,
            single_use=product.single_use,
            bound_at=self.ctx.now(),
            bound_by_id=self.ctx.require_user().id,
            scanned_text=parsed.raw,
            override_reason=reason if kinds else None,
            warnings=[k.value for k in kinds],
        )
        self._audit(
            uow,
            "bind",
            "device_usage",
            usage.id,
            run_id=run_id,
            patient_id=run.patient_id,
            reason=reason if kinds else None,
            after={
                **snapshot(usage),
                "product": product.name,
                "lot": item.lot,
                "serial": item.serial,
                "item_key": item.item_key,
            },
        )
        uow.commit()
        return ScanVerdict(
            VerdictKind.BOUND,
            VERDICT_MESSAGES[VerdictKind.BOUND],
            {"product": product.name, "lot": item.lot or "-", "serial": item.serial or "-"},
            code=code,
            product=product,
            item=item,
            usage=usage,
            recall=recall,
            overridden=kinds,
        )

    def _expired_label(self, uow: UnitOfWork, parsed: ParsedCode, code: ScannedCode) -> ScanVerdict | None:
        """A label whose own expiry has passed is refused first: nothing else it could lead to
        (adding the product, receiving it, choosing its product) may end on a patient."""
        if parsed.expiry is None or parsed.expiry >= self._today():
            return None
        product = (
            uow.devices.product_by_identifier(gtin=parsed.gtin, udi_di=parsed.product_id)
            if parsed.device_identifier is not None
            else None
        )
        return ScanVerdict(
            VerdictKind.BLOCKED_EXPIRED,
            VERDICT_MESSAGES[VerdictKind.BLOCKED_EXPIRED],
            {
                "expiry": parsed.expiry.isoformat(),
                "product": product.name if product else parsed.device_identifier or parsed.raw,
            },
            code=code,
            product=product,
        )

    @staticmethod
    def _recalled_unreceived(
        uow: UnitOfWork, verdict: ScanVerdict, parsed: ParsedCode, code: ScannedCode
    ) -> ScanVerdict | None:
        """A never-received item of a recalled lot: refused rather than offered "receive now?",
        because receiving refuses recalled lots."""
        if verdict.kind is not VerdictKind.NOT_RECEIVED or verdict.product is None or not parsed.lot:
            return None
        recall = uow.devices.active_recall(verdict.product.id, parsed.lot)
        if recall is None:
            return None
        return ScanVerdict(
            VerdictKind.BLOCKED_RECALLED,
            VERDICT_MESSAGES[VerdictKind.BLOCKED_RECALLED],
            {
                "lot": parsed.lot,
                "recall_reason": recall.reason,
                "expiry": _fmt_date(parsed.expiry),
                "product": verdict.product.name,
            },
            code=code,
            product=verdict.product,
            recall=recall,
        )

    def _resolve_target(
        self, uow: UnitOfWork, parsed: ParsedCode, product_id: int | None, code: ScannedCode
    ) -> _Target | ScanVerdict:
        """What a scan names when the context query found no received item by its key."""
        if parsed.device_identifier is None:
            return self._resolve_plain(uow, parsed, product_id, code)
        product = uow.devices.product_by_identifier(gtin=parsed.gtin, udi_di=parsed.product_id)
        if product is None:
            return ScanVerdict(
                VerdictKind.UNKNOWN_PRODUCT,
                VERDICT_MESSAGES[VerdictKind.UNKNOWN_PRODUCT],
                {"di": parsed.device_identifier},
                code=code,
            )
        if parsed.item_key is not None:
            return ScanVerdict(
                VerdictKind.NOT_RECEIVED,
                VERDICT_MESSAGES[VerdictKind.NOT_RECEIVED],
                {"what": f"{product.name}，序列号 {parsed.serial}"},
                code=code,
                product=product,
            )
        found = uow.devices.free_lot_item(product.id, parsed.lot)
        if found is None:
            return ScanVerdict(
                VerdictKind.NOT_RECEIVED,
                VERDICT_MESSAGES[VerdictKind.NOT_RECEIVED],
                {"what": f"{product.name}，批号 {parsed.lot or '-'}，无可用库存"},
                code=code,
                product=product,
            )
        return _Target(product, found)

    def _resolve_plain(
        self, uow: UnitOfWork, parsed: ParsedCode, product_id: int | None, code: ScannedCode
    ) -> _Target | ScanVerdict:
        serial = parsed.serial
        needs = ScanVerdict(
            VerdictKind.NEEDS_PRODUCT,
            VERDICT_MESSAGES[VerdictKind.NEEDS_PRODUCT],
            {"serial": serial or parsed.raw},
            code=code,
        )
        if not serial:
            return needs
        if product_id is not None:
            product = uow.devices.get_product(product_id)
            found = uow.devices.item_by_key(canonical_item_key(product, serial))
            if found is None:
                return ScanVerdict(
                    VerdictKind.NOT_RECEIVED,
                    VERDICT_MESSAGES[VerdictKind.NOT_RECEIVED],
                    {"what": f"{product.name}，序列号 {serial}"},
                    code=code,
                    product=product,
                )
            return _Target(product, found)
        candidates = [i for i in uow.devices.items_by_serial(serial) if i.item_key is not None]
        if len(candidates) != 1:
            return needs
        return _Target(uow.devices.get_product(candidates[0].product_id), candidates[0])

    def _reused_verdict(
        self, holder: UsageHolder, run_id: int, code: ScannedCode, target: _Target
    ) -> ScanVerdict:
        params = {
            "bound_at": format_local(holder.bound_at),
            "patient": holder.patient_name,
            "mrn": holder.mrn,
            "run_number": holder.run_number,
            "bound_by": holder.bound_by_name or "-",
            "product": target.product.name,
            "serial": target.item.serial or "-",
        }
        message = VERDICT_MESSAGES[VerdictKind.BLOCKED_REUSED]
        if holder.run_id == run_id:
            message = N_(
                "一次性器械不得重复使用：该器械已于 {bound_at} 绑定到本病例（患者 {patient}，住院号 {mrn}），"
                "请勿重复扫码"
            )
        return ScanVerdict(
            VerdictKind.BLOCKED_REUSED,
            message,
            params,
            code=code,
            product=target.product,
            item=target.item,
            holder=holder,
        )

    def _reused_after_conflict(
        self, uow: UnitOfWork, run_id: int, parsed: ParsedCode, target: _Target
    ) -> ScanVerdict | None:
        """The R6 index refused our INSERT: say who holds the item (None if they let go meanwhile)."""
        holder = uow.devices.active_holder(target.item.id)
        if holder is None:
            return None
        run = uow.devices.run_brief(run_id)
        verdict = self._reused_verdict(holder, run_id, scanned(parsed), target)
        return self._refuse(uow, verdict, run, target.item)

    def _refuse(self, uow: UnitOfWork, verdict: ScanVerdict, run: RunBrief, item: Item | None) -> ScanVerdict:
        """A blocked binding is an event too (AUD-1 logs failures): audit it, then answer."""
        after: dict[str, Any] = {
            "verdict": verdict.kind.value,
            "scanned": verdict.code.raw if verdict.code else None,
        }
        if verdict.holder is not None:
            after["held_by_usage"] = verdict.holder.usage_id
            after["held_by_run"] = verdict.holder.run_id
        self._audit(
            uow,
            "bind_refused",
            "device_item",
            item.id if item else None,
            run_id=run.run_id,
            patient_id=run.patient_id,
            after=after,
            success=False,
        )
        uow.commit()
        return verdict

    @requires(Action.BIND_DEVICE)
    def void_usage(self, usage_id: int, reason: str) -> Usage:
        """Correct a wrong record: the binding is marked voided with a reason (never deleted).

        Voiding corrects the record; it never makes a *used* single-use item usable again (R6). A wrong
        scan voided while the run is open frees the item. A binding already retired from the circuit,
        or one on a closed run, was used: it is voided with ``item_spent`` set, which keeps it in the
        R6 index, so the serial stays refused on every other run.
        """
        why = clean_text(reason, N_("作废原因"), required=True, max_length=500, multiline=True)
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> Usage:
            before = uow.devices.get_usage(usage_id)
            if before.voided:
                raise ValidationError(FieldError(N_("器械使用记录"), N_("该绑定已作废")))
            run = uow.runs.get(before.run_id)
            spent = before.single_use and (before.removed_at is not None or run.status in CLOSED_RUN_STATUSES)
            after = uow.devices.update_usage(
                usage_id, voided_at=self.ctx.now(), voided_by_id=user.id, void_reason=why, item_spent=spent
            )
            self._audit(
                uow,
                "void",
                "device_usage",
                usage_id,
                before={"voided_at": None},
                after={
                    "voided_at": after.voided_at,
                    "voided_by_id": user.id,
                    "void_reason": why,
                    "item_spent": spent,
                },
                reason=why,
                run_id=run.id,
                patient_id=run.patient_id,
            )
            uow.commit()
            return after

        return self._transact(work)

    @requires(Action.BIND_DEVICE)
    def retire_usage(self, usage_id: int, reason: str, *, removed_at: datetime | None = None) -> Usage:
        """Take an item out of the circuit (circuit change, decannulation). It stays *used*: a
        retired single-use item can never be bound again."""
        why = clean_text(reason, N_("撤除原因"), required=True, max_length=500, multiline=True)
        now = self.ctx.now()
        when = removed_at or now

        def work(uow: UnitOfWork) -> Usage:
            before = uow.devices.get_usage(usage_id)
            if before.voided:
                raise ValidationError(FieldError(N_("器械使用记录"), N_("该绑定已作废，无需撤除")))
            if before.removed_at is not None:
                raise ValidationError(
                    FieldError(
                        N_("器械使用记录"),
                        N_("该器械已于 {when} 撤除"),
                        {"when": format_local(before.removed_at)},
                    )
                )
            if when < before.bound_at or when > now:
                raise ValidationError(FieldError(N_("撤除时间"), N_("应在绑定时间与当前时间之间")))
            after = uow.devices.update_usage(usage_id, removed_at=when, removal_reason=why)
            run = uow.runs.get(after.run_id)
            self._audit(
                uow,
                "retire",
                "device_usage",
                usage_id,
                before={"removed_at": None},
                after={"removed_at": when, "removal_reason": why},
                reason=why,
                run_id=run.id,
                patient_id=run.patient_id,
            )
            uow.commit()
            return after

        return self._transact(work)

    # ---- recall ------------------------------------------------------------------------------------
    @staticmethod
    def _gtin_key(gtin: str | None) -> str | None:
        """A typed GTIN as stored (GTIN-14), or a ValidationError naming what is wrong with it."""
        if not gtin:
            return None
        try:
            return normalise_gtin(gtin)
        except ValueError as exc:
            raise ValidationError(FieldError("GTIN", str(exc))) from exc

    def _product_for_gtin(self, uow: UnitOfWork, gtin: str | None) -> Product | None:
        key = self._gtin_key(gtin)
        if key is None:
            return None
        product = uow.devices.product_by_identifier(gtin=key, udi_di=None)
        if product is None:
            raise ValidationError(
                FieldError("GTIN", N_("器械目录中没有 GTIN 为 {gtin} 的产品"), {"gtin": key})
            )
        return product

    @requires(Action.RECALL)
    def recall_lot(self, lot: str, *, reason: str, gtin: str | None = None) -> Recall:
        """Mark a lot recalled (of one product when ``gtin`` is given); scans of it then warn."""
        lot_value = clean_text(lot, N_("批号"), required=True, max_length=60)
        why = clean_text(reason, N_("召回原因"), required=True, max_length=1000, multiline=True)
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> Recall:
            product = self._product_for_gtin(uow, gtin)
            for r in uow.devices.list_recalls(active_only=True):
                if r.lot == lot_value and r.product_id == (product.id if product else None):
                    raise ValidationError(
                        FieldError(N_("批号"), N_("批号 {lot} 已处于召回状态"), {"lot": lot_value})
                    )
            recall = uow.devices.add_recall(
                product_id=product.id if product else None,
                lot=lot_value,
                reason=why,
                recalled_at=self.ctx.now(),
                recorded_by_id=user.id,
            )
            self._audit(uow, "recall", "lot_recall", recall.id, after=recall, reason=why)
            uow.commit()
            return recall

        return self._transact(work)

    @requires(Action.RECALL)
    def lift_recall(self, recall_id: int, *, reason: str) -> Recall:
        why = clean_text(reason, N_("解除原因"), required=True, max_length=1000, multiline=True)

        def work(uow: UnitOfWork) -> Recall:
            if not uow.devices.get_recall(recall_id).active:
                raise ValidationError(FieldError(N_("召回"), N_("该召回已解除")))
            recall = uow.devices.lift_recall(recall_id, lifted_at=self.ctx.now())
            self._audit(
                uow, "lift_recall", "lot_recall", recall_id, after={"lifted_at": recall.lifted_at}, reason=why
            )
            uow.commit()
            return recall

        return self._transact(work)

    @requires(Action.TRACE)
    def list_recalls(self, *, active_only: bool = False) -> list[Recall]:
        return self._read(lambda uow: uow.devices.list_recalls(active_only=active_only))

    # ---- trace -------------------------------------------------------------------------------------
    @requires(Action.TRACE)
    def trace_lot(self, lot: str, *, gtin: str | None = None, include_voided: bool = False) -> list[TraceRow]:
        """Every patient and run that received the lot (voided wrong scans left out unless asked)."""
        lot_value = clean_text(lot, N_("批号"), required=True, max_length=60)
        key = self._gtin_key(gtin)
        return self._read(
            lambda uow: uow.devices.trace(lot=lot_value, gtin=key, include_voided=include_voided)
        )

    @requires(Action.TRACE)
    def lot_stock(self, lot: str, *, gtin: str | None = None) -> list[StockRow]:
        """Units of the lot still on the shelf: what a recall must pull back."""
        lot_value = clean_text(lot, N_("批号"), required=True, max_length=60)
        today = self._today()

        key = self._gtin_key(gtin)
        rows = self._read(lambda uow: uow.devices.stock(lot=lot_value, gtin=key))
        return [self._stock_row(i, p, r, today) for i, p, r in rows]

    @requires(Action.TRACE)
    def lot_view(
        self, lot: str, *, gtin: str | None = None, include_voided: bool = False
    ) -> tuple[list[TraceRow], list[StockRow], bool]:
        """Everything the recall screen shows for one lot — its uses (``trace_lot``), the units still
        on the shelf (``lot_stock``) and whether it is under an active recall — in one read
        transaction: one permission check, one connection, one snapshot, instead of three."""
        lot_value = clean_text(lot, N_("批号"), required=True, max_length=60)
        key = self._gtin_key(gtin)
        today = self._today()

        def work(uow: UnitOfWork) -> tuple[list[TraceRow], list[StockRow], bool]:
            rows = uow.devices.trace(lot=lot_value, gtin=key, include_voided=include_voided)
            stock = [
                self._stock_row(i, p, r, today) for i, p, r in uow.devices.stock(lot=lot_value, gtin=key)
            ]
            return rows, stock, uow.devices.lot_recalled(lot_value)

        return self._read(work)

    def _histories(self, uow: UnitOfWork, items: Sequence[Item]) -> list[ItemHistory]:
        out = []
        for item in items:
            rec = uow.devices.get_receiving(item.receiving_id) if item.receiving_id is not None else None
            out.append(
                ItemHistory(
                    item,
                    uow.devices.get_product(item.product_id),
                    rec,
                    tuple(uow.devices.item_events(item.id)),
                )
            )
        return out

    @requires(Action.TRACE)
    def trace_serial(self, serial: str) -> list[ItemHistory]:
        """An item's life by its serial: received, bound, voided, retired (one per matching item)."""
        value = clean_text(serial, N_("序列号"), required=True, max_length=60)

        def work(uow: UnitOfWork) -> list[ItemHistory]:
            items = {i.id: i for i in uow.devices.items_by_serial(value)}
            if value.upper() != value:
                items.update({i.id: i for i in uow.devices.items_by_serial(value.upper())})
            return self._histories(uow, sorted(items.values(), key=lambda i: i.id))

        return self._read(work)

    @requires(Action.TRACE)
    def trace_code(self, text: str) -> list[ItemHistory]:
        """The history of the item a scanned label names (``CodeError`` for an unreadable code)."""
        parsed = self._parse(text)

        def work(uow: UnitOfWork) -> list[ItemHistory]:
            if parsed.item_key is not None:
                item = uow.devices.item_by_key(parsed.item_key)
                return self._histories(uow, [item] if item else [])
            if parsed.serial:
                return self._histories(uow, uow.devices.items_by_serial(parsed.serial))
            return []

        return self._read(work)

    @requires(Action.TRACE)
    def trace_run(self, run_id: int, *, include_voided: bool = True) -> list[TraceRow]:
        """Every device bound to a run, in binding order (the operation note prints these, R8)."""
        return self._read(lambda uow: uow.devices.trace(run_id=run_id, include_voided=include_voided))

    @requires(Action.TRACE)
    def trace_patient(self, patient_id: int, *, include_voided: bool = True) -> list[TraceRow]:
        return self._read(lambda uow: uow.devices.trace(patient_id=patient_id, include_voided=include_voided))

    @requires(Action.VIEW_CASES)
    def binding_procedures(self, run_id: int) -> list[ProcedureRef]:
        """The run's procedures (not voided), oldest first: where a scan's ``procedure_id`` comes from."""
        return self._read(lambda uow: uow.devices.procedures(run_id))

    @requires(Action.TRACE)
    def procedure_devices(self, run_id: int, procedure_id: int) -> list[TraceRow]:
        """The devices bound at one procedure, not voided: the rows of its operation note (R8)."""
        return [r for r in self.trace_run(run_id, include_voided=False) if r.procedure_id == procedure_id]
