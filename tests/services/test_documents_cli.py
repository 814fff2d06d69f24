"""``ecmo-desktop print`` / ``archive`` / ``reprint`` / ``documents``: the same service, headless, as a
named account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecmo_desktop.cli import main
from ecmo_desktop.domain.time import BEIJING
from tests.conftest import PASSWORD
from tests.kit.documents import DocWard, doc_db_fixture, dw_fixture, pdf_text

__all__ = ["doc_db_fixture", "dw_fixture"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main([*args, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else {}


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)


def test_print_each_kind_to_a_file(
    dw: DocWard, capsys: pytest.CaptureFixture[str], tmp_path: Path, cli_env: None
) -> None:
    case = dw.chart_case(devices=2, daily=2)
    day = case.entry_times[0].astimezone(BEIJING)
    for kind, extra in (
        ("consent", []),
        ("opnote", ["--procedure", str(case.decannulation_id)]),
        ("decision", []),
        ("daily", ["--day", day.date().isoformat()]),
        ("weaning", []),
        ("followup", []),
        ("archive", []),
    ):
        out = tmp_path / f"{kind}.pdf"
        code, data = run(
            capsys,
            "print",
            kind,
            "--run",
            str(case.run_id),
            "--out",
            str(out),
            "--user",
            "sunli",
            "--db",
            dw.c.url,
            *extra,
        )
        assert code == 0, data
        assert data["document"]["kind"] == kind and data["document"]["created_by"] == "孙丽"
        assert case.name in pdf_text(out.read_bytes())
    assert "ECMO撤机拔管手术记录" in pdf_text((tmp_path / "opnote.pdf").read_bytes())


def test_print_needs_a_named_account(
    dw: DocWard, capsys: pytest.CaptureFixture[str], tmp_path: Path, cli_env: None
) -> None:
    case = dw.chart_case(devices=1, daily=1, finish=False)
    code = main(
        ["print", "consent", "--run", str(case.run_id), "--out", str(tmp_path / "x.pdf"), "--db", dw.c.url]
    )
    assert code == 1 and "--user" in capsys.readouterr().err
    code = main(
        [
            "print",
            "daily",
            "--run",
            str(case.run_id),
            "--out",
            str(tmp_path / "x.pdf"),
            "--db",
            dw.c.url,
            "--user",
            "sunli",
            "--procedure",
            "1",
        ]
    )
    assert code == 1 and "--procedure" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


def test_archive_by_date_reprint_and_list(
    dw: DocWard, capsys: pytest.CaptureFixture[str], tmp_path: Path, cli_env: None
) -> None:
    case = dw.chart_case(devices=2, daily=1)
    code, data = run(
        capsys,
        "archive",
        "--from",
        "2026-01-01",
        "--to",
        "2030-12-31",
        "--status",
        "ended",
        "--not-archived",
        "--out",
        str(tmp_path / "out"),
        "--user",
        "sunli",
        "--db",
        dw.c.url,
    )
    assert code == 0, data
    archived = {a["run"]: a for a in data["archived"]}
    assert case.run_id in archived and Path(archived[case.run_id]["path"]).is_file()
    number = archived[case.run_id]["document"]["id"]

    code, data = run(
        capsys,
        "reprint",
        "--document",
        str(number),
        "--out",
        str(tmp_path / "copy.pdf"),
        "--user",
        "chenjing",
        "--db",
        dw.c.url,
    )
    assert (
        code == 0 and (tmp_path / "copy.pdf").read_bytes() == Path(archived[case.run_id]["path"]).read_bytes()
    )

    code, data = run(capsys, "documents", "--run", str(case.run_id), "--user", "sunli", "--db", dw.c.url)
    assert code == 0 and [d["kind"] for d in data["documents"]] == ["archive"]
    assert data["r8"]["complete"] is None  # the archive is not an operation note: R8 still asks for one

    code, data = run(
        capsys,
        "archive",
        "--from",
        "2026-01-01",
        "--to",
        "2030-12-31",
        "--not-archived",
        "--out",
        str(tmp_path / "again"),
        "--user",
        "sunli",
        "--db",
        dw.c.url,
    )
    assert case.run_id not in {a["run"] for a in data["archived"]}
