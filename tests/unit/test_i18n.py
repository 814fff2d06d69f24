"""The English catalogue keeps up with the Chinese msgids in the code.

Msgids are Chinese (the source language); ``resources/i18n/en/LC_MESSAGES/ecmo_desktop.po`` holds
the English. These tests fail when a new ``_()`` / ``N_()`` string has no English yet, when the
compiled ``.mo`` lags the ``.po``, when a translation drops or invents a ``{placeholder}``, or when
Chinese text is left in an English translation. Fix with ``.venv/bin/python scripts/i18n.py`` and
a translator's pass over the untranslated entries it lists.
"""

from __future__ import annotations

import importlib.util
import re
import string
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog, Message

from ecmo_desktop.domain.enums import Role, Sex
from ecmo_desktop.domain.errors import AccountLocked, AuthenticationFailed, FieldError
from ecmo_desktop.i18n import DEFAULT_LANGUAGE, _, current_language, join_names, set_language

ROOT = Path(__file__).resolve().parents[2]

# CJK ideographs (incl. extension A and compatibility), CJK symbols/punctuation (、。「」【】…),
# and full-width forms (，：；（）！？) — none of these belongs in an English UI string.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ecmo_i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


script = _load_script()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The .po merged with what the code extracts today (as ``scripts/i18n.py --check`` sees it)."""
    return script.merged()


def _entries(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]  # obsolete entries live in catalog.obsolete, not here


def _pairs(message: Message) -> Iterator[tuple[str, str]]:
    """(msgid, msgstr) pairs; plural entries give one pair per form."""
    if isinstance(message.id, tuple | list):
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for i, text in enumerate(strings):
            yield message.id[min(i, len(message.id) - 1)], text or ""
    else:
        yield message.id, message.string or ""


def _placeholders(text: str) -> list[str] | None:
    """Sorted replacement fields (``{name}``, ``{n:02d}``, ``{x!r}``) or None when not a format string."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return None
    fields = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        fields.append(
            "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        )
    return sorted(fields)


def _label(message: Message) -> str:
    where = ", ".join(f"{f}:{line}" for f, line in message.locations[:2])
    return f"{message.id!r} ({where})"


# ---- (1) scripts/i18n.py --check --------------------------------------------------------------------


def test_every_msgid_has_an_english_translation(catalog: Catalog) -> None:
    missing = script.untranslated(catalog)
    assert not missing, (
        f"{len(missing)} msgid(s) without a (non-fuzzy) English translation; run "
        "scripts/i18n.py and translate:\n" + "\n".join(missing[:50])
    )


def test_compiled_mo_matches_the_po() -> None:
    assert script.MO.exists(), "no compiled .mo: run scripts/i18n.py"
    assert script.mo_is_current(), "the compiled .mo is out of date: run scripts/i18n.py"


def test_msgids_inside_f_strings_are_in_the_catalogue(catalog: Catalog) -> None:
    """``f"{_('第{n}次ECMO')}"`` is invisible to Babel's tokenizer on Python 3.11: extracted anyway."""
    calls = script.fstring_calls()
    assert any(msgid == "批号" for _path, _line, msgid in calls)  # the finder sees them
    missing = [f"{path}:{line} {msgid!r}" for path, line, msgid in calls if msgid not in catalog]
    assert not missing, "msgids inside f-strings missing from the catalogue:\n" + "\n".join(missing)


def test_mo_check_ignores_the_babel_version_in_the_header() -> None:
    """Another Babel writes another ``Generated-By`` line: same catalogue, so still current."""
    committed = script.MO.read_bytes()
    marker = b"Generated-By: Babel "
    assert marker in committed
    start = committed.index(marker) + len(marker)
    end = committed.index(b"\n", start)
    other = committed[:start] + b"0.0.0-other".ljust(end - start, b" ")[: end - start] + committed[end:]
    assert other != committed
    assert script.mo_content(other) == script.mo_content(committed)


def test_mo_check_sees_a_changed_translation() -> None:
    """The comparison is of content: one changed msgstr makes the .mo stale."""
    catalog = script.load_po()
    fresh = script.mo_content(script.mo_bytes(catalog))
    message = next(m for m in catalog if m.id and isinstance(m.id, str) and m.string and not m.fuzzy)
    message.string = message.string + " (changed)"
    assert script.mo_content(script.mo_bytes(catalog)) != fresh


def test_check_command_passes(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["i18n.py", "--check"])
    assert script.main() == 0, capsys.readouterr().out


# ---- (2) placeholders --------------------------------------------------------------------------------


def test_translations_keep_exactly_the_msgid_placeholders(catalog: Catalog) -> None:
    problems = []
    for message in _entries(catalog):
        for msgid, msgstr in _pairs(message):
            if not msgstr:
                continue  # reported by test_every_msgid_has_an_english_translation
            expected = _placeholders(msgid)
            got = _placeholders(msgstr)
            if expected is None:
                # not a valid format string: the braces must still come through unchanged
                expected, got = sorted(re.findall(r"[{}]", msgid)), sorted(re.findall(r"[{}]", msgstr))
            if expected != got:
                problems.append(f"{_label(message)}: {expected} → {got} in {msgstr!r}")
    assert not problems, "placeholders differ between msgid and translation:\n" + "\n".join(problems)


def test_menu_accelerators_are_kept(catalog: Catalog) -> None:
    problems = [
        _label(m)
        for m in _entries(catalog)
        for msgid, msgstr in _pairs(m)
        if msgstr and re.search(r"&\w", msgid) and not re.search(r"&\w", msgstr)
    ]
    assert not problems, "menu accelerator (&X) lost in translation:\n" + "\n".join(problems)


# ---- (3) switching language at run time --------------------------------------------------------------


@pytest.fixture
def english() -> Iterator[None]:
    set_language("en")
    try:
        yield
    finally:
        set_language(DEFAULT_LANGUAGE)


def test_switching_to_english_and_back(english: None) -> None:
    assert current_language() == "en"
    assert Role.DOCTOR.label == "Doctor"
    assert Role.NURSE.label == "Nurse"
    assert Sex.FEMALE.label == "Female"
    assert AuthenticationFailed().user_message() == "Incorrect username or password"
    assert AccountLocked(minutes=15).user_message() == (
        "Account locked; try again in 15 minutes or ask the administrator to unlock it"
    )
    assert FieldError("住院号", "必填").user_message().startswith("MRN")
    assert _("住院号") == "MRN"

    set_language("zh_CN")
    assert current_language() == "zh_CN"
    assert Role.DOCTOR.label == "医生"
    assert AuthenticationFailed().user_message() == "用户名或密码错误"
    assert AccountLocked(minutes=15).user_message() == "账户已被锁定，请在 15 分钟后重试或联系管理员解锁"
    assert _("住院号") == "住院号"


def test_unknown_language_falls_back_to_chinese() -> None:
    try:
        set_language("xx")
        assert current_language() == DEFAULT_LANGUAGE
        assert Role.DOCTOR.label == "医生"
    finally:
        set_language(DEFAULT_LANGUAGE)


# ---- (4) no Chinese left in the English --------------------------------------------------------------


def test_no_cjk_characters_in_translations(catalog: Catalog) -> None:
    problems = [
        f"{_label(m)} → {msgstr!r}"
        for m in _entries(catalog)
        for _msgid, msgstr in _pairs(m)
        if CJK.search(msgstr)
    ]
    assert not problems, "English translations still containing CJK characters:\n" + "\n".join(problems)


def test_every_marked_string_in_the_code_is_in_the_catalogue(catalog: Catalog) -> None:
    """A ``_('…')`` inside an f-string is not extracted, so it stays Chinese in English mode
    ("请在左侧选择一条记录", "黄色底色：超出正常范围"); every literal msgid must reach the catalogue."""
    import ast

    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in _entries(catalog)}
    missing = []
    for path in sorted((ROOT / "ecmo_desktop").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and node.args[0].value not in ids
            ):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.args[0].value}")
    assert missing == []


def test_names_are_joined_as_the_language_writes_them(english: None) -> None:
    assert join_names(["Zhang Wei", "Li Na"]) == "Zhang Wei, Li Na"
    set_language(DEFAULT_LANGUAGE)
    assert join_names(["张伟", "李娜"]) == "张伟、李娜"
