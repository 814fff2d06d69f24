"""Keep the translation catalogue in step with the code.

    .venv/bin/python scripts/i18n.py            # extract msgids, merge into the English .po, compile .mo
    .venv/bin/python scripts/i18n.py --check    # exit 1 when the catalogue lags the code (used by tests)

Msgids are Chinese (the ward's language is the source language); the English catalogue is
``resources/i18n/en/LC_MESSAGES/ecmo_desktop.po``. Untranslated entries are listed so a
translator can fill them; the test suite requires every msgid to be translated.
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "resources" / "i18n" / "en" / "LC_MESSAGES" / "ecmo_desktop.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    template = Catalog(project="ECMO Ward", locale=None)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT / "ecmo_desktop"),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=("i18n:",),
        strip_comment_tags=True,
    ):
        template.add(
            message, None, [(f"ecmo_desktop/{filename}", lineno)], auto_comments=comments, context=context
        )
    for path, lineno, message in fstring_calls():
        if message not in template:
            template.add(message, None, [(path, lineno)])
    return template


def fstring_calls() -> list[tuple[str, int, str]]:
    """``_("…")`` / ``N_("…")`` with a literal inside an f-string: (path, line, msgid).

    Babel's tokenizer does not see into f-strings on every Python and Babel version (Python 3.12
    tokenizes them anew, PEP 701), so the catalogue would depend on which versions ran the
    extraction. Python's own parser sees them everywhere; these are added to what Babel found.
    """
    found = []
    for path in sorted((ROOT / "ecmo_desktop").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.JoinedStr):
                continue
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id in ("_", "N_")
                    and len(call.args) == 1
                    and isinstance(call.args[0], ast.Constant)
                    and isinstance(call.args[0].value, str)
                ):
                    found.append((str(path.relative_to(ROOT)), call.lineno, call.args[0].value))
    return found


def load_po() -> Catalog:
    if PO.exists():
        with PO.open("rb") as fh:
            return read_po(fh, locale="en")
    return Catalog(locale="en", project="ECMO Ward")


def merged() -> Catalog:
    catalog = load_po()
    catalog.update(extract(), no_fuzzy_matching=True)
    return catalog


def po_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=False, sort_output=False, include_previous=False)
    return buf.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def mo_content(data: bytes) -> dict[tuple[str | None, object], object]:
    """What a compiled catalogue means to the app: every (context, msgid) → msgstr, plus the plural rule.

    The header's other lines (``Generated-By: Babel x.y``, dates) are left out on purpose: they
    change with the Babel version that compiled the file, not with the catalogue, so comparing
    bytes made the check fail whenever pip resolved a newer Babel than the one used to commit.
    """
    catalog = read_mo(io.BytesIO(data))
    content: dict[tuple[str | None, object], object] = {
        # plural entries come back from read_mo as lists: make them hashable and comparable
        (message.context, tuple(message.id) if isinstance(message.id, list | tuple) else message.id): tuple(
            message.string
        )
        if isinstance(message.string, list | tuple)
        else message.string
        for message in catalog
        if message.id
    }
    content[(None, "<Plural-Forms>")] = catalog.plural_forms
    return content


def mo_is_current() -> bool:
    """True when the committed .mo holds exactly what compiling today's .po would give."""
    return MO.exists() and mo_content(MO.read_bytes()) == mo_content(mo_bytes(load_po()))


def untranslated(catalog: Catalog) -> list[str]:
    return [str(m.id) for m in catalog if m.id and (not m.string or m.fuzzy)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    catalog = merged()
    if args.check:
        missing = untranslated(catalog)
        stale = not mo_is_current()
        for msgid in missing:
            print(f"untranslated: {msgid!r}")
        if stale:
            print("the compiled .mo is out of date: run scripts/i18n.py")
        return 1 if missing or stale else 0
    PO.parent.mkdir(parents=True, exist_ok=True)
    PO.write_bytes(po_bytes(catalog))
    MO.write_bytes(mo_bytes(catalog))
    missing = untranslated(catalog)
    print(f"{len(catalog)} messages, {len(missing)} untranslated → {PO.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
