"""Registering patients, opening ECMO runs and finding them again (the case list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from ecmo_desktop.domain.enums import Indication, Mode, RunStatus, Sex
from ecmo_desktop.domain.errors import FieldError, IntegrityConflict, ValidationError
from ecmo_desktop.domain.model import Hospital, Patient, Run, RunListItem
from ecmo_desktop.domain.validation import HEIGHT, WEIGHT, check_birth_date, clean_mrn, clean_text
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.base import Service
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import RunQuery, UnitOfWork


@dataclass(frozen=True)
class PatientInput:
    mrn: str
    name: str
    sex: str
    birth_date: date | None = None
    height_cm: str | float | None = None
    weight_kg: str | float | None = None
    ward: str = ""
    bed: str = ""


@dataclass(frozen=True)
class RunInput:
    mode: str
    indication: str
    indication_other: str = ""
    ecpr: bool = False
    emergency: bool = False
    diagnosis: str = ""
    attending_id: int | None = None


@dataclass(frozen=True)
class RunDetail:
    run: Run
    patient: Patient
    hospital: Hospital


def _choice(value: str, enum: type[Enum], field: str) -> str:
    if value not in enum._value2member_map_:
        raise ValidationError(FieldError(field, N_("请选择")))
    return value


class RunService(Service):
    def _clean_patient(self, data: PatientInput) -> dict[str, object]:
        errors: list[FieldError] = []
        values: dict[str, object] = {}
        for key, fn in (
            ("mrn", lambda: clean_mrn(data.mrn)),
            ("name", lambda: clean_text(data.name, N_("姓名"), required=True, max_length=100)),
            ("sex", lambda: _choice(data.sex, Sex, N_("性别"))),
            ("height_cm", lambda: HEIGHT.parse(data.height_cm)),
            ("weight_kg", lambda: WEIGHT.parse(data.weight_kg)),
            ("ward", lambda: clean_text(data.ward, N_("病区"), max_length=60)),
            ("bed", lambda: clean_text(data.bed, N_("床号"), max_length=20)),
        ):
            try:
                values[key] = fn()
            except ValidationError as exc:
                errors.extend(exc.errors)
        try:
            check_birth_date(data.birth_date, self.ctx.now().date())
        except ValidationError as exc:
            errors.extend(exc.errors)
        if errors:
            raise ValidationError(errors)
        values["birth_date"] = data.birth_date
        return values

    @requires(Action.REGISTER_PATIENT)
    def register_patient(self, data: PatientInput) -> Patient:
        values = self._clean_patient(data)
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> Patient:
            hospital = uow.hospitals.local()
            assert hospital is not None
            if uow.patients.by_mrn(hospital.id, str(values["mrn"])) is not None:
                raise ValidationError(
                    FieldError(N_("住院号"), N_("住院号 {mrn} 已登记"), {"mrn": values["mrn"]})
                )
            try:
                patient = uow.patients.add(
                    hospital_id=hospital.id,
                    age_years=None,
                    now=self.ctx.now(),
                    created_by_id=user.id,
                    **values,  # type: ignore[arg-type]
                )
            except IntegrityConflict as exc:
                raise ValidationError(
                    FieldError(N_("住院号"), N_("住院号 {mrn} 已登记"), {"mrn": values["mrn"]})
                ) from exc
            self._audit(uow, "create", "patient", patient.id, after=patient, patient_id=patient.id)
            uow.commit()
            return patient

        return self._transact(work)

    @requires(Action.REGISTER_PATIENT)
    def update_patient(self, patient_id: int, data: PatientInput, *, expected_version: int) -> Patient:
        values = self._clean_patient(data)

        def work(uow: UnitOfWork) -> Patient:
            before = uow.patients.get(patient_id)
            after = uow.patients.update(patient_id, expected_version=expected_version, **values)
            self._audit(
                uow, "update", "patient", patient_id, before=before, after=after, patient_id=patient_id
            )
            uow.commit()
            return after

        return self._transact(work)

    @requires(Action.VIEW_CASES)
    def find_patient(self, mrn: str) -> Patient | None:
        key = clean_mrn(mrn)

        def work(uow: UnitOfWork) -> Patient | None:
            hospital = uow.hospitals.local()
            return uow.patients.by_mrn(hospital.id, key) if hospital else None

        return self._read(work)

    @requires(Action.OPEN_RUN)
    def open_run(self, patient_id: int, data: RunInput) -> Run:
        """A new ECMO run for a registered patient, waiting for its decision record."""
        errors: list[FieldError] = []
        for value, enum, field in (
            (data.mode, Mode, N_("模式")),
            (data.indication, Indication, N_("适应证")),
        ):
            try:
                _choice(value, enum, field)
            except ValidationError as exc:
                errors.extend(exc.errors)
        other = ""
        try:
            other = clean_text(
                data.indication_other,
                N_("其他适应证"),
                max_length=200,
                required=data.indication == Indication.OTHER.value,
            )
            diagnosis = clean_text(data.diagnosis, N_("诊断"), max_length=2000, multiline=True)
        except ValidationError as exc:
            errors.extend(exc.errors)
            diagnosis = ""
        if errors:
            raise ValidationError(errors)
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> Run:
            patient = uow.patients.get(patient_id)
            previous = uow.runs.for_patient(patient_id)
            active = [r for r in previous if r.status in (RunStatus.PLANNED.value, RunStatus.ON_ECMO.value)]
            if active:
                raise ValidationError(
                    FieldError(
                        N_("ECMO 病例"),
                        N_("该患者已有进行中的 ECMO 病例（第 {n} 次）"),
                        {"n": active[-1].run_number},
                    )
                )
            run = uow.runs.add(
                hospital_id=patient.hospital_id,
                patient_id=patient_id,
                run_number=len(previous) + 1,
                mode=data.mode,
                ecpr=data.ecpr,
                indication=data.indication,
                indication_other=other,
                diagnosis=diagnosis,
                status=RunStatus.PLANNED.value,
                emergency=data.emergency,
                attending_id=data.attending_id or user.id,
                ward=patient.ward,
                bed=patient.bed,
                created_at=self.ctx.now(),
                created_by_id=user.id,
                source="app",
            )
            self._audit(uow, "create", "ecmo_run", run.id, after=run, run_id=run.id, patient_id=patient_id)
            uow.commit()
            return run

        return self._transact(work)

    @requires(Action.VIEW_CASES)
    def search_runs(
        self,
        text: str = "",
        *,
        statuses: tuple[str, ...] = (),
        offset: int = 0,
        limit: int = 200,
        before_id: int | None = None,
    ) -> list[RunListItem]:
        """Newest first; ``before_id`` (the last run id shown) fetches the next page by key, as fast
        at the end of 50,000 runs as at the start."""
        query = RunQuery(text=(text or "")[:100], statuses=statuses)
        return self._read(
            lambda uow: uow.runs.search(
                query, offset=offset, limit=max(1, min(limit, 1000)), before_id=before_id
            )
        )

    @requires(Action.VIEW_CASES)
    def count_runs(self, text: str = "", *, statuses: tuple[str, ...] = ()) -> int:
        query = RunQuery(text=(text or "")[:100], statuses=statuses)
        return self._read(lambda uow: uow.runs.count(query))

    @requires(Action.VIEW_CASES)
    def run_detail(self, run_id: int) -> RunDetail:
        def work(uow: UnitOfWork) -> RunDetail:
            run = uow.runs.get(run_id)
            return RunDetail(run, uow.patients.get(run.patient_id), uow.hospitals.get(run.hospital_id))

        return self._read(work)

    @requires(Action.VIEW_CASES)
    def hospital(self) -> Hospital | None:
        return self._read(lambda uow: uow.hospitals.local())
