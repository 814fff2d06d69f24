"""Validation of what people type: text, numbers with units and ranges, identifiers, dates.

Every refusal is a ``ValidationError`` naming the field (a msgid) in words a nurse understands;
values outside *plausible* ranges are refused, values outside *normal* ranges pass and are flagged
by the caller.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.i18n import N_

# C0/C1 controls (except tab/newline in multi-line text), lone surrogates, bidi overrides: these
# break SQLite's UTF-8 encoding, PostgreSQL text (NUL) or the meaning of what is displayed.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")


def clean_text(
    value: str | None, field: str, *, required: bool = False, max_length: int = 200, multiline: bool = False
) -> str:
    """Trim, drop zero-width characters, refuse control characters; '' when optional and empty."""
    text = "" if value is None else str(value)
    text = _ZERO_WIDTH.sub("", text).replace("\u3000", " ")
    if not multiline and ("\n" in text or "\r" in text):
        raise ValidationError(FieldError(field, N_("不能包含换行")))
    if _FORBIDDEN.search(text) or (not multiline and "\t" in text):
        raise ValidationError(FieldError(field, N_("包含无法保存的控制字符")))
    text = text.strip()
    if required and not text:
        raise ValidationError(FieldError(field, N_("必填")))
    if len(text) > max_length:
        raise ValidationError(
            FieldError(field, N_("不能超过 {max} 个字符（当前 {n} 个）"), {"max": max_length, "n": len(text)})
        )
    return text


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_number(
    value: str | float | int | None,
    field: str,
    *,
    low: float,
    high: float,
    unit: str = "",
    required: bool = False,
    integer: bool = False,
) -> float | None:
    """Parse a typed number (full-width digits allowed, comma decimal refused) within hard limits."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(FieldError(field, N_("必填")))
        return None
    if isinstance(value, bool):
        raise ValidationError(FieldError(field, N_("不是有效数字")))
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = unicodedata.normalize("NFKC", value).strip().replace("−", "-")
        if "," in text:
            raise ValidationError(FieldError(field, N_("请使用小数点“.”，不要用逗号")))
        if not _NUMBER.match(text):
            raise ValidationError(FieldError(field, N_("“{text}”不是有效数字"), {"text": value[:20]}))
        number = float(text)
    if math.isnan(number) or math.isinf(number):
        raise ValidationError(FieldError(field, N_("不是有效数字")))
    if integer and number != int(number):
        raise ValidationError(FieldError(field, N_("必须是整数")))
    if number < low or number > high:
        if unit:
            raise ValidationError(
                FieldError(
                    field,
                    N_("{value} 超出允许范围 {low}–{high} {unit}"),
                    {"value": _fmt(number), "low": _fmt(low), "high": _fmt(high), "unit": unit},
                )
            )
        raise ValidationError(
            FieldError(
                field,
                N_("{value} 超出允许范围 {low}–{high}"),
                {"value": _fmt(number), "low": _fmt(low), "high": _fmt(high)},
            )
        )
    return number + 0.0  # normalises -0.0


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Range:
    """A field's hard limits (refuse) and normal range (highlight only)."""

    field: str
    unit: str
    low: float
    high: float
    normal_low: float | None = None
    normal_high: float | None = None
    integer: bool = False

    def parse(self, value: str | float | int | None, *, required: bool = False) -> float | None:
        return parse_number(
            value,
            self.field,
            low=self.low,
            high=self.high,
            unit=self.unit,
            required=required,
            integer=self.integer,
        )

    def is_abnormal(self, value: float | None) -> bool:
        if value is None:
            return False
        return (self.normal_low is not None and value < self.normal_low) or (
            self.normal_high is not None and value > self.normal_high
        )


WEIGHT = Range(N_("体重"), "kg", 0.5, 300)
HEIGHT = Range(N_("身高"), "cm", 30, 250)

_MRN = re.compile(r"^[A-Za-z0-9\-]{1,40}$")


def clean_mrn(value: str | None) -> str:
    """住院号: letters, digits and '-' only (full-width typed digits are normalised)."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        raise ValidationError(FieldError(N_("住院号"), N_("必填")))
    if not _MRN.match(text):
        raise ValidationError(FieldError(N_("住院号"), N_("只能包含字母、数字和“-”，最长 40 位")))
    return text.upper()


def username_key(username: str) -> str:
    """Uniqueness key for accounts: NFKC + casefold, so 'ＺＨＡＮＧ' and 'zhang' collide (ACC-1)."""
    return unicodedata.normalize("NFKC", username).casefold().strip()


_USERNAME = re.compile(r"^[a-z0-9._\-]{2,32}$")


def clean_username(value: str | None) -> str:
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not _USERNAME.match(text.lower()):
        raise ValidationError(FieldError(N_("用户名"), N_("2–32 位英文字母、数字或 . _ -")))
    return text.lower()


def check_password_strength(password: str, *, username: str, min_length: int) -> None:
    if len(password) < min_length:
        raise ValidationError(FieldError(N_("密码"), N_("至少 {n} 位"), {"n": min_length}))
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        raise ValidationError(FieldError(N_("密码"), N_("必须同时包含字母和数字")))
    if username and username.lower() in password.lower():
        raise ValidationError(FieldError(N_("密码"), N_("不能包含用户名")))


def check_birth_date(birth: date | None, today: date) -> None:
    if birth is None:
        return
    if birth > today:
        raise ValidationError(FieldError(N_("出生日期"), N_("不能晚于今天")))
    if today.year - birth.year > 120:
        raise ValidationError(FieldError(N_("出生日期"), N_("年龄超过 120 岁，请核对")))


def check_not_future(moment: datetime | None, now: datetime, field: str, *, slack_minutes: int = 10) -> None:
    """Clinical times may not lie in the future (a little slack for unsynchronised PC clocks)."""
    if moment is not None and (moment - now).total_seconds() > slack_minutes * 60:
        raise ValidationError(FieldError(field, N_("不能晚于当前时间")))
