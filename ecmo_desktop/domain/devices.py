"""Device traceability values: catalogue, received items, their use on runs, recalls, equipment.

These are what ``DeviceService`` / ``EquipmentService`` hand to the GUI (scan bar, device pages),
the CLI, the documents engineer's operation note (R8) and the exchange code. They are plain frozen
values with ids, never live database rows.

The scan at the bedside ends in exactly one ``ScanVerdict``; its ``kind`` tells the UI what to show
and what it may offer next:

==================  =========================================================================
kind                meaning / what the UI offers
==================  =========================================================================
bound               written: the usage row and its audit row are committed
blocked_reused      R6: the single-use item already has an active binding (``holder`` names the
                    patient, MRN, run and time); never overridable
blocked_expired     the item's expiry date has passed; never overridable. Checked before anything
                    that would offer a next step (add to catalogue, receive now, pick the product):
                    an expired label is refused at once, whether or not it was ever received
blocked_recalled    the lot is recalled and the item was never received: it cannot be received
                    (``receive_*`` refuse recalled lots), so "receive now?" is never offered
run_closed          the run is ended or cancelled; nothing can be bound to it any more
warn_no_nmpa        R5: the product has no NMPA registration number; repeat with ``override_reason``
warn_recalled       the lot is recalled; repeat with ``override_reason``
warn_no_serial      the label has no serial, so R6 cannot be checked by the database; repeat with
                    ``override_reason`` attesting an unopened, unused package
wrong_category      the product is not of the category the slot asked for; repeat with a reason
unknown_product     the GTIN/DI is not in the catalogue: an administrator gets "add to catalogue";
                    anyone else records a ``ProductRequest`` for the administrator's worklist
                    (``DeviceService.request_product``) and is told to call the administrator
not_received        the item (or, for lot-only labels, unbound stock of that lot) was never
                    received: "receive now?" → ``receive_and_bind``
needs_product       a hand-typed plain code carries no DI: the user must pick the product
confirm_manual      a *typed* entry that is no UDI label (``QWERTY12345ZZ``): it is taken as a
                    hand-copied device number only after the user confirms it is one (the scan is
                    repeated with ``entry=manual``); a *scanned* plain code is ``invalid_code``
invalid_code        the parser refused the text; ``message`` is its precise Chinese reason
==================  =========================================================================

All warnings pending on one scan are listed in ``pending`` so one reason covers them all; the
reason given is stored on the usage (``override_reason``) with the overridden warnings.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import N_, _

EXPIRY_WARNING_DAYS = 30
"""Stock within this many days of its expiry date is flagged 'expiring' in the stock view."""


class VerdictKind(StrEnum):
    BOUND = "bound"
    BLOCKED_REUSED = "blocked_reused"
    BLOCKED_EXPIRED = "blocked_expired"
    BLOCKED_RECALLED = "blocked_recalled"
    RUN_CLOSED = "run_closed"
    WARN_NO_NMPA = "warn_no_nmpa"
    WARN_RECALLED = "warn_recalled"
    WARN_NO_SERIAL = "warn_no_serial"
    WRONG_CATEGORY = "wrong_category"
    UNKNOWN_PRODUCT = "unknown_product"
    NOT_RECEIVED = "not_received"
    NEEDS_PRODUCT = "needs_product"
    CONFIRM_MANUAL = "confirm_manual"
    INVALID_CODE = "invalid_code"

    @property
    def needs_override(self) -> bool:
        """A warning the user may accept by scanning again with a reason."""
        return self in OVERRIDABLE

    @property
    def blocked(self) -> bool:
        """A refusal no reason can lift."""
        return self in (
            VerdictKind.BLOCKED_REUSED,
            VerdictKind.BLOCKED_EXPIRED,
            VerdictKind.BLOCKED_RECALLED,
            VerdictKind.RUN_CLOSED,
        )


OVERRIDABLE = frozenset(
    {
        VerdictKind.WARN_NO_NMPA,
        VerdictKind.WARN_RECALLED,
        VerdictKind.WARN_NO_SERIAL,
        VerdictKind.WRONG_CATEGORY,
    }
)

# The order warnings are reported in when several apply: the most serious first.
WARNING_ORDER = (
    VerdictKind.WARN_RECALLED,
    VerdictKind.WARN_NO_NMPA,
    VerdictKind.WARN_NO_SERIAL,
    VerdictKind.WRONG_CATEGORY,
)

VERDICT_RULES: dict[VerdictKind, str] = {
    VerdictKind.BLOCKED_REUSED: "R6",
    VerdictKind.WARN_NO_NMPA: "R5",
    VerdictKind.WARN_NO_SERIAL: "R6",
    VerdictKind.NOT_RECEIVED: "R7",
}


class CodeEntry(StrEnum):
    """How a code reached the service: only a typed entry can be a hand-copied number, and only once
    the person has confirmed it is one; a scanner or camera reading a non-UDI barcode is garbage."""

    SCANNED = "scanned"  # wedge burst, camera, image: a plain code is refused
    TYPED = "typed"  # typed, not yet confirmed: a plain code asks "is this a hand-copied number?"
    MANUAL = "manual"  # confirmed hand-entered number (and the CLI / service default)


class ExpiryStatus(StrEnum):
    OK = "ok"
    EXPIRING = "expiring"  # within EXPIRY_WARNING_DAYS
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # no expiry on the label and none entered


def expiry_status(expiry: date | None, today: date, *, warn_days: int = EXPIRY_WARNING_DAYS) -> ExpiryStatus:
    """The expiry date is the last day of use: an item expiring today may still be used today."""
    if expiry is None:
        return ExpiryStatus.UNKNOWN
    if expiry < today:
        return ExpiryStatus.EXPIRED
    if (expiry - today).days <= warn_days:
        return ExpiryStatus.EXPIRING
    return ExpiryStatus.OK


def gs1_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of ``body`` (all digits but the last), weights 3,1,3… from the right.

    Leading zeros do not change it, which is why a GTIN whose zeros a spreadsheet stripped can be
    restored by padding and still be verified.
    """
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def normalise_gtin(text: str) -> str:
    """A GTIN-8/12/13/14 as GTIN-14, or ``ValueError`` with a Chinese msgid naming the problem.

    Used by the catalogue form and the CSV import, where a GTIN is typed or pasted, not scanned.
    """
    value = text.strip()
    if not value.isdigit() or not value.isascii():
        raise ValueError(N_("GTIN 只能包含数字"))
    if len(value) not in (8, 12, 13, 14):
        raise ValueError(N_("GTIN 应为 8、12、13 或 14 位数字"))
    if gs1_check_digit(value[:-1]) != int(value[-1]):
        raise ValueError(N_("GTIN 校验位错误"))
    padded = value.zfill(14)
    if padded == "0" * 14:
        raise ValueError(N_("GTIN 全为 0，不是有效的产品标识"))
    return padded


def canonical_item_key(product: Product, serial: str) -> str:
    """The R6 identity of a serialised item when the key is built from a product and a typed serial.

    It equals what ``codes.ParsedCode.item_key`` gives for a full scan of the same label (``gs1:`` +
    GTIN-14, ``hibc:`` + LIC/PCN/U-M, ``ma:`` + DI), so an item received by typing its serial and
    later scanned from its DataMatrix (or the other way round) is still one item. Products without
    any DI are keyed by their catalogue id: their serial is only unique within the product.
    """
    if product.gtin:
        return f"gs1:{product.gtin}:{serial}"
    if product.udi_di:
        scheme = "ma" if product.udi_di.upper().startswith("MA.") else "hibc"
        return f"{scheme}:{product.udi_di}:{serial}"
    return f"plain:p{product.id}:{serial}"


# ---- catalogue -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProductInput:
    """What an administrator types (or a CSV row / a scanned label pre-fills) for one product."""

    category: str
    name: str
    manufacturer: str = ""
    model: str = ""
    gtin: str | None = None  # any of GTIN-8/12/13/14; stored padded to 14 after the check digit passes
    udi_di: str | None = None  # HIBC LIC+PCN+U/M or an MA DI, when the product has no GTIN
    nmpa_number: str = ""  # 注册证编号; blank is allowed but every scan then warns (R5)
    single_use: bool = True


@dataclass(frozen=True)
class Product:
    id: int
    category: str
    name: str
    manufacturer: str
    model: str
    gtin: str | None
    udi_di: str | None
    nmpa_number: str
    single_use: bool
    active: bool
    version: int
    created_at: datetime

    @property
    def has_nmpa(self) -> bool:
        return bool(self.nmpa_number.strip())

    @property
    def device_identifier(self) -> str | None:
        return self.gtin or self.udi_di

    def as_input(self) -> ProductInput:
        return ProductInput(
            category=self.category,
            name=self.name,
            manufacturer=self.manufacturer,
            model=self.model,
            gtin=self.gtin,
            udi_di=self.udi_di,
            nmpa_number=self.nmpa_number,
            single_use=self.single_use,
        )


@dataclass(frozen=True)
class CatalogueImportResult:
    created: int
    updated: int
    unchanged: int
    products: tuple[Product, ...] = ()


# ---- receiving -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Receiving:
    """入库: one delivery (R7: the source — supplier, date, who received — is traceable)."""

    id: int
    supplier: str
    received_at: datetime
    received_by_id: int
    received_by_name: str
    delivery_note: str


@dataclass(frozen=True)
class Item:
    """One physical device (serialised), or one unit of a lot-only delivery (``item_key`` None)."""

    id: int
    product_id: int
    item_key: str | None
    serial: str | None
    lot: str | None
    expiry: date | None
    production_date: date | None
    raw_code: str
    symbology: str | None  # the code scheme it was received from: gs1, hibc, ma, plain, manual …
    receiving_id: int | None
    created_at: datetime

    @property
    def serialised(self) -> bool:
        """Only a serialised item can be told apart from its siblings, so only it is R6-identified."""
        return self.item_key is not None


@dataclass(frozen=True)
class ReceiveResult:
    receiving: Receiving
    product: Product
    items: tuple[Item, ...]
    notes: tuple[str, ...] = ()  # msgids of notices (e.g. expiring soon, product without NMPA)


@dataclass(frozen=True)
class StockRow:
    """An item received and not yet bound, with its expiry warning (stock view)."""

    item: Item
    product: Product
    supplier: str
    received_at: datetime | None
    expiry_status: ExpiryStatus
    days_left: int | None


class ItemState(StrEnum):
    """Where a received item is now, as the delivery view (入库单明细) shows it."""

    IN_STOCK = "in_stock"  # never bound, or a reusable item taken off a run and back on the shelf
    BOUND = "bound"  # an active binding holds it on a run
    VOIDED = "voided"  # its binding was voided as a wrong scan, so it is back in stock
    RETIRED = "retired"  # a single-use item removed from the circuit: used, never back in stock


@dataclass(frozen=True)
class ItemUse:
    """The binding that explains an item's state, with the run and patient it named."""

    usage_id: int
    run_id: int
    run_number: int
    patient_id: int
    patient_name: str
    mrn: str
    single_use: bool
    bound_at: datetime
    removed_at: datetime | None
    voided_at: datetime | None


@dataclass(frozen=True)
class ReceivedItemRow:
    """One item of a delivery with its current state, so an earlier delivery can be reviewed item by item.

    ``use`` is the binding that holds the item now (bound or retired) or, when none does, its latest
    binding (voided, or a reusable item's finished use); None for an item never bound.
    """

    item: Item
    product: Product
    use: ItemUse | None = None

    @property
    def state(self) -> ItemState:
        """Derived the way ``stock`` decides "in use": a non-voided single-use binding holds the item for
        good; a reusable item is held only until it is removed; a voided binding holds nothing."""
        use = self.use
        if use is None:
            return ItemState.IN_STOCK
        if use.voided_at is not None:
            return ItemState.VOIDED
        if use.removed_at is None:
            return ItemState.BOUND
        return ItemState.RETIRED if use.single_use else ItemState.IN_STOCK


# ---- usage on runs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Usage:
    id: int
    item_id: int
    run_id: int
    procedure_id: int | None
    single_use: bool
    bound_at: datetime
    bound_by_id: int
    scanned_text: str
    override_reason: str | None
    warnings: tuple[str, ...]  # the VerdictKind values overridden when binding
    removed_at: datetime | None
    removal_reason: str | None
    voided_at: datetime | None
    voided_by_id: int | None
    void_reason: str | None

    @property
    def voided(self) -> bool:
        return self.voided_at is not None

    @property
    def in_circuit(self) -> bool:
        """Bound and neither voided (wrong scan) nor retired (removed at a circuit change)."""
        return self.voided_at is None and self.removed_at is None


@dataclass(frozen=True)
class RunBrief:
    """The run and patient a scan is for: all the bedside check needs, fetched in one query."""

    run_id: int
    run_number: int
    status: str
    patient_id: int
    patient_name: str
    mrn: str


@dataclass(frozen=True)
class UsageHolder:
    """Who already holds an item: what the R6 refusal names so the nurse can check the other bed."""

    usage_id: int
    run_id: int
    run_number: int
    run_status: str
    patient_id: int
    patient_name: str
    mrn: str
    bound_at: datetime
    bound_by_name: str


@dataclass(frozen=True)
class ScanContext:
    """Everything the bedside check reads, fetched in one query: the run, the item the scan names with
    its product, who holds the item now, and an active recall of its lot."""

    run: RunBrief
    item: Item | None
    product: Product | None
    holder: UsageHolder | None
    recall: Recall | None


@dataclass(frozen=True)
class TraceRow:
    """One use of one item on one run, with everything a trace, a recall or an operation note needs."""

    usage_id: int
    bound_at: datetime
    bound_by_name: str
    procedure_id: int | None
    override_reason: str | None
    warnings: tuple[str, ...]
    removed_at: datetime | None
    removal_reason: str | None
    voided_at: datetime | None
    void_reason: str | None
    item_id: int
    item_key: str | None
    serial: str | None
    lot: str | None
    expiry: date | None
    raw_code: str  # what the label carries: the documents engineer renders the barcode from it (R8)
    symbology: str | None
    product_id: int
    product_name: str
    category: str
    manufacturer: str
    model: str
    gtin: str | None
    udi_di: str | None
    nmpa_number: str
    run_id: int
    run_number: int
    run_status: str
    patient_id: int
    patient_name: str
    mrn: str

    @property
    def voided(self) -> bool:
        return self.voided_at is not None


@dataclass(frozen=True)
class ItemEvent:
    """One step of an item's life, for the serial trace: received, bound, voided, retired."""

    at: datetime
    kind: str  # "received" | "bound" | "voided" | "retired"
    by_name: str
    run_id: int | None = None
    run_number: int | None = None
    patient_name: str | None = None
    mrn: str | None = None
    usage_id: int | None = None
    detail: str = ""  # supplier for "received"; the reason for "voided"/"retired"; override for "bound"


@dataclass(frozen=True)
class ItemHistory:
    item: Item
    product: Product
    receiving: Receiving | None
    events: tuple[ItemEvent, ...]


@dataclass(frozen=True)
class ProcedureRef:
    """A procedure of a run that devices can be bound at (the scan bar's "at which operation")."""

    id: int
    kind: str  # ProcedureKind
    started_at: datetime


# ---- recalls ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recall:
    id: int
    product_id: int | None  # None: the lot is recalled whatever the product (rare; lot names collide)
    lot: str
    reason: str
    recalled_at: datetime
    recorded_by_id: int
    lifted_at: datetime | None

    @property
    def active(self) -> bool:
        return self.lifted_at is None


# ---- product requests -------------------------------------------------------------------------------
class ProductRequestStatus(StrEnum):
    OPEN = "open"  # waiting on the administrator's worklist
    ADDED = "added"  # the product was added to the catalogue (``product_id``)
    DISMISSED = "dismissed"  # the administrator declined, with a reason


@dataclass(frozen=True)
class ProductRequest:
    """A bedside scan of a product the catalogue lacks, by someone who may not add it: the
    administrator's to-do. One open request per product identifier (a second scan joins it)."""

    id: int
    device_identifier: str
    raw_code: str
    run_id: int
    requested_by_id: int
    requested_by_name: str
    requested_at: datetime
    status: str  # ProductRequestStatus
    resolved_by_id: int | None
    resolved_at: datetime | None
    resolution_note: str
    product_id: int | None

    @property
    def open(self) -> bool:
        return self.status == ProductRequestStatus.OPEN.value


# ---- the bedside scan ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScannedCode:
    """The parsed label, as the verdict reports it (a copy of ``codes.ParsedCode.to_json``)."""

    scheme: str
    gtin: str | None
    product_id: str | None
    lot: str | None
    serial: str | None
    expiry: date | None
    production_date: date | None
    raw: str
    item_key: str | None
    device_identifier: str | None


@dataclass(frozen=True)
class ScanVerdict:
    """The one answer to a scan at the bedside; see the module docstring for each kind."""

    kind: VerdictKind
    message: str  # msgid
    params: dict[str, Any] = field(default_factory=dict)
    code: ScannedCode | None = None
    product: Product | None = None
    item: Item | None = None
    usage: Usage | None = None  # the new binding (bound)
    holder: UsageHolder | None = None  # who already holds the item (blocked_reused)
    recall: Recall | None = None  # warn_recalled
    pending: tuple[VerdictKind, ...] = ()  # every warning still needing a reason (first == kind)
    overridden: tuple[VerdictKind, ...] = ()  # warnings accepted with the reason (bound)
    reason: str | None = None  # parser's reason code (invalid_code)

    @property
    def bound(self) -> bool:
        return self.kind is VerdictKind.BOUND

    @property
    def needs_override(self) -> bool:
        return self.kind.needs_override

    @property
    def rule(self) -> str | None:
        return VERDICT_RULES.get(self.kind)

    def user_message(self) -> str:
        """Translated and formatted, with the rule id in front when a rule speaks (as EcmoError does)."""
        text = _(self.message)
        with contextlib.suppress(KeyError, IndexError, ValueError):
            text = text.format(**self.params)
        return f"[{self.rule}] {text}" if self.rule and self.kind is not VerdictKind.NOT_RECEIVED else text


# ---- capital equipment -----------------------------------------------------------------------------
@dataclass(frozen=True)
class EquipmentInput:
    kind: str  # EquipmentKind
    model: str
    serial: str
    manufacturer: str = ""
    purchase_date: date | None = None
    notes: str = ""


@dataclass(frozen=True)
class EquipmentUse:
    """The run a console / heater-cooler serves now (its open link), for the equipment list."""

    link_id: int
    run_id: int
    run_number: int
    patient_id: int
    patient_name: str
    mrn: str
    since: datetime


@dataclass(frozen=True)
class Equipment:
    """A registered device. ``current_run`` is filled only by the equipment list (one query for all
    devices); single-device reads and writes leave it None, so it is not part of the device's record."""

    id: int
    hospital_id: int
    kind: str
    model: str
    manufacturer: str
    serial: str
    purchase_date: date | None
    active: bool
    notes: str
    created_at: datetime
    version: int
    current_run: EquipmentUse | None = None


@dataclass(frozen=True)
class EquipmentLink:
    """A console or heater-cooler in use on a run from ``from_at`` until ``to_at`` (None: still on)."""

    id: int
    run_id: int
    equipment_id: int
    from_at: datetime
    to_at: datetime | None
    linked_by_id: int
    equipment: Equipment | None = None
    patient_name: str = ""
    mrn: str = ""
    run_number: int = 0

    @property
    def current(self) -> bool:
        return self.to_at is None


VERDICT_MESSAGES: dict[VerdictKind, str] = {
    VerdictKind.BOUND: N_("已绑定：{product}（批号 {lot}，序列号 {serial}）"),
    VerdictKind.BLOCKED_REUSED: N_(
        "一次性器械不得重复使用：该器械已于 {bound_at} 绑定到患者 {patient}"
        "（住院号 {mrn}）第 {run_number} 次 ECMO，操作人 {bound_by}"
    ),
    VerdictKind.BLOCKED_EXPIRED: N_("器械已过期（有效期至 {expiry}），不得使用"),
    VerdictKind.BLOCKED_RECALLED: N_(
        "批号 {lot} 已被召回（{recall_reason}），不能入库，也不得使用（有效期至 {expiry}）"
    ),
    VerdictKind.RUN_CLOSED: N_("该 ECMO 病例已{status}，不能再绑定器械"),
    VerdictKind.WARN_NO_NMPA: N_(
        "产品“{product}”在器械目录中没有国家药监局注册证编号；如确需使用，请填写理由"
    ),
    VerdictKind.WARN_RECALLED: N_("批号 {lot} 已被召回（{recall_reason}）；如确需使用，请填写理由"),
    VerdictKind.WARN_NO_SERIAL: N_(
        "该标签没有序列号，系统无法核查是否重复使用；请确认包装完好、未曾使用，并填写说明"
    ),
    VerdictKind.WRONG_CATEGORY: N_(
        "扫描的是{actual}（{product}），此处需要{expected}；如确需使用，请填写理由"
    ),
    VerdictKind.UNKNOWN_PRODUCT: N_("器械目录中没有此产品（{di}），需先添加到器械目录才能入库和绑定"),
    VerdictKind.NOT_RECEIVED: N_("此器械尚未入库（{what}），是否现在入库？"),
    VerdictKind.NEEDS_PRODUCT: N_("手工输入的编号 {serial} 不含产品信息，请先选择产品"),
    VerdictKind.CONFIRM_MANUAL: N_(
        "“{code}”不是器械 UDI 条码。如果这是您从包装上手工抄录的器械编号（如序列号），"
        "请点“是手工编号”后选择产品；否则请按 Esc 清空，扫描包装上的 UDI 条码"
    ),
}


NOT_UDI_SCANNED = N_(
    "扫到的条码（{code}）不是医疗器械 UDI 条码，未绑定任何器械。请扫描包装上的 UDI 条码"
    "（GS1 DataMatrix / GS1-128 等）；包装上没有可扫的条码时，可手工输入编号"
)


class UnknownProductError(EcmoError):
    """Receiving a code whose DI the catalogue does not hold: the UI offers "add to catalogue"."""

    default_message = N_("器械目录中没有此产品（{di}），请先添加到器械目录")

    def __init__(self, di: str | None, code: ScannedCode | None = None) -> None:
        self.code = code
        super().__init__(None, di=di or "-")


class NeedsProductError(EcmoError):
    """Receiving a hand-typed code without a DI and without a chosen product."""

    default_message = N_("此编号不含产品信息，请先选择产品")
