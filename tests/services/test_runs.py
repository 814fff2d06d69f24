"""Registering patients and opening runs: validation messages, duplicates, the paged case list."""

from __future__ import annotations

from datetime import date

import pytest

from ecmo_desktop.domain.errors import ConcurrencyConflict, ValidationError
from ecmo_desktop.services.runs import PatientInput, RunInput
from tests.conftest import Seeded


def test_register_and_open_run_round_trip(seeded: Seeded) -> None:
    c = seeded.container
    seeded.login("zhangwei")
    p = c.runs.register_patient(
        PatientInput(
            mrn=" zy-0012 ",
            name="  王𠀀  ",
            sex="F",
            birth_date=date(1980, 2, 29),
            height_cm="１６５",
            weight_kg="58.5",
            ward="EICU",
            bed="3",
        )
    )
    assert (p.mrn, p.name, p.height_cm, p.weight_kg) == ("ZY-0012", "王𠀀", 165.0, 58.5)
    run = c.runs.open_run(p.id, RunInput(mode="VA", indication="myocarditis", emergency=True))
    detail = c.runs.run_detail(run.id)
    assert detail.patient.birth_date == date(1980, 2, 29) and detail.run.status == "planned"
    assert detail.run.created_at.tzinfo is not None and detail.run.ward == "EICU"
    assert detail.hospital.name == "示范医院"
    assert c.runs.find_patient("zy-0012").id == p.id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("field", "kwargs", "message"),
    [
        ("住院号", {"mrn": ""}, "必填"),
        ("住院号", {"mrn": "ZY 01"}, "字母、数字"),
        ("姓名", {"name": "   "}, "必填"),
        ("姓名", {"name": "张\x00三"}, "控制字符"),
        ("姓名", {"name": "张\u202e三"}, "控制字符"),
        ("姓名", {"name": "张\ud800"}, "控制字符"),
        ("姓名", {"name": "王" * 101}, "100"),
        ("性别", {"sex": "X"}, "请选择"),
        ("体重", {"weight_kg": "0"}, "超出允许范围"),
        ("体重", {"weight_kg": "abc"}, "不是有效数字"),
        ("体重", {"weight_kg": "70,5"}, "小数点"),
        ("体重", {"weight_kg": "nan"}, "不是有效数字"),
        ("体重", {"weight_kg": "1e309"}, "不是有效数字"),
        ("身高", {"height_cm": "300"}, "超出允许范围"),
        ("出生日期", {"birth_date": date(2030, 1, 1)}, "不能晚于今天"),
    ],
)
def test_patient_validation_names_the_field(seeded: Seeded, field: str, kwargs: dict, message: str) -> None:
    c = seeded.container
    seeded.login("chenjing")
    data = {"mrn": "A1", "name": "张三", "sex": "M", **kwargs}
    with pytest.raises(ValidationError) as info:
        c.runs.register_patient(PatientInput(**data))
    fields = {e.field for e in info.value.errors}
    assert field in fields
    assert message in info.value.user_message()
    assert c.runs.count_runs() == 0


def test_all_field_errors_are_reported_together(seeded: Seeded) -> None:
    seeded.login("chenjing")
    with pytest.raises(ValidationError) as info:
        seeded.container.runs.register_patient(PatientInput(mrn="", name="", sex="?", weight_kg="-1"))
    assert {e.field for e in info.value.errors} == {"住院号", "姓名", "性别", "体重"}


def test_duplicate_mrn_is_refused_and_first_stays(seeded: Seeded) -> None:
    c = seeded.container
    seeded.login("chenjing")
    first = c.runs.register_patient(PatientInput(mrn="D1", name="甲", sex="M"))
    with pytest.raises(ValidationError) as info:
        c.runs.register_patient(PatientInput(mrn="d1", name="乙", sex="F"))
    assert "已登记" in info.value.user_message()
    assert c.runs.find_patient("D1") == first


def test_second_active_run_refused_other_indication_needs_text(seeded: Seeded) -> None:
    c = seeded.container
    seeded.login("zhangwei")
    p = c.runs.register_patient(PatientInput(mrn="R1", name="丙", sex="M"))
    with pytest.raises(ValidationError) as info:
        c.runs.open_run(p.id, RunInput(mode="VA", indication="other"))
    assert info.value.errors[0].field == "其他适应证"
    c.runs.open_run(p.id, RunInput(mode="VV", indication="ards"))
    with pytest.raises(ValidationError):
        c.runs.open_run(p.id, RunInput(mode="VV", indication="ards"))


def test_stale_edit_is_refused_not_overwritten(seeded: Seeded) -> None:
    """REL-11: two PCs load version 1; the second save sees '记录已被他人修改'."""
    c = seeded.container
    seeded.login("chenjing")
    p = c.runs.register_patient(PatientInput(mrn="V1", name="丁", sex="M", weight_kg="70"))
    c.runs.update_patient(
        p.id, PatientInput(mrn="V1", name="丁", sex="M", weight_kg="72"), expected_version=p.version
    )
    with pytest.raises(ConcurrencyConflict) as info:
        c.runs.update_patient(
            p.id, PatientInput(mrn="V1", name="丁", sex="M", weight_kg="68"), expected_version=p.version
        )
    assert "已被他人修改" in info.value.user_message()
    assert c.runs.find_patient("V1").weight_kg == 72  # type: ignore[union-attr]


def test_case_list_pages_and_searches(seeded: Seeded) -> None:
    c = seeded.container
    seeded.login("zhangwei")
    for i in range(25):
        p = c.runs.register_patient(
            PatientInput(mrn=f"L{i:03d}", name=("赵" if i % 5 == 0 else "钱") + f"{i}", sex="M")
        )
        c.runs.open_run(p.id, RunInput(mode="VA" if i % 2 else "VV", indication="ami"))
    assert c.runs.count_runs() == 25
    page1 = c.runs.search_runs("", offset=0, limit=10)
    page3 = c.runs.search_runs("", offset=20, limit=10)
    assert len(page1) == 10 and len(page3) == 5
    assert {r.run_id for r in page1}.isdisjoint({r.run_id for r in page3})
    assert c.runs.count_runs("赵") == 5
    assert [r.mrn for r in c.runs.search_runs("L01")] == sorted([f"L01{i}" for i in range(10)], reverse=True)
    assert c.runs.count_runs("%") == 0 and c.runs.count_runs("_") == 0  # LIKE wildcards are literal
    assert c.runs.count_runs(statuses=("planned",)) == 25


def test_case_list_pages_by_key_like_by_offset(seeded: Seeded) -> None:
    """Keyset paging (``before_id`` = the last id shown) walks the same rows, in the same order, as
    offsets — also under a search, where the ids are not contiguous."""
    c = seeded.container
    seeded.login("zhangwei")
    for i in range(23):
        p = c.runs.register_patient(
            PatientInput(mrn=f"K{i:03d}", name=("赵" if i % 3 == 0 else "钱") + f"{i}", sex="M")
        )
        c.runs.open_run(p.id, RunInput(mode="VA", indication="ami"))
    for text in ("", "赵"):
        by_offset = [r.run_id for k in range(0, 30, 5) for r in c.runs.search_runs(text, offset=k, limit=5)]
        by_key: list[int] = []
        while True:
            page = c.runs.search_runs(text, limit=5, before_id=by_key[-1] if by_key else None)
            if not page:
                break
            by_key.extend(r.run_id for r in page)
        assert by_key == by_offset == sorted(by_offset, reverse=True)
        assert len(by_key) == c.runs.count_runs(text)
