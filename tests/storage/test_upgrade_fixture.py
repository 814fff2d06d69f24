"""REL-12: a ward's database written by the released revision 0001 upgrades to head and keeps its
record — backup first, ``verify`` clean, and the documents print the same text as before.

The fixture (``tests/fixtures/upgrade``) was made by ``make_fixture.py`` with the 0001-era code:
``demo --cases 5`` plus the PDF text of four documents printed at a fixed moment. The only line
allowed to differ is the audit-chain anchor in the page header (the upgrade appends its baseline
events, so the chain head moves on).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from ecmo_desktop.container import SYSTEM_USER, build_container
from ecmo_desktop.services.clock import FakeClock
from ecmo_desktop.storage.migrate import head_revision
from tests.fixtures.upgrade.make_fixture import DOCUMENTS, pdf_text

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade"
ANCHOR = re.compile(r"审计链锚点：#\d+ [0-9a-f]{64}")


def _counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name <> 'alembic_version'"
            )
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def _mask(pages: list[str]) -> list[str]:
    return [ANCHOR.sub("审计链锚点：#…", page) for page in pages]


@pytest.mark.parametrize("fixture", sorted(FOLDER.glob("demo_*.sqlite3")), ids=lambda p: p.stem)
def test_a_released_database_upgrades_verifies_and_prints_the_same(
    fixture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecmo_desktop.services.demo import DEMO_PASSWORD

    revision = fixture.stem.removeprefix("demo_")
    expected = json.loads((FOLDER / f"expected_{revision}.json").read_text(encoding="utf-8"))
    monkeypatch.setenv("ECMO_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "ward.sqlite3"
    shutil.copyfile(fixture, db)
    before = _counts(db)

    c = build_container(
        str(db), clock=FakeClock(datetime.fromisoformat(expected["print_at"])), workstation="ward"
    )
    try:
        assert (c.migration.from_revision, c.migration.to_revision) == (revision, head_revision())
        backup = c.migration.backup
        assert (
            backup is not None and backup.exists()
        )  # the copy was taken before the upgrade touched the file
        assert _counts(backup) == before
        conn = sqlite3.connect(backup)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == revision
        conn.close()

        after = _counts(db)
        for table, n in before.items():  # no row lost or added; tables added by later migrations start empty
            if table != "audit_event":
                assert after[table] == n, table
        assert all(after[t] == 0 for t in set(after) - set(before))
        assert after["audit_event"] >= before["audit_event"]

        c.ctx.user = SYSTEM_USER
        result = c.audit.verify_record()
        assert result.ok, (result.chain, result.trail[:5], result.signatures.problems[:5])

        c.ctx.user = None
        c.auth.login(expected["printer"], DEMO_PASSWORD)
        for kind, run_id in DOCUMENTS:
            printed = c.documents.generate(kind, run_id)
            assert _mask(pdf_text(printed.pdf)) == _mask(expected["documents"][f"{kind}:{run_id}"]), kind
    finally:
        c.close()
