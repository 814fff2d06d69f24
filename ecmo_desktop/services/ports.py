"""What the services need from storage, as protocols; ``storage/`` implements them.

Repositories take and return domain values (dataclasses, ids, plain dicts), never ORM rows, and
never commit: the unit of work owns the transaction.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from ecmo_desktop.domain.case import CaseDossier, CaseFacts, EquipmentFact, HospitalFact, StaffRef
from ecmo_desktop.domain.compliance import DeviceFacts
from ecmo_desktop.domain.devices import (
    Equipment,
    EquipmentLink,
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
from ecmo_desktop.domain.documents import ArchiveCandidate, ArchiveQuery, GeneratedDocument
from ecmo_desktop.domain.model import (
    AuditEvent,
    ExpertMembership,
    Hospital,
    Patient,
    Privilege,
    Run,
    RunListItem,
    Staff,
    TrainingRecord,
)
from ecmo_desktop.domain.record_inputs import (
    ComplicationValues,
    ConsentValues,
    DailyValues,
    DecisionValues,
    FollowUpValues,
    ProcedureValues,
    Stamp,
    WeaningValues,
)
from ecmo_desktop.domain.records import (
    AnyRecord,
    Complication,
    Consent,
    DailyEntry,
    Decision,
    FollowUp,
    Procedure,
    RecordRef,
    RecordVersion,
    Signature,
    WeaningTrial,
)
from ecmo_desktop.domain.worklist import WorkFilter, WorkKey, WorkRow


@dataclass(frozen=True)
class AccountState:
    """What decides whether a logged-in session may go on (checked before every service call)."""

    active: bool
    locked_by_admin: bool
    locked_until: datetime | None
    must_change_password: bool


@dataclass(frozen=True)
class StaffAuth:
    """The secrets and counters behind a login; never leaves the service layer."""

    staff_id: int
    password_hash: str
    failed_logins: int
    locked_until: datetime | None
    locked_by_admin: bool
    active: bool


@dataclass(frozen=True)
class RunQuery:
    text: str = ""  # MRN or name fragment
    statuses: tuple[str, ...] = ()
    started_from: datetime | None = None
    started_to: datetime | None = None


class HospitalRepository(Protocol):
    def local(self) -> Hospital | None: ...
    def get(self, hospital_id: int) -> Hospital: ...
    def by_name(self, name: str) -> Hospital | None: ...
    def add(self, *, name: str, code: str, city: str, is_local: bool, now: datetime) -> Hospital: ...
    def update(self, hospital_id: int, **fields: Any) -> Hospital: ...
    def all(self) -> list[Hospital]: ...


class StaffRepository(Protocol):
    def get(self, staff_id: int, *, at: datetime | None = None) -> Staff: ...
    def by_username_key(self, key: str) -> Staff | None: ...
    def is_active(self, staff_id: int) -> bool: ...
    def account_state(self, staff_id: int) -> AccountState | None: ...
    def auth(self, staff_id: int) -> StaffAuth: ...
    def add(
        self,
        *,
        username: str,
        username_key: str,
        full_name: str,
        title: str,
        department: str,
        years_in_practice: int,
        roles: Sequence[str],
        password_hash: str,
        must_change_password: bool,
        ecmo_trained: bool,
        now: datetime,
    ) -> Staff: ...
    def update(self, staff_id: int, *, expected_version: int | None = None, **fields: Any) -> Staff: ...
    def set_roles(self, staff_id: int, roles: Sequence[str]) -> None: ...
    def set_auth(self, staff_id: int, **fields: Any) -> None: ...
    def list(self, *, include_inactive: bool = True, at: datetime | None = None) -> list[Staff]: ...
    def count(self) -> int: ...
    def has_signed_anything(self, staff_id: int) -> bool: ...
    def privileges(self, staff_id: int) -> builtins.list[Privilege]: ...
    def add_privilege(
        self,
        staff_id: int,
        *,
        granted_at: datetime,
        granted_by_id: int,
        valid_until: datetime | None,
        note: str,
    ) -> Privilege: ...
    def revoke_privilege(
        self, privilege_id: int, *, revoked_at: datetime, revoked_by_id: int
    ) -> Privilege: ...
    def memberships(self, staff_id: int | None = None) -> builtins.list[ExpertMembership]: ...
    def add_membership(self, staff_id: int, *, joined_at: datetime, added_by_id: int) -> ExpertMembership: ...
    def end_membership(
        self, membership_id: int, *, left_at: datetime, removed_by_id: int
    ) -> ExpertMembership: ...
    def trainings(self, staff_id: int | None = None) -> builtins.list[TrainingRecord]: ...
    def add_training(
        self,
        staff_id: int,
        *,
        institution: str,
        start_date: date,
        end_date: date,
        assessed: bool,
        note: str,
        recorded_at: datetime,
        recorded_by_id: int,
    ) -> TrainingRecord: ...


class PatientRepository(Protocol):
    def get(self, patient_id: int) -> Patient: ...
    def by_mrn(self, hospital_id: int, mrn: str) -> Patient | None: ...
    def add(
        self,
        *,
        hospital_id: int,
        mrn: str,
        name: str,
        sex: str,
        birth_date: date | None,
        age_years: int | None,
        height_cm: float | None,
        weight_kg: float | None,
        ward: str,
        bed: str,
        now: datetime,
        created_by_id: int | None,
    ) -> Patient: ...
    def update(self, patient_id: int, *, expected_version: int | None = None, **fields: Any) -> Patient: ...


class RunRepository(Protocol):
    def get(self, run_id: int) -> Run: ...
    def add(self, **fields: Any) -> Run: ...
    def update(self, run_id: int, *, expected_version: int | None = None, **fields: Any) -> Run: ...
    def for_patient(self, patient_id: int) -> list[Run]: ...
    def find_natural(self, hospital_id: int, patient_id: int, started_at: datetime) -> Run | None: ...
    def search(
        self, query: RunQuery, *, offset: int = 0, limit: int, before_id: int | None = None
    ) -> list[RunListItem]: ...
    def count(self, query: RunQuery) -> int: ...


class AuditRepository(Protocol):
    def append(
        self,
        *,
        occurred_at: datetime,
        actor_id: int | None,
        actor_name: str,
        workstation: str,
        action: str,
        entity: str,
        entity_id: int | None,
        run_id: int | None,
        patient_id: int | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        reason: str | None,
        success: bool,
    ) -> AuditEvent: ...
    def head(self) -> AuditEvent | None: ...
    def head_seq(self) -> int: ...
    def changes_since(
        self, seq: int, *, limit: int
    ) -> list[tuple[int, str, str, int | None, int | None]]: ...
    def iterate(self, *, batch: int = 2000) -> Iterator[AuditEvent]: ...
    def table_rows(self, tables: Sequence[str]) -> dict[str, dict[int, dict[str, Any]]]: ...
    def valid_signatures(self) -> list[tuple[int, str, int, str]]: ...
    def signed_subjects(self, ids: dict[str, list[int]]) -> dict[str, dict[int, AnyRecord]]: ...
    def for_run(self, run_id: int, *, offset: int, limit: int) -> list[AuditEvent]: ...
    def count_for_run(self, run_id: int) -> int: ...
    def query(
        self,
        *,
        offset: int,
        limit: int,
        actor_id: int | None = None,
        entity: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditEvent]: ...


class DeviceRepository(Protocol):
    """Catalogue, receiving, usage (R5–R8), recalls and capital equipment
    (storage/repositories/devices.py).
    """

    # catalogue
    def get_product(self, product_id: int) -> Product: ...
    def product_by_identifier(self, *, gtin: str | None, udi_di: str | None) -> Product | None: ...
    def product_by_name(self, *, name: str, manufacturer: str, model: str) -> Product | None: ...
    def list_products(self, *, include_inactive: bool = False) -> list[Product]: ...
    def add_product(self, *, now: datetime, created_by_id: int | None, **fields: Any) -> Product: ...
    def update_product(
        self, product_id: int, *, expected_version: int | None = None, **fields: Any
    ) -> Product: ...
    # receiving and stock
    def add_receiving(
        self, *, supplier: str, received_at: datetime, received_by_id: int, delivery_note: str
    ) -> Receiving: ...
    def get_receiving(self, receiving_id: int) -> Receiving: ...
    def list_receivings(self, *, offset: int, limit: int) -> list[Receiving]: ...
    def receiving_items(self, receiving_id: int) -> list[ReceivedItemRow]: ...
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
    ) -> Item: ...
    def get_item(self, item_id: int) -> Item: ...
    def item_by_key(self, item_key: str) -> Item | None: ...
    def items_by_serial(self, serial: str) -> list[Item]: ...
    def free_lot_item(self, product_id: int, lot: str | None) -> Item | None: ...
    def stock(
        self,
        *,
        product_id: int | None = None,
        category: str | None = None,
        lot: str | None = None,
        gtin: str | None = None,
        limit: int = 5000,
    ) -> list[tuple[Item, Product, Receiving | None]]: ...
    # usage
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
    ) -> Usage: ...
    def get_usage(self, usage_id: int) -> Usage: ...
    def update_usage(self, usage_id: int, **fields: Any) -> Usage: ...
    def active_holder(self, item_id: int) -> UsageHolder | None: ...
    def run_brief(self, run_id: int) -> RunBrief: ...
    def scan_context(
        self, run_id: int, *, item_key: str | None = None, item_id: int | None = None
    ) -> ScanContext: ...
    def trace(
        self,
        *,
        run_id: int | None = None,
        patient_id: int | None = None,
        lot: str | None = None,
        gtin: str | None = None,
        item_ids: Sequence[int] | None = None,
        include_voided: bool = True,
    ) -> list[TraceRow]: ...
    def item_events(self, item_id: int) -> list[ItemEvent]: ...
    def procedure_run(self, procedure_id: int) -> int | None: ...
    def procedures(self, run_id: int, kind: str | None = None) -> list[ProcedureRef]: ...
    # recalls
    def active_recall(self, product_id: int, lot: str) -> Recall | None: ...
    def add_recall(
        self, *, product_id: int | None, lot: str, reason: str, recalled_at: datetime, recorded_by_id: int
    ) -> Recall: ...
    def get_recall(self, recall_id: int) -> Recall: ...
    def lift_recall(self, recall_id: int, *, lifted_at: datetime) -> Recall: ...
    def list_recalls(self, *, active_only: bool = False) -> list[Recall]: ...
    def lot_recalled(self, lot: str) -> bool: ...
    # requests to add a product (bedside → administrator)
    def add_product_request(
        self,
        *,
        device_identifier: str,
        raw_code: str,
        run_id: int,
        requested_by_id: int,
        requested_at: datetime,
    ) -> ProductRequest: ...
    def open_product_request(self, device_identifier: str) -> ProductRequest | None: ...
    def get_product_request(self, request_id: int) -> ProductRequest: ...
    def product_requests(self, *, open_only: bool = True) -> list[ProductRequest]: ...
    def resolve_product_request(
        self,
        request_id: int,
        *,
        status: str,
        resolved_by_id: int,
        resolved_at: datetime,
        note: str,
        product_id: int | None,
    ) -> ProductRequest: ...
    # capital equipment
    def add_equipment(self, *, hospital_id: int, now: datetime, **fields: Any) -> Equipment: ...
    def get_equipment(self, equipment_id: int) -> Equipment: ...
    def equipment_by_serial(self, hospital_id: int, serial: str) -> Equipment | None: ...
    def update_equipment(
        self, equipment_id: int, *, expected_version: int | None = None, **fields: Any
    ) -> Equipment: ...
    def list_equipment(self, *, include_inactive: bool = False) -> list[Equipment]: ...
    def add_link(
        self, *, run_id: int, equipment_id: int, from_at: datetime, linked_by_id: int
    ) -> EquipmentLink: ...
    def get_link(self, link_id: int) -> EquipmentLink: ...
    def end_link(self, link_id: int, *, to_at: datetime) -> EquipmentLink: ...
    def links(
        self, *, run_id: int | None = None, equipment_id: int | None = None, open_only: bool = False
    ) -> list[EquipmentLink]: ...


class ExchangeRepository(Protocol):
    """The import writers, and the hospitals and consoles an export lists
    (storage/repositories/exchange.py).
    """

    def hospitals(self) -> list[HospitalFact]: ...
    def hospital_by_code(self, code: str) -> Hospital | None: ...
    def equipment(self, *, hospital_id: int | None = None) -> list[EquipmentFact]: ...
    def external_staff(
        self, *, username: str, full_name: str, title: str, department: str, now: datetime
    ) -> int: ...
    def add_patient(
        self, *, hospital_id: int, patient: Patient, now: datetime, created_by_id: int | None
    ) -> Patient: ...
    def run_count(self, patient_id: int) -> int: ...
    def add_case(
        self,
        case: CaseFacts,
        *,
        hospital_id: int,
        patient_id: int,
        run_number: int,
        staff: Callable[[StaffRef], int],
        created_by_id: int | None,
        now: datetime,
    ) -> Run: ...
    def equipment_exists(self, hospital_id: int, serial: str) -> bool: ...
    def add_equipment(
        self,
        *,
        hospital_id: int,
        kind: str,
        model: str,
        manufacturer: str,
        serial: str,
        purchase_date: date | None,
        active: bool,
        notes: str,
        now: datetime,
    ) -> int: ...


class RecordRepository(Protocol):
    """The clinical record of runs (storage/repositories/records.py). ``entity`` is a records.Entity value;
    writes take the validated values of domain/record_inputs.py, one method per record kind."""

    def add_decision(self, run_id: int, stamp: Stamp, values: DecisionValues) -> Decision: ...
    def update_decision(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: DecisionValues
    ) -> Decision: ...
    def add_consent(self, run_id: int, stamp: Stamp, values: ConsentValues) -> Consent: ...
    def update_consent(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: ConsentValues
    ) -> Consent: ...
    def add_procedure(self, run_id: int, stamp: Stamp, values: ProcedureValues) -> Procedure: ...
    def update_procedure(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: ProcedureValues
    ) -> Procedure: ...
    def add_daily_entry(
        self, run_id: int, stamp: Stamp, values: DailyValues, *, author_role: str
    ) -> DailyEntry: ...
    def update_daily_entry(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: DailyValues
    ) -> DailyEntry: ...
    def set_ecmo_day(self, record_id: int, *, expected_version: int, ecmo_day: int) -> DailyEntry: ...
    def add_complication(self, run_id: int, stamp: Stamp, values: ComplicationValues) -> Complication: ...
    def update_complication(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: ComplicationValues
    ) -> Complication: ...
    def add_weaning_trial(self, run_id: int, stamp: Stamp, values: WeaningValues) -> WeaningTrial: ...
    def update_weaning_trial(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: WeaningValues
    ) -> WeaningTrial: ...
    def add_follow_up(
        self, run_id: int, stamp: Stamp, *, kind: str, due_date: date, values: FollowUpValues
    ) -> FollowUp: ...
    def update_follow_up(
        self,
        record_id: int,
        *,
        expected_version: int,
        stamp: Stamp,
        values: FollowUpValues,
        due_date: date | None = None,
        reopen: bool = True,
    ) -> FollowUp: ...
    def set_supplement_deadline(
        self, record_id: int, *, expected_version: int, deadline: datetime | None
    ) -> Decision: ...
    def sign(
        self, entity: str, record_id: int, *, expected_version: int, signed_at: datetime, signed_by_id: int
    ) -> AnyRecord: ...
    def get(self, entity: str, record_id: int) -> AnyRecord: ...
    def many(self, entity: str, ids: Sequence[int]) -> dict[int, AnyRecord]: ...
    def for_run(self, entity: str, run_id: int) -> list[AnyRecord]: ...
    def add_signature(
        self,
        *,
        entity: str,
        entity_id: int,
        record_version: int,
        signer_id: int,
        signer_name: str,
        meaning: str,
        signed_at: datetime,
        content_hash: str,
    ) -> Signature: ...
    def signatures(
        self,
        *,
        entity: str | None = None,
        entity_id: int | None = None,
        state: str | None = None,
        run_id: int | None = None,
    ) -> list[Signature]: ...
    def supersede_signatures(self, entity: str, entity_id: int) -> list[Signature]: ...
    def signed_records(self, *, run_id: int | None = None) -> list[RecordRef]: ...
    def add_version(
        self,
        *,
        entity: str,
        entity_id: int,
        version: int,
        content: dict[str, Any],
        replaced_at: datetime,
        replaced_by_id: int | None,
        reason: str,
    ) -> RecordVersion: ...
    def versions(self, entity: str, entity_id: int) -> list[RecordVersion]: ...
    def device_facts(self, run_id: int) -> DeviceFacts: ...
    def participation(self) -> dict[int, dict[int, set[str]]]: ...
    def work_counts(self, work: WorkFilter, kinds: Sequence[str] | None = None) -> dict[str, int]: ...
    def work_page(
        self, kind: str, work: WorkFilter, *, after: WorkKey | None, limit: int
    ) -> list[WorkRow]: ...


class CaseRepository(Protocol):
    """The case read model (domain/case.py, storage/repositories/case.py): one run as the documents print
    it, the runs of a period as the QC report and the export count them."""

    def load(self, run_id: int) -> CaseDossier: ...
    def case_facts(
        self,
        *,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        hospital_id: int | None = None,
    ) -> list[CaseFacts]: ...
    def iter_case_facts(
        self,
        *,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        hospital_id: int | None = None,
        page: int = ...,
    ) -> Iterator[CaseFacts]: ...
    def staff_refs(self, ids: Iterable[int]) -> dict[int, StaffRef]: ...


class DocumentRepository(Protocol):
    """Generated PDFs, stored once and read back byte for byte (storage/repositories/documents.py)."""

    def next_version(self, run_id: int | None, kind: str, subject_id: int | None) -> int: ...
    def add(
        self,
        *,
        run_id: int | None,
        kind: str,
        subject_id: int | None,
        version: int,
        title: str,
        created_at: datetime,
        created_by_id: int,
    ) -> int: ...
    def complete(
        self,
        document_id: int,
        *,
        pdf: bytes,
        sha256: str,
        content_hash: str,
        page_count: int,
        audit_anchor: str | None,
        meta: dict[str, Any],
    ) -> GeneratedDocument: ...
    def get(self, document_id: int) -> GeneratedDocument: ...
    def pdf(self, document_id: int) -> bytes: ...
    def for_run(self, run_id: int) -> list[GeneratedDocument]: ...
    def latest(self, run_id: int | None, kind: str, subject_id: int | None) -> GeneratedDocument | None: ...
    def operation_note_coverage(self, run_id: int) -> tuple[int, set[int], set[int]]: ...
    def archive_candidates(self, query: ArchiveQuery, *, limit: int) -> list[ArchiveCandidate]: ...


class BackupPort(Protocol):
    def make_backup(self, out: Path) -> dict[str, Any]: ...
    def restore(self, path: Path, *, replace: bool = False) -> dict[str, Any]: ...
    def verify(self, path: Path) -> dict[str, Any]: ...
    def table_digests(self) -> dict[str, dict[str, Any]]: ...
    def export_key(self, out: Path) -> str: ...
    def import_key(self, source: Path) -> str: ...


class UnitOfWork(Protocol):
    """One transaction's repositories. Read-only members, so that an implementation may hold its own
    repository classes (a settable protocol member would have to be exactly the protocol type)."""

    @property
    def hospitals(self) -> HospitalRepository: ...
    @property
    def staff(self) -> StaffRepository: ...
    @property
    def patients(self) -> PatientRepository: ...
    @property
    def runs(self) -> RunRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def devices(self) -> DeviceRepository: ...
    @property
    def records(self) -> RecordRepository: ...
    @property
    def exchange(self) -> ExchangeRepository: ...
    @property
    def cases(self) -> CaseRepository: ...
    @property
    def documents(self) -> DocumentRepository: ...
    @property
    def backend(self) -> str: ...  # "sqlite" | "postgresql"

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def flush(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Makes a unit of work; ``write=False`` for a read-only one (SQLite: no write lock taken up front)."""

    def __call__(self, *, write: bool = True) -> UnitOfWork: ...
