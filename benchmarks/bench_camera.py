"""Camera decoding: time per 1280×720 frame and decode rate, this project's pipeline vs single decoders.

Renders the seeded webcam-like corpus of ``ecmo_desktop.scanning.corpus`` (GS1 DataMatrix, GS1-128,
QR, EAN-13, HIBC in Code 128 and DataMatrix; rotation, perspective, blur, noise, glare, JPEG, small
modules), then prints

1. milliseconds per frame for the live pipeline and for one zxing-cpp call (formats restricted to
   the label symbologies, plain text mode), measured interleaved in the same run — median, p95, and
   the ratio — as wall time and as the thread's CPU time (wall time swings when other work shares
   the machine; CPU time does much less), plus frames with no code at all;
2. the decode rate per label family for the pipeline (live and thorough budgets), zxing-cpp alone,
   pyzbar alone and OpenCV's own detectors (``cv2.barcode`` + ``QRCodeDetector``), with the wrong
   reads of each: texts that differ from the label, and how many of those would pass the
   single-frame trust rule (must be 0 for the pipeline).

Run: ``.venv/bin/python benchmarks/bench_camera.py [--per-kind 50] [--seed 20240611]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from importlib.metadata import version

import cv2
import numpy as np
import zxingcpp

from ecmo_desktop.scanning.camera import trusted_on_one_frame
from ecmo_desktop.scanning.corpus import DEFAULT_SEED, KINDS, Sample, blank_frames, iter_corpus
from ecmo_desktop.scanning.decode import (
    FORMATS,
    DecodedSymbol,
    LiveDecoder,
    decode_frame,
    pyzbar_available,
    to_gray,
)

try:
    from pyzbar import pyzbar
except (ImportError, OSError):  # libzbar missing
    pyzbar = None

Decoder = Callable[[np.ndarray], list[DecodedSymbol]]


def zxing_alone(frame: np.ndarray) -> list[DecodedSymbol]:
    """What a plain integration does: one call per frame, label formats only, plain text."""
    results = zxingcpp.read_barcodes(frame, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)
    return [DecodedSymbol(r.format.name, r.text) for r in results]


def pyzbar_alone(frame: np.ndarray) -> list[DecodedSymbol]:
    assert pyzbar is not None
    symbols = [
        pyzbar.ZBarSymbol.CODE128,
        pyzbar.ZBarSymbol.EAN13,
        pyzbar.ZBarSymbol.EAN8,
        pyzbar.ZBarSymbol.QRCODE,
    ]
    return [
        DecodedSymbol(d.type, d.data.decode("utf-8", "replace"))
        for d in pyzbar.decode(to_gray(frame), symbols=symbols)
    ]


def opencv_detectors() -> Decoder | None:
    """cv2.barcode (EAN/UPC in OpenCV 5; no Code 128 or DataMatrix) plus the QR detector."""
    if not hasattr(cv2, "barcode"):
        return None
    bars = cv2.barcode.BarcodeDetector()
    qr = cv2.QRCodeDetector()

    def decode(frame: np.ndarray) -> list[DecodedSymbol]:
        found = []
        ok, texts, types, _ = bars.detectAndDecodeWithType(frame)
        if ok:
            found += [DecodedSymbol(t, s) for s, t in zip(texts, types, strict=True) if s]
        try:
            ok, texts, _, _ = qr.detectAndDecodeMulti(frame)
        except cv2.error:  # OpenCV 5 refuses GS1 QR codes (FNC1 mode) outright: no read
            ok, texts = False, ()
        if ok:
            found += [DecodedSymbol("QRCODE", s) for s in texts if s]
        return found

    return decode


def _stats(name: str, wall: list[float], cpu: list[float]) -> str:
    w, c = np.array(wall) * 1000, np.array(cpu) * 1000
    return (
        f"  {name:34s} {np.median(w):7.1f} {np.percentile(w, 95):7.1f} {np.median(c):7.1f} "
        f"{np.percentile(c, 95):7.1f} {c.mean():7.1f}  (n={len(c)})"
    )


def timing(samples: list[Sample], blanks: list[np.ndarray], frames_in_view: int = 6) -> None:
    """Per-frame cost of what the camera runs, against one zxing-cpp call, interleaved.

    The camera sees a held label for many frames: each corpus frame is fed to a fresh
    ``LiveDecoder`` until it is read (at most ``frames_in_view`` frames), every frame timed; each
    frame is also given to zxing-cpp alone and to the single-frame live plan (``decode_frame``).
    Frames without a code (black, grey, noise, empty desks) are fed in runs of 8 frames.
    """
    wall: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    within = [0] * frames_in_view

    def timed(name: str, run: Callable[[], list[DecodedSymbol]]) -> list[DecodedSymbol]:
        w0, c0 = time.perf_counter(), time.thread_time()
        out = run()
        cpu[name].append(time.thread_time() - c0)
        wall[name].append(time.perf_counter() - w0)
        return out

    camera, zxing, single = (
        "camera (LiveDecoder), code",
        "zxing-cpp alone, code",
        "decode_frame (1 frame), code",
    )
    for i, sample in enumerate(samples):
        live = LiveDecoder()
        for frame in range(frames_in_view):
            read = False
            order = [
                (camera, partial(live.decode, sample.image)),
                (zxing, partial(zxing_alone, sample.image)),
            ]
            for name, run in order if (i + frame) % 2 else order[::-1]:  # neither always gets a warm cache
                out = timed(name, run)
                read = read or (name == camera and sample.expected in [s.text for s in out])
            if read:
                for k in range(frame, frames_in_view):
                    within[k] += 1
                break
        timed(single, partial(decode_frame, sample.image))
    empty_camera, empty_zxing = "camera (LiveDecoder), no code", "zxing-cpp alone, no code"
    for j, frame_image in enumerate(blanks):
        live = LiveDecoder()
        for k in range(8):
            order = [
                (empty_camera, partial(live.decode, frame_image)),
                (empty_zxing, partial(zxing_alone, frame_image)),
            ]
            for name, run in order if (j + k) % 2 else order[::-1]:
                timed(name, run)
    n = len(samples)
    print(
        f"Time per 1280×720 frame, {n} corpus frames held in view + {len(blanks)} empty scenes × 8 frames, "
        f"interleaved (ms); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"  {'':34s} {'wall50':>7s} {'wall95':>7s} {'cpu50':>7s} {'cpu95':>7s} {'cpu mean':>7s}")
    for name in (camera, zxing, single, empty_camera, empty_zxing):
        print(_stats(name, wall[name], cpu[name]))
    print(
        f"  camera p95 / zxing-cpp alone p95 (cpu, frames with a code): "
        f"{np.percentile(cpu[camera], 95) / np.percentile(cpu[zxing], 95):.2f}"
    )
    print(f"  camera reads within 1..{frames_in_view} frames: {within} of {n}")


def rates(samples: list[Sample], decoders: dict[str, Decoder]) -> None:
    hits: dict[str, dict[str, int]] = {name: defaultdict(int) for name in decoders}
    wrong: dict[str, int] = defaultdict(int)
    trusted_wrong: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    totals: dict[str, int] = defaultdict(int)
    for sample in samples:
        totals[sample.kind] += 1
        for name, decode in decoders.items():
            c0 = time.thread_time()
            symbols = decode(sample.image)
            seconds[name] += time.thread_time() - c0
            texts = {s.text for s in symbols}
            hits[name][sample.kind] += sample.expected in texts
            for symbol in symbols:
                if symbol.text != sample.expected:
                    wrong[name] += 1
                    trusted_wrong[name] += trusted_on_one_frame(
                        DecodedSymbol(_family_name(symbol.symbology), symbol.text)
                    )
    n = len(samples)
    width = max(len(k) for k in decoders) + 2
    print(f"\nDecode rate per label family, {n} frames ({n // len(KINDS)} per family)")
    print(f"  {'':16s}" + "".join(f"{name:>{width}s}" for name in decoders))
    for kind in KINDS:
        print(
            f"  {kind:16s}" + "".join(f"{hits[name][kind] / totals[kind]:>{width}.0%}" for name in decoders)
        )
    print(f"  {'all':16s}" + "".join(f"{sum(hits[name].values()) / n:>{width}.1%}" for name in decoders))
    print(f"  {'wrong reads':16s}" + "".join(f"{wrong[name]:>{width}d}" for name in decoders))
    print(f"  {'…trusted alone':16s}" + "".join(f"{trusted_wrong[name]:>{width}d}" for name in decoders))
    print(f"  {'cpu ms/frame':16s}" + "".join(f"{seconds[name] / n * 1000:>{width}.1f}" for name in decoders))


def _family_name(symbology: str) -> str:
    """pyzbar / OpenCV type names → the pipeline's, so the trust rule treats them alike."""
    return {
        "CODE128": "Code128",
        "EAN13": "EAN13",
        "EAN_13": "EAN13",
        "EAN8": "EAN8",
        "EAN_8": "EAN8",
        "UPC_A": "UPCA",
        "UPC_E": "UPCE",
        "QRCODE": "QRCode",
    }.get(symbology, symbology)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=50, help="frames per label family")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()

    t0 = time.perf_counter()
    samples = list(iter_corpus(args.per_kind, seed=args.seed))
    print(
        f"corpus: {len(samples)} frames rendered in {time.perf_counter() - t0:.1f} s "
        f"(zxing-cpp {version('zxing-cpp')}, OpenCV {cv2.__version__}, "
        f"pyzbar {version('pyzbar') if pyzbar_available() else 'absent'})\n"
    )
    timing(samples, [f for seed in (7, 8, 9) for f in blank_frames(seed)])

    decoders: dict[str, Decoder] = {
        "pipeline live": decode_frame,
        "pipeline thorough": lambda frame: decode_frame(frame, budget="thorough"),
        "zxing-cpp": zxing_alone,
    }
    if pyzbar is not None:
        decoders["pyzbar"] = pyzbar_alone
    opencv = opencv_detectors()
    if opencv is not None:
        decoders["OpenCV"] = opencv
    rates(samples, decoders)


if __name__ == "__main__":
    main()
