"""How a timeline item looks: a rounded block with its name, a thumbnail, and for pictures
the influence curve (top of the block is 1, bottom is 0) and, when it is not flat 1, the
opacity (dashed)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from editor import style
from engine.model.items import Clip, Item, MediaRef, Still, TextBlock, label
from engine.model.project import Track
from engine.model.titles import Title

EDGE_PIXELS = 6  # how close to an edge the pointer must be to trim instead of move


class ItemGraphic(QGraphicsItem):
    def __init__(self, item: Item, track: Track, media: dict[str, MediaRef], top: float, height: float,
                 offline: bool = False):
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.thumbnail: QPixmap | None = None
        self.place(item, track, media, top, height, offline)

    def place(self, item: Item, track: Track, media: dict[str, MediaRef], top: float, height: float,
              offline: bool = False) -> None:
        """Show `item` at its frames (x and width in frames: the view scales them to pixels)."""
        if not (getattr(self, "item", None) is item and getattr(self, "track", None) is track
                and getattr(self, "offline", None) == offline):
            self.item, self.track, self.offline = item, track, offline
            self.title = item.text if isinstance(item, TextBlock) else label(item, media).strip("'")
            if isinstance(item, Title):  # a titled bar: "T" and the first line of its text
                self.title = "T  " + (item.name or (item.text.splitlines() or [""])[0])
            self.setToolTip(self.title)
            self._curve_cache = None
            self._title_cache = None
        rect = QRectF(0, 0, item.range.duration, height)
        if rect != getattr(self, "_rect", None):
            self.prepareGeometryChange()
            self._rect = rect
        self.setPos(item.start, top)
        self.update()

    def height(self) -> float:
        """The block's height in pixels (its row's height less the margins)."""
        return self._rect.height()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(0, -1, 0, 1)

    def edge_at(self, scene_x: float, pixels_per_frame: float) -> str | None:
        """"start" or "end" when scene_x (in frames) is on a trimming edge of this block."""
        local = (scene_x - self.x()) * pixels_per_frame
        width = self._rect.width() * pixels_per_frame
        edge = min(EDGE_PIXELS, width / 4)
        if local <= edge:
            return "start"
        if local >= width - edge:
            return "end"
        return None

    def color(self) -> QColor:
        if isinstance(self.item, TextBlock):
            return style.TEXT_COLOR
        if isinstance(self.item, Title):
            return _TITLE_COLOR
        if isinstance(self.item, Still):
            return style.STILL_COLOR
        if self.track.kind == "audio":
            return style.AUDIO_COLOR
        return style.GENERATED_COLOR if self.item.generation is not None else style.CLIP_COLOR

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        # draw in device pixels, so text, lines and thumbnails are not stretched by the zoom
        device = painter.worldTransform().mapRect(self._rect)
        painter.save()
        painter.resetTransform()
        try:
            self._paint_device(painter, device.adjusted(0.5, 0.5, -0.5, -0.5))
        finally:
            painter.restore()

    def _paint_device(self, painter: QPainter, rect: QRectF) -> None:
        # Blocks are pixel-aligned rectangles: drawn without antialiasing, which is several
        # times cheaper and looks the same; only the curve is antialiased.
        base = self.color() if not self.offline else QColor(120, 50, 50)
        selected = self.isSelected()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setBrush(QBrush(base.darker(115)))
        painter.setPen(QPen(QColor(255, 255, 255) if selected else base.lighter(135), 2 if selected else 1))
        painter.drawRect(rect.toAlignedRect().adjusted(0, 0, -1, -1))
        if self.thumbnail is not None and rect.width() > 40 and rect.height() > 30:
            # scaled to the row's height (rows can be resized) keeping its aspect, cut at the block's end
            scale = (rect.height() - 18) / max(self.thumbnail.height(), 1)
            target = QRectF(rect.left() + 2, rect.top() + 16, min(self.thumbnail.width() * scale, rect.width() - 4),
                            rect.height() - 18)
            painter.drawPixmap(target, self.thumbnail, QRectF(0, 0, target.width() / scale, self.thumbnail.height()))
        if rect.width() > 14:
            painter.setPen(style.TEXT)
            painter.setFont(_TITLE_FONT)
            text_rect = rect.adjusted(5, 2, -4, -2)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                             self._elided_title(painter, int(text_rect.width())))
        if isinstance(self.item, (Clip, Still)) and self.track.kind == "video":
            self._paint_curve(painter, rect)

    def _elided_title(self, painter: QPainter, width: int) -> str:
        if self._title_cache is None or self._title_cache[0] != width:
            title = ("OFFLINE  " if self.offline else "") + self.title
            self._title_cache = (width, painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, width))
        return self._title_cache[1]

    def _paint_curve(self, painter: QPainter, rect: QRectF) -> None:
        """The influence curve (and a non-flat opacity): sampled once per item in unit coordinates (x and value in
        0..1) and scaled to the block, so zooming costs no re-sampling."""
        if self._curve_cache is None:
            samples = max(2, min(self.item.range.duration, 48))  # a sketch; the Curves panel has the detail
            at = np.linspace(0, self.item.range.duration - 1, samples)
            xs = np.linspace(0.0, 1.0, samples).tolist()
            shown = [(_CURVE_PEN, self.item.curve)]
            if not self.item.opacity.is_default:
                shown.append((_OPACITY_PEN, self.item.opacity))
            self._curve_cache = [(pen, QPolygonF(list(map(QPointF, xs, (1.0 - curve.evaluate(at)).tolist()))))
                                 for pen, curve in shown]
        painter.save()
        painter.translate(rect.left(), rect.top() + 16)
        painter.scale(rect.width(), max(rect.height() - 20, 1.0))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen, polygon in self._curve_cache:
            painter.setPen(pen)
            painter.drawPolyline(polygon)
        painter.restore()


_TITLE_COLOR = QColor(150, 90, 170)  # titles: overlays, apart from clips, stills and prompts
_TITLE_FONT = QFont()
_TITLE_FONT.setPointSizeF(8.5)
_CURVE_PEN = QPen(QColor(255, 230, 120, 220), 1.3)
_CURVE_PEN.setCosmetic(True)  # the same width however the unit curve is scaled
_OPACITY_PEN = QPen(QColor(235, 240, 255, 220), 1.3, Qt.PenStyle.DashLine)
_OPACITY_PEN.setCosmetic(True)
