"""UDI-1 at full size (RELIABILITY.md): the parser never crashes, and rendered codes read back.

    .venv/bin/python -m benchmarks.fuzz_codes [--examples 10000] [--render 1000]

1. The suite's Hypothesis properties (tests/unit/test_codes_property.py) re-run with 10,000
   examples each: arbitrary text (with surrogates), glued fragments of every scheme, undecodable
   camera bytes, HIBC shapes with valid checks, and the GS1 round trip.
2. Render → decode round trip: generated GS1 element strings rendered as GS1 DataMatrix with
   zxing-cpp, read back with zxing-cpp, and parsed: the fields must equal what was encoded.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date

from hypothesis import HealthCheck, settings

import tests.unit.test_codes_property as props
from ecmo_desktop.domain.codes import parse_code


def run_properties(examples: int) -> None:
    tests = [
        props.test_arbitrary_text_only_raises_code_error,
        props.test_glued_scheme_fragments_only_raise_code_error,
        props.test_undecodable_camera_bytes_only_raise_code_error,
        props.test_hibc_with_valid_check_only_raises_code_error,
        props.test_gs1_round_trip,
    ]
    for test in tests:
        inner = test.hypothesis.inner_test  # type: ignore[attr-defined]
        # the suite pins a small example count on each test; raise it for this run only
        current = test._hypothesis_internal_use_settings  # type: ignore[attr-defined]
        test._hypothesis_internal_use_settings = settings(  # type: ignore[attr-defined]
            current,
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        t0 = time.monotonic()
        test()
        print(f"{inner.__name__}: {examples} examples, 0 unhandled exceptions, {time.monotonic() - t0:.1f} s")


def gtin14(rng: random.Random) -> str:
    body = "0" + "".join(rng.choice("0123456789") for _ in range(12))
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def round_trip(count: int) -> None:
    import zxingcpp

    rng = random.Random(5)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-"
    ok = 0
    t0 = time.monotonic()
    for _ in range(count):
        gtin = gtin14(rng)
        expiry = date(rng.randint(2025, 2035), rng.randint(1, 12), rng.randint(1, 28))
        lot = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20)))
        serial = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20)))
        text = f"(01){gtin}(17){expiry:%y%m%d}(10){lot}(21){serial}"
        barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.DataMatrix, options="gs1")
        image = barcode.to_image(scale=4)
        reads = zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)
        if not reads:
            continue
        parsed = parse_code(reads[0].text)
        if (parsed.gtin, parsed.expiry, parsed.lot, parsed.serial) == (gtin, expiry, lot, serial):
            ok += 1
    print(f"render→decode round trip: {ok}/{count} equal ({time.monotonic() - t0:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--render", type=int, default=1_000)
    args = parser.parse_args()
    run_properties(args.examples)
    round_trip(args.render)


if __name__ == "__main__":
    main()
