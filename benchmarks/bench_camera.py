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
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from importlib.metadata import version

import cv2
import numpy as np
import zxingcpp

from ecmo_desktop.scanning.camera import trusted_on_one_frame
from ecmo_desktop.scanning.corpus import DEFAULT_SEED, KINDS, Sample, blank_frames, iter_corpus
from ecmo_desktop.scanning.decode import FORMATS, DecodedSymbol, decode_frame, pyzbar_available, to_gray

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
    symbols = [pyzbar.ZBarSymbol.CODE128, pyzbar.ZBarSymbol.EAN13, pyzbar.ZBarSymbol.EAN8,
               pyzbar.ZBarSymbol.QRCODE]
    return [DecodedSymbol(d.type, d.data.decode("utf-8", "replace"))
            for d in pyzbar.decode(to_gray(frame), symbols=symbols)]


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


def timing(samples: list[Sample], blanks: list[np.ndarray]) -> None:
    wall: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    runs: list[tuple[str, Decoder]] = [("pipeline (live)", decode_frame), ("zxing-cpp alone", zxing_alone)]
    frames = [s.image for s in samples]
    for i, frame in enumerate(frames):
        for name, run in runs if i % 2 else runs[::-1]:  # alternate order: neither gets a warm cache
            w0, c0 = time.perf_counter(), time.thread_time()
            run(frame)
            cpu[name].append(time.thread_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    print(f"Time per 1280×720 frame, {len(frames)} corpus frames, interleaved (ms)")
    print(f"  {'':18s} {'wall median':>11s} {'wall p95':>9s} {'cpu median':>11s} {'cpu p95':>8s}")
    for name, _ in runs:
        w, c = np.array(wall[name]) * 1000, np.array(cpu[name]) * 1000
        print(f"  {name:18s} {np.median(w):11.1f} {np.percentile(w, 95):9.1f} "
              f"{np.median(c):11.1f} {np.percentile(c, 95):8.1f}")
    pipe, single = "pipeline (live)", "zxing-cpp alone"
    print(f"  ratio pipeline / zxing-cpp alone: median wall "
          f"{np.median(wall[pipe]) / np.median(wall[single]):.2f}, median cpu "
          f"{np.median(cpu[pipe]) / np.median(cpu[single]):.2f}, mean cpu "
          f"{np.mean(cpu[pipe]) / np.mean(cpu[single]):.2f}")
    names = ["black", "grey", "random noise", "empty desk"]
    for name, frame in zip(names, blanks, strict=True):
        costs = []
        for _ in range(7):
            c0 = time.thread_time()
            decode_frame(frame)
            costs.append(time.thread_time() - c0)
        print(f"  no code, {name:13s} pipeline (live) cpu median {statistics.median(costs) * 1000:5.1f}")


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
                        DecodedSymbol(_family_name(symbol.symbology), symbol.text))
    n = len(samples)
    width = max(len(k) for k in decoders) + 2
    print(f"\nDecode rate per label family, {n} frames ({n // len(KINDS)} per family)")
    print(f"  {'':16s}" + "".join(f"{name:>{width}s}" for name in decoders))
    for kind in KINDS:
        print(f"  {kind:16s}" + "".join(f"{hits[name][kind] / totals[kind]:>{width}.0%}" for name in decoders))
    print(f"  {'all':16s}" + "".join(f"{sum(hits[name].values()) / n:>{width}.1%}" for name in decoders))
    print(f"  {'wrong reads':16s}" + "".join(f"{wrong[name]:>{width}d}" for name in decoders))
    print(f"  {'…trusted alone':16s}" + "".join(f"{trusted_wrong[name]:>{width}d}" for name in decoders))
    print(f"  {'cpu ms/frame':16s}" + "".join(f"{seconds[name] / n * 1000:>{width}.1f}" for name in decoders))


def _family_name(symbology: str) -> str:
    """pyzbar / OpenCV type names → the pipeline's, so the trust rule treats them alike."""
    return {"CODE128": "Code128", "EAN13": "EAN13", "EAN_13": "EAN13", "EAN8": "EAN8", "EAN_8": "EAN8",
            "UPC_A": "UPCA", "UPC_E": "UPCE", "QRCODE": "QRCode"}.get(symbology, symbology)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=50, help="frames per label family")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()

    t0 = time.perf_counter()
    samples = list(iter_corpus(args.per_kind, seed=args.seed))
    print(f"corpus: {len(samples)} frames rendered in {time.perf_counter() - t0:.1f} s "
          f"(zxing-cpp {version('zxing-cpp')}, OpenCV {cv2.__version__}, "
          f"pyzbar {version('pyzbar') if pyzbar_available() else 'absent'})\n")
    timing(samples, blank_frames())

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
