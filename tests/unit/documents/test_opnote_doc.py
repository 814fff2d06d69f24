"""The operation note (R8, PDF-1): every bound device printed with its data and a barcode that scans
back to what was scanned at the bedside; long device lists flow onto more pages; bad text survives."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pypdf
import pytest
import zxingcpp
from pypdf.generic import DictionaryObject

from ecmo_desktop.documents.opnote import opnote_plan
from ecmo_desktop.domain.case import assign_devices

from .sample_dossier import EXT_B_NAME, HOSTILE_NAME, build, device, make_dossier
from .test_fonts import HOSTILE


def texts(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def squeezed(pdf: bytes) -> str:
    """All page text without whitespace: a lot wrapped inside its table cell is still one lot."""
    return "".join("".join(texts(pdf)).split())


def render_pages(pdf: bytes, tmp_path: Path, dpi: int = 300) -> list[np.ndarray]:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: cannot render PDFs to decode the barcodes")
    source = tmp_path / "note.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-png", str(source), str(tmp_path / "page")], check=True
    )
    images = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(tmp_path.glob("page*.png"))]
    assert images and all(i is not None for i in images)
    return images


def scanned_back(pdf: bytes, tmp_path: Path) -> list[str]:
    return [
        r.text
        for image in render_pages(pdf, tmp_path)
        for r in zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)
    ]


def test_note_prints_patient_headings_and_every_device(tmp_path: Path) -> None:
    dossier = make_dossier(n_devices=4)
    plan, rendered = build("opnote", dossier, 1)
    text = squeezed(rendered.pdf)
    for expected in (
        "王建国",
        "ZY2026000123",
        "ECMO置管手术记录",
        "手术概况",
        "手术人员",
        "插管",
        "初始参数",
        "术中及术后即刻并发症",
        "手术经过",
        "使用器械及条码（R8）",
        "签名人：张伟副主任医师",
        "签名含义：书写",
    ):
        assert expected in text, expected
    for dev in dossier.procedures[0].devices:
        for value in (dev.product_name, dev.model, dev.nmpa_number, dev.lot, dev.serial, "2027-12-31"):
            assert "".join(str(value).split()) in text, value
    assert plan.meta["device_usage_ids"] == [d.usage_id for d in dossier.procedures[0].devices]
    assert plan.meta["barcode_failed_usage_ids"] == []


def test_barcodes_on_the_rendered_note_scan_back_to_the_scanned_codes(tmp_path: Path) -> None:
    dossier = make_dossier(n_devices=4)  # GS1 (2-D because too wide as GS1-128), HIBC, MA, a typed serial
    _, rendered = build("opnote", dossier, 1)
    wanted = sorted(d.barcode_text for d in dossier.procedures[0].devices)  # labels as scanners send them
    assert sorted(scanned_back(rendered.pdf, tmp_path)) == wanted


def test_twenty_devices_flow_onto_more_pages_and_all_scan(tmp_path: Path) -> None:
    small = build("opnote", make_dossier(n_devices=4), 1)[1]
    dossier = make_dossier(n_devices=20)
    plan, rendered = build("opnote", dossier, 1)
    assert rendered.page_count > small.page_count
    text = squeezed(rendered.pdf)
    devices = dossier.procedures[0].devices
    assert len(devices) == 20 and len(plan.meta["device_usage_ids"]) == 20
    for dev in devices:
        assert dev.lot in text and dev.serial in text and dev.product_name.replace(" ", "") in text
    assert "共20件器械" in text
    found = scanned_back(rendered.pdf, tmp_path)
    assert sorted(found) == sorted(d.barcode_text for d in devices)
    numbers = [page.split("\n") for page in texts(rendered.pdf)]
    assert all(
        any(f"{i} / {rendered.page_count}" in line for line in page) for i, page in enumerate(numbers, 1)
    )


def test_device_bound_without_a_procedure_goes_to_the_latest_earlier_one() -> None:
    dossier = make_dossier(n_devices=2)
    cannulation, decannulation = dossier.procedures
    late = device(9, procedure_id=None, bound_at=decannulation.started_at.replace(minute=59))
    early = device(8, procedure_id=None, bound_at=cannulation.started_at.replace(minute=0))
    placed = assign_devices(
        [replace(p, devices=()) for p in dossier.procedures], (*dossier.devices, late, early), {}
    )
    assert [d.usage_id for d in placed[0].devices] == [early.usage_id, *[d.usage_id for d in dossier.devices]]
    assert [d.usage_id for d in placed[1].devices] == [late.usage_id]
    assert placed[0].inferred_device_ids == (early.usage_id,) and placed[1].inferred_device_ids == (
        late.usage_id,
    )
    note = build("opnote", replace(dossier, procedures=tuple(placed)), decannulation.id)[1]
    assert "按绑定时间归入本次操作" in "".join(texts(note.pdf))


def test_a_code_that_cannot_be_re_encoded_still_prints_its_row() -> None:
    dossier = make_dossier(n_devices=2)
    broken = replace(device(5), scanned_text="", raw_code="")
    procedure = replace(dossier.procedures[0], devices=(*dossier.procedures[0].devices, broken))
    dossier = replace(dossier, procedures=(procedure, *dossier.procedures[1:]))
    plan = opnote_plan(dossier, procedure.id)
    assert plan.meta["barcode_failed_usage_ids"] == [broken.usage_id]
    text = squeezed(build("opnote", dossier, procedure.id)[1].pdf)
    assert "条码无法生成" in text and broken.lot in text and broken.serial in text


def _fonts(pdf: bytes) -> Iterator[DictionaryObject]:
    def walk(resources: DictionaryObject) -> Iterator[DictionaryObject]:
        for font in resources.get("/Font", {}).values():
            yield font.get_object()
        for xobject in resources.get("/XObject", {}).values():
            xobject = xobject.get_object()
            if "/Resources" in xobject:
                yield from walk(xobject["/Resources"].get_object())

    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        yield from walk(page["/Resources"].get_object())


@pytest.mark.parametrize("bad", [*HOSTILE, HOSTILE_NAME, EXT_B_NAME, "x" * 20000])
def test_bad_text_in_names_and_notes_never_breaks_the_note(bad: str) -> None:
    dossier = make_dossier(patient_name=bad[:100] or "空", notes=bad)
    dossier = replace(
        dossier,
        procedures=tuple(
            replace(
                p,
                staff=tuple(replace(m, staff=replace(m.staff, name=bad[:50])) for m in p.staff),
                devices=tuple(replace(d, product_name=bad[:200], manufacturer=bad[:200]) for d in p.devices),
            )
            for p in dossier.procedures
        ),
    )
    _, rendered = build("opnote", dossier, 1)
    text = "".join(texts(rendered.pdf))
    assert "ECMO置管手术记录" in text and rendered.page_count >= 1
    for font in _fonts(rendered.pdf):
        assert (
            "/FontFile2" in font["/FontDescriptor"].get_object()
        )  # PDF-1: fonts embedded, never substituted


def test_extension_b_name_is_drawn_and_extractable() -> None:
    _, rendered = build("opnote", make_dossier(patient_name=f"张{EXT_B_NAME}"), 1)
    assert f"姓名：张{EXT_B_NAME}" in texts(rendered.pdf)[0]
    assert "[U+" not in texts(rendered.pdf)[0]
