"""Issue 10 §6 scans: glued scans are refused whatever the schemes, a short (01) is a length error,
and a per-PC GS substitute (``~``) is an optional parser parameter (the default API is unchanged)."""

from __future__ import annotations

from datetime import date

import pytest

from ecmo_desktop.cli import main as cli_main
from ecmo_desktop.domain.codes import GS, apply_gs_substitutes, parse_code, parse_code_json
from ecmo_desktop.domain.errors import CodeError
from tests.conftest import PASSWORD, Seeded

TODAY = date(2026, 3, 2)
GTIN = "06912345678902"
MA = "MA.156.M0.100001.1001.S12345.L2101"
GS1 = "01" + GTIN + "17281231" + "10LOT5"


def _reason(text: str, **kw: object) -> str:
    with pytest.raises(CodeError) as info:
        parse_code(text, today=TODAY, **kw)  # type: ignore[arg-type]
    return info.value.reason


@pytest.mark.parametrize(
    "glued",
    [
        MA + GS1,  # the MA lot would swallow the GS1 scan: accepted as one MA code before
        MA + "01" + GTIN,  # even a bare GTIN
        GS1[:-6] + "10A" + "MA.156.M0.1.2",  # an MA code inside a GS1 lot
        "01" + GTIN + "10AB" + "+A123BJC5D6E71G",  # no: HIBC check fails, but must never pass as one code
    ],
)
def test_concatenated_scans_are_refused_whatever_the_schemes(glued: str) -> None:
    status, payload = parse_code_json(glued, today=TODAY)
    assert status == 2, payload


def test_single_codes_still_parse() -> None:
    assert parse_code(MA, today=TODAY).lot == "2101"
    assert parse_code(GS1, today=TODAY).lot == "LOT5"
    assert parse_code("(01)6912345678902(17)281231", today=TODAY).gtin == GTIN  # unpadded GTIN-13 by hand
    # a numeric serial holding "01" + a valid GTIN-14 is data, not a second scan
    assert parse_code("01" + GTIN + "21" + "0100012345678905", today=TODAY).serial == "0100012345678905"


def test_01_with_13_digits_is_a_length_error_not_a_check_digit_error() -> None:
    assert _reason("(01)" + GTIN[:13] + "(17)281231") == "invalid_length"
    with pytest.raises(CodeError) as info:
        parse_code("(01)" + GTIN[:13], today=TODAY)
    assert "14" in info.value.user_message() and "13" in info.value.user_message()


def test_gs_substitute_is_an_optional_parameter() -> None:
    text = "01" + GTIN + "1712" + "1231" + "10AB~21SN1"
    assert _reason(text) == "invalid_character"  # default: "~" is not GS
    parsed = parse_code(text, today=TODAY, gs_substitutes=("~",))
    assert (parsed.lot, parsed.serial) == ("AB", "SN1")
    assert apply_gs_substitutes("A~B", ("~",)) == "A" + GS + "B"


def test_parse_code_cli_takes_codes_starting_with_a_dash_and_the_gs_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    assert cli_main(["parse-code", "-1+1", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["reason"] == "invalid_character"
    assert cli_main(["parse-code", "01" + GTIN + "10AB~21SN1", "--gs-substitute", "~", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["serial"] == "SN1"


def test_the_gs_substitute_is_a_per_pc_setting_used_by_parse_code(
    capsys: pytest.CaptureFixture[str], tmp_path: object, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.setenv("ECMO_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    who = ["--db", seeded.container.url, "--user", "chenjing", "--json"]
    code = "01" + GTIN + "10AB~21SN1"
    assert cli_main(["parse-code", code, "--json"]) == 2
    capsys.readouterr()
    assert cli_main(["scanner", "--gs-substitute", "~", "--json"]) == 1  # a named person changes it
    capsys.readouterr()
    assert cli_main(["scanner", "--gs-substitute", "A", *who]) == 1  # would eat data
    capsys.readouterr()
    assert cli_main(["scanner", "--gs-substitute", "~", *who]) == 0
    assert "~" in json.loads(capsys.readouterr().out)["gs_substitutes"]
    assert cli_main(["parse-code", code, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lot"] == "AB"
