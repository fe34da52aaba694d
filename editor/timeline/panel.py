"""The Timeline dock: track headers beside the view."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from editor.document import Document
from editor.timeline.plan_strip import PlanStrip
from editor.timeline.tracks import HEADER_WIDTH, TrackCommands, TrackHeaders
from editor.timeline.view import TimelineView


class TimelinePanel(QWidget):
    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = TimelineView(document)
        self.track_commands = TrackCommands(document, self)
        self.headers = TrackHeaders(self.view, self.track_commands)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.headers)
        row.addWidget(self.view)
        self.rows = QVBoxLayout(self)
        self.rows.setContentsMargins(0, 0, 0, 0)
        self.rows.setSpacing(0)
        self.rows.addLayout(row, 1)
        self.plan_strip = PlanStrip(self.view, HEADER_WIDTH)
        self.rows.addWidget(self.plan_strip)
