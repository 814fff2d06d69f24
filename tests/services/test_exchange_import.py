"""Legacy imports through the service and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ecmo_desktop.cli import main as cli_main
from ecmo_desktop.domain.errors import PermissionDenied
from ecmo_desktop.storage.orm.audit import AuditRow
from ecmo_desktop.storage.orm.devices import EquipmentRow
from ecmo_desktop.storage.orm.people import HospitalRow, PatientRow
from ecmo_desktop.storage.orm.runs import RunRow
from tests.conftest import PASSWORD

pytestmark = pytest.mark.pg

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
HOSPITALS = ["内蒙古自治区人民医院", "包头市中心医院", "赤峰市医院", "呼和浩特市第一医院"]
HEADER = (
    "hospital,city,mrn,name,sex,birth_date,age,ecmo_start,mode,ecpr,indication,ecmo_end,end_reason,"
    "survived_28d,discharged_alive,date_of_death"
)
ROW = "{h},呼和浩特,{mrn},{name},M,,50,{start},VA,no,ami,,,,,"


def counts(c) -> dict[str, int]:
    with c.uow(write=False) as uow:
        return {
            model.__tablename__: uow.session.scalar(select(func.count()).select_from(model))
            for model in (HospitalRow, PatientRow, RunRow, AuditRow, EquipmentRow)
        }


def write(tmp_path: Path, *lines: str, name: str = "register.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def records(seeded):
    seeded.login("sunli")
    return seeded.container


@pytest.mark.parametrize(
    "fixture", ["regional_cases.csv", "regional_cases_zh.gb18030.csv", "regional_cases.xlsx"]
)
def test_register_imports_in_every_encoding_and_again_adds_nothing(records, fixture):
    c = records
    result = c.exchange.import_cases(FIXTURES / fixture)
    assert (result.imported, result.skipped, result.errors, result.rows) == (20, 0, (), 20)
    assert list(result.hospitals_created) == HOSPITALS
    with c.uow(write=False) as uow:
        hospitals = {h.name: h for h in uow.session.scalars(select(HospitalRow))}
        assert [hospitals[n].is_local for n in HOSPITALS] == [False] * 4
        assert hospitals["示范医院"].is_local and hospitals["包头市中心医院"].city == "包头"
        runs = list(uow.session.scalars(select(RunRow).order_by(RunRow.started_at)))
        assert {r.source for r in runs} == {"import"}
        assert [r.status for r in runs].count("on_ecmo") == 1  # the run without an end
        twice = [r for r in runs if uow.session.get(PatientRow, r.patient_id).mrn == "A007"]
        assert [r.run_number for r in twice] == [1, 2] and len({r.patient_id for r in twice}) == 1
        assert uow.session.scalar(select(func.count()).select_from(PatientRow)) == 19
    before = counts(c)
    again = c.exchange.import_cases(FIXTURES / fixture)
    assert (again.imported, again.skipped, again.errors, again.hospitals_created) == (0, 20, (), ())
    after = counts(c)
    assert after["ecmo_run"] == before["ecmo_run"] == 20 and after["patient"] == before["patient"]


def test_the_same_runs_in_another_format_are_recognised(records):
    c = records
    assert c.exchange.import_cases(FIXTURES / "regional_cases.csv").imported == 20
    result = c.exchange.import_cases(FIXTURES / "regional_cases.xlsx")
    assert (result.imported, result.skipped) == (0, 20)


def test_dry_run_writes_nothing(records):
    c = records
    before = counts(c)
    result = c.exchange.import_cases(FIXTURES / "regional_cases.csv", dry_run=True)
    assert (result.dry_run, result.imported, result.skipped, result.errors) == (True, 20, 0, ())
    assert list(result.hospitals_created) == HOSPITALS
    assert counts(c) == before
    c.exchange.import_cases(FIXTURES / "regional_cases.csv")
    before = counts(c)
    again = c.exchange.import_cases(FIXTURES / "regional_cases.csv", dry_run=True)
    assert (again.imported, again.skipped) == (0, 20)
    assert counts(c) == before


def test_one_bad_row_imports_nothing_and_lists_every_bad_row(records, tmp_path):
    c = records
    path = write(
        tmp_path,
        HEADER,
        ROW.format(h="甲医院", mrn="X1", name="王一", start="2024-01-01 10:00"),
        ROW.format(h="甲医院", mrn="X2", name="王二", start="2024-13-01"),
        ROW.format(h="甲医院", mrn="X3", name="王三", start="2024-01-03 10:00").replace(",VA,", ",XYZ,"),
        ROW.format(h="甲医院", mrn="X4", name="王四", start="2024-01-04 10:00"),
        ROW.format(h="甲医院", mrn="X1", name="王一", start="2024-01-01 10:00"),
    )
    before = counts(c)
    result = c.exchange.import_cases(path)
    assert (result.imported, result.skipped) == (0, 0)
    assert [e.as_dict() for e in result.errors] == [
        {
            "row": 3,
            "column": "ecmo_start",
            "message": "“2024-13-01”不是有效的日期，应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM",
        },
        {"row": 4, "column": "mode", "message": "未知的模式“XYZ”，应为 VA、VV、VAV、VVA 或 other"},
        {"row": 6, "column": "ecmo_start", "message": "与第 2 行重复（同一医院、住院号和上机时间）"},
    ]
    after = counts(c)
    assert {k: after[k] for k in ("hospital", "patient", "ecmo_run")} == {
        k: before[k] for k in ("hospital", "patient", "ecmo_run")
    }
    assert after["audit_event"] == before["audit_event"] + 1  # the refused attempt is audited
    with c.uow(write=False) as uow:
        refused = uow.audit.head()
    assert (refused.action, refused.entity, refused.success) == ("import", "exchange", False)
    assert refused.after["errors"] == 3 and refused.after["file"] == "register.csv"

    partial = c.exchange.import_cases(path, all_or_nothing=False)
    assert (partial.imported, partial.skipped, len(partial.errors)) == (2, 0, 3)
    assert counts(c)["ecmo_run"] == before["ecmo_run"] + 2


def test_an_mrn_registered_under_another_name_is_refused(records, tmp_path):
    c = records
    c.exchange.import_cases(
        write(tmp_path, HEADER, ROW.format(h="甲医院", mrn="Y1", name="王一", start="2024-01-01"))
    )
    result = c.exchange.import_cases(
        write(
            tmp_path,
            HEADER,
            ROW.format(h="甲医院", mrn="Y1", name="李一", start="2024-05-01"),
            name="second.csv",
        )
    )
    assert [e.as_dict() for e in result.errors] == [
        {"row": 2, "column": "name", "message": "住院号 Y1 已登记为“王一”，与本行姓名不一致"}
    ]
    assert counts(c)["ecmo_run"] == 1


def test_rows_of_the_local_hospital_go_to_it(records, tmp_path):
    c = records
    result = c.exchange.import_cases(
        write(tmp_path, HEADER, ROW.format(h="示范医院", mrn="L1", name="王一", start="2024-01-01"))
    )
    assert (result.imported, result.hospitals_created) == (1, ())
    with c.uow(write=False) as uow:
        run = uow.session.scalars(select(RunRow)).one()
        assert uow.session.get(HospitalRow, run.hospital_id).is_local


def test_every_import_is_audited_with_the_file_hash(records):
    c = records
    c.exchange.import_cases(FIXTURES / "regional_cases.csv")
    with c.uow(write=False) as uow:
        events = list(uow.audit.iterate())
    per_run = [e for e in events if e.action == "import" and e.entity == "ecmo_run"]
    summary = [e for e in events if e.action == "import" and e.entity == "exchange"]
    assert len(per_run) == 20 and len(summary) == 1
    assert summary[0].after["imported"] == 20 and len(summary[0].after["sha256"]) == 64
    assert summary[0].actor_name == "孙丽"


def test_equipment_register(records, tmp_path):
    c = records
    result = c.exchange.import_equipment(FIXTURES / "regional_equipment.csv")
    assert (result.imported, result.skipped, result.errors) == (9, 0, ())
    again = c.exchange.import_equipment(FIXTURES / "regional_equipment.csv")
    assert (again.imported, again.skipped) == (0, 9)
    assert counts(c)["equipment"] == 9
    bad = c.exchange.import_equipment(
        write(tmp_path, "hospital,model,serial", "甲,,S1", "甲,M,S2", name="e.csv")
    )
    assert [e.as_dict() for e in bad.errors] == [{"row": 2, "column": "model", "message": "必填"}]
    assert counts(c)["equipment"] == 9


def test_only_records_and_admin_may_import(seeded):
    c = seeded.container
    for user in ("chenjing", "zhangwei"):
        seeded.login(user)
        with pytest.raises(PermissionDenied):
            c.exchange.import_cases(FIXTURES / "regional_cases.csv", dry_run=True)
    seeded.login("admin")
    assert c.exchange.import_cases(FIXTURES / "regional_cases.csv", dry_run=True).imported == 20


def test_cli_answers_json(seeded, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    db_url = seeded.container.url
    code = cli_main(
        [
            "import-cases",
            str(FIXTURES / "regional_cases.csv"),
            "--db",
            db_url,
            "--json",
            "--user",
            "sunli",
            "--dry-run",
        ]
    )
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and (answer["imported"], answer["skipped"], answer["errors"]) == (20, 0, [])
    assert counts(seeded.container)["ecmo_run"] == 0
    bad = write(tmp_path, HEADER, ROW.format(h="甲", mrn="Z1", name="王一", start="2024-01-01 25:00"))
    code = cli_main(["import-cases", str(bad), "--db", db_url, "--json", "--user", "sunli"])
    answer = json.loads(capsys.readouterr().out)
    assert code == 1
    assert answer["imported"] == 0 and answer["skipped"] == 0
    assert answer["errors"] == [
        {
            "row": 2,
            "column": "ecmo_start",
            "message": "“2024-01-01 25:00”不是有效的日期，应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM",
        }
    ]
    code = cli_main(
        ["import-cases", str(FIXTURES / "regional_cases.csv"), "--db", db_url, "--json", "--user", "sunli"]
    )
    assert code == 0 and json.loads(capsys.readouterr().out)["imported"] == 20
    assert counts(seeded.container)["ecmo_run"] == 20
    code = cli_main(
        [
            "import-equipment",
            str(FIXTURES / "regional_equipment.csv"),
            "--db",
            db_url,
            "--json",
            "--user",
            "sunli",
        ]
    )
    assert code == 0 and json.loads(capsys.readouterr().out)["imported"] == 9
