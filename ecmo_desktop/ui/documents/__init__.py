"""Documents in the GUI: the case view's 文书 tab and the records staff's archive page."""

from ecmo_desktop.ui.documents.archive_page import ArchivePage
from ecmo_desktop.ui.documents.tab import DocumentsTab

__all__ = ["ArchivePage", "DocumentsTab"]
