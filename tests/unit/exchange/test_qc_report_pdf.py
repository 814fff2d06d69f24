"""The QC report PDF: the figures, the weaning window and every definition are printed; reprints are
identical.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pypdf

from ecmo_desktop.documents.qc_report import build_qc_report_pdf, write_qc_report_pdf
from ecmo_desktop.exchange.report import Period, compute_report
from ecmo_desktop.services.exchange import qc_printout
from tests.unit.exchange.builders import case, complication

PRINTED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def sample():
    cases = [
        case(
            hospital="甲医院",
            end="2024-01-05 10:00",
            end_reason="weaned",
            complications=(complication("B-GI", "2024-01-02 10:00"),),
        ),
        case(
            hospital="乙医院",
            mode="VV",
            indication="ards",
            start="2023-05-01 10:00",
            end="2023-05-09 10:00",
            end_reason="died",
        ),
    ]
    return qc_printout(
        compute_report(
            cases,
            [],
            period=Period(date(2023, 1, 1), date(2024, 12, 31)),
            as_of=date(2024, 12, 31),
            window_hours=48,
        )
    )


def text_of(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_prints_figures_window_and_definitions(tmp_path):
    pdf = build_qc_report_pdf(sample(), printed_at=PRINTED, printed_by="孙丽", hospital_name="示范医院")
    text = text_of(pdf).replace(" ", "")
    assert "ECMO质量控制报告" in text and "2023-01-01–2024-12-31" in text
    assert "撤机后48小时内无死亡" in text
    assert "乙医院" in text and "B-GI" in text and "0.5" in text
    assert "R15：年度例数与成功撤机率" in text
    assert "多学科决策合规率（R1）" in text and "器械可追溯完整率" in text
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2 and f"1/{len(reader.pages)}" in reader.pages[0].extract_text().replace(
        " ", ""
    )
    again = build_qc_report_pdf(sample(), printed_at=PRINTED, printed_by="孙丽", hospital_name="示范医院")
    assert again == pdf
    out = write_qc_report_pdf(
        sample(), tmp_path / "qc.pdf", printed_at=PRINTED, printed_by="孙丽", hospital_name="示范医院"
    )
    assert out.read_bytes() == pdf


def test_a_demo_databases_report_says_so_on_every_page() -> None:
    import io

    import pypdf

    pdf = build_qc_report_pdf(
        sample(), printed_at=PRINTED, printed_by="孙丽", hospital_name="示范医院", demo=True
    )
    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) >= 2 and all("演示数据" in t for t in pages)
    plain = build_qc_report_pdf(sample(), printed_at=PRINTED, printed_by="孙丽", hospital_name="示范医院")
    assert not any("演示数据" in p.extract_text() for p in pypdf.PdfReader(io.BytesIO(plain)).pages)
