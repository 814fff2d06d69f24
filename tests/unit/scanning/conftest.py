"""A rendered, webcam-like corpus shared by the decoding tests (built once per session).

16 frames per label family is enough to measure each decode rate to one frame in 16 while the
whole scanning suite stays well under a minute on two cores; the corpus is seeded, so the
figures are the same on every run and a drop is a real regression, not noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import zxingcpp

from ecmo_desktop.scanning.corpus import Sample, iter_corpus
from ecmo_desktop.scanning.decode import FORMATS, DecodedSymbol, decode_frame

PER_KIND = 16


@dataclass(frozen=True)
class Outcome:
    sample: Sample
    symbols: list[DecodedSymbol]

    @property
    def read(self) -> bool:
        return any(s.text == self.sample.expected for s in self.symbols)


@pytest.fixture(scope="session")
def corpus() -> list[Sample]:
    return list(iter_corpus(PER_KIND))


@pytest.fixture(scope="session")
def live_outcomes(corpus: list[Sample]) -> list[Outcome]:
    return [Outcome(s, decode_frame(s.image, budget="live")) for s in corpus]


@pytest.fixture(scope="session")
def single_call_reads(corpus: list[Sample]) -> int:
    """Frames one plain zxing-cpp call reads: the baseline the pipeline must beat."""
    return sum(
        s.expected
        in [
            r.text
            for r in zxingcpp.read_barcodes(s.image, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)
        ]
        for s in corpus
    )
