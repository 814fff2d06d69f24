"""PDF documents built with reportlab from plain data: fonts, vector barcodes and the shared page.

No Qt and no database here: callers pass dataclasses and get PDF bytes back, so documents can be
generated in a worker thread, in the CLI and in tests alike.
"""

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
