"""Pictures of timeline blocks as last drawn, so that a repaint or a scroll draws each block
with one picture instead of its dozen drawing calls (the timeline repaints all of them for every
playhead move, scroll step and selection change).

A block's picture is keyed by what it shows (its look version and selection) and where it falls
on the pixel grid: its size in device pixels and the fractions of a pixel its corner sits at.
Scrolling moves blocks by whole pixels, so their pictures stay valid; a zoom gives new sizes, so
blocks are drawn again: directly while the zoom goes on (a block whose size changed since it
was last drawn gets no picture, which the next zoom step would throw away), into a picture once
a repaint finds the same size again. The pictures of recent zoom levels are kept (zooming in and
back out finds them). Pictures are kept up to a memory budget, least recently used first out.

A picture is drawn with the same painter settings the view uses, over a transparent
background; where its block is opaque (all of it but antialiased edges) the pixels on screen are
the same as drawing the block directly.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPixmap, QTransform

MARGIN = 2  # pixels around the block: a selected block's 2-pixel outline reaches 1 pixel outside it
MAX_PICTURE_PIXELS = 4096 * 256  # wider blocks (close zoom on long clips) are drawn directly
BUDGET_BYTES = 96 << 20
_SCALE_AND_MOVE = {QTransform.TransformationType.TxNone, QTransform.TransformationType.TxTranslate,
                   QTransform.TransformationType.TxScale}


class BlockPictures:
    """Block pictures of one or more views, least recently used first out past `budget_bytes`."""

    def __init__(self, budget_bytes: int = BUDGET_BYTES):
        self.budget_bytes = budget_bytes
        self.used_bytes = 0
        self._pictures: OrderedDict[tuple, QPixmap] = OrderedDict()
        self.made = 0  # pictures drawn so far (for tests and benchmarks)
        self.enabled = True  # False: every block is drawn directly on every paint (the reference)
        self._last_sizes: dict[tuple, tuple[int, int]] = {}  # look -> the size it was last drawn at

    def __len__(self) -> int:
        return len(self._pictures)

    def clear(self) -> None:
        self._pictures.clear()
        self._last_sizes.clear()
        self.used_bytes = 0

    def paint(self, painter: QPainter, look: tuple, rect: QRectF,
              draw: Callable[[QPainter, QRectF], None]) -> None:
        """Draw the block `rect` (item coordinates) of look `look` (hashable: what it shows)
        through the painter's transform, with `draw(painter, device_rect)` drawing it in device
        pixels (the painter's transform reset), from the kept picture when there is one."""
        transform = painter.worldTransform()
        device = transform.mapRect(rect)
        width, height = device.width(), device.height()
        if (not self.enabled or transform.type() not in _SCALE_AND_MOVE
                or width * height > MAX_PICTURE_PIXELS or width > 32000 or height > 32000):
            painter.save()
            painter.resetTransform()
            try:
                draw(painter, device)
            finally:
                painter.restore()
            return
        left, top = math.floor(device.left()), math.floor(device.top())
        fraction_x, fraction_y = device.left() - left, device.top() - top
        # scrolling moves a block by whole pixels, but the float sums may differ in their last bits
        key = (look, round(width * 1024), round(height * 1024), round(fraction_x * 1024), round(fraction_y * 1024),
               painter.device().devicePixelRatio())
        picture = self._pictures.get(key)
        if picture is None:
            size = key[1:3]
            last_size = self._last_sizes.get(look)
            if len(self._last_sizes) > 20000:
                self._last_sizes.clear()
            self._last_sizes[look] = size
            if last_size is not None and last_size != size:
                # a zoom in progress: the next frame will have another size again, so the
                # picture would be thrown away; drawn directly until the size holds
                painter.save()
                painter.resetTransform()
                try:
                    draw(painter, device)
                finally:
                    painter.restore()
                return
            picture = self._draw_picture(painter, QRectF(MARGIN + fraction_x, MARGIN + fraction_y, width, height),
                                         draw)
            self._keep(key, picture)
        else:
            self._pictures.move_to_end(key)
        painter.save()
        painter.resetTransform()
        painter.drawPixmap(QPointF(left - MARGIN, top - MARGIN), picture)
        painter.restore()

    def _draw_picture(self, painter: QPainter, device: QRectF,
                      draw: Callable[[QPainter, QRectF], None]) -> QPixmap:
        ratio = painter.device().devicePixelRatio()
        width = math.ceil(device.right()) + MARGIN
        height = math.ceil(device.bottom()) + MARGIN
        picture = QPixmap(max(1, math.ceil(width * ratio)), max(1, math.ceil(height * ratio)))
        picture.setDevicePixelRatio(ratio)
        picture.fill(Qt.GlobalColor.transparent)
        on_picture = QPainter(picture)
        on_picture.setRenderHints(painter.renderHints())
        on_picture.setFont(painter.font())
        try:
            draw(on_picture, device)
        finally:
            on_picture.end()
        self.made += 1
        return picture

    def _keep(self, key: tuple, picture: QPixmap) -> None:
        size = picture.width() * picture.height() * 4
        self._pictures[key] = picture
        self.used_bytes += size
        while self.used_bytes > self.budget_bytes and len(self._pictures) > 1:
            _, old = self._pictures.popitem(last=False)
            self.used_bytes -= old.width() * old.height() * 4
