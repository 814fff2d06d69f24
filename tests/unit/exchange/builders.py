"""Hand-made case facts for the pure report and export tests: small, explicit, Beijing wall-clock times."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from ecmo_desktop.domain.case import (
    CaseFacts,
    ComplicationInfo,
    ConsentInfo,
    DecisionInfo,
    DeviceInfo,
    FollowUpInfo,
    PhysicianInfo,
    ProcedureInfo,
    StaffRef,
)
from ecmo_desktop.domain.model import Patient, Run
from ecmo_desktop.domain.time import BEIJING

_ids = itertools.count(1)

ATTENDING = StaffRef(101, "刘主治", "attending")
EXPERT_A = StaffRef(102, "张副主任", "associate_chief")
EXPERT_B = StaffRef(103, "李主任", "chief")
NURSE = StaffRef(104, "陈护士", "nurse_senior")


def bj(text: str) -> datetime:
    """'2024-01-02 10:00' in Beijing time, as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING).astimezone(UTC)


def case(
    *,
    start: str | None = "2024-01-01 10:00",
    end: str | None = None,
    end_reason: str | None = None,
    mode: str = "VA",
    indication: str = "ami",
    ecpr: bool = False,
    emergency: bool = False,
    survived_28d: bool | None = None,
    discharged_alive: bool | None = None,
    death: str | None = None,
    source: str = "app",
    hospital: str = "甲医院",
    city: str = "呼和浩特",
    mrn: str | None = None,
    name: str = "王五",
    discharged_at: str | None = None,
    disposition: str | None = None,
    other_starts: tuple[str, ...] = (),
    **records: Any,
) -> CaseFacts:
    rid = next(_ids)
    status = "ended" if end or end_reason else ("on_ecmo" if start else "planned")
    run = Run(
        id=rid,
        hospital_id=1,
        patient_id=rid,
        run_number=1,
        mode=mode,
        ecpr=ecpr,
        indication=indication,
        indication_other="",
        diagnosis="",
        status=status,
        emergency=emergency,
        attending_id=None,
        ward="",
        bed="",
        created_at=bj("2020-01-01 00:00"),
        decided_at=None,
        started_at=bj(start) if start else None,
        ended_at=bj(end) if end else None,
        end_reason=end_reason,
        version=1,
        survived_28d=survived_28d,
        discharged_alive=discharged_alive,
        date_of_death=bj(death) if death else None,
        source=source,
    )
    patient = Patient(
        id=rid,
        hospital_id=1,
        mrn=mrn or f"M{rid:05d}",
        name=name,
        sex="M",
        birth_date=None,
        age_years=50,
        height_cm=None,
        weight_kg=None,
        ward="",
        bed="",
        version=1,
        discharged_at=bj(discharged_at) if discharged_at else None,
        discharge_disposition=disposition,
    )
    return CaseFacts(
        run=run,
        patient=patient,
        hospital_name=hospital,
        hospital_code=f"code-{hospital}",
        hospital_city=city,
        other_run_starts=tuple(bj(s) for s in other_starts),
        **records,
    )


def follow_up(
    kind: str,
    due: str,
    *,
    done: str | None = None,
    vital: str | None = None,
    death: str | None = None,
    disposition: str | None = None,
    status: str | None = None,
) -> FollowUpInfo:
    return FollowUpInfo(
        id=next(_ids),
        status="draft",
        version=1,
        created_at=bj(f"{due} 00:00"),
        created_by_name="",
        kind=kind,
        due_date=date.fromisoformat(due),
        fu_status=status or ("done" if done else "due"),
        done_at=bj(done) if done else None,
        contact_method=None,
        vital_status=vital,
        date_of_death=date.fromisoformat(death) if death else None,
        cause_of_death=None,
        discharge_disposition=disposition,
        cpc=None,
        mrs=None,
        eq5d_index=None,
        notes="",
    )


def decision(
    kind: str,
    at: str,
    physicians: list[tuple[StaffRef, str, bool]],
    *,
    emergency: bool = False,
    signed: bool = True,
    supplement_of: int | None = None,
    pre_ecmo: dict[str, Any] | None = None,
    deadline: str | None = None,
    rid: int | None = None,
) -> DecisionInfo:
    return DecisionInfo(
        id=rid or next(_ids),
        version=1,
        created_at=bj(at),
        created_by_name="",
        kind=kind,
        emergency=emergency,
        status="signed" if signed else "draft",
        decided_at=bj(at),
        signed_at=bj(at) if signed else None,
        mode_planned="VA",
        indication="ami",
        indication_other="",
        rationale="",
        pre_ecmo=pre_ecmo or {},
        contraindications={},
        supplement_deadline=bj(deadline) if deadline else None,
        supplement_of_id=supplement_of,
        physicians=tuple(PhysicianInfo(s, role, expert, i) for i, (s, role, expert) in enumerate(physicians)),
    )


def mdt(kind: str, at: str, **kw: Any) -> DecisionInfo:
    """A decision meeting R1: the attending plus two expert-group members."""
    return decision(
        kind,
        at,
        [(ATTENDING, "attending", False), (EXPERT_A, "expert", True), (EXPERT_B, "expert", True)],
        **kw,
    )


def consent(at: str, *, signed: bool = True, refused: bool = False) -> ConsentInfo:
    return ConsentInfo(
        id=next(_ids),
        version=1,
        created_at=bj(at),
        created_by_name="",
        status="signed" if signed else "draft",
        signed_at=bj(at) if signed else None,
        explained_by=EXPERT_A,
        signer_name="家属",
        relationship="spouse",
        signed_on_paper_at=bj(at),
        refused=refused,
        notes="",
    )


def procedure(kind: str, at: str, *, immediate: tuple[str, ...] = ()) -> ProcedureInfo:
    return ProcedureInfo(
        id=next(_ids),
        kind=kind,
        status="signed",
        version=1,
        created_at=bj(at),
        created_by_name="",
        started_at=bj(at),
        flow_at=None,
        ended_at=None,
        location="icu",
        technique=None,
        guidance=None,
        mode_before=None,
        mode_after=None,
        reason="",
        settings={},
        immediate_complications=immediate,
        notes="",
        devices=(),
    )


def complication(code: str, at: str) -> ComplicationInfo:
    return ComplicationInfo(
        id=next(_ids),
        status="draft",
        version=1,
        created_at=bj(at),
        created_by_name="",
        code=code,
        other_text="",
        onset_at=bj(at),
        severity="mild",
        treatment="",
        resolved_at=None,
        resolution="",
        adverse_event=False,
        device_item_id=None,
        procedure_id=None,
        device_label="",
    )


def device(
    *, scanned_text: str = "0106901234000012", serial: str | None = "SN1", lot: str | None = None
) -> DeviceInfo:
    uid = next(_ids)
    return DeviceInfo(
        id=uid,
        item_id=uid,
        procedure_id=None,
        single_use=True,
        bound_at=bj("2024-01-01 10:30"),
        bound_by=NURSE,
        scanned_text=scanned_text,
        override_reason=None,
        warnings="",
        removed_at=None,
        removal_reason=None,
        category="oxygenator",
        product_name="氧合器",
        manufacturer="M",
        model="X",
        gtin=None,
        udi_di=None,
        nmpa_number="国械注进1",
        item_key=None,
        serial=serial,
        lot=lot,
        expiry=None,
        production_date=None,
        raw_code=scanned_text,
        symbology=None,
    )
