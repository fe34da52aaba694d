"""The timeline: track headers on the left, a ruler on top, tracks and their items below.

The scene is laid out in frames horizontally (x = frame * pixels_per_frame) and tracks
vertically in display order (top first). It is rebuilt from the project model whenever the
project changes; items are drawn by ItemGraphic, which also draws the influence curve.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QStyleOptionGraphicsItem,
    QWidget,
)

from editor import style
from engine.model.items import Clip, Item, MediaRef, Still, TextBlock, label
from engine.model.project import Project, Track

RULER_HEIGHT = 26
TRACK_HEIGHTS = {"video": 56, "prompt": 34, "audio": 40}
HEADER_WIDTH = 120
TRACK_GAP = 2


def track_tops(project: Project) -> list[tuple[Track, float, float]]:
    """(track, top y, height) for each track, in display order."""
    rows, y = [], 0.0
    for track in project.timeline.tracks:
        height = TRACK_HEIGHTS[track.kind]
        rows.append((track, y, height))
        y += height + TRACK_GAP
    return rows


class ItemGraphic(QGraphicsItem):
    """One timeline item: a rounded block with its name and, for pictures, its influence curve."""

    def __init__(self, item: Item, track: Track, media: dict[str, MediaRef], pixels_per_frame: float, height: float):
        super().__init__()
        self.item = item
        self.track = track
        self.title = item.text if isinstance(item, TextBlock) else label(item, media).strip("'")
        self._rect = QRectF(0, 0, item.range.duration * pixels_per_frame, height)
        self.setPos(item.start * pixels_per_frame, 0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setToolTip(self.title)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def color(self) -> QColor:
        if isinstance(self.item, TextBlock):
            return style.TEXT_COLOR
        if isinstance(self.item, Still):
            return style.STILL_COLOR
        if self.track.kind == "audio":
            return style.AUDIO_COLOR
        return style.GENERATED_COLOR if self.item.generation is not None else style.CLIP_COLOR

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        rect = self._rect.adjusted(0.5, 0.5, -0.5, -0.5)
        base = self.color()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QBrush(base.darker(115)))
        painter.setPen(QPen(QColor(255, 255, 255) if self.isSelected() else base.lighter(135), 1.5 if self.isSelected() else 1))
        painter.drawRoundedRect(rect, 3, 3)
        if rect.width() > 14:
            painter.setPen(style.TEXT)
            font = QFont(painter.font())
            font.setPointSizeF(8.5)
            painter.setFont(font)
            text_rect = rect.adjusted(5, 2, -4, -2)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                             painter.fontMetrics().elidedText(self.title, Qt.TextElideMode.ElideRight, int(text_rect.width())))
        if isinstance(self.item, (Clip, Still)) and self.track.kind == "video":
            self._paint_curve(painter, rect)

    def _paint_curve(self, painter: QPainter, rect: QRectF) -> None:
        """The influence curve across the item: top of the block is 1, bottom is 0."""
        import numpy as np

        samples = max(2, min(int(rect.width() / 3), 400))
        local = np.linspace(0, self.item.range.duration - 1, samples)
        values = self.item.curve.evaluate(local)
        top, height = rect.top() + 16, rect.height() - 20
        path = QPainterPath()
        for i, (x, v) in enumerate(zip(np.linspace(rect.left(), rect.right(), samples), values, strict=True)):
            point_y = top + (1.0 - float(v)) * height
            path.moveTo(x, point_y) if i == 0 else path.lineTo(x, point_y)
        painter.setPen(QPen(QColor(255, 230, 120, 220), 1.3))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)


class TimelineView(QGraphicsView):
    """Tracks and items; the ruler with timecodes is painted on top, fixed to the viewport."""

    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.project: Project | None = None
        self.pixels_per_frame = 4.0
        self.playhead = 0
        self.setViewportMargins(0, RULER_HEIGHT, 0, 0)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setBackgroundBrush(style.BACKGROUND)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self._ruler = _Ruler(self)

    def set_project(self, project: Project) -> None:
        self.project = project
        self.rebuild()

    def rebuild(self) -> None:
        scene = self.scene()
        scene.clear()
        if self.project is None:
            return
        width = max(self.project.timeline.duration + 10 * self.project.rate.timebase, 1) * self.pixels_per_frame
        rows = track_tops(self.project)
        for track, top, height in rows:
            lane = scene.addRect(QRectF(0, top, width, height), QPen(Qt.PenStyle.NoPen),
                                 QBrush(style.PANEL.darker(105) if track.kind != "prompt" else QColor(44, 40, 34)))
            lane.setZValue(-1)
            for item in track.items:
                graphic = ItemGraphic(item, track, self.project.media, self.pixels_per_frame, height - 4)
                graphic.setY(top + 2)
                scene.addItem(graphic)
        total_height = rows[-1][1] + rows[-1][2] if rows else 0
        scene.setSceneRect(QRectF(0, 0, width, total_height))
        self._ruler.update()

    def frame_at(self, view_x: float) -> int:
        return int(self.mapToScene(int(view_x), 0).x() // self.pixels_per_frame)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._ruler.setGeometry(0, 0, self.width(), RULER_HEIGHT)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self._ruler.update()


class _Ruler(QWidget):
    """Timecode ruler above the tracks, following the view's horizontal scroll and zoom."""

    def __init__(self, view: TimelineView):
        super().__init__(view)
        self.view = view

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), style.PANEL)
        project = self.view.project
        if project is None:
            return
        rate = project.rate
        ppf = self.view.pixels_per_frame
        first = max(self.view.frame_at(0), 0)
        last = self.view.frame_at(self.width()) + 1
        # one labelled tick at least ~90 px apart, on whole seconds when zoomed out
        step = rate.timebase
        while step * ppf < 90:
            step *= 2
        while step > 1 and step * ppf > 180:
            step //= 2
        painter.setPen(style.TEXT.darker(130))
        font = QFont(painter.font())
        font.setPointSizeF(8)
        painter.setFont(font)
        origin = self.view.mapFromScene(0, 0).x()
        for frame in range(first - first % step, last + step, step):
            x = origin + frame * ppf
            painter.drawLine(int(x), RULER_HEIGHT - 8, int(x), RULER_HEIGHT)
            painter.drawText(int(x) + 3, RULER_HEIGHT - 10, rate.timecode(frame))
        playhead_x = origin + self.view.playhead * ppf
        painter.setPen(QPen(style.PLAYHEAD_COLOR, 2))
        painter.drawLine(int(playhead_x), 0, int(playhead_x), RULER_HEIGHT)


class TrackHeaders(QWidget):
    """Track names and kinds, aligned with the rows of the view."""

    def __init__(self, view: TimelineView):
        super().__init__()
        self.view = view
        self.setFixedWidth(HEADER_WIDTH)
        view.verticalScrollBar().valueChanged.connect(self.update)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), style.PANEL)
        project = self.view.project
        if project is None:
            return
        offset = RULER_HEIGHT - self.view.verticalScrollBar().value()
        for track, top, height in track_tops(project):
            rect = QRectF(4, offset + top, self.width() - 8, height)
            painter.fillRect(rect, style.PANEL.lighter(112))
            painter.setPen(style.TEXT)
            painter.drawText(rect.adjusted(8, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             track.name)
            painter.setPen(style.TEXT.darker(150))
            painter.drawText(rect.adjusted(0, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             track.kind)


class TimelinePanel(QWidget):
    """Headers and view side by side: what the Timeline dock holds."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = TimelineView()
        self.headers = TrackHeaders(self.view)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.headers)
        layout.addWidget(self.view)

    def set_project(self, project: Project) -> None:
        self.view.set_project(project)
        self.headers.update()
