"""A method that shadows a Qt virtual by accident is called by Qt with Qt's arguments.

``AuditEventModel.event(row)`` overrode ``QObject::event(QEvent)``: Qt delivered its events to it, it
raised "'<=' not supported between 'int' and 'QEvent'", and the worker thread crashed now and then
(a segmentation fault in the dialog-fit test, about one run in five). Any ``event`` defined in ``ui/``
must take the QEvent.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from PySide6.QtCore import QObject

import ecmo_desktop.ui


def test_no_ui_class_shadows_qobject_event_with_another_meaning() -> None:
    wrong = []
    for module in pkgutil.walk_packages(ecmo_desktop.ui.__path__, "ecmo_desktop.ui."):
        loaded = importlib.import_module(module.name)
        for _name, cls in inspect.getmembers(loaded, inspect.isclass):
            if (
                not issubclass(cls, QObject)
                or cls.__module__ != loaded.__name__
                or "event" not in cls.__dict__
            ):
                continue
            params = list(inspect.signature(cls.__dict__["event"]).parameters.values())[1:]
            if len(params) != 1 or "QEvent" not in str(params[0].annotation):
                wrong.append(
                    f"{cls.__module__}.{cls.__qualname__}.event{inspect.signature(cls.__dict__['event'])}"
                )
    assert wrong == []
