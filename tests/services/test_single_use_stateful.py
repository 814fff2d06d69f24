"""R6 and AUD-1 under random sequences: receive / bind / void / retire / move / close, across runs
and users (Hypothesis ``RuleBasedStateMachine``), on SQLite and PostgreSQL.

Invariants after every step:
* a single-use item is never in use on two runs: at most one binding holds it (not voided, or
  voided after it was used), and every bind verdict is what a model of the ward predicts — an item
  once used (retired, or on a run that closed) is refused everywhere for good;
* every change is in the audit trail: each successful action adds exactly its audit row, each
  refusal its failed-attempt row, and at the end the trail replays onto the device tables exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from ecmo_desktop.domain.devices import VerdictKind
from ecmo_desktop.services.runs import PatientInput, RunInput
from ecmo_desktop.storage.orm.devices import UsageRow
from tests.kit.devices import (  # noqa: F401 - the *_fixture names are fixtures
    LATER,
    OXY_GTIN,
    START,
    WardDB,
    audit_head,
    audit_rows,
    label,
    set_status,
    ward_db_fixture,
)

USERS = ("zhangwei", "chenjing", "liuyang")  # a doctor, a nurse, an attending: all may bind


@dataclass
class Model:
    """What the ward should look like: who holds each item, which items are spent, which runs closed."""

    holder: dict[int, int] = field(default_factory=dict)  # item → usage holding it
    usage_run: dict[int, int] = field(default_factory=dict)
    usage_item: dict[int, int] = field(default_factory=dict)
    retired: set[int] = field(default_factory=set)  # usages
    voided: set[int] = field(default_factory=set)
    spent: set[int] = field(default_factory=set)  # items used for good
    closed: set[int] = field(default_factory=set)  # runs


def make_machine(db: WardDB) -> type[RuleBasedStateMachine]:
    c = db.c
    counter = iter(range(1, 10**9))

    class Ward(RuleBasedStateMachine):
        items = Bundle("items")

        def __init__(self) -> None:
            super().__init__()
            self.model = Model()
            self.runs: list[int] = []
            self.codes: dict[int, str] = {}
            self.tag = f"H{next(db.counter)}"

        @initialize()
        def open_runs(self) -> None:
            db.clock.set(START)
            db.login("zhangwei")
            for i in range(3):
                p = c.runs.register_patient(PatientInput(mrn=f"{self.tag}P{i}", name=f"患者{i}", sex="F"))
                run = c.runs.open_run(p.id, RunInput(mode="VA", indication="ami"))
                set_status(c, run.id, "on_ecmo")
                self.runs.append(run.id)
            db.login("chenjing")
            self.receiving = c.devices.start_receiving(supplier="国药", delivery_note=self.tag)

        def _acting(self, user: str) -> int:
            db.login(user)
            db.clock.advance(timedelta(minutes=7))
            return audit_head(c)

        def _audited(self, since: int, expected: list[tuple[str, bool]]) -> None:
            assert [(e.action, e.success) for e in audit_rows(c, since=since)] == expected

        @precondition(lambda self: len(self.codes) < 3)  # few items, so each is bound, used, moved again
        @rule(target=items)
        def receive(self) -> int:
            since = self._acting("chenjing")  # receiving (入库) is the nurses' job
            code = label(OXY_GTIN, serial=f"{self.tag}S{next(counter)}", lot=f"{self.tag}L", expiry=LATER)
            item = c.devices.receive_scan(self.receiving.id, code).items[0]
            self._audited(since, [("receive", True)])
            self.codes[item.id] = code
            return item.id

        @rule(item=items, run=st.integers(0, 2), user=st.sampled_from(USERS))
        def bind(self, item: int, run: int, user: str) -> None:
            self._bind(item, self.runs[run], user)

        def _bind(self, item: int, run_id: int, user: str) -> None:
            since = self._acting(user)
            verdict = c.devices.bind_scan(run_id, self.codes[item])
            m = self.model
            if run_id in m.closed:
                assert verdict.kind is VerdictKind.RUN_CLOSED
                self._audited(since, [("bind_refused", False)])
            elif item in m.holder or item in m.spent:
                assert verdict.kind is VerdictKind.BLOCKED_REUSED, verdict.kind
                self._audited(since, [("bind_refused", False)])
            else:
                assert verdict.kind is VerdictKind.BOUND and verdict.usage is not None, verdict.kind
                self._audited(since, [("bind", True)])
                m.holder[item] = verdict.usage.id
                m.usage_run[verdict.usage.id] = run_id
                m.usage_item[verdict.usage.id] = item

        def _live_usages(self) -> list[int]:
            return sorted(u for u in self.model.usage_item if u not in self.model.voided)

        @rule(data=st.data(), user=st.sampled_from(USERS))
        def void(self, data: st.DataObject, user: str) -> None:
            live = self._live_usages()
            if not live:
                return
            usage = data.draw(st.sampled_from(live))
            self._void(usage, user)

        def _void(self, usage: int, user: str) -> None:
            m = self.model
            since = self._acting(user)
            c.devices.void_usage(usage, "记录有误")
            self._audited(since, [("void", True)])
            m.voided.add(usage)
            item = m.usage_item[usage]
            if usage in m.retired or m.usage_run[usage] in m.closed:
                m.spent.add(item)  # used: voiding corrects the record, the item stays used
            if m.holder.get(item) == usage:
                del m.holder[item]

        @rule(data=st.data(), user=st.sampled_from(USERS))
        def retire(self, data: st.DataObject, user: str) -> None:
            live = [u for u in self._live_usages() if u not in self.model.retired]
            if not live:
                return
            usage = data.draw(st.sampled_from(live))
            since = self._acting(user)
            c.devices.retire_usage(usage, "更换管路")
            self._audited(since, [("retire", True)])
            self.model.retired.add(usage)
            self.model.spent.add(self.model.usage_item[usage])

        @rule(data=st.data(), to=st.integers(0, 2), user=st.sampled_from(USERS))
        def move(self, data: st.DataObject, to: int, user: str) -> None:
            """A scan made on the wrong patient is moved: void it, scan it on the right run."""
            live = self._live_usages()
            if not live:
                return
            usage = data.draw(st.sampled_from(live))
            item = self.model.usage_item[usage]
            self._void(usage, user)
            self._bind(item, self.runs[to], user)

        @precondition(lambda self: len(self.model.closed) < 2)  # one run stays open to bind to
        @rule(run=st.integers(0, 2))
        def close(self, run: int) -> None:
            run_id = self.runs[run]
            if run_id in self.model.closed:
                return
            set_status(c, run_id, "ended")  # the run's end belongs to the records workflow
            self.model.closed.add(run_id)
            for usage, r in self.model.usage_run.items():
                if r == run_id and usage not in self.model.voided:
                    self.model.spent.add(self.model.usage_item[usage])

        @invariant()
        def never_in_use_on_two_runs(self) -> None:
            if not self.codes:
                return
            with c.uow(write=False) as uow:
                rows = uow.session.execute(
                    select(UsageRow.item_id, func.count(func.distinct(UsageRow.run_id)))
                    .where(
                        UsageRow.item_id.in_(list(self.codes)),
                        UsageRow.single_use,
                        (UsageRow.voided_at.is_(None)) | UsageRow.item_spent,
                    )
                    .group_by(UsageRow.item_id)
                ).all()
            assert all(n <= 1 for _item, n in rows), rows

        def teardown(self) -> None:
            if not self.codes:
                return
            db.login("admin")
            mine = {"device_item": set(self.codes), "device_usage": set(self.model.usage_item)}
            problems = [p for p in c.audit.verify_record().trail if p.row_id in mine.get(p.table, ())]
            assert problems == []

    return Ward


def test_single_use_items_are_never_in_use_on_two_runs(ward_db: WardDB) -> None:
    machine = make_machine(ward_db)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
