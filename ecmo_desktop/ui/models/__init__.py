"""Qt item models over service results (dataclasses), paging lazily with fetchMore."""
