"""ECMO runs and the case list query (paged: it must stay instant with 50,000 runs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, or_, select

from ecmo_desktop.domain.model import Run, RunListItem
from ecmo_desktop.services.ports import RunQuery
from ecmo_desktop.storage import mapping
from ecmo_desktop.storage.orm.people import PatientRow
from ecmo_desktop.storage.orm.runs import RunRow
from ecmo_desktop.storage.repositories.base import Repository

Ts = TypeVarTuple("Ts")  # the columns of a statement the search filters add conditions to


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlRunRepository(Repository):
    def get(self, run_id: int) -> Run:
        return mapping.run(self._get(RunRow, run_id, "ECMO 病例"))

    def add(self, **fields: Any) -> Run:
        row = RunRow(**fields)
        self.session.add(row)
        self.session.flush()
        return mapping.run(row)

    def update(self, run_id: int, *, expected_version: int | None = None, **fields: Any) -> Run:
        row = self._get(RunRow, run_id, "ECMO 病例")
        self._check_version(row, expected_version)
        self._apply(row, fields)
        self.session.flush()
        return mapping.run(row)

    def for_patient(self, patient_id: int) -> list[Run]:
        rows = self.session.scalars(select(RunRow).where(RunRow.patient_id == patient_id).order_by(RunRow.id))
        return [mapping.run(r) for r in rows]

    def find_natural(self, hospital_id: int, patient_id: int, started_at: datetime) -> Run | None:
        row = self.session.scalars(
            select(RunRow).where(
                RunRow.hospital_id == hospital_id,
                RunRow.patient_id == patient_id,
                RunRow.started_at == started_at,
            )
        ).first()
        return mapping.run(row) if row else None

    def _filtered(self, stmt: Select[*Ts], query: RunQuery) -> Select[*Ts]:
        text = query.text.strip()
        if text:
            like = _escape_like(text)
            stmt = stmt.where(
                or_(
                    PatientRow.mrn.like(like + "%", escape="\\"),
                    PatientRow.name.like("%" + like + "%", escape="\\"),
                )
            )
        if query.statuses:
            stmt = stmt.where(RunRow.status.in_(query.statuses))
        if query.started_from is not None:
            stmt = stmt.where(RunRow.started_at >= query.started_from)
        if query.started_to is not None:
            stmt = stmt.where(RunRow.started_at < query.started_to)
        return stmt

    def search(
        self, query: RunQuery, *, offset: int = 0, limit: int, before_id: int | None = None
    ) -> list[RunListItem]:
        """One page of the case list, newest first.

        ``before_id`` (the last run id already shown) pages by key: the index on the primary key
        starts right there, so the last page of 50,000 runs costs what the first does. ``offset``
        stays for callers that need a position, but it reads and discards every row before it.
        """
        stmt = select(
            RunRow.id,
            RunRow.patient_id,
            PatientRow.mrn,
            PatientRow.name,
            PatientRow.sex,
            PatientRow.birth_date,
            PatientRow.age_years,
            RunRow.mode,
            RunRow.status,
            RunRow.started_at,
            RunRow.ended_at,
            RunRow.ward,
            RunRow.bed,
            RunRow.created_at,
            RunRow.run_number,
        ).join(PatientRow, PatientRow.id == RunRow.patient_id)
        stmt = self._filtered(stmt, query)
        if before_id is not None:
            stmt = stmt.where(RunRow.id < before_id)
        stmt = stmt.order_by(RunRow.id.desc()).limit(limit)
        if offset:
            stmt = stmt.offset(offset)
        items: list[RunListItem] = []
        for r in self.session.execute(stmt):
            ref = r.started_at or r.created_at
            age = r.age_years
            if r.birth_date is not None:
                age = (
                    ref.year
                    - r.birth_date.year
                    - ((ref.month, ref.day) < (r.birth_date.month, r.birth_date.day))
                )
            items.append(
                RunListItem(
                    run_id=r.id,
                    patient_id=r.patient_id,
                    mrn=r.mrn,
                    patient_name=r.name,
                    sex=r.sex,
                    age=age,
                    mode=r.mode,
                    status=r.status,
                    started_at=r.started_at,
                    ended_at=r.ended_at,
                    ward=r.ward,
                    bed=r.bed,
                    created_at=r.created_at,
                    run_number=r.run_number,
                )
            )
        return items

    def count(self, query: RunQuery) -> int:
        stmt = select(func.count(RunRow.id)).join(PatientRow, PatientRow.id == RunRow.patient_id)
        return int(self.session.scalar(self._filtered(stmt, query)) or 0)
