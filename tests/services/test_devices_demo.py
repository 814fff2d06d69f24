"""The demo generator's device course: every case gets a plausible circuit through the real services."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from ecmo_desktop.services.demo import DemoGenerator


@pytest.mark.parametrize("backend", ["sqlite"])
def test_demo_cases_get_a_circuit_bound_once_per_item(container: Any) -> None:
    summary = DemoGenerator(container, seed=7).generate(4, years=1)
    assert summary.cases == 4
    c = container
    c.auth.login("admin", summary.password)
    runs = c.runs.search_runs("")
    assert len(runs) == 4
    items: Counter[int] = Counter()
    for run in runs:
        rows = [r for r in c.devices.trace_run(run.run_id) if not r.voided]
        categories = Counter(r.category for r in rows)
        assert (
            categories["oxygenator"] >= 1 and categories["pump_head"] >= 1 and categories["tubing_pack"] == 1
        )
        assert categories["drainage_cannula"] == 1
        assert all(r.nmpa_number or "warn_no_nmpa" in r.warnings for r in rows)  # R5 overridden with a reason
        assert all(r.serial or "warn_no_serial" in r.warnings for r in rows)
        assert all(r.override_reason for r in rows if r.warnings)
        procedures = {p.kind: p.id for p in c.devices.binding_procedures(run.run_id)}
        cannulation = procedures.get("cannulation")
        assert cannulation is not None and any(r.procedure_id == cannulation for r in rows)
        in_circuit = [r for r in rows if r.category == "oxygenator" and r.removed_at is None]
        if run.status == "ended":  # everything retired at decannulation or at the end of support
            assert in_circuit == [] and all(r.removed_at is not None for r in rows)
        else:
            assert len(in_circuit) == 1
        links = c.equipment.run_equipment(run.run_id)
        assert links and (run.status != "ended" or all(not lk.current for lk in links))
        items.update(r.item_id for r in rows)
    assert max(items.values()) == 1  # R6: no item on two runs
    assert len(c.devices.list_products()) == 11 and len(c.devices.list_recalls()) == 0
    assert c.audit.verify_chain().ok
