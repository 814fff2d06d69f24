"""ORM tables, one module per aggregate. Importing this package registers every table."""

from ecmo_desktop.storage.orm import audit, devices, documents, people, records, runs  # noqa: F401
from ecmo_desktop.storage.orm.base import Base

__all__ = ["Base"]
