"""The whole-case archive: cover and contents, then every part exactly as it prints alone — page count,
bookmarks and contents page numbers all agree with the parts."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest

from ecmo_desktop.documents.archive import KINDS, archive_parts, plan_document, render
from ecmo_desktop.documents.consent import load_consent_template
from ecmo_desktop.documents.parts import PrintContext

from .sample_dossier import PRINTED, build, make_dossier


def contents_page(pdf: bytes, tmp_path: Path) -> str:
    """Page 2 as poppler lays it out (pypdf runs a form's text into the next table row)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    source = tmp_path / "archive.pdf"
    source.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", "-layout", str(source), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def standalone_pages(dossier, parts) -> list[int]:  # type: ignore[no-untyped-def]
    ctx = PrintContext(PRINTED, "孙丽", "DOC-000002-v1")
    return [render(part, dossier, ctx).page_count for part in parts]


@pytest.mark.parametrize(("devices", "entries"), [(4, 6), (20, 60)])
def test_page_count_bookmarks_and_contents_match_the_parts(
    devices: int, entries: int, tmp_path: Path
) -> None:
    dossier = make_dossier(n_devices=devices, n_entries=entries)
    parts = archive_parts(dossier, load_consent_template(), as_of=PRINTED)
    alone = standalone_pages(dossier, parts)
    _plan, rendered = build("archive", dossier)
    reader = pypdf.PdfReader(io.BytesIO(rendered.pdf))

    first = [p["page"] for p in rendered.parts]
    front = first[0] - 1  # cover + contents
    assert front == 2
    assert rendered.page_count == len(reader.pages) == front + sum(alone)
    assert first == [front + 1 + sum(alone[:i]) for i in range(len(alone))]

    top = reader.outline
    assert (
        len(top) == 2 and top[0].title == "ECMO病历归档" and reader.get_destination_page_number(top[0]) == 0
    )
    children = [o for o in top[1] if not isinstance(o, list)]
    assert [o.title for o in children] == [p.title for p in parts]
    assert [reader.get_destination_page_number(o) + 1 for o in children] == first
    nested = [o for o in top[1] if isinstance(o, list)]
    assert len(nested) == len(parts)  # each part keeps its own section bookmarks beneath it

    rows = re.findall(r"^\s*(\d+)\s+(\S.*?)\s+(\d+)\s*$", contents_page(rendered.pdf, tmp_path), flags=re.M)
    rows = [row for row in rows if row[1] != "/"]  # not the footer's "2 / 25"
    assert [int(page) for _n, _title, page in rows] == first  # the page column, filled in at the end
    assert [title.split("（")[0] for _n, title, _page in rows] == [p.title for p in parts]
    for page in first:
        assert f"{page} / {rendered.page_count}" in reader.pages[page - 1].extract_text()


def test_archive_contains_every_kind_and_the_cover_facts() -> None:
    dossier = make_dossier()
    plan, rendered = build("archive", dossier)
    assert [p.kind for p in plan.parts] == [
        "decision",
        "consent",
        "opnote",
        "opnote",
        "daily",
        "complications",
        "weaning",
        "followup",
    ]
    cover = pypdf.PdfReader(io.BytesIO(rendered.pdf)).pages[0].extract_text()
    for fact in (
        "ECMO病历归档",
        "内蒙古自治区人民医院",
        "王建国",
        "ZY2026000123",
        "VA-ECMO",
        "成功撤机",
        "2026-03-02 10:55",
        "回家",
        "4 件",
    ):
        assert fact in cover, fact
    usage_ids = [d.usage_id for p in dossier.procedures for d in p.devices]
    assert sorted(plan.meta["device_usage_ids"]) == sorted(usage_ids)
    assert set(KINDS) == {"consent", "opnote", "decision", "daily", "weaning", "followup", "archive"}


def test_content_hash_follows_the_records_not_the_printing() -> None:
    dossier = make_dossier()
    template = load_consent_template()
    a = plan_document("archive", dossier, None, as_of=PRINTED, template=template)
    b = plan_document("archive", dossier, None, as_of=PRINTED, template=template)
    assert a.content_hash == b.content_hash
    from dataclasses import replace

    changed = replace(dossier, run=replace(dossier.run, diagnosis="暴发性心肌炎"))
    assert (
        plan_document("archive", changed, None, as_of=PRINTED, template=template).content_hash
        != a.content_hash
    )


def test_same_plan_and_print_context_give_the_same_bytes() -> None:
    dossier = make_dossier()
    _, one = build("archive", dossier)
    _, two = build("archive", dossier)
    assert one.pdf == two.pdf  # deterministic: a stored original can be checked by regenerating it
