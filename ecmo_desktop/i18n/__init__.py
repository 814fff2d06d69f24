"""Translation helpers used by every layer.

The ward's language is the source language: msgids are Chinese, so a string that misses a
translation still shows correctly to the Chinese users who are the default audience. The English
catalogue lives in ``resources/i18n/en/LC_MESSAGES/ecmo_desktop.po`` (compiled to ``.mo``).

``N_()`` marks a constant for extraction without translating it (errors carry the msgid and are
translated when shown); ``_()`` translates now, in the current language.
"""

from __future__ import annotations

import gettext
import threading
from collections.abc import Iterable

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
            _current = gettext.translation(DOMAIN, localedir=str(i18n_dir()), languages=[language],
                                           fallback=True)
        _language = language


def join_names(items: Iterable[str]) -> str:
    """A list of names or items as the current language writes it: 张伟、李娜 / Zhang Wei, Li Na."""
    return (", " if _language == "en" else "、").join(items)
