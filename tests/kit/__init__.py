"""Shared test helpers: database set-up (``db``), the record, device and document kits, UI drivers.

No tests live here (pytest collects ``test_*.py`` only). ``db``, ``records``, ``devices`` and
``documents`` import no Qt, so the ``--no-qt`` run can use them; ``ui*`` modules are for tests/ui.
"""
