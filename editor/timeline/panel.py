"""The Timeline dock: track headers beside the view."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from editor import style
from editor.document import Document
from editor.timeline.plan_strip import PlanStrip
from editor.timeline.view import RULER_HEIGHT, TimelineView, track_rows

HEADER_WIDTH = 120


class TrackHeaders(QWidget):
    """Track names and kinds, aligned with the rows of the view."""

    def __init__(self, view: TimelineView):
        super().__init__()
        self.view = view
        self.setFixedWidth(HEADER_WIDTH)
        view.verticalScrollBar().valueChanged.connect(self.update)
        view.document.changed.connect(self.update)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), style.PANEL)
        offset = RULER_HEIGHT - self.view.verticalScrollBar().value()
        for track, top, height in track_rows(self.view.project):
            rect = QRectF(4, offset + top, self.width() - 8, height)
            painter.fillRect(rect, style.PANEL.lighter(112))
            painter.setPen(style.TEXT)
            flags = "".join(mark for on, mark in ((track.locked, " 🔒"), (track.muted, " M"), (track.hidden, " H")) if on)
            painter.drawText(rect.adjusted(8, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             track.name + flags)
            painter.setPen(style.TEXT.darker(150))
            painter.drawText(rect.adjusted(0, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             track.kind)


class TimelinePanel(QWidget):
    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = TimelineView(document)
        self.headers = TrackHeaders(self.view)
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
