"""Translation helpers used by every layer.

The ward's language is the source language: msgids are Chinese, so a string that misses a
translation still shows correctly to the Chinese users who are the default audience. The English
catalogue lives in ``resources/i18n/en/LC_MESSAGES/ecmo_desktop.po`` (compiled to ``.mo``).

``N_()`` marks a constant for extraction without translating it (errors carry the msgid and are
translated when shown); ``_()`` translates now, in the current language.
"""

from __future__ import annotations

import gettext
import os
import threading
from collections.abc import Iterable, Mapping, Sequence

from ecmo_desktop.paths import i18n_dir

DOMAIN = "ecmo_desktop"
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES: dict[str, str] = {"zh_CN": "中文", "en": "English"}

_lock = threading.Lock()
_current: gettext.NullTranslations = gettext.NullTranslations()
_language = DEFAULT_LANGUAGE


def N_(message: str) -> str:
    """Mark ``message`` for extraction; translation happens later, where it is shown."""
    return message


def _(message: str) -> str:
    """Translate ``message`` into the current UI language."""
    return _current.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.ngettext(singular, plural, n)


def requested_language(argv: Sequence[str] = (), environ: Mapping[str, str] | None = None) -> str | None:
    """The language a command line asks for: ``--lang X``, else the locale's (English or Chinese).

    The locale is read as gettext does (LC_ALL > LC_MESSAGES > LANG, then LANGUAGE). None means
    nothing was asked for: callers keep their default (Chinese, or the GUI's saved setting).
    """
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var, "").split(":")[0].lower()
        if value and value not in ("c", "posix") and not value.startswith(("c.", "posix.")):
            if value.startswith("en"):
                return "en"
            if value.startswith("zh"):
                return DEFAULT_LANGUAGE
            return None
    return None


def current_language() -> str:
    return _language


def set_language(language: str) -> None:
    """Switch the process-wide language; unknown languages fall back to Chinese (the source)."""
    global _current, _language
    with _lock:
        if language not in LANGUAGES:
            language = DEFAULT_LANGUAGE
        if language == DEFAULT_LANGUAGE:
            _current = gettext.NullTranslations()
        else:
            _current = gettext.translation(
                DOMAIN, localedir=str(i18n_dir()), languages=[language], fallback=True
            )
        _language = language


def join_names(items: Iterable[str]) -> str:
    """A list of names or items as the current language writes it: 张伟、李娜 / Zhang Wei, Li Na."""
    return (", " if _language == "en" else "、").join(items)
