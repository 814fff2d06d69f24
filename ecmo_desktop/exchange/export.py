"""Case-level export (R10) in a documented, versioned schema, and reading it back for import.

Why this shape: no provincial platform publishes a field specification, so the export is our own
schema (``docs/export-schema.md``, ``SCHEMA_VERSION``): the JSON document is the complete case facts
(run, decisions, consent, procedures, daily entries, complications, weaning trials, follow-ups,
devices, outcomes), which ``import-export`` loads into another database so a regional centre can
report across hospitals; CSV and XLSX carry the same data as flat tables for spreadsheets, the runs
table starting with exactly the legacy-import columns so it can be imported as a register.

De-identification follows HIPAA Safe Harbor's 18 identifiers and GB/T 37964-2019 (docs/export-schema.md):
names and MRNs become keyed pseudonyms (HMAC-SHA256 with a secret kept in this database), free text
and device serials go, birth dates become ages (90 and over as 90), ward and bed go, staff names become
pseudonyms, and every date of a patient is moved by that patient's own secret offset (so intervals —
28-day survival, the weaning window, run length — survive) or coarsened to the month. The outcome
figures are computed from the exact dates before they are moved.

Spreadsheet cells that begin with ``= + - @`` (or tab/CR) are prefixed with ``'`` so Excel never
runs them as formulas (CSV/formula injection); the legacy importer removes that prefix again.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import hmac
import io
import json
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ecmo_desktop.domain.case import (
    CannulaInfo,
    CaseFacts,
    ComplicationInfo,
    ConsentInfo,
    DailyEntryInfo,
    DecisionInfo,
    DeviceInfo,
    EquipmentFact,
    FollowUpInfo,
    HospitalFact,
    ProcedureInfo,
    RunEquipmentFact,
    StaffRef,
    TeamMember,
    WeaningTrialInfo,
)
from ecmo_desktop.domain.enums import (
    DecisionKind,
    EndReason,
    FollowUpKind,
    FollowUpStatus,
    Indication,
    Mode,
    ProcedureKind,
    RunStatus,
    Sex,
)
from ecmo_desktop.domain.model import Patient, Run
from ecmo_desktop.domain.time import local_date, to_local
from ecmo_desktop.domain.validation import clean_mrn
from ecmo_desktop.exchange.import_cases import MAX_JSON_DEPTH, RowError, json_depth_ok
from ecmo_desktop.exchange.report import (
    DEFINITIONS,
    Period,
    QcReport,
    death_date,
    discharge_disposition,
    discharged_alive,
    survived_28d,
    weaning_success,
)
from ecmo_desktop.fileio import PRIVATE_FILE, atomic_write, atomic_write_bytes
from ecmo_desktop.i18n import N_, _

SCHEMA = "ecmo-ward-export"
SCHEMA_VERSION = 1
FORMATS = ("json", "csv", "xlsx")
DEIDENTIFICATION_STANDARD = "HIPAA Safe Harbor (45 CFR 164.514(b)(2)); GB/T 37964-2019"
PSEUDONYM_SCHEME = "HMAC-SHA256(key, hospital_code + U+001F + MRN); 'P' + first 16 hex digits, upper case"


# ---- de-identification ---------------------------------------------------------------------------
DATE_MODES = ("shift", "month")
AGE_TOP_CODE = 90  # HIPAA Safe Harbor: ages over 89 are aggregated into one category "90 or older"
MAX_SHIFT_DAYS = 365


class Pseudonymizer:
    """Stable pseudonyms and per-patient date offsets: the same patient gets the same token and the same
    offset in every export from this database.

    Keyed (HMAC), not a plain hash, so nobody without the database's key can confirm a guessed MRN
    by hashing it or undo a date shift; the key never leaves the database (``hospital.settings``).
    """

    def __init__(self, key: bytes, *, dates: str = "shift") -> None:
        if len(key) < 16:
            raise ValueError("pseudonym key too short")
        if dates not in DATE_MODES:
            raise ValueError(f"unknown date mode {dates!r}")
        self._key = key
        self.dates = dates

    def _mac(self, *parts: str) -> str:
        return hmac.new(self._key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()

    def token(self, hospital_code: str, mrn: str) -> str:
        return "P" + self._mac(hospital_code, mrn)[:16].upper()

    def name(self, token: str) -> str:
        return f"匿名-{token}"

    def day_shift(self, hospital_code: str, mrn: str) -> int:
        """Whole days (±1…365, never 0) every date of this patient moves by."""
        n = int(self._mac("date-shift", hospital_code, mrn)[:12], 16) % (2 * MAX_SHIFT_DAYS)
        return n - MAX_SHIFT_DAYS if n < MAX_SHIFT_DAYS else n - MAX_SHIFT_DAYS + 1

    def staff_name(self, staff_id: int) -> str:
        return "人员-S" + self._mac("staff", str(staff_id))[:10].upper()


# free text that may name people: dropped from de-identified exports
_FREE_TEXT: dict[type, tuple[str, ...]] = {
    DecisionInfo: ("rationale", "indication_other"),
    ConsentInfo: ("signer_name", "notes"),
    ProcedureInfo: ("reason", "notes"),
    DailyEntryInfo: ("notes",),
    ComplicationInfo: ("other_text", "treatment", "resolution"),
    WeaningTrialInfo: ("notes",),
    FollowUpInfo: ("notes",),
    # device identifiers and serial numbers (Safe Harbor #13) and the texts that carry them
    DeviceInfo: (
        "scanned_text",
        "raw_code",
        "warnings",
        "override_reason",
        "removal_reason",
        "serial",
        "item_key",
    ),
}
_OPTIONAL_TEXT = {"override_reason", "removal_reason", "serial", "item_key"}


def _scrub(value: Any, secrets: Sequence[tuple[str, str]]) -> Any:
    """Replace any remaining occurrence of the patient's name or MRN inside structured values."""
    if isinstance(value, str):
        for secret, replacement in secrets:
            value = value.replace(secret, replacement)
        return value
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    return value


def _top_coded_age(case: CaseFacts) -> int | None:
    started = case.run.started_at or case.run.created_at
    age = case.patient.age_on(local_date(started)) if started else case.patient.age_years
    return None if age is None else min(age, AGE_TOP_CODE)


def deidentify(case: CaseFacts, pseudonyms: Pseudonymizer) -> CaseFacts:
    """The case without direct identifiers: pseudonyms for name and MRN, age instead of birth date,
    no ward or bed, no free text, no device serials (dates are moved later, in ``move_dates``)."""
    token = pseudonyms.token(case.hospital_code, case.patient.mrn)
    patient = dataclasses.replace(
        case.patient,
        mrn=token,
        name=pseudonyms.name(token),
        birth_date=None,
        age_years=_top_coded_age(case),
        ward="",
        bed="",
    )
    run = dataclasses.replace(case.run, diagnosis="", indication_other="", ward="", bed="")

    def strip(items: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            dataclasses.replace(
                x, **{f: None if f in _OPTIONAL_TEXT else "" for f in _FREE_TEXT.get(type(x), ())}
            )
            for x in items
        )

    return dataclasses.replace(
        case,
        patient=patient,
        run=run,
        decisions=strip(case.decisions),
        consents=strip(case.consents),
        procedures=strip(case.procedures),
        daily=strip(case.daily),
        complications=strip(case.complications),
        weaning_trials=strip(case.weaning_trials),
        follow_ups=strip(case.follow_ups),
        devices=strip(case.devices),
    )


def _secrets_of(case: CaseFacts, token: str) -> list[tuple[str, str]]:
    found = []
    if len(case.patient.name) >= 2:
        found.append((case.patient.name, "匿名"))
    if len(case.patient.mrn) >= 4:
        found.append((case.patient.mrn, token))
    return found


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")
# product-level dates are not the patient's: a lot's expiry and production date stay exact
_NOT_PATIENT_DATES = frozenset({"expiry", "production_date", "purchase_date"})


def move_dates(value: Any, *, days: int, mode: str, key: str = "") -> Any:
    """Every date and time of one case's JSON values, shifted by ``days`` or coarsened to its month."""
    if isinstance(value, dict):
        return {k: move_dates(v, days=days, mode=mode, key=k) for k, v in value.items()}
    if isinstance(value, list):
        return [move_dates(v, days=days, mode=mode, key=key) for v in value]
    if not isinstance(value, str) or key in _NOT_PATIENT_DATES:
        return value
    if _ISO_MOMENT.fullmatch(value):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if mode == "month":
            local = to_local(moment)
            moment = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        else:
            moment = moment + timedelta(days=days)
        return _iso(moment)
    if _ISO_DATE.fullmatch(value):
        day = date.fromisoformat(value)
        return (day.replace(day=1) if mode == "month" else day + timedelta(days=days)).isoformat()
    return value


# ---- plain values --------------------------------------------------------------------------------
def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# The run and patient fields of schema version 1. Listed here rather than taken from the domain
# dataclasses, so a new field there does not silently change (or break) the exchanged format.
RUN_FIELDS = (
    "id",
    "run_number",
    "mode",
    "ecpr",
    "indication",
    "indication_other",
    "diagnosis",
    "status",
    "emergency",
    "attending_id",
    "ward",
    "bed",
    "created_at",
    "decided_at",
    "started_at",
    "ended_at",
    "end_reason",
    "survived_28d",
    "discharged_alive",
    "date_of_death",
    "source",
)
PATIENT_FIELDS = (
    "mrn",
    "name",
    "sex",
    "birth_date",
    "age_years",
    "height_cm",
    "weight_kg",
    "ward",
    "bed",
    "discharged_at",
    "discharge_disposition",
)
# The same for the records the case read model shares with the documents (which carry more: version,
# signatures, names as printed); a record kind not listed here is written field by field.
RECORD_FIELDS: dict[type, tuple[str, ...]] = {
    ProcedureInfo: (
        "id",
        "kind",
        "status",
        "started_at",
        "flow_at",
        "ended_at",
        "location",
        "technique",
        "guidance",
        "mode_before",
        "mode_after",
        "reason",
        "settings",
        "immediate_complications",
        "notes",
        "staff",
        "cannulae",
        "signed_at",
        "signed_by",
    ),
    TeamMember: ("staff", "role"),
    CannulaInfo: (
        "position",
        "role",
        "vessel",
        "side",
        "size_fr",
        "length_cm",
        "depth_cm",
        "tip_position",
        "device_usage_id",
        "removed_at",
    ),
    DeviceInfo: (
        "id",
        "item_id",
        "procedure_id",
        "single_use",
        "bound_at",
        "bound_by",
        "scanned_text",
        "override_reason",
        "warnings",
        "removed_at",
        "removal_reason",
        "category",
        "product_name",
        "manufacturer",
        "model",
        "gtin",
        "udi_di",
        "nmpa_number",
        "item_key",
        "serial",
        "lot",
        "expiry",
        "production_date",
        "raw_code",
        "symbology",
    ),
    DecisionInfo: (
        "id",
        "kind",
        "emergency",
        "status",
        "decided_at",
        "signed_at",
        "mode_planned",
        "indication",
        "indication_other",
        "rationale",
        "pre_ecmo",
        "contraindications",
        "supplement_deadline",
        "supplement_of_id",
        "physicians",
        "signed_by",
    ),
    ConsentInfo: (
        "id",
        "status",
        "signed_at",
        "explained_by",
        "signer_name",
        "relationship",
        "signed_on_paper_at",
        "refused",
        "notes",
        "signed_by",
    ),
    DailyEntryInfo: (
        "id",
        "status",
        "recorded_at",
        "ecmo_day",
        "author_role",
        "mode",
        "values",
        "checks",
        "notes",
        "signed_at",
        "signed_by",
    ),
    ComplicationInfo: (
        "id",
        "status",
        "code",
        "other_text",
        "onset_at",
        "severity",
        "treatment",
        "resolved_at",
        "resolution",
        "adverse_event",
        "device_item_id",
        "procedure_id",
        "signed_at",
        "signed_by",
    ),
    WeaningTrialInfo: (
        "id",
        "status",
        "started_at",
        "ended_at",
        "flow_to",
        "sweep_to",
        "fdo2_to",
        "values",
        "passed",
        "notes",
        "signed_at",
        "signed_by",
    ),
    FollowUpInfo: (
        "id",
        "status",
        "kind",
        "due_date",
        "fu_status",
        "done_at",
        "contact_method",
        "vital_status",
        "date_of_death",
        "cause_of_death",
        "discharge_disposition",
        "cpc",
        "mrs",
        "eq5d_index",
        "notes",
        "signed_at",
        "signed_by",
    ),
}


def _exported(value: Any, name: str) -> Any:
    """A field as schema version 1 writes it: a procedure's team by role, then staff id (the read
    model lists operators first, as the forms show them)."""
    if name == "staff" and isinstance(value, ProcedureInfo):
        return sorted(value.staff, key=lambda m: (m.role, m.staff_id))
    return getattr(value, name)


def _plain(value: Any, staff: dict[int, StaffRef]) -> Any:
    """A fact as JSON values: times ISO 8601 UTC, dates ISO, staff as ids (listed once in ``staff``)."""
    if isinstance(value, StaffRef):
        staff.setdefault(value.id, value)
        return value.id
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = RECORD_FIELDS.get(type(value)) or [f.name for f in dataclasses.fields(value)]
        return {name: _plain(_exported(value, name), staff) for name in names}
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v, staff) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, staff) for k, v in value.items()}
    return value


_RECORD_LISTS = (
    "decisions",
    "consents",
    "procedures",
    "daily",
    "complications",
    "weaning_trials",
    "follow_ups",
    "devices",
    "equipment",
)


def case_to_dict(case: CaseFacts, *, window_hours: int, staff: dict[int, StaffRef]) -> dict[str, Any]:
    """One run of the JSON export (schema in docs/export-schema.md)."""
    run_values, patient_values = _plain(case.run, staff), _plain(case.patient, staff)
    run = {k: run_values[k] for k in RUN_FIELDS}
    patient = {k: patient_values[k] for k in PATIENT_FIELDS}
    death = death_date(case)
    doc: dict[str, Any] = {
        "key": f"{case.hospital_code}:{case.run.id}",
        "hospital": case.hospital_code,
        "patient": patient,
        "run": run,
        "outcome": {
            "survived_28d": survived_28d(case),
            "discharged_alive": discharged_alive(case),
            "weaning_success": weaning_success(case, window_hours),
            "death_date": death.isoformat() if death else None,
            "duration_hours": case.duration_hours,
            "discharge_disposition": discharge_disposition(case),
        },
    }
    for name in _RECORD_LISTS:
        doc[name] = _plain(getattr(case, name), staff)
    return doc


@dataclass(frozen=True)
class ExportSource:
    """Who exports: the local hospital of the exporting database (names the placeholder staff on import)."""

    code: str
    name: str
    city: str


def build_export(
    cases: Sequence[CaseFacts],
    equipment: Sequence[EquipmentFact],
    hospitals: Sequence[HospitalFact],
    *,
    period: Period,
    exported_at: datetime,
    window_hours: int,
    source: ExportSource | None,
    pseudonyms: Pseudonymizer | None,
    extra_staff: Mapping[int, StaffRef] = {},
    app_version: str = "",
) -> dict[str, Any]:
    """The JSON export document; with ``pseudonyms`` it is de-identified."""
    staff: dict[int, StaffRef] = {}
    runs = []
    for case in cases:
        if case.run.attending_id is not None and case.run.attending_id in extra_staff:
            staff.setdefault(case.run.attending_id, extra_staff[case.run.attending_id])
        if pseudonyms is None:
            runs.append(case_to_dict(case, window_hours=window_hours, staff=staff))
            continue
        token = pseudonyms.token(case.hospital_code, case.patient.mrn)
        secrets = _secrets_of(case, token)
        plain = case_to_dict(deidentify(case, pseudonyms), window_hours=window_hours, staff=staff)
        runs.append(
            _scrub(
                move_dates(
                    plain,
                    days=pseudonyms.day_shift(case.hospital_code, case.patient.mrn),
                    mode=pseudonyms.dates,
                ),
                secrets,
            )
        )
    used = {c.hospital_code for c in cases}
    kit: dict[str, list[dict[str, Any]]] = {}
    for e in equipment:
        kit.setdefault(e.hospital_code, []).append(
            {
                "kind": e.kind,
                "model": e.model,
                "manufacturer": e.manufacturer,
                "serial": e.serial,
                "purchase_date": e.purchase_date.isoformat() if e.purchase_date else None,
                "active": e.active,
            }
        )
    hospital_list = [
        {"code": h.code, "name": h.name, "city": h.city, "equipment": kit.get(h.code, [])}
        for h in hospitals
        if h.code in used or h.code in kit
    ]
    return {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "exported_at": _iso(exported_at),
        "app_version": app_version,
        "source_hospital": dataclasses.asdict(source) if source else None,
        "period": {"from": period.date_from.isoformat(), "to": period.date_to.isoformat()},
        "weaning_window_hours": window_hours,
        "deidentified": pseudonyms is not None,
        "pseudonym_scheme": PSEUDONYM_SCHEME if pseudonyms is not None else None,
        "hospitals": hospital_list,
        "deidentification": None
        if pseudonyms is None
        else {
            "standard": DEIDENTIFICATION_STANDARD,
            "dates": pseudonyms.dates,
            "age_top_code": AGE_TOP_CODE,
            "max_shift_days": MAX_SHIFT_DAYS if pseudonyms.dates == "shift" else None,
        },
        "staff": [
            {"id": s.id, "name": pseudonyms.staff_name(s.id) if pseudonyms else s.name, "title": s.title}
            for s in sorted(staff.values(), key=lambda s: s.id)
        ],
        "runs": runs,
    }


# ---- flat tables (CSV / XLSX) --------------------------------------------------------------------
LEGACY_COLUMNS = (
    "hospital",
    "city",
    "mrn",
    "name",
    "sex",
    "birth_date",
    "age",
    "ecmo_start",
    "mode",
    "ecpr",
    "indication",
    "ecmo_end",
    "end_reason",
    "survived_28d",
    "discharged_alive",
    "date_of_death",
)


def _local(value: str | None, *, with_time: bool = True) -> str:
    if not value:
        return ""
    moment = to_local(datetime.fromisoformat(value))
    return moment.strftime("%Y-%m-%d %H:%M") if with_time else moment.date().isoformat()


def _yes(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _yes_unknown(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _age(patient: dict[str, Any], started: str | None) -> int | str:
    if patient.get("birth_date") and started:
        birth = date.fromisoformat(patient["birth_date"])
        day = local_date(datetime.fromisoformat(started))
        return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    age_years = patient.get("age_years")
    return age_years if age_years is not None else ""


def _json_cell(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""


Table = tuple[tuple[str, ...], list[list[Any]]]


def export_tables(document: Mapping[str, Any]) -> dict[str, Table]:
    """The export document as flat tables, one row per run / record, joined by ``run_key``."""
    names = {s["id"]: s["name"] for s in document["staff"]}
    cities = {h["code"]: h["city"] for h in document["hospitals"]}
    hospital_names = {h["code"]: h["name"] for h in document["hospitals"]}
    runs: list[list[Any]] = []
    decisions: list[list[Any]] = []
    procedures: list[list[Any]] = []
    daily: list[list[Any]] = []
    complications: list[list[Any]] = []
    trials: list[list[Any]] = []
    follow_ups: list[list[Any]] = []
    devices: list[list[Any]] = []
    for case in document["runs"]:
        key, p, r, o = case["key"], case["patient"], case["run"], case["outcome"]
        runs.append(
            [
                hospital_names.get(case["hospital"], case["hospital"]),
                cities.get(case["hospital"], ""),
                p["mrn"],
                p["name"],
                p["sex"],
                p.get("birth_date") or "",
                _age(p, r["started_at"]),
                _local(r["started_at"]),
                r["mode"],
                _yes(r["ecpr"]),
                r["indication"],
                _local(r.get("ended_at")),
                r.get("end_reason") or "",
                _yes_unknown(o["survived_28d"]),
                _yes_unknown(o["discharged_alive"]),
                o["death_date"] or "",
                key,
                case["hospital"],
                r["run_number"],
                r["status"],
                _yes(r["emergency"]),
                r["indication_other"],
                r["diagnosis"],
                _local(r.get("decided_at")),
                o["duration_hours"] if o["duration_hours"] is not None else "",
                _yes(o["weaning_success"]),
                o["discharge_disposition"] or "",
                _local(p.get("discharged_at")),
                ";".join(c["code"] for c in case["complications"]),
                len(case["devices"]),
                _yes(
                    bool(case["devices"])
                    and all(d["scanned_text"].strip() and (d["serial"] or d["lot"]) for d in case["devices"])
                ),
                r["source"],
            ]
        )
        for d in case["decisions"]:
            decisions.append(
                [
                    key,
                    d["id"],
                    d["kind"],
                    _yes(d["emergency"]),
                    d["status"],
                    _local(d["decided_at"]),
                    _local(d["signed_at"]),
                    "; ".join(
                        f"{names.get(x['staff'], x['staff'])}({x['role']}"
                        f"{', expert' if x['expert_at_decision'] else ''})"
                        for x in d["physicians"]
                    ),
                    d["supplement_of_id"] or "",
                    d["mode_planned"] or "",
                    d["indication"] or "",
                    _json_cell(d["pre_ecmo"]),
                    d["rationale"],
                ]
            )
        for pr in case["procedures"]:
            procedures.append(
                [
                    key,
                    pr["id"],
                    pr["kind"],
                    pr["status"],
                    _local(pr["started_at"]),
                    _local(pr["flow_at"]),
                    _local(pr["ended_at"]),
                    pr["location"],
                    pr["technique"] or "",
                    pr["guidance"] or "",
                    pr["mode_before"] or "",
                    pr["mode_after"] or "",
                    "; ".join(f"{names.get(s['staff'], s['staff'])}({s['role']})" for s in pr["staff"]),
                    _json_cell(pr["immediate_complications"]),
                    "; ".join(
                        f"{c['role']}/{c['vessel']}/{c['side']}/{c['size_fr']}Fr" for c in pr["cannulae"]
                    ),
                    pr["notes"],
                ]
            )
        for e in case["daily"]:
            daily.append(
                [
                    key,
                    e["id"],
                    _local(e["recorded_at"]),
                    e["ecmo_day"],
                    e["mode"] or "",
                    e["author_role"],
                    e["status"],
                    _json_cell(e["values"]),
                    _json_cell(e["checks"]),
                    e["notes"],
                ]
            )
        for c in case["complications"]:
            complications.append(
                [
                    key,
                    c["id"],
                    c["code"],
                    _local(c["onset_at"]),
                    c["severity"],
                    _yes(c["adverse_event"]),
                    _local(c["resolved_at"]),
                    c["status"],
                    c["other_text"],
                ]
            )
        for w in case["weaning_trials"]:
            trials.append(
                [
                    key,
                    w["id"],
                    _local(w["started_at"]),
                    _local(w["ended_at"]),
                    _yes(w["passed"]),
                    w["flow_to"] if w["flow_to"] is not None else "",
                    w["sweep_to"] if w["sweep_to"] is not None else "",
                    w["fdo2_to"] if w["fdo2_to"] is not None else "",
                    _json_cell(w["values"]),
                    w["status"],
                ]
            )
        for f in case["follow_ups"]:
            follow_ups.append(
                [
                    key,
                    f["id"],
                    f["kind"],
                    f["due_date"],
                    f["fu_status"],
                    _local(f["done_at"]),
                    f["vital_status"] or "",
                    f["date_of_death"] or "",
                    f["discharge_disposition"] or "",
                    f["cpc"] if f["cpc"] is not None else "",
                    f["mrs"] if f["mrs"] is not None else "",
                    f["eq5d_index"] if f["eq5d_index"] is not None else "",
                    f["status"],
                ]
            )
        for u in case["devices"]:
            devices.append(
                [
                    key,
                    u["id"],
                    u["category"],
                    u["product_name"],
                    u["manufacturer"],
                    u["model"],
                    u["nmpa_number"],
                    u["gtin"] or "",
                    u["udi_di"] or "",
                    u["lot"] or "",
                    u["serial"] or "",
                    u["expiry"] or "",
                    _local(u["bound_at"]),
                    _local(u["removed_at"]),
                    _yes(u["single_use"]),
                    _yes(bool(u["scanned_text"].strip()) and bool(u["serial"] or u["lot"])),
                    u["scanned_text"],
                ]
            )
    equipment = [
        [
            h["name"],
            h["city"],
            e["model"],
            e["serial"],
            e["purchase_date"] or "",
            e["kind"],
            e["manufacturer"],
            _yes(e["active"]),
        ]
        for h in document["hospitals"]
        for e in h["equipment"]
    ]
    return {
        "runs": (
            (
                *LEGACY_COLUMNS,
                "run_key",
                "hospital_code",
                "run_number",
                "status",
                "emergency",
                "indication_other",
                "diagnosis",
                "decided_at",
                "duration_hours",
                "weaning_success",
                "discharge_disposition",
                "discharged_at",
                "complications",
                "devices",
                "devices_traceable",
                "source",
            ),
            runs,
        ),
        "decisions": (
            (
                "run_key",
                "id",
                "kind",
                "emergency",
                "status",
                "decided_at",
                "signed_at",
                "physicians",
                "supplement_of_id",
                "mode_planned",
                "indication",
                "pre_ecmo",
                "rationale",
            ),
            decisions,
        ),
        "procedures": (
            (
                "run_key",
                "id",
                "kind",
                "status",
                "started_at",
                "flow_at",
                "ended_at",
                "location",
                "technique",
                "guidance",
                "mode_before",
                "mode_after",
                "staff",
                "immediate_complications",
                "cannulae",
                "notes",
            ),
            procedures,
        ),
        "daily": (
            (
                "run_key",
                "id",
                "recorded_at",
                "ecmo_day",
                "mode",
                "author_role",
                "status",
                "values",
                "checks",
                "notes",
            ),
            daily,
        ),
        "complications": (
            (
                "run_key",
                "id",
                "code",
                "onset_at",
                "severity",
                "adverse_event",
                "resolved_at",
                "status",
                "other_text",
            ),
            complications,
        ),
        "weaning_trials": (
            (
                "run_key",
                "id",
                "started_at",
                "ended_at",
                "passed",
                "flow_to",
                "sweep_to",
                "fdo2_to",
                "values",
                "status",
            ),
            trials,
        ),
        "follow_ups": (
            (
                "run_key",
                "id",
                "kind",
                "due_date",
                "fu_status",
                "done_at",
                "vital_status",
                "date_of_death",
                "discharge_disposition",
                "cpc",
                "mrs",
                "eq5d_index",
                "status",
            ),
            follow_ups,
        ),
        "devices": (
            (
                "run_key",
                "id",
                "category",
                "product_name",
                "manufacturer",
                "model",
                "nmpa_number",
                "gtin",
                "udi_di",
                "lot",
                "serial",
                "expiry",
                "bound_at",
                "removed_at",
                "single_use",
                "traceable",
                "scanned_text",
            ),
            devices,
        ),
        "equipment": (
            ("hospital", "city", "model", "serial", "purchase_date", "kind", "manufacturer", "active"),
            equipment,
        ),
    }


_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_NAMES = {"\x1d": "<GS>", "\x1e": "<RS>", "\x04": "<EOT>"}


def safe_cell(value: Any) -> Any:
    """A value a spreadsheet shows as text and never runs.

    Text starting with = + - @ TAB CR gets a leading apostrophe (formula injection), and control
    characters — the GS separators inside a scanned GS1 code — are written as ``<GS>`` because an
    .xlsx cell cannot hold them (the JSON export keeps the code exactly as scanned).
    """
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub(lambda m: _CONTROL_NAMES.get(m.group(), f"<U+{ord(m.group()):04X}>"), value)
    return "'" + value if value.startswith(_DANGEROUS) else value


def write_json(document: Mapping[str, Any], path: Path) -> list[Path]:
    data = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=False).encode("utf-8")
    atomic_write_bytes(path, data, mode=PRIVATE_FILE)
    return [path]


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell("" if v is None else v) for v in row])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")  # BOM: Excel on Chinese Windows reads it as UTF-8


def csv_paths(path: Path, tables: Iterable[str]) -> dict[str, Path]:
    """runs → the named file; every other table → ``<stem>.<table>.csv`` beside it."""
    return {
        name: path if name == "runs" else path.with_name(f"{path.stem}.{name}{path.suffix or '.csv'}")
        for name in tables
    }


def write_csv(tables: Mapping[str, Table], path: Path) -> list[Path]:
    written = []
    for name, target in csv_paths(path, tables).items():
        header, rows = tables[name]
        data = _csv_bytes(header, rows)
        atomic_write_bytes(target, data, mode=PRIVATE_FILE)
        written.append(target)
    return written


def write_xlsx(
    tables: Mapping[str, Table], path: Path, *, info: Sequence[tuple[str, Any]] = ()
) -> list[Path]:
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    first = True
    for name, (header, rows) in tables.items():
        sheet = workbook.active if first else workbook.create_sheet()
        first = False
        sheet.title = name[:31]
        sheet.append(list(header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([safe_cell(v) for v in row])
        sheet.freeze_panes = "A2"
    if info:
        sheet = workbook.create_sheet("about")
        for key, value in info:
            sheet.append([key, safe_cell(value if isinstance(value, (int, float)) else str(value))])
    atomic_write(path, workbook.save, mode=PRIVATE_FILE)
    return [path]


def write_export(document: Mapping[str, Any], fmt: str, path: Path) -> list[Path]:
    """Write the export in ``fmt``; returns every file written (CSV writes one file per table)."""
    if fmt == "json":
        return write_json(document, path)
    tables = export_tables(document)
    if fmt == "csv":
        return write_csv(tables, path)
    if fmt == "xlsx":
        info = [
            ("schema", document["schema"]),
            ("version", document["version"]),
            ("exported_at", document["exported_at"]),
            ("period_from", document["period"]["from"]),
            ("period_to", document["period"]["to"]),
            ("deidentified", _yes(document["deidentified"])),
            ("pseudonym_scheme", document["pseudonym_scheme"] or ""),
            *(
                (f"deidentification_{k}", "" if v is None else v)
                for k, v in (document.get("deidentification") or {}).items()
            ),
            ("weaning_window_hours", document["weaning_window_hours"]),
        ]
        return write_xlsx(tables, path, info=info)
    raise ValueError(f"unknown export format {fmt!r}")


# ---- the QC report as a workbook -----------------------------------------------------------------
class Rate(float):
    """A proportion (0.06452): a plain number in the .xlsx, shown as a percentage (6.5%) on screen."""


def _pct(value: float | None) -> Any:
    return "" if value is None else Rate(round(value, 6))


def report_tables(report: QcReport) -> dict[str, Table]:
    """The QC report's figures as tables (used by the .xlsx, the PDF and the QC page alike)."""
    d = report.as_dict()
    summary = [
        [_("统计期"), f"{d['date_from']} – {d['date_to']}"],
        [_("医院"), report.hospital or _("全部")],
        [_("随访统计截至"), d["as_of"]],
        [_("成功撤机判定窗口（小时）"), report.weaning_window_hours],
        [_("ECMO 例数"), report.runs],
        [_("有临床记录的例数"), report.runs_charted],
        [_("ECPR 例数"), report.ecpr_runs],
        [_("成功撤机率"), _pct(report.weaning_success_rate)],
        [_("28 天存活率"), _pct(report.survival_28d)],
        [_("存活出院率"), _pct(report.survival_to_discharge)],
        [_("28 天生存状态未知例数"), report.outcome_unknown["survival_28d"]],
        [_("出院结局未知例数"), report.outcome_unknown["discharge"]],
        [_("自动出院/放弃治疗例数"), report.outcome_unknown["against_advice"]["runs"]],
        [_("其中出院结局仍未知"), report.outcome_unknown["against_advice"]["unknown_discharge"]],
    ]
    years = [[y, n] for y, n in report.by_year.items()]
    hospital_years = [[h, y, n] for h, ys in report.by_hospital_year.items() for y, n in ys.items()]
    modes = [
        [
            m,
            v["runs"],
            _pct(v["share"]),
            v["survived_28d"],
            v["known_28d"],
            _pct(v["survival_28d"]),
            _pct(v["survival_to_discharge"]),
            _pct(v["weaning_success_rate"]),
        ]
        for m, v in report.by_mode.items()
    ]

    def indication(code: str) -> str:
        return Indication(code).label if code in Indication._value2member_map_ else code

    mode_ind = [
        [m, i, indication(i), x["runs"], _pct(x["share"])]
        for m, v in report.by_mode.items()
        for i, x in v["indications"].items()
    ]
    equipment = [[_("城市"), c, n] for c, n in report.equipment_by_city.items()] + [
        [_("医院"), h, n] for h, n in report.equipment_by_hospital.items()
    ]
    purchases = [[h, y, n] for h, ys in report.equipment_by_hospital_year.items() for y, n in ys.items()]
    complications = [
        [
            code,
            v["runs"],
            v["events"],
            _pct(v["rate"]),
            "" if v["per_1000_hours"] is None else round(v["per_1000_hours"], 6),
        ]
        for code, v in report.complications.items()
    ]
    indicators = []
    for key, v in report.indicators.items():
        label = DEFINITIONS[key].label if key in DEFINITIONS else key
        value = None if v["value"] is None else round(v["value"], 6)
        if value is not None and "denominator" in v and not key.endswith("_per_run"):
            value = Rate(value)  # a part of a whole (circuit changes per run is a count per run)
        indicators.append(
            [
                key,
                _(label),
                "" if value is None else value,
                v.get("numerator", v.get("n", "")),
                v.get("denominator", ""),
                _(DEFINITIONS[key].text) if key in DEFINITIONS else "",
            ]
        )

    def flag(value: bool) -> str:
        return _("是") if value else _("否")

    r15 = [
        [
            h,
            y,
            v["runs"],
            v["weaned_successfully"],
            v["runs_ended"],
            _pct(v["weaning_success_rate"]),
            flag(v["meets_volume"]),
            flag(v["meets_weaning"]),
            flag(v["meets_r15"]),
        ]
        for h, ys in report.r15.items()
        for y, v in ys.items()
    ]
    definitions = [[key, _(d.label), _(d.text)] for key, d in DEFINITIONS.items()]
    return {
        "summary": ((_("项目"), _("数值")), summary),
        "by_year": ((_("年份"), _("例数")), years),
        "by_hospital_year": ((_("医院"), _("年份"), _("例数")), hospital_years),
        "by_mode": (
            (
                _("模式"),
                _("例数"),
                _("占比"),
                _("28天存活"),
                _("28天状态已知"),
                _("28天存活率"),
                _("存活出院率"),
                _("成功撤机率"),
            ),
            modes,
        ),
        "mode_indications": ((_("模式"), _("适应证"), _("名称"), _("例数"), _("占该模式比例")), mode_ind),
        "equipment": ((_("按"), _("名称"), _("ECMO 主机数")), equipment),
        "equipment_purchases": ((_("医院"), _("购置年份"), _("台数")), purchases),
        "complications": (
            (_("代码"), _("例数"), _("事件数"), _("发生率"), _("每1000 ECMO小时")),
            complications,
        ),
        "indicators": (("key", _("指标"), _("数值"), _("分子/例数"), _("分母"), _("定义")), indicators),
        "r15": (
            (
                _("医院"),
                _("年份"),
                _("例数"),
                _("成功撤机"),
                _("已结束"),
                _("成功撤机率"),
                _("≥20例"),
                _("≥40%"),
                _("达标"),
            ),
            r15,
        ),
        "definitions": (("key", _("名称"), _("计算方法")), definitions),
    }


def write_report_xlsx(report: QcReport, path: Path) -> list[Path]:
    return write_xlsx(report_tables(report), path)


# ---- reading an export back (import-export) ------------------------------------------------------
class _Reader:
    """Builds facts from the export's JSON values, collecting every problem with its path."""

    def __init__(self, staff: Mapping[int, StaffRef], errors: list[RowError], row: int) -> None:
        self.staff = staff
        self.errors = errors
        self.row = row

    def fail(self, path: str, message: str, **params: Any) -> None:
        self.errors.append(RowError(self.row, path, message, params))

    def value(self, hint: Any, raw: Any, path: str) -> Any:
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            if raw is None and type(None) in args:
                return None
            inner = [a for a in args if a is not type(None)]
            return self.value(inner[0], raw, path)
        if hint is Any:
            return raw
        if origin is tuple:
            if not isinstance(raw, list):
                self.fail(path, N_("应为列表"))
                return ()
            return tuple(self.value(args[0], v, f"{path}[{i}]") for i, v in enumerate(raw))
        if origin is dict or hint is dict:
            if not isinstance(raw, dict):
                self.fail(path, N_("应为对象"))
                return {}
            return dict(raw)
        if hint is StaffRef:
            if not isinstance(raw, int) or isinstance(raw, bool):
                self.fail(path, N_("应为人员编号"))
                return StaffRef(0, "", "other")
            return self.staff.get(raw) or StaffRef(raw, "", "other")
        if hint is datetime:
            if not isinstance(raw, str):
                self.fail(path, N_("应为时间（ISO 8601）"))
                return datetime(1970, 1, 1, tzinfo=UTC)
            try:
                moment = datetime.fromisoformat(raw)
            except ValueError:
                self.fail(path, N_("“{value}”不是有效的时间"), value=raw[:40])
                return datetime(1970, 1, 1, tzinfo=UTC)
            if moment.tzinfo is None:
                self.fail(path, N_("时间缺少时区"))
                return moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
        if hint is date:
            try:
                return date.fromisoformat(raw)
            except (TypeError, ValueError):
                self.fail(path, N_("“{value}”不是有效的日期"), value=str(raw)[:40])
                return date(1970, 1, 1)
        if hint is bool:
            if not isinstance(raw, bool):
                self.fail(path, N_("应为 true 或 false"))
            return bool(raw)
        if hint is int:
            if not isinstance(raw, int) or isinstance(raw, bool):
                self.fail(path, N_("应为整数"))
                return 0
            return raw
        if hint is float:
            if not isinstance(raw, (int, float)) or isinstance(raw, bool):
                self.fail(path, N_("应为数字"))
                return 0.0
            return float(raw)
        if hint is str:
            if not isinstance(raw, str):
                self.fail(path, N_("应为文本"))
                return ""
            return raw
        if dataclasses.is_dataclass(hint):
            return self.build(hint, raw, path)
        raise TypeError(f"no reader for {hint!r}")

    def build(self, cls: Any, raw: Any, path: str, *, schema: Sequence[str] | None = None) -> Any:
        """``cls`` from a JSON object; with ``schema``, only those fields
        are read (others get empty values).
        """
        if not isinstance(raw, dict):
            self.fail(path, N_("应为对象"))
            raw = {}
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            if schema is not None and f.name not in schema:
                if not has_default:
                    values[f.name] = None if _optional(hints[f.name]) else _empty(hints[f.name])
                continue
            if f.name not in raw:
                if not has_default:
                    self.fail(f"{path}.{f.name}", N_("缺少字段"))
                    values[f.name] = None if _optional(hints[f.name]) else _empty(hints[f.name])
                continue
            values[f.name] = self.value(hints[f.name], raw[f.name], f"{path}.{f.name}")
        return cls(**values)

    def choice(self, value: Any, enum: Any, path: str, *, optional: bool = False) -> None:
        if (optional and value is None) or any(e.row == self.row and e.column == path for e in self.errors):
            return  # a missing field is reported once, not again as an unknown value
        if value not in enum._value2member_map_:
            self.fail(path, N_("未知的取值“{value}”"), value=str(value)[:40])


def _optional(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


def _empty(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        return ()
    if origin is dict or hint is dict:
        return {}
    return {
        str: "",
        int: 0,
        float: 0.0,
        bool: False,
        datetime: datetime(1970, 1, 1, tzinfo=UTC),
        date: date(1970, 1, 1),
    }.get(hint)


@dataclass(frozen=True)
class ExportDocument:
    """An export read back: its header, the hospitals (with equipment) and the cases, or the errors."""

    schema_version: int
    source: ExportSource | None
    hospitals: tuple[HospitalFact, ...]
    equipment: tuple[EquipmentFact, ...]
    cases: tuple[tuple[int, CaseFacts], ...]  # (1-based position in "runs", facts)
    errors: tuple[RowError, ...]
    deidentified: bool
    staff: Mapping[int, StaffRef] = dataclasses.field(default_factory=dict)


_LIST_TYPES: dict[str, type] = {
    "decisions": DecisionInfo,
    "consents": ConsentInfo,
    "procedures": ProcedureInfo,
    "daily": DailyEntryInfo,
    "complications": ComplicationInfo,
    "weaning_trials": WeaningTrialInfo,
    "follow_ups": FollowUpInfo,
    "devices": DeviceInfo,
    "equipment": RunEquipmentFact,
}


def read_export(data: bytes) -> ExportDocument:
    """Parse and check a JSON export; every problem is listed (row = position of the run in "runs")."""
    errors: list[RowError] = []
    try:
        text = data.decode("utf-8-sig")
        if not json_depth_ok(text):  # json.loads would hit RecursionError on a hostile nesting
            return ExportDocument(
                0,
                None,
                (),
                (),
                (),
                (RowError(0, "", N_("JSON 嵌套超过上限 {limit} 层"), {"limit": MAX_JSON_DEPTH}),),
                False,
            )
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return ExportDocument(
            0,
            None,
            (),
            (),
            (),
            (RowError(0, "", N_("不是有效的 JSON 文件：{detail}"), {"detail": str(exc)[:100]}),),
            False,
        )
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        return ExportDocument(
            0, None, (), (), (), (RowError(0, "schema", N_("不是 ECMO Ward 导出文件")),), False
        )
    version = doc.get("version")
    if not isinstance(version, int) or version > SCHEMA_VERSION or version < 1:
        return ExportDocument(
            0,
            None,
            (),
            (),
            (),
            (
                RowError(
                    0,
                    "version",
                    N_("不支持的导出格式版本 {version}（本程序支持 1–{max}）"),
                    {"version": version, "max": SCHEMA_VERSION},
                ),
            ),
            False,
        )
    staff: dict[int, StaffRef] = {}
    for s in doc.get("staff") or []:
        if isinstance(s, dict) and isinstance(s.get("id"), int):
            staff[s["id"]] = StaffRef(s["id"], str(s.get("name") or ""), str(s.get("title") or "other"))
    hospitals: dict[str, HospitalFact] = {}
    equipment: list[EquipmentFact] = []
    header = _Reader(staff, errors, 0)
    for i, h in enumerate(doc.get("hospitals") or []):
        path = f"hospitals[{i}]"
        if (
            not isinstance(h, dict)
            or not isinstance(h.get("code"), str)
            or not isinstance(h.get("name"), str)
        ):
            header.fail(path, N_("医院须有 code 和 name"))
            continue
        hospitals[h["code"]] = HospitalFact(
            name=h["name"], code=h["code"], city=str(h.get("city") or ""), is_local=False
        )
        for j, e in enumerate(h.get("equipment") or []):
            if not isinstance(e, dict) or not e.get("serial") or not e.get("model"):
                header.fail(f"{path}.equipment[{j}]", N_("设备须有 model 和 serial"))
                continue
            purchase = header.value(
                date | None, e.get("purchase_date"), f"{path}.equipment[{j}].purchase_date"
            )
            equipment.append(
                EquipmentFact(
                    hospital_name=h["name"],
                    hospital_code=h["code"],
                    city=str(h.get("city") or ""),
                    kind=str(e.get("kind") or "console"),
                    model=str(e["model"]),
                    manufacturer=str(e.get("manufacturer") or ""),
                    serial=str(e["serial"]),
                    purchase_date=purchase,
                    active=bool(e.get("active", True)),
                )
            )
    source = None
    src = doc.get("source_hospital")
    if isinstance(src, dict) and isinstance(src.get("code"), str):
        source = ExportSource(
            code=src["code"], name=str(src.get("name") or ""), city=str(src.get("city") or "")
        )
    cases: list[tuple[int, CaseFacts]] = []
    runs = doc.get("runs")
    if not isinstance(runs, list):
        errors.append(RowError(0, "runs", N_("缺少 runs 列表")))
        runs = []
    for index, raw in enumerate(runs, start=1):
        case = _read_case(raw, index, hospitals, staff, errors)
        if case is not None:
            cases.append((index, case))
    return ExportDocument(
        version,
        source,
        tuple(hospitals.values()),
        tuple(equipment),
        tuple(cases),
        tuple(errors),
        bool(doc.get("deidentified")),
        staff,
    )


def _read_case(
    raw: Any,
    index: int,
    hospitals: Mapping[str, HospitalFact],
    staff: Mapping[int, StaffRef],
    errors: list[RowError],
) -> CaseFacts | None:
    before = len(errors)
    reader = _Reader(staff, errors, index)
    if not isinstance(raw, dict):
        reader.fail("runs", N_("应为对象"))
        return None
    hospital = hospitals.get(raw.get("hospital"))  # type: ignore[arg-type]
    if hospital is None:
        reader.fail(
            "hospital", N_("医院代码“{code}”不在 hospitals 列表中"), code=str(raw.get("hospital"))[:50]
        )
        return None
    patient = reader.build(Patient, raw.get("patient"), "patient", schema=PATIENT_FIELDS)
    run = reader.build(Run, raw.get("run"), "run", schema=RUN_FIELDS)
    try:
        if clean_mrn(patient.mrn) != patient.mrn:
            reader.fail("patient.mrn", N_("住院号“{mrn}”格式不规范"), mrn=patient.mrn[:40])
    except Exception:  # noqa: BLE001 - any refusal is reported as this row's error
        reader.fail("patient.mrn", N_("住院号“{mrn}”无效"), mrn=str(patient.mrn)[:40])
    if not patient.name.strip():
        reader.fail("patient.name", N_("必填"))
    reader.choice(patient.sex, Sex, "patient.sex")
    reader.choice(run.mode, Mode, "run.mode")
    reader.choice(run.indication, Indication, "run.indication")
    reader.choice(run.status, RunStatus, "run.status")
    reader.choice(run.end_reason, EndReason, "run.end_reason", optional=True)
    if run.started_at is None:
        reader.fail("run.started_at", N_("未上机的例次不能导入"))
    elif run.ended_at is not None and run.ended_at < run.started_at:
        reader.fail("run.ended_at", N_("撤机时间早于上机时间"))
    lists: dict[str, tuple[Any, ...]] = {}
    for name, cls in _LIST_TYPES.items():
        items = raw.get(name, [])
        if not isinstance(items, list):
            reader.fail(name, N_("应为列表"))
            items = []
        lists[name] = tuple(
            reader.build(cls, item, f"{name}[{i}]", schema=RECORD_FIELDS.get(cls))
            for i, item in enumerate(items)
        )
    for i, d in enumerate(lists["decisions"]):
        reader.choice(d.kind, DecisionKind, f"decisions[{i}].kind")
    for i, p in enumerate(lists["procedures"]):
        reader.choice(p.kind, ProcedureKind, f"procedures[{i}].kind")
    for i, f in enumerate(lists["follow_ups"]):
        reader.choice(f.kind, FollowUpKind, f"follow_ups[{i}].kind")
        reader.choice(f.fu_status, FollowUpStatus, f"follow_ups[{i}].fu_status")
    for i, c in enumerate(lists["complications"]):
        if not c.code or len(c.code) > 16:
            reader.fail(f"complications[{i}].code", N_("并发症代码无效"))
    if len(errors) > before:
        return None
    return CaseFacts(
        run=run,
        patient=patient,
        hospital_name=hospital.name,
        hospital_code=hospital.code,
        hospital_city=hospital.city,
        **lists,
    )
