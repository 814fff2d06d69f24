"""Capital equipment (consoles, heater-coolers): reusable, tracked by serial, linked to runs over time.

Unlike single-use devices (``services/devices.py``), a console serves many runs one after another;
what matters is which run it served from when to when, so a fault can be traced to every patient.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ecmo_desktop.domain.devices import Equipment, EquipmentInput, EquipmentLink
from ecmo_desktop.domain.enums import EquipmentKind
from ecmo_desktop.domain.errors import FieldError, IntegrityConflict, ValidationError
from ecmo_desktop.domain.time import format_local, to_local
from ecmo_desktop.domain.validation import clean_text
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.base import Service, diff, snapshot
from ecmo_desktop.services.devices import CLOSED_RUN_STATUSES
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork

# the unique serial index as each backend names it in the violation
EQUIPMENT_SERIAL_CONSTRAINTS = frozenset({"uq_equipment_serial", "equipment.hospital_id, equipment.serial"})


class EquipmentService(Service):
    """Capital equipment (consoles, heater-coolers): reusable, tracked by serial, linked to runs."""

    def _clean(self, data: EquipmentInput) -> dict[str, Any]:
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        if data.kind not in EquipmentKind._value2member_map_:
            errors.append(FieldError(N_("设备类型"), N_("请选择")))
        values["kind"] = data.kind
        for key, label, limit, required in (
            ("model", N_("型号"), 100, True),
            ("serial", N_("序列号"), 60, True),
            ("manufacturer", N_("生产企业"), 200, False),
        ):
            try:
                values[key] = clean_text(getattr(data, key), label, required=required, max_length=limit)
            except ValidationError as exc:
                errors.extend(exc.errors)
        try:
            values["notes"] = clean_text(data.notes, N_("备注"), max_length=2000, multiline=True)
        except ValidationError as exc:
            errors.extend(exc.errors)
        if data.purchase_date is not None and data.purchase_date > to_local(self.ctx.now()).date():
            errors.append(FieldError(N_("购置日期"), N_("不能晚于今天")))
        values["purchase_date"] = data.purchase_date
        if errors:
            raise ValidationError(errors)
        return values

    def _serial_taken(self, serial: str) -> ValidationError:
        return ValidationError(
            FieldError(N_("序列号"), N_("序列号 {serial} 的设备已登记"), {"serial": serial})
        )

    @requires(Action.VIEW_CASES)
    def list_equipment(self, *, include_inactive: bool = False) -> list[Equipment]:
        """Every device with ``current_run`` set when it serves a run now (read in the same query)."""
        return self._read(lambda uow: uow.devices.list_equipment(include_inactive=include_inactive))

    @requires(Action.MANAGE_CATALOGUE)
    def add_equipment(self, data: EquipmentInput) -> Equipment:
        values = self._clean(data)

        def work(uow: UnitOfWork) -> Equipment:
            hospital = uow.hospitals.local()
            assert hospital is not None
            if uow.devices.equipment_by_serial(hospital.id, values["serial"]) is not None:
                raise self._serial_taken(values["serial"])
            try:
                eq = uow.devices.add_equipment(hospital_id=hospital.id, now=self.ctx.now(), **values)
            except IntegrityConflict as exc:
                if exc.constraint in EQUIPMENT_SERIAL_CONSTRAINTS:
                    raise self._serial_taken(values["serial"]) from exc
                raise
            # the device's record only: ``current_run`` is a list-time view, not a registered fact
            record = {k: v for k, v in snapshot(eq).items() if k != "current_run"}
            self._audit(uow, "create", "equipment", eq.id, after=record)
            uow.commit()
            return eq

        return self._transact(work)

    @requires(Action.MANAGE_CATALOGUE)
    def update_equipment(
        self, equipment_id: int, data: EquipmentInput, *, expected_version: int
    ) -> Equipment:
        values = self._clean(data)

        def work(uow: UnitOfWork) -> Equipment:
            before = uow.devices.get_equipment(equipment_id)
            other = uow.devices.equipment_by_serial(before.hospital_id, values["serial"])
            if other is not None and other.id != equipment_id:
                raise self._serial_taken(values["serial"])
            after = uow.devices.update_equipment(equipment_id, expected_version=expected_version, **values)
            old, new = diff(snapshot(before), snapshot(after))
            self._audit(uow, "update", "equipment", equipment_id, before=old, after=new)
            uow.commit()
            return after

        return self._transact(work)

    @requires(Action.MANAGE_CATALOGUE)
    def set_equipment_active(self, equipment_id: int, active: bool, *, reason: str) -> Equipment:
        """Retire (or bring back) a device; never deleted, so the runs it served stay traceable."""
        why = clean_text(reason, N_("原因"), required=True, max_length=500)

        def work(uow: UnitOfWork) -> Equipment:
            if not active and uow.devices.links(equipment_id=equipment_id, open_only=True):
                raise ValidationError(FieldError(N_("设备"), N_("设备仍在用于 ECMO 病例，请先解除关联")))
            eq = uow.devices.update_equipment(equipment_id, active=active)
            self._audit(
                uow,
                "activate" if active else "deactivate",
                "equipment",
                equipment_id,
                after={"active": active},
                reason=why,
            )
            uow.commit()
            return eq

        return self._transact(work)

    def _moment(self, at: datetime | None, label: str) -> datetime:
        now = self.ctx.now()
        when = at or now
        if when.tzinfo is None or when > now:
            raise ValidationError(FieldError(label, N_("不能晚于当前时间")))
        return when

    @requires(Action.BIND_DEVICE)
    def link_equipment(self, run_id: int, equipment_id: int, *, at: datetime | None = None) -> EquipmentLink:
        """This console / heater-cooler serves the run from ``at`` (default now)."""
        when = self._moment(at, N_("开始时间"))
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> EquipmentLink:
            run = uow.runs.get(run_id)
            if run.status in CLOSED_RUN_STATUSES:
                raise ValidationError(FieldError(N_("ECMO 病例"), N_("该 ECMO 病例已结束，不能再关联设备")))
            eq = uow.devices.get_equipment(equipment_id)
            if not eq.active:
                raise ValidationError(
                    FieldError(N_("设备"), N_("设备 {serial} 已停用"), {"serial": eq.serial})
                )
            for open_link in uow.devices.links(equipment_id=equipment_id, open_only=True):
                if open_link.run_id == run_id:
                    raise ValidationError(FieldError(N_("设备"), N_("该设备已关联到本病例")))
                raise ValidationError(
                    FieldError(
                        N_("设备"),
                        N_("设备 {serial} 正在用于患者 {patient}（住院号 {mrn}），请先解除关联"),
                        {"serial": eq.serial, "patient": open_link.patient_name, "mrn": open_link.mrn},
                    )
                )
            link = uow.devices.add_link(
                run_id=run_id, equipment_id=equipment_id, from_at=when, linked_by_id=user.id
            )
            self._audit(
                uow,
                "link",
                "run_equipment",
                link.id,
                run_id=run_id,
                patient_id=run.patient_id,
                after={"equipment_id": equipment_id, "serial": eq.serial, "from_at": when},
            )
            uow.commit()
            return link

        return self._transact(work)

    @requires(Action.BIND_DEVICE)
    def unlink_equipment(
        self, link_id: int, *, at: datetime | None = None, reason: str = ""
    ) -> EquipmentLink:
        """The device stops serving the run at ``at`` (default now); the link is kept with its times."""
        when = self._moment(at, N_("结束时间"))
        why = clean_text(reason, N_("原因"), max_length=500)

        def work(uow: UnitOfWork) -> EquipmentLink:
            link = uow.devices.get_link(link_id)
            if link.to_at is not None:
                raise ValidationError(
                    FieldError(N_("设备"), N_("该关联已于 {when} 结束"), {"when": format_local(link.to_at)})
                )
            if when < link.from_at:
                raise ValidationError(FieldError(N_("结束时间"), N_("不能早于开始时间")))
            ended = uow.devices.end_link(link_id, to_at=when)
            run = uow.runs.get(link.run_id)
            self._audit(
                uow,
                "unlink",
                "run_equipment",
                link_id,
                run_id=run.id,
                patient_id=run.patient_id,
                before={"to_at": None},
                after={"to_at": when},
                reason=why or None,
            )
            uow.commit()
            return ended

        return self._transact(work)

    @requires(Action.VIEW_CASES)
    def run_equipment(self, run_id: int) -> list[EquipmentLink]:
        return self._read(lambda uow: uow.devices.links(run_id=run_id))

    @requires(Action.TRACE)
    def equipment_history(self, equipment_id: int) -> list[EquipmentLink]:
        """Every run the device served, with patient and times."""
        return self._read(lambda uow: uow.devices.links(equipment_id=equipment_id))
