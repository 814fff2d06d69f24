"""The export document: schema, reading it back, pseudonyms, free text, spreadsheet safety (no database)."""

from __future__ import annotations

import csv
import dataclasses
import json
import zipfile
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest

from ecmo_desktop.domain.case import HospitalFact
from ecmo_desktop.domain.validation import clean_mrn
from ecmo_desktop.exchange.export import (
    SCHEMA,
    SCHEMA_VERSION,
    ExportSource,
    Pseudonymizer,
    build_export,
    read_export,
    report_tables,
    safe_cell,
    write_export,
    write_report_xlsx,
)
from ecmo_desktop.exchange.import_cases import read_table, validate_cases
from ecmo_desktop.exchange.report import Period, compute_report
from ecmo_desktop.i18n import set_language
from tests.unit.exchange.builders import (
    case,
    complication,
    consent,
    decision,
    device,
    follow_up,
    mdt,
    procedure,
)

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PERIOD = Period(date(2020, 1, 1), date(2026, 12, 31))
KEY = bytes(range(32))


@pytest.fixture(autouse=True)
def _chinese():
    set_language("zh_CN")


def charted(**kw):
    em = decision(
        "start",
        "2024-01-01 09:30",
        [(mdt("start", "2024-01-01 09:00").physicians[1].staff, "expert", True)],
        emergency=True,
        rid=7001,
        pre_ecmo={"cpr_minutes": 40},
    )
    base = dict(
        name="王秀兰",
        mrn="ZY123456",
        ecpr=True,
        emergency=True,
        end="2024-01-04 10:00",
        end_reason="weaned",
        decisions=(
            em,
            dataclasses.replace(
                mdt("start", "2024-01-01 20:00", supplement_of=7001), rationale="王秀兰 病情危重"
            ),
        ),
        consents=(dataclasses.replace(consent("2024-01-01 12:00"), notes="家属王秀兰之子签字"),),
        procedures=(
            dataclasses.replace(
                procedure("cannulation", "2024-01-01 09:40"),
                notes="ZY123456 插管顺利",
                settings={"comment": "患者王秀兰"},
            ),
        ),
        complications=(complication("B-GI", "2024-01-02 10:00"),),
        follow_ups=(follow_up("d28", "2024-01-29", done="2024-01-29 10:00", vital="alive"),),
        devices=(device(),),
    )
    base.update(kw)
    return case(**base)


def doc_for(cases, pseudonyms=None):
    hospitals = [HospitalFact(c.hospital_name, c.hospital_code, c.hospital_city, False) for c in cases]
    return build_export(
        cases,
        [],
        hospitals,
        period=PERIOD,
        exported_at=NOW,
        window_hours=24,
        source=ExportSource("H001", "示范医院", "呼和浩特"),
        pseudonyms=pseudonyms,
    )


def test_document_header_and_outcomes():
    doc = doc_for([charted()])
    assert (doc["schema"], doc["version"], doc["deidentified"], doc["pseudonym_scheme"]) == (
        SCHEMA,
        SCHEMA_VERSION,
        False,
        None,
    )
    assert doc["period"] == {"from": "2020-01-01", "to": "2026-12-31"}
    run = doc["runs"][0]
    assert run["run"]["started_at"] == "2024-01-01T02:00:00Z"
    assert run["outcome"] == {
        "survived_28d": True,
        "discharged_alive": None,
        "weaning_success": True,
        "death_date": None,
        "duration_hours": 72.0,
        "discharge_disposition": None,
    }
    assert {s["id"] for s in doc["staff"]} == {101, 102, 103, 104}
    json.dumps(doc)  # plain JSON values only


def test_reading_the_export_back_gives_the_same_facts_and_figures():
    cases = [charted(), case(source="import", end="2024-02-01 10:00", end_reason="died", hospital="乙医院")]
    doc = doc_for(cases)
    back = read_export(json.dumps(doc).encode())
    assert back.errors == ()
    assert [i for i, _c in back.cases] == [1, 2]
    again = [c for _i, c in back.cases]
    assert doc_for(again)["runs"] == doc["runs"]
    assert compute_report(again, [], period=PERIOD, as_of=date(2026, 1, 1)) == compute_report(
        cases, [], period=PERIOD, as_of=date(2026, 1, 1)
    )


def test_pseudonyms_are_stable_keyed_and_valid_mrns():
    p = Pseudonymizer(KEY)
    token = p.token("H001", "ZY123456")
    assert token == p.token("H001", "ZY123456")
    assert token != p.token("H002", "ZY123456") != Pseudonymizer(bytes(32)).token("H001", "ZY123456")
    assert clean_mrn(token) == token and len(token) == 17
    with pytest.raises(ValueError):
        Pseudonymizer(b"short")


def test_deidentified_document_holds_no_name_or_mrn_even_in_free_text():
    doc = doc_for([charted()], Pseudonymizer(KEY))
    data = json.dumps(doc, ensure_ascii=False).encode()
    assert "王秀兰".encode() not in data and b"ZY123456" not in data
    run = doc["runs"][0]
    token = Pseudonymizer(KEY).token("code-甲医院", "ZY123456")
    assert run["patient"]["mrn"] == token and run["patient"]["name"] == f"匿名-{token}"
    assert run["consents"][0]["signer_name"] == "" and run["decisions"][1]["rationale"] == ""
    assert run["procedures"][0]["settings"] == {"comment": "患者匿名"}  # structured values scrubbed
    shift = Pseudonymizer(KEY).day_shift("code-甲医院", "ZY123456")
    assert shift != 0 and abs(shift) <= 365
    moved = datetime(2024, 1, 1, 2, 0, tzinfo=UTC) + timedelta(days=shift)
    assert run["run"]["started_at"] == moved.isoformat().replace("+00:00", "Z")  # one offset for the patient
    assert run["follow_ups"][0]["due_date"] == (date(2024, 1, 29) + timedelta(days=shift)).isoformat()
    assert run["outcome"]["duration_hours"] == doc_for([charted()])["runs"][0]["outcome"]["duration_hours"]
    assert run["devices"][0]["serial"] is None and run["devices"][0]["scanned_text"] == ""
    assert doc["deidentified"] is True and "HMAC-SHA256" in doc["pseudonym_scheme"]
    assert (
        "Safe Harbor" in doc["deidentification"]["standard"] and doc["deidentification"]["dates"] == "shift"
    )


def test_deidentified_ages_replace_birth_dates_and_ninety_and_over_are_one_group():
    old = dataclasses.replace(
        charted().patient, birth_date=date(1930, 5, 6), age_years=None, ward="EICU", bed="7"
    )
    young = dataclasses.replace(charted().patient, birth_date=date(1980, 5, 6), age_years=None)
    docs = [doc_for([dataclasses.replace(charted(), patient=p)], Pseudonymizer(KEY)) for p in (old, young)]
    patients = [d["runs"][0]["patient"] for d in docs]
    assert [p["birth_date"] for p in patients] == [None, None]
    assert [p["age_years"] for p in patients] == [90, 43]  # 93 is reported as 90 ("90 or older")
    assert (patients[0]["ward"], patients[0]["bed"]) == ("", "")


def test_dates_coarsened_to_the_month():
    doc = doc_for([charted()], Pseudonymizer(KEY, dates="month"))
    run = doc["runs"][0]
    # the first instant of the Beijing month, in UTC
    assert run["run"]["started_at"] == "2023-12-31T16:00:00Z"
    assert run["follow_ups"][0]["due_date"] == "2024-01-01"
    with pytest.raises(ValueError):
        Pseudonymizer(KEY, dates="week")


def test_staff_are_pseudonymised():
    plain = doc_for([charted()])
    doc = doc_for([charted()], Pseudonymizer(KEY))
    assert {s["id"] for s in doc["staff"]} == {s["id"] for s in plain["staff"]}
    assert all(s["name"].startswith("人员-S") for s in doc["staff"])
    assert not {s["name"] for s in plain["staff"]} & {s["name"] for s in doc["staff"]}


def test_deidentified_export_still_imports():
    doc = doc_for([charted()], Pseudonymizer(KEY))
    back = read_export(json.dumps(doc).encode())
    assert back.errors == () and back.deidentified


def test_read_export_refuses_other_files_and_lists_bad_runs():
    assert read_export(b"{not json").errors[0].message.startswith("不是有效的 JSON")
    assert read_export(b'{"schema": "x"}').errors[0].text == "不是 ECMO Ward 导出文件"
    future = read_export(json.dumps({"schema": SCHEMA, "version": SCHEMA_VERSION + 1}).encode())
    assert (
        future.errors[0].text == f"不支持的导出格式版本 {SCHEMA_VERSION + 1}（本程序支持 1–{SCHEMA_VERSION}）"
    )
    doc = doc_for([charted(), case(), case()])
    doc["runs"][1]["run"]["mode"] = "XX"
    doc["runs"][2]["run"]["started_at"] = "yesterday"
    del doc["runs"][2]["patient"]["sex"]
    back = read_export(json.dumps(doc).encode())
    assert [i for i, _c in back.cases] == [1]
    assert [e.as_dict() for e in back.errors] == [
        {"row": 2, "column": "run.mode", "message": "未知的取值“XX”"},
        {"row": 3, "column": "patient.sex", "message": "缺少字段"},
        {"row": 3, "column": "run.started_at", "message": "“yesterday”不是有效的时间"},
    ]


def test_safe_cell_neutralises_formulas():
    assert [safe_cell(v) for v in ("=1+1", "+86", "-2", "@SUM(A1)", "\tx", "ok", 5, -3.5, None)] == [
        "'=1+1",
        "'+86",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "ok",
        5,
        -3.5,
        None,
    ]
    assert safe_cell("0106901234000012\x1d21SN\x01") == "0106901234000012<GS>21SN<U+0001>"


def test_csv_export_tables_runs_sheet_is_a_legacy_register(tmp_path):
    evil = charted(name='=HYPERLINK("http://x")', mrn="Q1")
    files = write_export(doc_for([evil, case(mrn="Q2")]), "csv", tmp_path / "out.csv")
    assert [f.name for f in files] == [
        "out.csv",
        "out.decisions.csv",
        "out.procedures.csv",
        "out.daily.csv",
        "out.complications.csv",
        "out.weaning_trials.csv",
        "out.follow_ups.csv",
        "out.devices.csv",
        "out.equipment.csv",
    ]
    raw = (tmp_path / "out.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[1][3] == '\'=HYPERLINK("http://x")'
    parsed = validate_cases(read_table(tmp_path / "out.csv"), now=NOW)
    assert parsed.errors == ()
    assert [(r.mrn, r.name, r.survived_28d) for r in parsed.rows] == [
        ("Q1", '=HYPERLINK("http://x")', True),
        ("Q2", "王五", None),
    ]


def test_xlsx_export_is_readable_and_has_no_formulas(tmp_path):
    write_export(doc_for([charted(name="=1+2")]), "xlsx", tmp_path / "out.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "out.xlsx")
    assert wb.sheetnames == [
        "runs",
        "decisions",
        "procedures",
        "daily",
        "complications",
        "weaning_trials",
        "follow_ups",
        "devices",
        "equipment",
        "about",
    ]
    cell = wb["runs"]["D2"]
    assert (cell.value, cell.data_type) == ("'=1+2", "s")
    with zipfile.ZipFile(tmp_path / "out.xlsx") as z:
        assert not any(b"<f>" in z.read(n) for n in z.namelist())


def test_report_workbook(tmp_path):
    r = compute_report(
        [charted(), case(mode="VV", indication="ards")], [], period=PERIOD, as_of=date(2026, 1, 1)
    )
    write_report_xlsx(r, tmp_path / "qc.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "qc.xlsx")
    assert set(report_tables(r)) == set(wb.sheetnames)
    by_mode = list(wb["by_mode"].iter_rows(values_only=True))
    assert by_mode[1][:3] == ("VA", 1, 0.5)
    indicators = {row[0]: row for row in wb["indicators"].iter_rows(min_row=2, values_only=True)}
    assert indicators["r2_compliance_rate"][2:5] == (1, 1, 1)
    assert indicators["consent_rate"][5].startswith("有已签名且未拒绝的知情同意")


def test_the_schema_document_names_every_exported_field():
    from pathlib import Path

    from ecmo_desktop.domain import case as facts
    from ecmo_desktop.exchange.export import PATIENT_FIELDS, RECORD_FIELDS, RUN_FIELDS

    doc = (Path(__file__).resolve().parents[3] / "docs" / "export-schema.md").read_text(encoding="utf-8")
    names = {*PATIENT_FIELDS, *RUN_FIELDS, *(n for listed in RECORD_FIELDS.values() for n in listed)}
    for cls in (facts.PhysicianInfo, facts.CannulaInfo, facts.RunEquipmentFact):
        names.update(f.name for f in dataclasses.fields(cls))
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert missing == []
    assert f"# Case-level export: schema version {SCHEMA_VERSION}" in doc
