"""Per-workstation settings: declared once, typed, with defaults and a schema version.

They live in a JSON file in the user's config folder (``ECMO_CONFIG_DIR`` overrides it, so tests
start from a fresh store). Settings describe the *workstation* — language, camera, window
geometry — never clinical data, so losing or copying the file can never leak or lose a record.
A damaged or foreign file is set aside and the defaults are used: a ward PC must always start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from ecmo_desktop.fileio import PRIVATE_FILE, atomic_write_text
from ecmo_desktop.i18n import DEFAULT_LANGUAGE, LANGUAGES
from ecmo_desktop.paths import APP_AUTHOR, APP_NAME

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FILE_NAME = "settings.json"
# What wedge scanners are commonly configured to type for the invisible GS (FNC1) separator.
DEFAULT_GS_SUBSTITUTES: tuple[str, ...] = ("<GS>", "{GS}", "^]")
# Keys closer than this (ms) are one scanner burst. Wedge scanners type 1–20 ms apart, people 60–300 ms;
# a slow (Bluetooth, long-cable) scanner may need more, but above ~150 a fast typist's roll looks
# like a scan, so the setting is kept within these bounds.
DEFAULT_BURST_GAP_MS = 40
BURST_GAP_RANGE_MS = (20, 150)


@dataclass(frozen=True)
class Settings:
    language: str = DEFAULT_LANGUAGE  # "zh_CN" | "en"
    camera_index: int = 0
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    last_username: str = ""
    scanner_gs_substitutes: tuple[str, ...] = field(default=DEFAULT_GS_SUBSTITUTES)
    scanner_burst_gap_ms: int = DEFAULT_BURST_GAP_MS

    def with_changes(self, **changes: Any) -> Settings:
        return _validated(replace(self, **changes))


def _validated(s: Settings) -> Settings:
    """Replace each wrong-typed or out-of-range value by its default, one field at a time."""
    d = Settings()
    language = s.language if isinstance(s.language, str) and s.language in LANGUAGES else d.language
    camera = (
        s.camera_index
        if isinstance(s.camera_index, int)
        and not isinstance(s.camera_index, bool)
        and 0 <= s.camera_index <= 16
        else d.camera_index
    )
    geometry = (
        s.window_geometry
        if isinstance(s.window_geometry, str) and len(s.window_geometry) < 10_000
        else d.window_geometry
    )
    username = (
        s.last_username
        if isinstance(s.last_username, str) and len(s.last_username) <= 64
        else d.last_username
    )
    subs = s.scanner_gs_substitutes
    if isinstance(subs, (list, tuple)) and all(isinstance(x, str) and 0 < len(x) <= 16 for x in subs):
        subs = tuple(subs)
    else:
        subs = d.scanner_gs_substitutes
    low, high = BURST_GAP_RANGE_MS
    gap = (
        s.scanner_burst_gap_ms
        if isinstance(s.scanner_burst_gap_ms, int)
        and not isinstance(s.scanner_burst_gap_ms, bool)
        and low <= s.scanner_burst_gap_ms <= high
        else d.scanner_burst_gap_ms
    )
    return Settings(
        language=language,
        camera_index=camera,
        window_geometry=geometry,
        last_username=username,
        scanner_gs_substitutes=subs,
        scanner_burst_gap_ms=gap,
    )


def config_dir() -> Path:
    override = os.environ.get("ECMO_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


class SettingsStore:
    """Load and save ``Settings``; writes are atomic (temp file + rename) so a crash keeps the old file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / FILE_NAME

    def load(self) -> Settings:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Settings()
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self._set_aside(f"unreadable settings file ({exc})")
            return Settings()
        if not isinstance(raw, dict):
            self._set_aside("settings file is not a JSON object")
            return Settings()
        version = raw.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            # a newer program wrote it: read what we know, but never overwrite it with less
            log.warning(
                "settings schema version %r is not %d; reading known keys only", version, SCHEMA_VERSION
            )
        known = {f.name for f in fields(Settings)}
        values = {k: v for k, v in raw.items() if k in known}
        try:
            return _validated(Settings(**values))
        except TypeError:
            return Settings()

    def save(self, settings: Settings) -> None:
        data = self._foreign_keys()
        data.update(asdict(_validated(settings)))
        data["scanner_gs_substitutes"] = list(data["scanner_gs_substitutes"])
        data["schema_version"] = max(SCHEMA_VERSION, int(data.get("schema_version") or 0))
        atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, indent=2), mode=PRIVATE_FILE)

    def update(self, **changes: Any) -> Settings:
        """Load, change some fields, save; returns the saved settings."""
        settings = self.load().with_changes(**changes)
        try:
            self.save(settings)
        except OSError as exc:  # a read-only profile must not stop the ward working
            log.warning("could not save settings to %s: %s", self.path, exc)
        return settings

    def _foreign_keys(self) -> dict[str, Any]:
        """Keys a newer program wrote (and its version number), kept so saving does not erase them."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return {}
        if not isinstance(raw, dict):
            return {}
        known = {f.name for f in fields(Settings)}
        kept = {k: v for k, v in raw.items() if k not in known}
        if not isinstance(kept.get("schema_version"), int):
            kept.pop("schema_version", None)
        return kept

    def _set_aside(self, why: str) -> None:
        log.warning("%s: %s; using defaults", self.path, why)
        with contextlib.suppress(OSError):
            self.path.replace(self.path.with_name(self.path.name + ".damaged"))
