"""Shared repository helpers."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ecmo_desktop.domain.errors import ConcurrencyConflict, NotFound
from ecmo_desktop.i18n import N_

T = TypeVar("T")


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _get(self, model: type[T], ident: Any, what: str) -> T:
        row = self.session.get(model, ident)
        if row is None:
            raise NotFound(N_("找不到{what}（编号 {id}）"), what=what, id=ident)
        return row

    @staticmethod
    def _check_version(row: Any, expected_version: int | None) -> None:
        """Refuse a save based on an older copy than what is stored (REL-11)."""
        if expected_version is not None and row.version != expected_version:
            raise ConcurrencyConflict()

    @staticmethod
    def _apply(row: Any, fields: dict[str, Any]) -> None:
        for key, value in fields.items():
            if not hasattr(row, key):
                raise AttributeError(f"{type(row).__name__} has no field {key}")
            setattr(row, key, value)
