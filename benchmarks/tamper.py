"""Tampering suite (AUD-3, SIG-2): random tamperings of the audit and clinical tables of an SQLite
ward database, each on its own copy, then ``verify`` (chain + external anchor + replay +
signatures); prints detected / undetected by kind and by what caught it.

    .venv/bin/python -m benchmarks.tamper [--n 1000] [--db FILE] [--seed 7]

Without ``--db`` it uses the 0001 demo fixture upgraded to head. The anchor is the chain head taken
before tampering, as printed in a PDF footer or a backup manifest. The intruder has raw write
access: the append-only triggers are dropped first. Kinds the verifier cannot catch are expected
and named in ``docs/threat-model.md``; the test suite runs a few of each kind
(``tests/storage/test_tampering.py``).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "upgrade" / "demo_0001.sqlite3"

Tamper = Callable[[sqlite3.Connection, random.Random], None]


def _unlock(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    conn.execute("DROP TRIGGER IF EXISTS audit_event_seq_positive")


def _seqs(conn: sqlite3.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT seq FROM audit_event ORDER BY seq")]


def _ids(conn: sqlite3.Connection, table: str, where: str = "1=1") -> list[int]:
    return [r[0] for r in conn.execute(f"SELECT id FROM {table} WHERE {where}")]


def _event(conn: sqlite3.Connection, seq: int) -> dict[str, Any]:
    cur = conn.execute("SELECT * FROM audit_event WHERE seq = ?", (seq,))
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def _chained(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row as the chain hashes it (what the app reads back through the ORM)."""
    out = dict(row)
    occurred = datetime.fromisoformat(str(out["occurred_at"]))
    out["occurred_at"] = occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC)
    for key in ("before", "after"):
        out[key] = json.loads(out[key]) if isinstance(out[key], str) else out[key]
    out["success"] = bool(out["success"])
    return out


def _rehash_from(conn: sqlite3.Connection, seq: int) -> None:
    """Recompute every link from ``seq`` on, as an intruder who knows the algorithm would."""
    from ecmo_desktop.domain.audit_chain import GENESIS, chain_hash

    prev_row = conn.execute(
        "SELECT hash FROM audit_event WHERE seq < ? ORDER BY seq DESC LIMIT 1", (seq,)
    ).fetchone()
    prev = prev_row[0] if prev_row else GENESIS
    for s in [x for x in _seqs(conn) if x >= seq]:
        digest = chain_hash(prev, _chained(_event(conn, s)))
        conn.execute("UPDATE audit_event SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, s))
        prev = digest


def _append(conn: sqlite3.Connection, fields: dict[str, Any]) -> None:
    """Append a well-formed row: right seq, right prev_hash, right hash."""
    from ecmo_desktop.domain.audit_chain import chain_hash, jsonable

    last = _event(conn, _seqs(conn)[-1])
    now = datetime.now(UTC)
    full = {
        "seq": last["seq"] + 1,
        "occurred_at": now,
        "actor_id": 2,
        "actor_name": "张伟",
        "workstation": "ward-pc",
        "action": "login",
        "entity": "staff",
        "entity_id": 2,
        "run_id": None,
        "patient_id": None,
        "before": None,
        "after": None,
        "reason": None,
        "success": True,
        **fields,
    }
    full["before"], full["after"] = jsonable(full["before"]), jsonable(full["after"])
    digest = chain_hash(last["hash"], full)
    conn.execute(
        "INSERT INTO audit_event (seq, occurred_at, actor_id, actor_name, workstation, action, entity, "
        "entity_id, run_id, patient_id, before, after, reason, success, prev_hash, hash) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            full["seq"],
            now.replace(tzinfo=None).isoformat(sep=" "),
            full["actor_id"],
            full["actor_name"],
            full["workstation"],
            full["action"],
            full["entity"],
            full["entity_id"],
            full["run_id"],
            full["patient_id"],
            json.dumps(full["before"], ensure_ascii=False) if full["before"] else None,
            json.dumps(full["after"], ensure_ascii=False) if full["after"] else None,
            full["reason"],
            int(full["success"]),
            last["hash"],
            digest,
        ),
    )


# ---- audit-table tamperings -----------------------------------------------------------------------------
def audit_edit_field(conn: sqlite3.Connection, rng: random.Random) -> None:
    seq = rng.choice(_seqs(conn))
    column, value = rng.choice(
        [
            ("actor_name", "某人"),
            ("workstation", "pc-x"),
            ("reason", "改"),
            ("action", "view"),
            ("success", 0),
            ("occurred_at", "2020-01-01 00:00:00"),
        ]
    )
    conn.execute(f"UPDATE audit_event SET {column} = ? WHERE seq = ?", (value, seq))


def audit_edit_image(conn: sqlite3.Connection, rng: random.Random) -> None:
    # an object image (a stored JSON null would make json_set a no-op, not a tampering)
    seq = rng.choice(
        [r[0] for r in conn.execute("SELECT seq FROM audit_event WHERE json_type(after) = 'object'")]
    )
    conn.execute("UPDATE audit_event SET after = json_set(after, '$.tampered', 1) WHERE seq = ?", (seq,))


def audit_delete_row(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.execute("DELETE FROM audit_event WHERE seq = ?", (rng.choice(_seqs(conn)[:-1]),))


def audit_swap_rows(conn: sqlite3.Connection, rng: random.Random) -> None:
    seqs = _seqs(conn)
    i = rng.randrange(len(seqs) - 1)
    a, b = seqs[i], seqs[i + 1]
    conn.execute("UPDATE audit_event SET seq = 999999999 WHERE seq = ?", (a,))
    conn.execute("UPDATE audit_event SET seq = ? WHERE seq = ?", (a, b))
    conn.execute("UPDATE audit_event SET seq = ? WHERE seq = 999999999", (b,))


def audit_append_bad_hash(conn: sqlite3.Connection, rng: random.Random) -> None:
    last = _seqs(conn)[-1]
    conn.execute(
        "INSERT INTO audit_event (seq, occurred_at, actor_name, workstation, action, entity, success, "
        "prev_hash, hash) VALUES (?, '2026-01-01 00:00:00', 'x', 'x', 'delete', 'patient', 1, ?, ?)",
        (last + 1, "0" * 64, f"{rng.getrandbits(256):064x}"),
    )


def audit_truncate_tail(conn: sqlite3.Connection, rng: random.Random) -> None:
    seqs = _seqs(conn)
    conn.execute("DELETE FROM audit_event WHERE seq > ?", (seqs[-rng.randint(2, 20)],))


def audit_rewrite_and_rehash(conn: sqlite3.Connection, rng: random.Random) -> None:
    """Edit a row's text, then recompute every later link: the chain holds, only the anchor can tell."""
    seq = rng.choice(_seqs(conn))
    conn.execute("UPDATE audit_event SET actor_name = '某人' WHERE seq = ?", (seq,))
    _rehash_from(conn, seq)


def audit_append_wellformed(conn: sqlite3.Connection, rng: random.Random) -> None:
    """A forged, well-formed event (a login) appended after the last anchor: nothing can tell."""
    _append(conn, {"action": rng.choice(["login", "logout", "screen_lock"])})


# ---- clinical-table tamperings ----------------------------------------------------------------------------
def clinical_patient_rename(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.execute("UPDATE patient SET name = '王某某' WHERE id = ?", (rng.choice(_ids(conn, "patient")),))


def clinical_record_field(conn: sqlite3.Connection, rng: random.Random) -> None:
    table, column = rng.choice(
        [
            ("daily_entry", "notes"),
            ("procedure", "notes"),
            ("decision", "rationale"),
            ("weaning_trial", "notes"),
            ("follow_up", "notes"),
            ("consent", "notes"),
        ]
    )
    ids = _ids(conn, table)
    conn.execute(f"UPDATE {table} SET {column} = '改过' WHERE id = ?", (rng.choice(ids),))


def clinical_usage_moved(conn: sqlite3.Connection, rng: random.Random) -> None:
    usage, run = conn.execute("SELECT id, run_id FROM device_usage ORDER BY random() LIMIT 1").fetchone()
    other = rng.choice([r for r in _ids(conn, "ecmo_run") if r != run])
    conn.execute("UPDATE device_usage SET run_id = ? WHERE id = ?", (other, usage))


def clinical_run_outcome(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.execute(
        "UPDATE ecmo_run SET end_reason = CASE end_reason WHEN 'died' THEN 'weaned' ELSE 'died' END "
        "WHERE id = ?",
        (rng.choice(_ids(conn, "ecmo_run")),),
    )


def clinical_row_inserted(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.execute(
        "INSERT INTO lot_recall (product_id, lot, reason, recalled_at, recorded_by_id) "
        "VALUES (1, ?, 'x', '2026-01-01 00:00:00', 1)",
        (f"L{rng.randrange(10**6)}",),
    )


def clinical_row_deleted(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("DELETE FROM device_usage WHERE id = ?", (rng.choice(_ids(conn, "device_usage")),))


def clinical_child_row(conn: sqlite3.Connection, rng: random.Random) -> None:
    """A cannula's size: a child row, covered by the procedure's signature (not by the replay)."""
    conn.execute(
        "UPDATE cannula SET size_fr = size_fr + 2 WHERE id = ?", (rng.choice(_ids(conn, "cannula")),)
    )


def clinical_edit_with_forged_event(conn: sqlite3.Connection, rng: random.Random) -> None:
    """Rename a patient *and* append a well-formed audit event saying the app did it."""
    patient = rng.choice(_ids(conn, "patient"))
    conn.execute("UPDATE patient SET name = '王某某' WHERE id = ?", (patient,))
    _append(
        conn,
        {
            "action": "update",
            "entity": "patient",
            "entity_id": patient,
            "patient_id": patient,
            "before": {"name": "?"},
            "after": {"name": "王某某"},
        },
    )


def clinical_unaudited_column(conn: sqlite3.Connection, rng: random.Random) -> None:
    """A column no audit image carries (an account's last login): outside what the record proves."""
    conn.execute(
        "UPDATE staff SET last_login_at = '2020-01-01 00:00:00' WHERE id = ?",
        (rng.choice(_ids(conn, "staff")),),
    )


KINDS: dict[str, Tamper] = {
    f.__name__: f
    for f in (
        audit_edit_field,
        audit_edit_image,
        audit_delete_row,
        audit_swap_rows,
        audit_append_bad_hash,
        audit_truncate_tail,
        audit_rewrite_and_rehash,
        audit_append_wellformed,
        clinical_patient_rename,
        clinical_record_field,
        clinical_usage_moved,
        clinical_run_outcome,
        clinical_row_inserted,
        clinical_row_deleted,
        clinical_child_row,
        clinical_edit_with_forged_event,
        clinical_unaudited_column,
    )
}


# what no check in the database can see; each is named in docs/threat-model.md with what covers it
UNDETECTABLE = frozenset(
    {"audit_append_wellformed", "clinical_edit_with_forged_event", "clinical_unaudited_column"}
)


def prepare(source: Path | None, folder: Path) -> tuple[Path, str]:
    """A head-schema copy to tamper with, and its chain head (the external anchor)."""
    from ecmo_desktop.container import SYSTEM_USER, build_container

    base = folder / "base.sqlite3"
    shutil.copyfile(source or FIXTURE, base)
    c = build_container(str(base), workstation="tamper")
    c.ctx.user = SYSTEM_USER
    try:
        head = c.audit.head_hash()
        assert head is not None
        with c.uow.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        c.close()
    conn = sqlite3.connect(base)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    return base, head


def caught_by(path: Path, anchor: str) -> str:
    """Which check caught the tampering first: chain, anchor, replay, signature — or 'undetected'."""
    from ecmo_desktop.container import SYSTEM_USER, build_container

    c = build_container(str(path), workstation="tamper", read_only=True)
    c.ctx.user = SYSTEM_USER
    try:
        result = c.audit.verify_record(expected_head=anchor)
    finally:
        c.close()
    if not result.chain.ok:
        return "anchor" if result.chain.problem == "anchor_mismatch" else "chain"
    if result.trail:
        return "replay"
    if not result.signatures.ok:
        return "signature"
    return "undetected"


def run(
    n: int, seed: int, source: Path | None = None, kinds: dict[str, Tamper] | None = None
) -> dict[str, Counter[str]]:
    kinds = kinds or KINDS
    rng = random.Random(seed)
    results: dict[str, Counter[str]] = {k: Counter() for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        base, anchor = prepare(source, Path(tmp))
        if caught_by(base, anchor) != "undetected":
            raise SystemExit("the untouched database does not verify: nothing to measure")
        names = sorted(kinds)
        for i in range(n):
            kind = names[i % len(names)] if n >= len(names) else rng.choice(names)
            work = Path(tmp) / "work.sqlite3"
            shutil.copyfile(base, work)
            conn = sqlite3.connect(work)
            _unlock(conn)
            kinds[kind](conn, rng)
            conn.commit()
            conn.close()
            results[kind][caught_by(work, anchor)] += 1
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--db", type=Path, help="an SQLite ward database (default: the upgraded 0001 fixture)"
    )
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    results = run(args.n, args.seed, args.db)
    total = Counter[str]()
    print(f"{'kind':34} {'n':>5} {'chain':>6} {'anchor':>6} {'replay':>6} {'sig':>6} {'undetected':>10}")
    for kind, counts in results.items():
        total.update(counts)
        print(
            f"{kind:34} {sum(counts.values()):5} {counts['chain']:6} {counts['anchor']:6} "
            f"{counts['replay']:6} "
            f"{counts['signature']:6} {counts['undetected']:10}"
        )
    detected = sum(total.values()) - total["undetected"]
    print(
        f"{'all':34} {sum(total.values()):5} {total['chain']:6} {total['anchor']:6} {total['replay']:6} "
        f"{total['signature']:6} {total['undetected']:10}"
    )
    print(
        f"detected {detected}/{sum(total.values())} in {time.monotonic() - t0:.0f} s; undetected kinds: "
        f"{', '.join(k for k, c in results.items() if c['undetected']) or 'none'}"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
