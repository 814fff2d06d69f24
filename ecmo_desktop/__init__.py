"""ECMO Ward: documentation of ECMO runs and traceability of the single-use devices used on them."""

__version__ = "0.1.0"
