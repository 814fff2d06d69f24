"""Import, export and QC-report computations over case facts: pure, no Qt and no database.

``domain/case.py`` is the read model it counts (loaded by ``storage/repositories/case.py``),
``import_cases`` and
``import_equipment`` read legacy registers, ``report`` computes the QC figures and ``export`` writes
and reads the versioned case-level export (docs/export-schema.md).
"""
