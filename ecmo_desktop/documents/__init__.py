"""PDF documents built with reportlab from plain data: fonts, vector barcodes and the shared page.

No Qt and no database here: callers pass dataclasses and get PDF bytes back, so documents can be
generated in a worker thread, in the CLI and in tests alike.

The names below are loaded on first use (PEP 562): importing a light submodule such as
``documents.content`` must not pull in reportlab and the barcode writers (~170 ms at every start and
CLI command, issue 15).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecmo_desktop.documents.barcodes import (
        BarcodeError,
        Code128Barcode,
        DataMatrixBarcode,
        barcode_for_scanned_code,
    )
    from ecmo_desktop.documents.fonts import (
        FontSet,
        FontsMissingError,
        draw_string,
        markup_with_fallback,
        register_fonts,
    )
    from ecmo_desktop.documents.layout import (
        Bookmark,
        DocumentHeader,
        build_pdf,
        data_table,
        document_styles,
        signature_block,
        standard_table_style,
        text_flowables,
        text_paragraph,
    )

_EXPORTS = {
    "barcodes": ("BarcodeError", "Code128Barcode", "DataMatrixBarcode", "barcode_for_scanned_code"),
    "fonts": ("FontSet", "FontsMissingError", "draw_string", "markup_with_fallback", "register_fonts"),
    "layout": (
        "Bookmark",
        "DocumentHeader",
        "build_pdf",
        "data_table",
        "document_styles",
        "signature_block",
        "standard_table_style",
        "text_flowables",
        "text_paragraph",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "BarcodeError",
    "Bookmark",
    "Code128Barcode",
    "DataMatrixBarcode",
    "DocumentHeader",
    "FontSet",
    "FontsMissingError",
    "barcode_for_scanned_code",
    "build_pdf",
    "data_table",
    "document_styles",
    "draw_string",
    "markup_with_fallback",
    "register_fonts",
    "signature_block",
    "standard_table_style",
    "text_flowables",
    "text_paragraph",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
