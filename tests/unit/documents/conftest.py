"""Shared helpers for the PDF tests: a sample header, PDF text, and page rendering with poppler."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pypdf
import pytest

from ecmo_desktop.documents.layout import DocumentHeader

PATIENT_NAME = "张𠀀𡃁𪚥"  # a surname outside the main font: CJK Extension B
CONTENT_HASH = "3f9a0c5be1d27a4468f0c2b91e5d7a03c4b8e6f1a2d3c4b5e6f708192a3b4c5d"


def make_header(**changes: object) -> DocumentHeader:
    fields: dict[str, object] = {
        "hospital_name": "某某大学附属第一医院",
        "title": "ECMO 治疗知情同意书",
        "patient_name": PATIENT_NAME,
        "mrn": "ZY20240105001",
        "sex": "男",
        "age": "45岁",
        "ward": "心脏重症监护病区",
        "bed": "12",
        "printed_at": datetime(2024, 1, 5, 6, 30, tzinfo=UTC),  # 14:30 in Beijing
        "printed_by": "李医生",
        "document_id": "DOC-2024-000123",
        "content_hash": CONTENT_HASH,
        "audit_anchor": "#10234 9f3ac2d1e0b7",
    }
    fields.update(changes)
    return DocumentHeader(**fields)  # type: ignore[arg-type]


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture
def render_page(tmp_path: Path) -> Callable[..., np.ndarray]:
    """Render one PDF page to a grayscale image with poppler, as a printer or viewer would."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: cannot render PDFs to check what is drawn")

    def render(pdf: bytes, page: int = 1, dpi: int = 300) -> np.ndarray:
        source = tmp_path / "in.pdf"
        source.write_bytes(pdf)
        prefix = tmp_path / f"page{page}"
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                str(dpi),
                "-gray",
                "-png",
                "-singlefile",
                "-f",
                str(page),
                "-l",
                str(page),
                str(source),
                str(prefix),
            ],
            check=True,
        )
        image = cv2.imread(str(prefix.with_suffix(".png")), cv2.IMREAD_GRAYSCALE)
        assert image is not None
        return image

    return render
