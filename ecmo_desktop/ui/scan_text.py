"""How a scanned code reads on screen: its invisible separators (GS, RS, EOT) drawn or spelled out.

Shared by the scan bar (the field draws ␝) and the camera view (its result line), below both so
neither imports the other for it.
"""

from __future__ import annotations

GS, RS, EOT = "\x1d", "\x1e", "\x04"
SHOWN_CONTROLS = {GS: "\u241d", RS: "\u241e", EOT: "\u2404"}  # ␝ ␞ ␄: what the field draws for them
_FROM_SHOWN = {v: k for k, v in SHOWN_CONTROLS.items()}
_READABLE = {GS: "<GS>", RS: "<RS>", EOT: "<EOT>"}


def shown_text(text: str) -> str:
    return "".join(SHOWN_CONTROLS.get(c, c) for c in text)


def readable_text(text: str) -> str:
    """The code for a person to read in the result banner: separators spelled out as <GS>."""
    return "".join(_READABLE.get(c, c) for c in text)


def code_text(shown: str) -> str:
    """The inverse of ``shown_text``: the field's ␝ back to ASCII 29."""
    return "".join(_FROM_SHOWN.get(c, c) for c in shown)
