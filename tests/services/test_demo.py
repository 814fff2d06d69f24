"""`ecmo-desktop demo`: realistic, internally consistent cases through the real services."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ecmo_desktop.services.demo import DemoGenerator

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_demo_charts_every_record_kind_consistently(container: Any) -> None:
    summary = DemoGenerator(container, seed=11).generate(6, years=2)
    c = container
    c.auth.login("zhangwei", summary.password)
    runs = c.runs.search_runs("")
    assert len(runs) == summary.cases == 6
    kinds: set[str] = set()
    for item in runs:
        chart = c.records.chart(item.run_id)
        run = c.runs.run_detail(item.run_id).run
        assert any(d.kind == "start" for d in chart.decisions)
        assert chart.consents or run.emergency  # R4: only an emergency may start without consent
        cannulation = [p for p in chart.procedures if p.kind == "cannulation"]
        assert len(cannulation) == 1 and run.started_at == cannulation[0].flow_at
        assert chart.daily_entries and all(e.ecmo_day >= 0 for e in chart.daily_entries)
        if run.status == "ended":
            assert run.ended_at is not None and run.ended_at > run.started_at
            assert {f.kind for f in chart.follow_ups} == {"d28", "discharge", "d90", "d180", "y1"}
        kinds |= {"complication"} if chart.complications else set()
        kinds |= {"weaning"} if chart.weaning_trials else set()
        kinds |= {"device"} if c.devices.trace_run(item.run_id) else set()
    assert {"weaning", "device"} <= kinds
    c.ctx.user = None
    c.auth.login("admin", summary.password)
    check = c.records.verify_signatures()
    assert check.ok and check.checked > 20  # most records are signed, and every signature holds
    assert c.audit.verify_chain().ok


def test_demo_command_fills_a_new_database(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    env = {"PYTHONPATH": str(ROOT), "ECMO_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "ecmo_desktop", "demo", "--cases", "3", "--db", str(db), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["cases"] == 3 and data["password"]
    assert "argon2id t=1" in data["password_hashing"] and "仅限演示数据库" in data["password_hashing"]
    verify = subprocess.run(
        [sys.executable, "-m", "ecmo_desktop", "verify", "--db", str(db), "--json", "--user", "admin"],
        cwd=ROOT,
        env={**env, "ECMO_PASSWORD": data["password"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0 and json.loads(verify.stdout)["ok"] is True


def test_demo_refuses_a_real_wards_database(
    seeded: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10 §3: demo on a production database created accounts and fake patients, then stopped halfway."""
    from ecmo_desktop.cli import main
    from tests.conftest import PASSWORD

    c = seeded.container
    with c.uow(write=False) as uow:
        head = uow.audit.head().seq
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    for extra in ([], ["--user", "admin"]):
        code = main(["demo", "--cases", "1", "--db", c.url, "--json", *extra])
        answer = json.loads(capsys.readouterr().out)
        assert (
            code == 1 and answer["error"]["reason"] == "DemoRefused" and "演示" in answer["error"]["message"]
        )
    with c.uow(write=False) as uow:
        assert uow.audit.head().seq == head  # nothing written: no accounts, no patients, no login
    assert not c.auth.is_demo()
    with pytest.raises(Exception, match="演示"):
        DemoGenerator(c, seed=1).generate(1, years=1)  # the service refuses too, logged in or not


def test_init_db_demo_marks_the_database_and_demo_adds_to_it_as_a_named_admin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecmo_desktop.cli import main
    from ecmo_desktop.container import build_container

    db = str(tmp_path / "demo.sqlite3")
    assert main(["init-db", "--demo", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["demo"] is True
    code = main(
        ["demo", "--cases", "1", "--years", "1", "--db", db, "--json"]
    )  # existing data: a login first
    assert code == 1 and "--user" in json.loads(capsys.readouterr().out)["error"]["message"]
    monkeypatch.setenv("ECMO_PASSWORD", "Ward2026demo")
    assert main(["demo", "--cases", "1", "--years", "1", "--db", db, "--json", "--user", "admin"]) == 0
    capsys.readouterr()
    c = build_container(db)
    try:
        assert c.auth.is_demo()
        c.auth.login("admin", "Ward2026demo")
        runs = c.runs.search_runs("")
        assert len(runs) == 1
    finally:
        c.close()
    out = tmp_path / "archive.pdf"
    code = main(
        ["print", "archive", "--run", str(runs[0].run_id), "--out", str(out), "--db", db, "--user", "sunli"]
    )
    assert code == 0
    import io

    import pypdf

    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(out.read_bytes())).pages]
    assert len(pages) > 1 and all("演示数据" in t for t in pages)  # every printed page says so
