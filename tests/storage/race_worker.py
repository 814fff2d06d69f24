"""Child-process side of the race tests: bind one item to a run straight through the ORM,
bypassing every application check, so only the database constraint decides (REL-4 (ii))."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def bind_raw(url: str, item_id: int, run_id: int, staff_id: int, barrier: Any, results: Any) -> None:
    from ecmo_desktop.domain.errors import IntegrityConflict
    from ecmo_desktop.storage.engine import create_db_engine
    from ecmo_desktop.storage.orm.devices import UsageRow
    from ecmo_desktop.storage.unit_of_work import UnitOfWorkFactory

    engine = create_db_engine(url)
    factory = UnitOfWorkFactory(engine)
    try:
        barrier.wait(timeout=30)
        with factory() as uow:
            uow.session.add(
                UsageRow(
                    item_id=item_id,
                    run_id=run_id,
                    single_use=True,
                    bound_at=datetime.now(UTC),
                    bound_by_id=staff_id,
                    scanned_text="x",
                )
            )
            uow.commit()
        results.put("won")
    except IntegrityConflict as exc:
        results.put(f"refused:{exc.constraint}")
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a failure
        results.put(f"error:{type(exc).__name__}:{exc}")
    finally:
        engine.dispose()
