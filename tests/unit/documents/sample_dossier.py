"""A complete ``CaseDossier`` built in memory, for the document tests that need no database.

Devices carry labels the way scanners deliver them (GS1 element strings with GS separators and
valid GTIN check digits, an HIBC code, a Chinese MA code, a hand-typed serial), so the rendered
barcodes can be decoded back and compared with what was scanned.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ecmo_desktop.domain.case import (
    CannulaInfo,
    CaseDossier,
    ComplicationInfo,
    ConsentInfo,
    DailyEntryInfo,
    DecisionInfo,
    DeviceInfo,
    FollowUpInfo,
    HospitalInfo,
    PatientInfo,
    PhysicianInfo,
    ProcedureInfo,
    RunInfo,
    SignatureInfo,
    StaffRef,
    TeamMember,
    WeaningTrialInfo,
    assign_devices,
)
from ecmo_desktop.domain.devices import gs1_check_digit

GS = "\x1d"
START = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)  # 10:30 in Beijing
PRINTED = START + timedelta(days=12)
HOSTILE_NAME = "张𠀀<b>&amp;\x00🫀"
EXT_B_NAME = "𠀀𡃁"


def gtin(body13: str) -> str:
    return body13 + str(gs1_check_digit(body13))


def gs1_label(gtin14: str, *, lot: str, serial: str | None, expiry: date) -> str:
    text = f"01{gtin14}17{expiry:%y%m%d}10{lot}"
    return text + (GS + "21" + serial if serial else "")


def sig(
    name: str, at: datetime, meaning: str = "author", state: str = "valid", title: str = "associate_chief"
) -> SignatureInfo:
    return SignatureInfo(
        signer_name=name, signer_title=title, meaning=meaning, signed_at=at, state=state, record_version=1
    )


def base(
    record_id: int,
    at: datetime,
    *,
    signed_by: str | None = "张伟",
    meaning: str = "author",
    author: str = "张伟",
) -> dict[str, Any]:
    sigs = (sig(signed_by, at + timedelta(minutes=30), meaning),) if signed_by else ()
    return {
        "id": record_id,
        "status": "signed" if sigs else "draft",
        "version": 1,
        "created_at": at,
        "created_by_name": author,
        "signatures": sigs,
    }


def device(
    n: int, *, procedure_id: int | None = 1, kind: str = "gs1", bound_at: datetime | None = None
) -> DeviceInfo:
    lot, serial = f"LOT{2400 + n}A", f"SN{n:06d}"
    expiry = date(2027, 12, 31)
    if kind == "gs1":
        raw = gs1_label(gtin(f"069012340{n:04d}"), lot=lot, serial=serial, expiry=expiry)
        symbology = "gs1"
    elif kind == "hibc":
        raw, symbology = f"+H123ECMO{n}0/$$3271231{lot}N", "hibc"
    elif kind == "ma":
        raw, symbology = f"MA.156.M0.100{n:03d}.1{serial}", "ma"
    else:
        raw, symbology = serial, "manual"
    return DeviceInfo(
        id=100 + n,
        item_id=200 + n,
        procedure_id=procedure_id,
        product_name=f"膜式氧合器 {n} 号",
        category="oxygenator",
        model=f"HLS-{n}",
        manufacturer="迈柯唯（Maquet）",
        nmpa_number=f"国械注进2019345{n:04d}",
        gtin=None,
        udi_di=None,
        lot=lot,
        serial=serial,
        expiry=expiry,
        production_date=date(2025, 1, 1),
        raw_code=raw,
        scanned_text=raw,
        symbology=symbology,
        single_use=True,
        bound_at=bound_at or START + timedelta(minutes=5 + n),
        bound_by=StaffRef(7, "陈静", "nurse"),
        override_reason=None,
        removed_at=None,
        removal_reason=None,
        warnings="",
        item_key=None,
    )


def daily_entry(n: int, at: datetime) -> DailyEntryInfo:
    values = {
        "blood_flow": round(3.5 + (n % 5) * 0.2, 2),
        "sweep": 3.0 + (n % 3) * 0.5,
        "rpm": 3200 + n,
        "act": 180 + (n % 7) * 5,
        "aptt": 55 + (n % 4),
        "lactate": round(max(0.8, 6.5 - n * 0.3), 1),
        "map": 70 + n % 5,
        "hr": 95,
        "p_pre_oxy": 220,
        "p_post_oxy": 180,
        "pao2": 95,
        "vent_fio2": 0.4,
    }
    return DailyEntryInfo(
        **base(1000 + n, at, signed_by="陈静", author="陈静"),
        recorded_at=at,
        ecmo_day=(at.date() - START.date()).days,
        author_role="nurse",
        mode="VA",
        values=values,
        checks={"limb_perfusion": "normal", "circuit_check": "ok"},
        notes=f"第 {n} 条记录：循环稳定，继续当前参数。<i>无特殊</i> & 观察",
    )


def make_dossier(
    *,
    n_devices: int = 4,
    n_entries: int = 6,
    patient_name: str = "王建国",
    notes: str = "经皮穿刺顺利，超声引导下置管，管路预充排气完毕后转流。",
) -> CaseDossier:
    kinds = ["gs1", "hibc", "ma", "manual"]
    devices = tuple(
        device(n, kind=kinds[n % len(kinds)] if n < 4 else "gs1") for n in range(1, n_devices + 1)
    )
    team = (
        TeamMember(StaffRef(2, "张伟", "associate_chief"), "operator", True),
        TeamMember(StaffRef(8, "刘洋", "attending"), "assistant", True),
        TeamMember(StaffRef(6, "赵磊", "technician"), "perfusionist", False),
    )
    cannulation = ProcedureInfo(
        **base(1, START),
        kind="cannulation",
        started_at=START,
        flow_at=START + timedelta(minutes=25),
        ended_at=START + timedelta(minutes=50),
        location="icu",
        technique="percutaneous",
        guidance="ultrasound",
        mode_before=None,
        mode_after="VA",
        reason="",
        settings={"rpm": 3200, "blood_flow": 3.8, "sweep": 3.5, "fdo2": 1.0, "heparin_bolus": 80},
        immediate_complications=("site_bleeding",),
        notes=notes,
        staff=team,
        cannulae=(
            CannulaInfo(0, "drainage", "femoral_vein", "R", 23, 55, 45, "IVC/RA", 101, None),
            CannulaInfo(1, "return", "femoral_artery", "L", 17, 23, 15, "", 102, None),
        ),
        devices=(),
    )
    end = START + timedelta(days=6)
    decannulation = ProcedureInfo(
        **base(2, end),
        kind="decannulation",
        started_at=end,
        flow_at=end + timedelta(minutes=10),
        ended_at=end + timedelta(minutes=60),
        location="icu",
        technique="cutdown",
        guidance="none",
        mode_before="VA",
        mode_after=None,
        reason="心功能恢复，撤机试验通过",
        settings={},
        immediate_complications=(),
        notes="",
        staff=team[:2],
        cannulae=(),
        devices=(),
    )
    procedures = tuple(assign_devices([cannulation, decannulation], devices, {101: 1}))
    physicians = (
        PhysicianInfo(StaffRef(8, "刘洋", "attending"), "attending", False),
        PhysicianInfo(StaffRef(3, "李娜", "chief"), "expert", True),
        PhysicianInfo(StaffRef(4, "王芳", "associate_chief"), "expert", True),
    )
    start_decision = DecisionInfo(
        **base(11, START - timedelta(hours=1)),
        kind="start",
        emergency=False,
        decided_at=START - timedelta(hours=1),
        mode_planned="VA",
        indication="ami",
        indication_other="",
        rationale="急性心梗合并心源性休克，药物治疗无效。",
        pre_ecmo={"ph": 7.21, "lactate": 6.5, "pao2": 58, "vent_fio2": 1.0, "vent_mode": "pc"},
        contraindications={"irreversible_brain_injury": False, "uncontrolled_bleeding": False},
        supplement_deadline=None,
        supplement_of_id=None,
        physicians=physicians,
    )
    wean_decision = replace(
        start_decision,
        id=12,
        kind="wean",
        decided_at=end - timedelta(hours=3),
        rationale="心功能恢复，LVEF 45%。",
        pre_ecmo={},
        contraindications={},
    )
    entries = tuple(
        daily_entry(n, START + timedelta(hours=2 + n * (144 / max(1, n_entries)))) for n in range(n_entries)
    )
    return CaseDossier(
        hospital=HospitalInfo(1, "内蒙古自治区人民医院", "H001"),
        patient=PatientInfo(
            id=1,
            mrn="ZY2026000123",
            name=patient_name,
            sex="M",
            birth_date=date(1980, 5, 17),
            age_years=None,
            height_cm=172,
            weight_kg=70,
            ward="EICU",
            bed="12",
            admitted_at=START - timedelta(days=1),
            discharged_at=START + timedelta(days=20),
            discharge_disposition="home",
        ),
        run=RunInfo(
            id=7,
            run_number=1,
            mode="VA",
            ecpr=False,
            indication="ami",
            indication_other="",
            diagnosis="急性前壁心肌梗死，心源性休克",
            status="ended",
            emergency=False,
            attending_name="刘洋",
            ward="EICU",
            bed="12",
            created_at=START - timedelta(hours=2),
            decided_at=START - timedelta(hours=1),
            started_at=START + timedelta(minutes=25),
            ended_at=end + timedelta(minutes=10),
            end_reason="weaned",
            archived_at=None,
        ),
        decisions=(start_decision, wean_decision),
        consents=(
            ConsentInfo(
                **base(21, START - timedelta(minutes=40)),
                explained_by=StaffRef(5, "张伟", "associate_chief"),
                signer_name="王某",
                relationship="spouse",
                signed_on_paper_at=START - timedelta(minutes=40),
                refused=False,
                notes="",
            ),
        ),
        procedures=procedures,
        daily_entries=entries,
        complications=(
            ComplicationInfo(
                **base(31, START + timedelta(days=2)),
                code="B-CANN",
                other_text="",
                onset_at=START + timedelta(days=2),
                severity="mild",
                treatment="局部压迫",
                resolved_at=START + timedelta(days=2, hours=4),
                resolution="止血",
                adverse_event=False,
                procedure_id=None,
                device_label="",
                device_item_id=None,
            ),
        ),
        weaning_trials=(
            WeaningTrialInfo(
                **base(41, end - timedelta(hours=5)),
                started_at=end - timedelta(hours=5),
                ended_at=end - timedelta(hours=4),
                flow_to=1.5,
                sweep_to=None,
                fdo2_to=None,
                values={"map": 72, "lvef": 45, "lactate": 1.2, "lvot_vti": 14},
                passed=True,
                notes="流量减至 1.5 L/min 观察 1 小时，血流动力学稳定。",
            ),
        ),
        follow_ups=(
            FollowUpInfo(
                **base(51, START + timedelta(days=28)),
                kind="d28",
                due_date=date(2026, 3, 30),
                fu_status="done",
                done_at=START + timedelta(days=28),
                contact_method="phone",
                vital_status="alive",
                date_of_death=None,
                cause_of_death=None,
                discharge_disposition=None,
                cpc=1,
                mrs=1,
                eq5d_index=0.85,
                notes="恢复良好",
            ),
            FollowUpInfo(
                **base(52, START + timedelta(days=90), signed_by=None),
                kind="d90",
                due_date=date(2026, 5, 31),
                fu_status="due",
                done_at=None,
                contact_method=None,
                vital_status=None,
                date_of_death=None,
                cause_of_death=None,
                discharge_disposition=None,
                cpc=None,
                mrs=None,
                eq5d_index=None,
                notes="",
            ),
        ),
        devices=devices,
    )


def build(kind: str, dossier: CaseDossier, subject_id: int | None = None, *, template: Any = None) -> Any:
    """Plan and render one document of ``dossier`` as the service would (document number 1, version 1)."""
    from ecmo_desktop.documents.archive import plan_document, render
    from ecmo_desktop.documents.consent import load_consent_template
    from ecmo_desktop.documents.parts import PrintContext

    plan = plan_document(
        kind, dossier, subject_id, as_of=PRINTED, template=template or load_consent_template()
    )
    ctx = PrintContext(PRINTED, "孙丽", "DOC-000001-v1", "#42 " + "9f" * 32)
    return plan, render(plan, dossier, ctx)
