"""The one staff lookup of the read side: names, titles, expert memberships and privileges.

Records name staff by id; what they print and what R1–R3 count (the name, the title, membership of
the expert group at the decision, an ECMO privilege at the procedure) is looked up here. Each table
is read at most once per unit of work, on first use and whole (a hospital has hundreds of staff, not
thousands), instead of once per row: the record repository, the case loader and the exchange reader
all use this class.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecmo_desktop.domain.case import EXTERNAL_STAFF_PREFIX, StaffRef
from ecmo_desktop.domain.model import ExpertMembership, Privilege
from ecmo_desktop.storage import mapping
from ecmo_desktop.storage.orm.people import ExpertMembershipRow, PrivilegeRow, StaffRow


class StaffDirectory:
    """Staff as records name them, each table loaded lazily once per unit of work."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._staff: dict[int, StaffRef] | None = None
        self._members: dict[int, list[ExpertMembership]] | None = None
        self._privileges: dict[int, list[Privilege]] | None = None

    def _load_staff(self) -> dict[int, StaffRef]:
        if self._staff is None:
            rows = self.session.execute(
                select(StaffRow.id, StaffRow.full_name, StaffRow.title, StaffRow.username_key)
            )
            self._staff = {
                r.id: StaffRef(
                    id=r.id,
                    name=r.full_name,
                    title=r.title,
                    external=r.username_key.startswith(EXTERNAL_STAFF_PREFIX),
                )
                for r in rows
            }
        return self._staff

    def ref(self, staff_id: int) -> StaffRef:
        """The member of staff as stored (an unknown id: no name, title "other")."""
        return self._load_staff().get(staff_id) or StaffRef(id=staff_id, name="", title="other")

    def refs(self, ids: Iterable[int | None]) -> dict[int, StaffRef]:
        """The known members among ``ids`` (None is skipped)."""
        known = self._load_staff()
        return {i: known[i] for i in ids if i is not None and i in known}

    def name(self, staff_id: int | None) -> str:
        """The name to print: an unknown or nameless member shows as ``#id``, never as a blank."""
        if staff_id is None:
            return ""
        return self.ref(staff_id).display_name

    def title(self, staff_id: int | None) -> str:
        return self.ref(staff_id).title if staff_id is not None else ""

    def expert_at(self, staff_id: int, moment: datetime) -> bool:
        """Member of the expert group at ``moment`` (R1/R2 count membership, not the role a form listed)."""
        if self._members is None:
            self._members = {}
            for row in self.session.scalars(select(ExpertMembershipRow)):
                self._members.setdefault(row.staff_id, []).append(mapping.membership(row))
        return any(m.member_at(moment) for m in self._members.get(staff_id, ()))

    def privileged_at(self, staff_id: int, moment: datetime) -> bool:
        """Held a valid ECMO privilege at ``moment`` (R3)."""
        if self._privileges is None:
            self._privileges = {}
            for row in self.session.scalars(select(PrivilegeRow)):
                self._privileges.setdefault(row.staff_id, []).append(mapping.privilege(row))
        return any(p.valid_at(moment) for p in self._privileges.get(staff_id, ()))
