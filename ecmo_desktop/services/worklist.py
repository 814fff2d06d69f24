"""The ward's to-do list across runs: every kind of task counted, each kind paged, most urgent first.

What is due is computed from the records and the injected clock (today = the Beijing calendar day):
R2 supplements counting down or overdue, consent missing, no daily entry today, follow-ups due or
overdue, records waiting for a signature, and — for catalogue administrators — bedside requests to add
a product the catalogue lacks. The counts and the pages are SQL over the whole ward
(``storage/repositories/worklist.py``): nothing is capped, a group says how many it has and pages by
key (a ``WorkKey``), so the last item of 5,000 is reached like the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time

from ecmo_desktop.domain.enums import FollowUpKind
from ecmo_desktop.domain.records import ENTITY_LABELS, WORK_URGENCY, WorkItem, WorkKind
from ecmo_desktop.domain.time import BEIJING
from ecmo_desktop.domain.worklist import KIND_ORDER, WorkFilter, WorkKey, WorkRow
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.base import Service
from ecmo_desktop.services.permissions import Action, allowed, requires
from ecmo_desktop.services.ports import UnitOfWork

PAGE = 50  # items per page of a group (the home page shows the first page of each)
MAX_PAGE = 1000  # a page is bounded; a caller wanting more pages on
KIND_TITLES: dict[str, str] = {  # a group's heading (home page, CLI)
    WorkKind.SUPPLEMENT_OVERDUE.value: N_("紧急上机后 12 小时补充决策已超时（R2）"),
    WorkKind.SUPPLEMENT_DUE.value: N_("紧急上机：待补充多学科决策（R2）"),
    WorkKind.MISSING_CONSENT.value: N_("知情同意未记录（R4）"),
    WorkKind.NO_DAILY_TODAY.value: N_("今日尚无日常管理记录"),
    WorkKind.FOLLOW_UP_OVERDUE.value: N_("随访已逾期（R9）"),
    WorkKind.UNSIGNED_RECORD.value: N_("待签名的记录"),
    WorkKind.FOLLOW_UP_DUE.value: N_("随访到期"),
    WorkKind.PRODUCT_REQUEST.value: N_("床旁请求添加到器械目录的产品"),
}


@dataclass(frozen=True)
class WorkPage:
    """Items of one kind, in order, with the kind's full count and the key to continue after them."""

    kind: str
    items: tuple[WorkItem, ...]
    total: int
    next_after: WorkKey | None  # None: this page holds the group's last item
    as_of: datetime  # the instant "due" was judged at; pass it back to page on consistently


@dataclass(frozen=True)
class WorkOverview:
    """Every kind's true count and the first page of each non-empty kind, judged at one instant."""

    counts: dict[str, int]  # kind → count, in the on-screen order (urgency), empty kinds left out
    pages: dict[str, WorkPage]
    as_of: datetime

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class WorklistService(Service):
    def _filter(self, *, mine_only: bool, as_of: datetime | None) -> WorkFilter:
        user = self.ctx.require_user()
        return WorkFilter.at(
            as_of or self.ctx.now(),
            owner_id=user.id if mine_only else None,
            product_requests=allowed(Action.MANAGE_CATALOGUE, user.roles),
        )

    @requires(Action.VIEW_CASES)
    def counts(self, *, mine_only: bool = False, as_of: datetime | None = None) -> dict[str, int]:
        """How many items of each kind are due, for the whole ward (empty kinds left out), most urgent
        kind first. ``mine_only`` keeps the unsigned records to those the logged-in user wrote."""
        work = self._filter(mine_only=mine_only, as_of=as_of)
        return self._read(lambda uow: _ordered(uow.records.work_counts(work)))

    @requires(Action.VIEW_CASES)
    def overview(
        self,
        *,
        mine_only: bool = False,
        limit: int = PAGE,
        limits: Mapping[str, int] | None = None,
        as_of: datetime | None = None,
    ) -> WorkOverview:
        """The home page's first screen: the counts and the first ``limit`` items of every kind (or
        ``limits[kind]`` items, so a refresh keeps what the user had paged open), in one read."""
        work = self._filter(mine_only=mine_only, as_of=as_of)

        def read(uow: UnitOfWork) -> WorkOverview:
            counts = _ordered(uow.records.work_counts(work))
            pages = {
                kind: self._page(uow, kind, work, total, None, _bounded((limits or {}).get(kind, limit)))
                for kind, total in counts.items()
            }
            return WorkOverview(counts, pages, work.now)

        return self._read(read)

    @requires(Action.VIEW_CASES)
    def page(
        self,
        kind: str,
        *,
        after: WorkKey | None = None,
        limit: int = PAGE,
        mine_only: bool = False,
        as_of: datetime | None = None,
    ) -> WorkPage:
        """The items of one kind following ``after`` (the previous page's ``next_after``), at most
        ``limit`` (bounded by ``MAX_PAGE``), with the kind's count judged at the same instant."""
        work = self._filter(mine_only=mine_only, as_of=as_of)

        def read(uow: UnitOfWork) -> WorkPage:
            total = uow.records.work_counts(work, [kind]).get(kind, 0)
            return self._page(uow, kind, work, total, after, _bounded(limit))

        return self._read(read)

    @requires(Action.VIEW_CASES)
    def items(self, *, mine_only: bool = False) -> list[WorkItem]:
        """Every item due, most urgent first, paged through to the end (the CLI's ``--all`` and tests;
        the screens page by kind instead)."""
        out: list[WorkItem] = []
        as_of = self.ctx.now()
        for kind in self.counts(mine_only=mine_only, as_of=as_of):
            after: WorkKey | None = None
            while True:
                page = self.page(kind, after=after, limit=MAX_PAGE, mine_only=mine_only, as_of=as_of)
                out.extend(page.items)
                if page.next_after is None:
                    break
                after = page.next_after
        return out

    def _page(
        self, uow: UnitOfWork, kind: str, work: WorkFilter, total: int, after: WorkKey | None, limit: int
    ) -> WorkPage:
        rows = uow.records.work_page(kind, work, after=after, limit=limit + 1)  # one more: is there a next?
        more = len(rows) > limit
        rows = rows[:limit]
        items = tuple(_item(r, work) for r in rows)
        return WorkPage(kind, items, total, rows[-1].key if more and rows else None, work.now)


def _bounded(limit: int) -> int:
    return max(1, min(int(limit), MAX_PAGE))


def _ordered(counts: dict[str, int]) -> dict[str, int]:
    return {k: counts[k] for k in KIND_ORDER if counts.get(k)}


def _item(r: WorkRow, work: WorkFilter) -> WorkItem:
    """The message of one stored row, as the screens and the CLI show it."""
    kind = WorkKind(r.kind)
    params: dict[str, object] = {}
    remaining = None
    if kind in (WorkKind.SUPPLEMENT_OVERDUE, WorkKind.SUPPLEMENT_DUE):
        assert r.due_at is not None
        remaining = r.due_at - work.now
        minutes = int(abs(remaining.total_seconds()) // 60)
        params = {"hours": minutes // 60, "minutes": minutes % 60}
        message = (
            N_("紧急上机后 12 小时内补充多学科决策已超时 {hours} 小时 {minutes} 分钟")
            if kind == WorkKind.SUPPLEMENT_OVERDUE
            else N_("紧急上机：须在 {hours} 小时 {minutes} 分钟内补充多学科决策")
        )
    elif kind == WorkKind.MISSING_CONSENT:
        if r.run_status == "planned" and not r.detail.get("emergency"):
            message = N_("上机前须签署知情同意书")
        elif r.run_status == "planned":  # an emergency being prepared: every PC should see it
            message = N_("紧急上机准备中：尽可能在上机前签署知情同意；来不及时按紧急程序审批，上机后补记")
        else:
            message = N_("紧急上机后尚未补记知情同意")
    elif kind == WorkKind.NO_DAILY_TODAY:
        message = N_("今日（{date}）尚无日常管理记录")
        params = {"date": work.today.isoformat()}
        remaining = work.end_of_today - work.now
    elif kind in (WorkKind.FOLLOW_UP_OVERDUE, WorkKind.FOLLOW_UP_DUE):
        due_date = r.detail["due_date"]
        params = {"kind": FollowUpKind(r.detail["fu_kind"]).label, "date": due_date.isoformat()}
        message = (
            N_("{kind}随访逾期（应于 {date}）")
            if kind == WorkKind.FOLLOW_UP_OVERDUE
            else N_("{kind}随访（应于 {date}）")
        )
        due_at = datetime.combine(due_date, time(0), BEIJING)
        return WorkItem(
            kind=kind.value,
            urgency=WORK_URGENCY[kind],
            run_id=r.run_id,
            mrn=r.mrn,
            patient_name=r.patient_name,
            ward=r.ward,
            bed=r.bed,
            message=message,
            params=params,
            due_at=due_at,
            remaining=due_at - work.now,
            entity=r.entity,
            entity_id=r.entity_id,
        )
    elif kind == WorkKind.UNSIGNED_RECORD:
        message = N_("{what}未签名")
        params = {"what": _(ENTITY_LABELS.get(r.entity or "", r.entity or ""))}
    else:  # a bedside request to add a product to the catalogue
        message = N_("{who} 床旁扫码：目录中没有产品 {di}，请添加到器械目录或说明不予添加")
        params = {"who": r.detail.get("who", ""), "di": r.detail.get("di", "")}
    return WorkItem(
        kind=kind.value,
        urgency=WORK_URGENCY[kind],
        run_id=r.run_id,
        mrn=r.mrn,
        patient_name=r.patient_name,
        ward=r.ward,
        bed=r.bed,
        message=message,
        params=params,
        due_at=r.due_at,
        remaining=remaining,
        entity=r.entity,
        entity_id=r.entity_id,
        owner_id=r.owner_id,
    )
