"""Issue 10 §6 through the service and the command line, on SQLite and PostgreSQL: a hostile import
file is refused with a message naming the limit, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ecmo_desktop.cli import main as cli_main
from ecmo_desktop.exchange.import_cases import MAX_CELL_CHARS, MAX_JSON_DEPTH, FileUnreadable
from ecmo_desktop.storage.orm.runs import RunRow
from tests.conftest import PASSWORD, Seeded


def _runs(c: Any) -> int:
    with c.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(RunRow)))


def test_hostile_files_are_refused_and_nothing_is_written(
    seeded: Seeded,
    seeded_db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c: Any = seeded.container
    seeded.login("admin")
    before = _runs(c)
    cell = tmp_path / "cell.csv"
    cell.write_text(
        "hospital,mrn,name,sex,ecmo_start,mode,indication\nH,1," + "x" * 200_000 + ",M,2024-01-01,VA,ami\n",
        encoding="utf-8",
    )
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(FileUnreadable) as info:
        c.exchange.import_cases(cell)
    assert str(MAX_CELL_CHARS) in info.value.user_message()
    result = c.exchange.import_cases(deep)
    assert result.imported == 0 and str(MAX_JSON_DEPTH) in result.errors[0].text
    assert _runs(c) == before
    c.close()
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    assert cli_main(["import-cases", str(cell), "--db", seeded_db_url, "--user", "sunli", "--json"]) == 1
    assert str(MAX_CELL_CHARS) in json.loads(capsys.readouterr().out)["error"]["message"]
