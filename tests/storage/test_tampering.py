"""AUD-3 tampering suite, small N: every kind of tampering in ``benchmarks/tamper.py`` once or
twice on a copy of the upgraded demo fixture. Every kind is caught by the chain, the anchor, the
replay or a signature — except the kinds the threat model names as beyond the database's reach,
and those must stay exactly as named (a new blind spot fails here, and so does a stale claim).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.tamper import KINDS, UNDETECTABLE, run

THREAT_MODEL = Path(__file__).resolve().parents[2] / "docs" / "threat-model.md"


def test_every_tampering_is_detected_except_the_named_ones() -> None:
    results = run(2 * len(KINDS), seed=3)
    undetected = {kind for kind, counts in results.items() if counts["undetected"]}
    partly = {
        kind for kind, counts in results.items() if counts["undetected"] and set(counts) != {"undetected"}
    }
    assert all(sum(c.values()) == 2 for c in results.values())
    assert undetected == UNDETECTABLE, results
    assert not partly  # a kind is either always caught or never: no luck involved
    assert results["audit_rewrite_and_rehash"]["anchor"] == 2  # the chain alone is fooled, the anchor is not
    assert results["clinical_patient_rename"]["replay"] == 2  # the negative control of the replay


def test_the_threat_model_names_every_undetected_kind() -> None:
    text = THREAT_MODEL.read_text(encoding="utf-8")
    for kind in UNDETECTABLE:
        assert f"`{kind}`" in text, kind
