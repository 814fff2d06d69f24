"""The device commands: the parse-code contract (exit codes and JSON shape, in a real subprocess),
decode-image's one-line-per-file output, catalogue import/export and trace on a database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import zxingcpp

from ecmo_desktop.cli import main as cli_main
from ecmo_desktop.services.runs import PatientInput, RunInput
from tests.conftest import Seeded
from tests.kit.devices import OXY_GTIN, PUMP_GTIN, label, set_status

CONTRACT_KEYS = ["scheme", "gtin", "product_id", "lot", "serial", "expiry", "production_date", "raw"]
ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("ECMO_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "ecmo_desktop", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_parse_code_prints_one_contract_object_and_exits_0() -> None:
    done = run_cli("parse-code", label(OXY_GTIN, serial="ABC", lot="12345", expiry=None), "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    payload = json.loads(lines[0])
    assert list(payload) == CONTRACT_KEYS
    assert (payload["scheme"], payload["gtin"], payload["lot"], payload["serial"]) == (
        "gs1",
        OXY_GTIN,
        "12345",
        "ABC",
    )
    assert payload["raw"] == "01" + OXY_GTIN + "1012345\x1d21ABC"


WRONG_CHECK = "01" + OXY_GTIN[:-1] + str((int(OXY_GTIN[-1]) + 1) % 10)


@pytest.mark.parametrize(
    ("text", "reason"),
    [(WRONG_CHECK, "invalid_check_digit"), ("氧合器", "invalid_character"), ("  ", "empty")],
)
def test_parse_code_refusals_exit_2_with_reason_and_message(text: str, reason: str) -> None:
    done = run_cli("parse-code", text, "--json")
    assert done.returncode == 2
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    payload = json.loads(lines[0])
    assert list(payload) == ["error"] and set(payload["error"]) == {"reason", "message"}
    assert payload["error"]["reason"] == reason and payload["error"]["message"]


def test_decode_image_prints_one_line_per_file_in_order(tmp_path: Path) -> None:
    code = label(OXY_GTIN, serial="IMG1", lot="L7")
    image = np.asarray(
        zxingcpp.write_barcode_to_image(
            zxingcpp.create_barcode(code, zxingcpp.BarcodeFormat.DataMatrix), scale=6
        )
    )
    good = tmp_path / "标签.png"
    ok, buffer = cv2.imencode(
        ".png", cv2.copyMakeBorder(image, 24, 24, 24, 24, cv2.BORDER_CONSTANT, value=255)
    )
    assert ok
    good.write_bytes(buffer.tobytes())
    bad = tmp_path / "not-an-image.png"
    bad.write_bytes(b"GIF89a broken")
    done = run_cli("decode-image", str(good), str(bad), "--json")
    assert done.returncode == 1  # one file could not be read
    first, second = (json.loads(line) for line in done.stdout.strip().splitlines())
    assert first["file"] == str(good) and second["file"] == str(bad)
    assert [c["parsed"]["serial"] for c in first["codes"]] == ["IMG1"]
    assert second["codes"] == [] and second["error"]["reason"] == "unreadable_image"


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = cli_main(list(args))
    out = capsys.readouterr().out.strip()
    return code, json.loads(out) if out.startswith("{") else out


@pytest.mark.parametrize("backend", ["sqlite"])
def test_catalogue_import_export_and_trace_commands(
    seeded: Seeded,
    seeded_db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.conftest import PASSWORD

    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    db = ["--db", seeded_db_url, "--json", "--user", "admin"]
    bad = tmp_path / "bad.csv"
    bad.write_bytes("类别,产品名称,GTIN\n氧合器,A,6.90123E+12\n".encode("gbk"))
    code, payload = _cli(capsys, "catalogue", "import", str(bad), *db)
    assert code == 2 and "科学计数法" in payload["problems"][0]
    good = tmp_path / "good.csv"
    good.write_bytes(
        (
            f"类别;产品名称;生产企业;GTIN;注册证编号\n氧合器;Quadrox-iD;Maquet;{OXY_GTIN};国械注进20173450123\n"
            f"离心泵头;RotaFlow;Maquet;{PUMP_GTIN};\n"
        ).encode("gb18030")
    )
    code, payload = _cli(capsys, "catalogue", "import", str(good), *db)
    assert code == 0 and (payload["created"], payload["updated"], payload["unchanged"]) == (2, 0, 0)
    assert len(payload["notices"]) == 1  # the pump head has no NMPA number
    code, payload = _cli(capsys, "catalogue", "import", str(good), *db)
    assert code == 0 and payload["unchanged"] == 2
    out = tmp_path / "export.csv"
    code, payload = _cli(capsys, "catalogue", "export", str(out), *db)
    assert code == 0 and payload["products"] == 2 and "Quadrox-iD" in out.read_bytes().decode("utf-8-sig")

    c: Any = seeded.container
    seeded.login("zhangwei")
    patient = c.runs.register_patient(PatientInput(mrn="C1", name="赵敏", sex="F"))
    run = c.runs.open_run(patient.id, RunInput(mode="VA", indication="ami"))
    set_status(c, run.id, "on_ecmo")
    seeded.login("chenjing")
    rec = c.devices.start_receiving(supplier="供应商")
    code_text = label(OXY_GTIN, serial="CLI1", lot="LOTX")
    c.devices.receive_scan(rec.id, code_text)
    assert c.devices.bind_scan(run.id, code_text).bound
    c.devices.receive_scan(rec.id, label(OXY_GTIN, serial="CLI2", lot="LOTX"))  # still on the shelf

    csv_out = tmp_path / "trace.csv"
    code, payload = _cli(capsys, "trace", "--lot", "LOTX", "--gtin", OXY_GTIN, "--csv", str(csv_out), *db)
    assert code == 0 and payload["patients"] == 1
    assert [(u["patient_name"], u["serial"]) for u in payload["uses"]] == [("赵敏", "CLI1")]
    assert [s["item"]["serial"] for s in payload["in_stock"]] == ["CLI2"]
    assert "赵敏" in csv_out.read_bytes().decode("utf-8-sig")
    code, payload = _cli(capsys, "trace", "--serial", "CLI1", *db)
    assert code == 0 and [e["kind"] for e in payload["items"][0]["events"]] == ["received", "bound"]
    code, payload = _cli(capsys, "trace", "--run", str(run.id), *db)
    assert code == 0 and [d["serial"] for d in payload["devices"]] == ["CLI1"]
    code, payload = _cli(capsys, "trace", "--lot", "LOTX", "--serial", "CLI1", *db)
    assert code == 1 and "error" in payload
