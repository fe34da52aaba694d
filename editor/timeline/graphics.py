"""How a timeline item looks: a rounded block with its name, a thumbnail, and for pictures
the influence curve (top of the block is 1, bottom is 0)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from editor import style
from engine.model.items import Clip, Item, MediaRef, Still, TextBlock, label
from engine.model.project import Track

EDGE_PIXELS = 6  # how close to an edge the pointer must be to trim instead of move


class ItemGraphic(QGraphicsItem):
    def __init__(self, item: Item, track: Track, media: dict[str, MediaRef], pixels_per_frame: float, top: float,
                 height: float, offline: bool = False):
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.thumbnail: QPixmap | None = None
        self.place(item, track, media, pixels_per_frame, top, height, offline)

    def place(self, item: Item, track: Track, media: dict[str, MediaRef], pixels_per_frame: float, top: float,
              height: float, offline: bool = False) -> None:
        self.prepareGeometryChange()
        self.item = item
        self.track = track
        self.title = item.text if isinstance(item, TextBlock) else label(item, media).strip("'")
        self.offline = offline
        self._rect = QRectF(0, 0, item.range.duration * pixels_per_frame, height)
        self.setPos(item.start * pixels_per_frame, top)
        self.setToolTip(self.title)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def edge_at(self, scene_x: float) -> str | None:
        """"start" or "end" when scene_x is on a trimming edge of this block."""
        local = scene_x - self.x()
        width = self._rect.width()
        edge = min(EDGE_PIXELS, width / 4)
        if local <= edge:
            return "start"
        if local >= width - edge:
            return "end"
        return None

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
        base = self.color() if not self.offline else QColor(120, 50, 50)
        selected = self.isSelected()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QBrush(base.darker(115)))
        painter.setPen(QPen(QColor(255, 255, 255) if selected else base.lighter(135), 2 if selected else 1))
        painter.drawRoundedRect(rect, 3, 3)
        if self.thumbnail is not None and rect.width() > 40 and rect.height() > 30:
            target = QRectF(rect.left() + 2, rect.top() + 16, min(self.thumbnail.width(), rect.width() - 4),
                            rect.height() - 18)
            painter.drawPixmap(target, self.thumbnail, QRectF(0, 0, target.width(), self.thumbnail.height()))
        if rect.width() > 14:
            painter.setPen(style.TEXT)
            font = QFont(painter.font())
            font.setPointSizeF(8.5)
            painter.setFont(font)
            text_rect = rect.adjusted(5, 2, -4, -2)
            title = ("OFFLINE  " if self.offline else "") + self.title
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                             painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, int(text_rect.width())))
        if isinstance(self.item, (Clip, Still)) and self.track.kind == "video":
            self._paint_curve(painter, rect)

    def _paint_curve(self, painter: QPainter, rect: QRectF) -> None:
        samples = max(2, min(int(rect.width() / 3), 400))
        local = np.linspace(0, self.item.range.duration - 1, samples)
        values = self.item.curve.evaluate(local)
        top, height = rect.top() + 16, rect.height() - 20
        path = QPainterPath()
        xs = np.linspace(rect.left(), rect.right(), samples)
        path.moveTo(xs[0], top + (1.0 - values[0]) * height)
        for x, v in zip(xs[1:], values[1:], strict=True):
            path.lineTo(x, top + (1.0 - v) * height)
        painter.setPen(QPen(QColor(255, 230, 120, 220), 1.3))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
