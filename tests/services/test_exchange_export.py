"""Export: schema round trip into a regional database, de-identification, audit — on both backends."""

from __future__ import annotations

import json
import re
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from ecmo_desktop.cli import main as cli_main
from ecmo_desktop.domain.errors import AuthenticationFailed, PermissionDenied, ValidationError
from ecmo_desktop.storage.orm.people import HospitalRow, PatientRow, StaffRow
from tests.conftest import PASSWORD
from tests.services.test_exchange_report import APP, FIXTURES, LEGACY, chart_app_runs, load_legacy

pytestmark = pytest.mark.pg

ALL = (LEGACY[0], APP[1])


@pytest.fixture
def source(seeded, clock):
    """The hospital's database: 20 legacy runs, consoles, and two runs charted in the app."""
    load_legacy(seeded)
    chart_app_runs(seeded, clock)
    seeded.login("sunli")
    return seeded.container


@pytest.fixture
def regional(container):
    """An empty database set up for a regional QC centre (its own local hospital, no runs)."""
    c = container
    c.auth.first_run_setup(
        hospital_name="自治区ECMO质控中心",
        hospital_code="QC-NM",
        city="呼和浩特",
        admin_username="admin",
        admin_full_name="质控管理员",
        admin_password=PASSWORD,
        admin_password_repeat=PASSWORD,
    )
    c.auth.login("admin", PASSWORD)
    return c


def identities(c) -> tuple[list[str], list[str]]:
    with c.uow(write=False) as uow:
        rows = [(p.name, p.mrn) for p in uow.session.scalars(select(PatientRow))]
    return [name for name, _m in rows], [mrn for _n, mrn in rows]


def all_bytes(files: list[Path]) -> bytes:
    """Every byte a reader could see: xlsx files are zip archives, so their members are unpacked."""
    out = b""
    for f in files:
        if f.suffix == ".xlsx":
            with zipfile.ZipFile(f) as z:
                out += b"".join(z.read(n) for n in z.namelist())
        else:
            out += f.read_bytes()
    return out


def test_export_then_import_into_an_empty_database_gives_the_same_report(source, regional, tmp_path):
    out = tmp_path / "hospital.json"
    result = source.exchange.export(*ALL, "json", deidentify=False, out=out)
    assert (result.runs, result.files, result.format) == (22, (out,), "json")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert (doc["schema"], doc["version"], doc["source_hospital"]["code"]) == ("ecmo-ward-export", 1, "H001")

    dry = regional.exchange.import_export(out, dry_run=True)
    assert (dry.imported, dry.skipped, dry.errors, dry.equipment_imported) == (22, 0, (), 9)
    imported = regional.exchange.import_export(out)
    assert (imported.imported, imported.skipped, imported.errors, imported.equipment_imported) == (
        22,
        0,
        (),
        9,
    )
    for period in (LEGACY, APP, ALL):
        assert regional.exchange.report(*period).as_dict() == source.exchange.report(*period).as_dict()

    again = regional.exchange.import_export(out)
    assert (again.imported, again.skipped, again.equipment_imported) == (0, 22, 0)
    with regional.uow(write=False) as uow:
        hospitals = {h.name: h.is_local for h in uow.session.scalars(select(HospitalRow))}
        placeholders = [
            (s.username, s.full_name, s.active, s.password_hash)
            for s in uow.session.scalars(select(StaffRow).where(StaffRow.username_key.like("EXT:%")))
        ]
    assert hospitals["自治区ECMO质控中心"] is True and hospitals["示范医院"] is False
    assert {name for _u, name, _a, _h in placeholders} >= {"张伟", "李娜", "刘洋"}
    assert {(active, pw) for _u, _n, active, pw in placeholders} == {(False, "!")}
    regional.ctx.user = None
    with pytest.raises(AuthenticationFailed):  # an imported physician's placeholder can never log in
        regional.auth.login(placeholders[0][0], "!")


def test_import_cases_accepts_the_json_export_and_the_runs_sheet(source, regional, tmp_path):
    source.exchange.export(*ALL, "json", deidentify=False, out=tmp_path / "e.json")
    source.exchange.export(*ALL, "csv", deidentify=False, out=tmp_path / "e.csv")
    assert regional.exchange.import_cases(tmp_path / "e.json").imported == 22
    # the runs table of the CSV export is a legacy register: the same runs, recognised by their natural key
    sheet = regional.exchange.import_cases(tmp_path / "e.csv")
    assert (sheet.imported, sheet.skipped, sheet.errors) == (0, 22, ())


def test_a_legacy_register_round_trips_through_the_csv_export(source, regional, tmp_path):
    files = source.exchange.export(*LEGACY, "csv", deidentify=False, out=tmp_path / "legacy.csv").files
    assert regional.exchange.import_cases(files[0]).imported == 20
    assert (
        regional.exchange.import_equipment(
            next(f for f in files if f.name == "legacy.equipment.csv")
        ).imported
        == 9
    )
    mine, theirs = regional.exchange.report(*LEGACY).as_dict(), source.exchange.report(*LEGACY).as_dict()
    for key in (
        "runs",
        "by_year",
        "by_hospital_year",
        "by_city",
        "by_mode",
        "indications",
        "ecpr_runs",
        "weaning_success_rate",
        "survival_28d",
        "survival_to_discharge",
        "equipment_by_city",
        "equipment_by_hospital",
        "equipment_by_hospital_year",
        "r15",
        "outcome_unknown",
    ):
        assert mine[key] == theirs[key], key


FIXED_KEY = "5f" * 32  # a fixed pseudonym key: the per-patient date offsets are then reproducible


def source_identifiers(c) -> dict[str, set[str]]:
    """Every identifier of the source database, in each form an export could write it."""
    from ecmo_desktop.domain.time import BEIJING
    from ecmo_desktop.storage.orm.runs import RunRow

    found: dict[str, set[str]] = {
        "names": set(),
        "mrns": set(),
        "birth dates": set(),
        "timestamps": set(),
        "ward/bed": set(),
        "staff": set(),
    }

    def moment(value) -> None:
        if value is None:
            return
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        found["timestamps"].add(value.astimezone(UTC).isoformat().replace("+00:00", "Z"))
        if value.astimezone(BEIJING).time() != time(0):  # a date-only legacy value is covered as a date below
            found["timestamps"].add(value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"))

    with c.uow(write=False) as uow:
        for p in uow.session.scalars(select(PatientRow)):
            found["names"].add(p.name)
            found["mrns"].add(p.mrn)
            if p.birth_date:
                found["birth dates"].add(p.birth_date.isoformat())
            found["ward/bed"] |= {x for x in (p.ward, p.bed) if x}
            moment(p.discharged_at)
        for r in uow.session.scalars(select(RunRow)):
            for value in (r.started_at, r.ended_at, r.decided_at, r.date_of_death):
                moment(value)
            found["ward/bed"] |= {x for x in (r.ward, r.bed) if x}
        for s in uow.session.scalars(select(StaffRow)):
            if not s.username.startswith("EXT:"):
                found["staff"] |= {s.full_name, s.username}
    return found


@pytest.fixture
def marked_source(source):
    """The source with a ward and bed on every patient and run, and a fixed pseudonym key."""
    from ecmo_desktop.storage.orm.runs import RunRow

    with source.uow() as uow:
        uow.session.query(PatientRow).update(
            {PatientRow.ward: "心外重症监护七病区", PatientRow.bed: "B17-床"}
        )
        uow.session.query(RunRow).update({RunRow.ward: "心外重症监护七病区", RunRow.bed: "B17-床"})
        local = uow.session.scalars(select(HospitalRow).where(HospitalRow.is_local.is_(True))).one()
        local.settings = {**local.settings, "exchange": {"pseudonym_key": FIXED_KEY}}
        uow.commit()
    return source


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx"])
def test_deidentified_files_hold_no_identifier_of_the_source(marked_source, tmp_path, fmt):
    """Issue 10 §5: birth dates, exact times, ward/bed and staff names all left de-identified exports."""
    source = marked_source
    found = source_identifiers(source)
    assert len(found["names"]) == 21 and "A007" in found["mrns"] and len(found["birth dates"]) >= 3
    assert len(found["timestamps"]) >= 40 and "张伟" in found["staff"] and "sunli" in found["staff"]
    result = source.exchange.export(*ALL, fmt, deidentify=True, out=tmp_path / f"deid.{fmt}")
    data = all_bytes(list(result.files))
    assert len(data) > 1000
    # pseudonyms are random-looking hex: take them out first, so "A002" is never found inside "P…A002…"
    data, replaced = re.subn(rb"P[0-9A-F]{16}|S[0-9A-F]{10}", b"<pseudonym>", data)
    assert replaced >= 21
    for kind, values in found.items():
        for secret in values:
            assert secret.encode("utf-8") not in data, (kind, secret)
            assert secret.encode("gb18030") not in data, (kind, secret)
    assert "测试甲之妻".encode() not in data  # the consent signers (relatives) are gone too


def test_pseudonyms_are_stable_and_the_deidentified_export_still_imports(source, regional, tmp_path):
    first = source.exchange.export(*ALL, "json", deidentify=True, out=tmp_path / "a.json")
    second = source.exchange.export(*ALL, "json", deidentify=True, out=tmp_path / "b.json")
    a, b = (json.loads(f.files[0].read_text(encoding="utf-8")) for f in (first, second))
    tokens = [r["patient"]["mrn"] for r in a["runs"]]
    assert tokens == [r["patient"]["mrn"] for r in b["runs"]]
    assert len(set(tokens)) == 21 and all(t.startswith("P") and len(t) == 17 for t in tokens)
    assert a["runs"][0]["run"]["started_at"] != "2020-03-01T00:00:00Z"  # dates are shifted …
    for run in a["runs"]:  # … by one offset per patient, so every interval survives
        r = run["run"]
        if r["started_at"] and r["ended_at"]:
            hours = (
                datetime.fromisoformat(r["ended_at"]) - datetime.fromisoformat(r["started_at"])
            ) / timedelta(hours=1)
            assert (
                run["outcome"]["duration_hours"] is None
                or abs(hours - run["outcome"]["duration_hours"]) < 0.01
            )
    with source.uow(write=False) as uow:
        key = uow.hospitals.local().settings["exchange"]["pseudonym_key"]
    assert len(key) == 64
    result = regional.exchange.import_export(first.files[0])
    assert (result.imported, result.errors) == (22, ())
    # the years move with the offsets, but the figures that depend on intervals stay the same
    wide = (date(2010, 1, 1), date(2035, 12, 31))
    theirs, mine = regional.exchange.report(*wide), source.exchange.report(*wide)
    assert theirs.runs == mine.runs == 22 and theirs.weaning_success_rate == mine.weaning_success_rate
    assert theirs.by_mode == mine.by_mode


def test_xlsx_export_opens_in_openpyxl(source, tmp_path):
    source.exchange.export(*ALL, "xlsx", deidentify=False, out=tmp_path / "cases.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "cases.xlsx")
    runs = list(wb["runs"].iter_rows(values_only=True))
    assert runs[0][:4] == ("hospital", "city", "mrn", "name") and len(runs) == 23
    assert {r[2] for r in runs[1:]} >= {"APP001", "APP002", "A007"}
    assert len(list(wb["devices"].iter_rows())) == 2 and len(list(wb["complications"].iter_rows())) == 5


def test_exports_are_audited_and_only_records_and_admin_may_export(source, seeded, tmp_path):
    seeded.login("zhangwei")
    with pytest.raises(PermissionDenied):
        source.exchange.export(*ALL, "json", deidentify=True, out=tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()
    seeded.login("sunli")
    with pytest.raises(ValidationError):
        source.exchange.export(*ALL, "pdf", deidentify=False, out=tmp_path / "x.pdf")
    result = source.exchange.export(*ALL, "csv", deidentify=True, out=tmp_path / "x.csv")
    with source.uow(write=False) as uow:
        event = uow.audit.head()
    assert (event.action, event.entity, event.actor_name) == ("export", "exchange", "孙丽")
    assert event.after["runs"] == 22 and event.after["deidentified"] is True
    assert event.after["sha256"] == result.sha256 and event.after["files"][0] == "x.csv"


def test_cli_export_and_import_export(source, regional, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    out = tmp_path / "cli.json"
    code = cli_main(
        [
            "export",
            "--from",
            "2020-01-01",
            "--to",
            "2026-12-31",
            "--format",
            "json",
            "--deidentify",
            "--out",
            str(out),
            "--db",
            source.url,
            "--json",
            "--user",
            "sunli",
        ]
    )
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["runs"] == 22 and answer["deidentified"] is True
    code = cli_main(["import-export", str(out), "--db", regional.url, "--json", "--user", "admin"])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and (answer["imported"], answer["skipped"], answer["errors"]) == (22, 0, [])


def test_a_damaged_export_imports_nothing(source, regional, tmp_path):
    out = tmp_path / "e.json"
    source.exchange.export(*LEGACY, "json", deidentify=False, out=out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    doc["runs"][3]["run"]["indication"] = "flu"
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = regional.exchange.import_export(out)
    assert result.imported == 0
    assert [e.as_dict() for e in result.errors] == [
        {"row": 4, "column": "run.indication", "message": "未知的取值“flu”"}
    ]
    assert regional.exchange.report(*LEGACY).runs == 0
    assert (FIXTURES / "regional_cases.csv").exists()
