"""The field catalogue: every numeric field refuses implausible input by name and flags abnormal values.

Parametrised over the whole catalogue, so a field added later is tested without writing a test.
"""

from __future__ import annotations

import math

import pytest

from ecmo_desktop.domain.errors import ValidationError
from ecmo_desktop.domain.fields import (
    CHOICE_FIELDS,
    DERIVED,
    FIELDS,
    FORMS,
    NUMERIC_FIELDS,
    FieldSpec,
    choices_for,
    derive,
    fields_for,
    parse_choices,
    parse_values,
)
from ecmo_desktop.i18n import _

IDS = [f.key for f in NUMERIC_FIELDS]


def _form(spec: FieldSpec) -> str:
    return sorted(spec.forms)[0]


def _step(spec: FieldSpec) -> float:
    return (
        1.0
        if spec.range.integer
        else max((spec.range.high - spec.range.low) / 100, 10 ** -(spec.decimals + 1))
    )


def _inside(spec: FieldSpec) -> float:
    """A value inside the normal range (or the hard range when there is none)."""
    r = spec.range
    low = r.normal_low if r.normal_low is not None else r.low
    high = r.normal_high if r.normal_high is not None else r.high
    mid = (low + high) / 2
    return float(math.floor(mid)) if r.integer and math.floor(mid) >= low else mid


def _outside_normal(spec: FieldSpec) -> float | None:
    """A plausible value outside the normal range, if the field has one narrower than its limits."""
    r = spec.range
    if r.normal_high is not None and r.normal_high < r.high:
        value = (r.normal_high + r.high) / 2
        return float(math.ceil(value)) if r.integer else value
    if r.normal_low is not None and r.normal_low > r.low:
        value = (r.low + r.normal_low) / 2
        return float(math.floor(value)) if r.integer else value
    return None


def _message(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return exc.value.user_message()


def test_catalogue_is_consistent() -> None:
    assert len(FIELDS) == len(NUMERIC_FIELDS), "field keys must be unique"
    for spec in NUMERIC_FIELDS:
        r = spec.range
        assert r.low < r.high, spec.key
        assert spec.forms and spec.forms <= set(FORMS), spec.key
        for bound in (r.normal_low, r.normal_high):
            assert bound is None or r.low <= bound <= r.high, spec.key
    keys = {c.key for c in CHOICE_FIELDS}
    assert not keys & set(FIELDS), "a key is either numeric or coded, never both"
    for form in ("pre_ecmo", "procedure", "daily", "weaning"):
        assert fields_for(form), form


def test_the_issue_fields_are_in_the_daily_form() -> None:
    daily = {f.key for f in fields_for("daily")} | {c.key for c in choices_for("daily")}
    wanted = {
        "rpm",
        "blood_flow",
        "sweep",
        "fdo2",
        "p_pre_oxy",
        "p_post_oxy",
        "p_drainage",
        "hr",
        "map",
        "cvp",
        "spo2",
        "temperature",
        "vent_mode",
        "vent_fio2",
        "peep",
        "tidal_volume",
        "resp_rate",
        "pplat",
        "ph",
        "pao2",
        "paco2",
        "lactate",
        "svo2",
        "post_oxy_pao2",
        "hb",
        "plt",
        "fibrinogen",
        "act",
        "aptt",
        "anti_xa",
        "pfhb",
        "ldh",
        "tbil",
        "creatinine",
        "anticoagulant",
        "heparin_dose",
        "rbc_units",
        "urine_output",
        "crrt",
        "lvef",
        "av_opening",
        "lv_distension",
        "limb_perfusion",
        "cannula_site",
        "differential_hypoxaemia",
        "circuit_check",
        "oxygenator_check",
    }
    assert wanted <= daily, wanted - daily


@pytest.mark.parametrize("spec", NUMERIC_FIELDS, ids=IDS)
def test_below_the_hard_limit_is_refused_by_name(spec: FieldSpec) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_values(_form(spec), {spec.key: spec.range.low - _step(spec)})
    assert _(spec.label) in _message(exc)
    assert "超出允许范围" in _message(exc)


@pytest.mark.parametrize("spec", NUMERIC_FIELDS, ids=IDS)
def test_above_the_hard_limit_is_refused_by_name(spec: FieldSpec) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_values(_form(spec), {spec.key: str(spec.range.high + _step(spec))})
    assert _(spec.label) in _message(exc)


@pytest.mark.parametrize("spec", NUMERIC_FIELDS, ids=IDS)
def test_normal_value_is_accepted_and_not_flagged(spec: FieldSpec) -> None:
    value = _inside(spec)
    parsed = parse_values(_form(spec), {spec.key: str(value)})
    assert parsed.values[spec.key] == pytest.approx(value)
    assert spec.key not in parsed.abnormal
    assert isinstance(parsed.values[spec.key], int) == spec.range.integer


@pytest.mark.parametrize(
    "spec",
    [s for s in NUMERIC_FIELDS if _outside_normal(s) is not None],
    ids=[s.key for s in NUMERIC_FIELDS if _outside_normal(s) is not None],
)
def test_out_of_normal_value_is_accepted_and_flagged(spec: FieldSpec) -> None:
    value = _outside_normal(spec)
    parsed = parse_values(_form(spec), {spec.key: value})
    assert parsed.values[spec.key] == pytest.approx(value)
    assert parsed.abnormal == (spec.key,)


GARBAGE = ["abc", "3,5", "nan", "NaN", "inf", "-inf", "1e309", float("nan"), float("inf"), True, "1 2", "--1"]


@pytest.mark.parametrize("spec", NUMERIC_FIELDS, ids=IDS)
def test_garbage_is_refused_by_name(spec: FieldSpec) -> None:
    for bad in GARBAGE:
        with pytest.raises(ValidationError) as exc:
            parse_values(_form(spec), {spec.key: bad})
        assert _(spec.label) in _message(exc), bad
    with pytest.raises(ValidationError) as exc:
        parse_values(_form(spec), {spec.key: "3,5"})
    assert "逗号" in _message(exc)


def test_full_width_digits_and_blanks() -> None:
    assert parse_values("daily", {"hr": "１１０", "map": "", "cvp": None}).values == {"hr": 110}


def test_all_errors_of_a_form_are_reported_together() -> None:
    with pytest.raises(ValidationError) as exc:
        parse_values("daily", {"hr": 900, "ph": "abc", "map": 70})
    assert len(exc.value.errors) == 2


def test_unknown_or_foreign_keys_are_refused() -> None:
    with pytest.raises(ValidationError):
        parse_values("daily", {"hr_typo": 80})
    with pytest.raises(ValidationError):
        parse_values("daily", {"cpc": 2})  # a follow-up field


def test_integer_fields_refuse_fractions() -> None:
    with pytest.raises(ValidationError) as exc:
        parse_values("daily", {"hr": "80.5"})
    assert "整数" in exc.value.user_message()


def test_derived_values() -> None:
    out = derive(
        {
            "p_pre_oxy": 260,
            "p_post_oxy": 230,
            "pao2": 90,
            "vent_fio2": 0.3,
            "pplat": 24,
            "peep": 10,
            "norepinephrine": 0.1,
            "dobutamine": 5,
        }
    )
    assert out == {"delta_p": 30, "pf_ratio": 300.0, "driving_pressure": 14, "vis": 15.0}
    with pytest.raises(ValidationError) as exc:
        derive({"p_pre_oxy": 100, "p_post_oxy": 150})
    assert _(DERIVED["delta_p"].field) in exc.value.user_message()


@pytest.mark.parametrize("choice", CHOICE_FIELDS, ids=[c.key for c in CHOICE_FIELDS])
def test_choices_accept_their_options_only(choice: object) -> None:
    form = sorted(choice.forms)[0]  # type: ignore[attr-defined]
    value = choice.options[0][0]  # type: ignore[attr-defined]
    assert parse_choices(form, {choice.key: value}) == {choice.key: value}  # type: ignore[attr-defined]
    with pytest.raises(ValidationError) as exc:
        parse_choices(form, {choice.key: "no-such-option"})  # type: ignore[attr-defined]
    assert _(choice.label) in exc.value.user_message()  # type: ignore[attr-defined]
