"""The case view: patient banner plus one tab per part of the ECMO record (``CaseView.add_tab``)."""

from ecmo_desktop.ui.case_view.view import CaseView

__all__ = ["CaseView"]
