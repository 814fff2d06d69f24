"""The worklist counts every kind for the whole ward and pages each kind by key (issue 15: no silent caps).

More items than one page in several kinds, some kinds split into segments (missing consent: emergency
runs already on ECMO first, then runs waiting to start): the counts are exact, and paging with a small
page reaches every item exactly once, in the order of ``items()``.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ecmo_desktop.domain.errors import NotAuthenticated
from ecmo_desktop.domain.records import WorkItem
from ecmo_desktop.domain.worklist import KIND_ORDER, WorkKey
from tests.conftest import Seeded
from tests.kit.records import START
from tests.services.test_records_worklist import _ward


def _page_through(c, kind: str, limit: int, **kw) -> tuple[list[WorkItem], list[int]]:  # type: ignore[no-untyped-def]
    items: list[WorkItem] = []
    totals: list[int] = []
    after: WorkKey | None = None
    as_of = c.ctx.now()
    for _ in range(1000):
        page = c.worklist.page(kind, after=after, limit=limit, as_of=as_of, **kw)
        assert len(page.items) <= limit
        items.extend(page.items)
        totals.append(page.total)
        if page.next_after is None:
            return items, totals
        assert len(page.items) == limit  # only a full page can have a next one
        after = page.next_after
    raise AssertionError("paging never ended")


def test_counts_are_exact_and_paging_reaches_every_item_once(seeded: Seeded) -> None:
    rw = _ward(seeded)
    clock = rw.clock
    now = START + timedelta(days=60)
    clock.set(now)
    on_ecmo = [rw.on_ecmo(at=now - timedelta(hours=3, minutes=-i)) for i in range(3)]
    emergency = [rw.on_ecmo(emergency=True, at=now - timedelta(hours=2, minutes=i)) for i in range(2)]
    planned = [rw.new_run() for _ in range(9)] + [rw.new_run(emergency=True) for _ in range(2)]

    c = rw.c
    counts = c.worklist.counts()
    expected_consent = {r.id for r in emergency} | {r.id for r in planned}
    expected_daily = {r.id for r in on_ecmo + emergency}
    # every on-ECMO run has its decision and procedure unsigned, the planned ones their consent too
    assert counts == {
        "supplement_due": 2,
        "missing_consent": len(expected_consent),
        "no_daily_today": len(expected_daily),
        "unsigned_record": 3 * 3 + 2 * 2,
    }
    assert list(counts) == [k for k in KIND_ORDER if k in counts]  # most urgent kind first

    everything = c.worklist.items()
    assert len(everything) == sum(counts.values())
    for limit in (1, 3, 4):
        for kind, count in counts.items():
            items, totals = _page_through(c, kind, limit)
            assert set(totals) == {count}  # every page says how many there are
            assert len(items) == count
            keys = [(i.run_id, i.entity, i.entity_id) for i in items]
            assert len(set(keys)) == count  # none twice
            assert items == [i for i in everything if i.kind == kind]  # the same order as the whole list
    consent = [i for i in everything if i.kind == "missing_consent"]
    assert {i.run_id for i in consent} == expected_consent
    # the emergency runs already on ECMO come first, by start time; then the runs waiting to start
    assert [i.run_id for i in consent[:2]] == [emergency[1].id, emergency[0].id]
    assert [i.run_id for i in consent[2:]] == sorted(r.id for r in planned)
    assert {i.run_id for i in everything if i.kind == "no_daily_today"} == expected_daily

    # the overview: true counts and a first page of each kind; a limit per kind keeps more open
    overview = c.worklist.overview(limits={"missing_consent": 7})
    assert overview.counts == counts and overview.total == len(everything)
    assert len(overview.pages["missing_consent"].items) == 7
    assert overview.pages["missing_consent"].next_after is not None
    assert overview.pages["supplement_due"].next_after is None  # 2 items: all on the first page
    rest = c.worklist.page(
        "missing_consent", after=overview.pages["missing_consent"].next_after, limit=50, as_of=overview.as_of
    )
    assert [i.run_id for i in overview.pages["missing_consent"].items + rest.items] == [
        i.run_id for i in consent
    ]
    assert rest.next_after is None

    # twelve hours on: the supplements turn overdue (judged at the instant asked), counted as such
    late = now + timedelta(hours=11)
    assert c.worklist.counts(as_of=late)["supplement_overdue"] == 2
    assert "supplement_due" not in c.worklist.counts(as_of=late)
    # mine only: the unsigned records of one author, counted and paged the same way
    rw.login("zhangwei")
    mine = c.worklist.counts(mine_only=True)["unsigned_record"]
    items, _totals = _page_through(c, "unsigned_record", 2, mine_only=True)
    assert len(items) == mine and all(i.owner_id == seeded.doctor_id for i in items)


def test_the_worklist_needs_a_logged_in_user(seeded: Seeded) -> None:
    rw = _ward(seeded)
    rw.new_run()
    rw.login("zhangwei")
    assert rw.c.worklist.counts()["missing_consent"] == 1
    rw.c.ctx.user = None
    for call in (rw.c.worklist.counts, rw.c.worklist.overview, lambda: rw.c.worklist.page("missing_consent")):
        with pytest.raises(NotAuthenticated):
            call()


def test_cli_reports_totals_and_pages_to_the_end(
    seeded: Seeded, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecmo_desktop.cli import main
    from tests.conftest import PASSWORD

    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    rw = _ward(seeded)
    planned = sorted(rw.new_run().id for _ in range(7))
    db = ["--db", seeded.container.url, "--user", "chenjing"]  # type: ignore[attr-defined]

    assert main(["worklist", "--limit", "3", *db]) == 0
    text = capsys.readouterr().out
    assert text.startswith("共 7 项") and "知情同意未记录（R4）（7）" in text
    assert "…… 还有 4 项：worklist --kind missing_consent --after " in text

    assert main(["worklist", "--json", "--limit", "3", *db]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 7 and data["counts"] == {"missing_consent": 7}
    (group,) = data["groups"]
    assert (group["count"], group["shown"]) == (7, 3)
    runs = [i["run"] for i in group["items"]]
    cursor = group["next"]
    while cursor is not None:
        assert (
            main(["worklist", "--json", "--kind", "missing_consent", "--limit", "3", "--after", cursor, *db])
            == 0
        )
        (group,) = json.loads(capsys.readouterr().out)["groups"]
        assert group["count"] == 7
        runs += [i["run"] for i in group["items"]]
        cursor = group["next"]
    assert runs == planned  # every item once, in order

    assert main(["worklist", "--json", "--all", *db]) == 0
    assert [i["run"] for i in json.loads(capsys.readouterr().out)["items"]] == planned
    assert main(["worklist", "--json", "--kind", "missing_consent", "--after", "garbage", *db]) == 1
    assert "--after" in json.loads(capsys.readouterr().out)["error"]["message"]
