"""Unsaved input sealed per user when the screen is taken over by someone else (ACC-5).

Drafts live only in memory for this app session, keyed by the user id that typed them: another
user never sees them, and the author gets them back (the dialog reopens filled in) on logging in
again. Nothing clinical is ever written to disk outside the database.
"""

from __future__ import annotations

from typing import Any

Draft = dict[str, Any]


class DraftStore:
    def __init__(self) -> None:
        self._by_user: dict[int, dict[str, Draft]] = {}

    def put(self, user_id: int, key: str, data: Draft) -> None:
        self._by_user.setdefault(user_id, {})[key] = dict(data)

    def take(self, user_id: int) -> dict[str, Draft]:
        """Hand the user's drafts back and forget them (each is restored once)."""
        return self._by_user.pop(user_id, {})

    def has(self, user_id: int) -> bool:
        return bool(self._by_user.get(user_id))

    def users(self) -> set[int]:
        return set(self._by_user)


class DraftCapable:
    """Mixin for dialogs whose typed input can be captured as a draft and restored later.

    ``draft_key`` names the dialog kind; the main window knows how to reopen each kind.
    Subclasses implement both methods (a plain mixin: Qt's metaclass rules out ``abc``).
    """

    draft_key = ""

    def draft(self) -> Draft:
        raise TypeError(f"{type(self).__name__} must define draft()")

    def restore_draft(self, data: Draft) -> None:
        raise TypeError(f"{type(self).__name__} must define restore_draft()")
