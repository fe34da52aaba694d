"""How a timeline item looks: a rounded block with its name, a thumbnail, and for pictures
the influence curve (top of the block is 1, bottom is 0) and, when it is not flat 1, the
opacity (dashed). Clips with sound show their waveform (scaled by the clip's gain and fades),
the gain line and the fade handles at the top corners (editor/timeline/audio_handles.py drags them)."""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from editor import style
from editor.timeline.audio_handles import FADE_HANDLE_PIXELS, gain_fraction, sound_band
from editor.timeline.block_pictures import BlockPictures
from engine.model.items import Clip, Item, MediaRef, Still, TextBlock, label
from engine.model.project import Track
from engine.model.titles import Title

EDGE_PIXELS = 6  # how close to an edge the pointer must be to trim instead of move
PICTURES = BlockPictures()  # every view's block pictures, under one memory budget
_serials = itertools.count()


class ItemGraphic(QGraphicsItem):
    def __init__(self, item: Item, track: Track, media: dict[str, MediaRef], top: float, height: float,
                 offline: bool = False):
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self._serial = next(_serials)
        self._version = 0  # counts changes of what the block shows: its kept pictures (block_pictures) are keyed by it
        self._thumbnail: QPixmap | None = None
        self.waveform = None  # engine.media.waveform.Waveform of the clip's file, once made
        self.fps = None  # the project's frame rate (a Fraction), with the waveform
        self._waveform_images = None  # resolution -> picture of the waveform (see _waveform_image_at)
        self._waveform_by_width = None  # band width in pixels -> one of those pictures
        self.place(item, track, media, top, height, offline)

    def place(self, item: Item, track: Track, media: dict[str, MediaRef], top: float, height: float,
              offline: bool = False) -> None:
        """Show `item` at its frames (x and width in frames: the view scales them to pixels)."""
        self._version += 1
        if not (getattr(self, "item", None) is item and getattr(self, "track", None) is track
                and getattr(self, "offline", None) == offline):
            self.item, self.track, self.offline = item, track, offline
            ref = media.get(getattr(item, "media_id", ""))
            self.sounds = isinstance(item, Clip) and ref is not None and (ref.kind == "audio" or ref.has_audio)
            self._waveform_images = None
            self._waveform_by_width = None
            self.title = item.text if isinstance(item, TextBlock) else label(item, media).strip("'")
            if isinstance(item, Title):  # a titled bar: "T" and the first line of its text
                self.title = "T  " + (item.name or (item.text.splitlines() or [""])[0])
            self.setToolTip(self.title)
            self._curve_cache = None
            self._title_cache = None
            self._duration = item.range.duration
            self._look = _look_of(self.color() if not offline else _OFFLINE_COLOR)
            self._sound_on_audio_track = track.kind == "audio"
            self._shows_curve = isinstance(item, (Clip, Still)) and track.kind == "video"
        rect = QRectF(0, 0, self._duration, height)
        if rect != getattr(self, "_rect", None):
            self.prepareGeometryChange()
            self._rect = rect
        self.setPos(item.start, top)
        self.update()

    @property
    def thumbnail(self) -> QPixmap | None:
        return self._thumbnail

    @thumbnail.setter
    def thumbnail(self, picture: QPixmap | None) -> None:
        self._thumbnail = picture
        self._version += 1

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
        # drawn in device pixels, so text, lines and thumbnails are not stretched by the zoom;
        # from the block's kept picture when it was drawn at this size before
        PICTURES.paint(painter, (self._serial, self._version, self.isSelected()), self._rect, self._paint_at)

    def _paint_at(self, painter: QPainter, device: QRectF) -> None:
        self._paint_device(painter, device.adjusted(0.5, 0.5, -0.5, -0.5))

    def _paint_device(self, painter: QPainter, rect: QRectF) -> None:
        # Blocks are pixel-aligned rectangles: drawn without antialiasing, which is several
        # times cheaper and looks the same; only the curve is antialiased. The brush and pens
        # come from the item's look, made once per colour (see _look_of).
        brush, pen, selected_pen = self._look
        painter.setRenderHint(_ANTIALIASING, False)
        painter.setBrush(brush)
        painter.setPen(selected_pen if self.isSelected() else pen)
        painter.drawRect(rect.toAlignedRect().adjusted(0, 0, -1, -1))
        width = rect.width()
        if self.thumbnail is not None and width > 40 and rect.height() > 30:
            # scaled to the row's height (rows can be resized) keeping its aspect, cut at the block's end
            scale = (rect.height() - 18) / max(self.thumbnail.height(), 1)
            target = QRectF(rect.left() + 2, rect.top() + 16, min(self.thumbnail.width() * scale, width - 4),
                            rect.height() - 18)
            painter.drawPixmap(target, self.thumbnail, QRectF(0, 0, target.width() / scale, self.thumbnail.height()))
        band = None
        if self.sounds:
            band = sound_band(rect, "audio" if self._sound_on_audio_track else "video")
            if self.waveform is not None:
                self._paint_waveform(painter, band)
        if width > 14:
            painter.setPen(_TEXT_PEN)
            painter.setFont(_TITLE_FONT)
            text_rect = rect.adjusted(5, 2, -4, -2)
            painter.drawText(text_rect, _TOP_LEFT, self._elided_title(painter, int(text_rect.width())))
        if band is not None:
            self._paint_fades_and_gain(painter, rect, band)
        if self._shows_curve:
            self._paint_curve(painter, rect)

    def _elided_title(self, painter: QPainter, width: int) -> str:
        cache = self._title_cache
        if cache is None or cache[0] != width:
            title = ("OFFLINE  " if self.offline else "") + self.title
            cache = self._title_cache = (width, painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight,
                                                                                 width))
        return cache[1]

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

    # --- sound: waveform, gain line, fade handles ------------------------------------------------

    def set_waveform(self, waveform, fps) -> None:
        self.waveform, self.fps = waveform, fps
        self._version += 1
        self._waveform_images = None
        self._waveform_by_width = None
        self.update()

    def _waveform_columns(self, count: int) -> np.ndarray | None:
        """The clip's peaks reduced to `count` columns (the loudest in each), with its gain
        and fades applied, or None when its file's sound does not reach the clip."""
        clip, fps = self.item, float(self.fps)
        start_s, stop_s = clip.source_range.start / fps, clip.source_range.stop / fps
        peaks = self.waveform.peaks_between(start_s, stop_s)
        expected = int(np.ceil((stop_s - start_s) * self.waveform.peaks_per_second))
        if 0 < len(peaks) < expected:  # the sound ends before the clip does: silence after it
            peaks = np.concatenate([peaks, np.zeros(expected - len(peaks), peaks.dtype)])
        if len(peaks) == 0:
            return None
        # more columns than peaks repeat a peak: reduceat gives the value at a repeated index
        edges = np.minimum((np.arange(count) * len(peaks)) // count, len(peaks) - 1)
        columns = np.maximum.reduceat(peaks, edges).astype(np.float32)
        if clip.reverse:  # it plays its sound backwards (engine.media.audio)
            columns = columns[::-1]
        xs = (np.arange(count) + 0.5) / count * clip.range.duration  # frames into the clip
        envelope = np.ones(count, np.float32)
        if clip.fade_in:
            envelope = np.minimum(envelope, xs / clip.fade_in)
        if clip.fade_out:
            envelope = np.minimum(envelope, (clip.range.duration - xs) / clip.fade_out)
        return np.clip(columns * envelope * np.float32(10 ** (clip.gain_db / 20)), 0.0, 1.0)

    def _waveform_image_at(self, width: int) -> QImage | None:
        """The waveform as a small picture (WAVEFORM_ROWS tall, one column per peak bucket,
        filled where the sound reaches), at the power-of-two resolution at or above `width`
        pixels (never finer than the peaks). Made with numpy once per resolution and scaled to
        the block when drawn, so repaints and scrolls only draw it and zooming makes another
        only when the clip's width crosses a power of two."""
        peaks_in_clip = max(1, int(self.item.range.duration / float(self.fps) * self.waveform.peaks_per_second))
        resolution = 1 << max(3, (min(width, peaks_in_clip) - 1).bit_length())
        if self._waveform_images is None:
            self._waveform_images = {}
        if resolution not in self._waveform_images:
            columns = self._waveform_columns(resolution)
            image = None
            if columns is not None:
                # a pixel is filled where its row's |level| <= the peak: how many rows that is picks
                # the column's pattern from _WAVEFORM_COLUMN_PATTERNS
                filled_rows = np.searchsorted(_WAVEFORM_SORTED_LEVELS, np.maximum(columns, 0.5 / WAVEFORM_ROWS),
                                              side="right")
                pixels = np.ascontiguousarray(_WAVEFORM_COLUMN_PATTERNS[filled_rows].T)
                image = QImage(pixels.data, resolution, WAVEFORM_ROWS, 4 * resolution,
                               QImage.Format.Format_ARGB32_Premultiplied).copy()
            self._waveform_images[resolution] = image
        return self._waveform_images[resolution]

    def _paint_waveform(self, painter: QPainter, band: QRectF) -> None:
        width = band.width()
        if band.height() < 4 or width < 3:
            return
        # the picture for this width: looked up by width first (a zoom changes every block's
        # width, but the picture changes only at powers of two)
        by_width = self._waveform_by_width
        if by_width is None:
            by_width = self._waveform_by_width = {}
        image = by_width.get(int(width), _UNKNOWN)
        if image is _UNKNOWN:
            if len(by_width) > 64:
                by_width.clear()
            image = by_width[int(width)] = self._waveform_image_at(int(width))
        if image is not None:
            painter.drawImage(band, image)

    def _paint_fades_and_gain(self, painter: QPainter, rect: QRectF, band: QRectF) -> None:
        if band.height() < 4 or rect.width() < 3:
            return
        clip, scale = self.item, rect.width() / max(self._duration, 1)
        fade_in_x = rect.left() + clip.fade_in * scale
        fade_out_x = rect.right() - clip.fade_out * scale
        gain_y = round(band.bottom() - gain_fraction(clip.gain_db) * band.height())
        painter.setPen(_GAIN_PEN)  # a level line: pixel-aligned, no antialiasing needed
        painter.drawLine(QPointF(fade_in_x, gain_y), QPointF(fade_out_x, gain_y))
        selected = self.isSelected() and rect.width() > 3 * FADE_HANDLE_PIXELS
        if not (clip.fade_in or clip.fade_out or selected):
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(_FADE_PEN)
        if clip.fade_in:
            painter.drawLine(QPointF(rect.left(), band.bottom()), QPointF(fade_in_x, rect.top()))
        if clip.fade_out:
            painter.drawLine(QPointF(fade_out_x, rect.top()), QPointF(rect.right(), band.bottom()))
        if selected:  # the fade handles are drawn on the selected clip only; they can be grabbed on any
            painter.setPen(QPen(QColor(20, 20, 20), 1))
            painter.setBrush(_HANDLE_BRUSH)
            r = FADE_HANDLE_PIXELS / 2
            for x in (fade_in_x, fade_out_x):
                painter.drawEllipse(QPointF(min(max(x, rect.left() + r), rect.right() - r), rect.top() + r), r - 1, r - 1)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)


_TITLE_COLOR = QColor(150, 90, 170)  # titles: overlays, apart from clips, stills and prompts
_OFFLINE_COLOR = QColor(120, 50, 50)
_ANTIALIASING = QPainter.RenderHint.Antialiasing
_TOP_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
_TEXT_PEN = QPen(style.TEXT)  # what painter.setPen(QColor) makes, made once
_UNKNOWN = object()
_looks: dict[int, tuple[QBrush, QPen, QPen]] = {}


def _look_of(base: QColor) -> tuple[QBrush, QPen, QPen]:
    """The fill, outline and selected outline of a block of colour `base`, shared by every block of it."""
    key = base.rgba()
    look = _looks.get(key)
    if look is None:
        look = _looks[key] = (QBrush(base.darker(115)), QPen(base.lighter(135), 1), QPen(QColor(255, 255, 255), 2))
    return look

_TITLE_FONT = QFont()
_TITLE_FONT.setPointSizeF(8.5)
_CURVE_PEN = QPen(QColor(255, 230, 120, 220), 1.3)
_CURVE_PEN.setCosmetic(True)  # the same width however the unit curve is scaled
_OPACITY_PEN = QPen(QColor(235, 240, 255, 220), 1.3, Qt.PenStyle.DashLine)
_OPACITY_PEN.setCosmetic(True)
WAVEFORM_ROWS = 48
_WAVEFORM_COLOR = QColor(200, 235, 210, 170)
# premultiplied ARGB of that colour, as QImage stores it
_WAVEFORM_ARGB = (170 << 24) | ((200 * 170 // 255) << 16) | ((235 * 170 // 255) << 8) | (210 * 170 // 255)
# row centres from +1 (top) to -1 (bottom), their order from the middle out, and for each count
# of filled rows (0 to all) the column of pixels with the rows of the lowest |level| filled
_WAVEFORM_LEVELS = np.abs(np.linspace(1, -1, WAVEFORM_ROWS, dtype=np.float32))
_WAVEFORM_ROW_ORDER = np.argsort(_WAVEFORM_LEVELS, kind="stable")
_WAVEFORM_SORTED_LEVELS = _WAVEFORM_LEVELS[_WAVEFORM_ROW_ORDER]
_WAVEFORM_COLUMN_PATTERNS = np.zeros((WAVEFORM_ROWS + 1, WAVEFORM_ROWS), np.uint32)
for _filled in range(1, WAVEFORM_ROWS + 1):
    _WAVEFORM_COLUMN_PATTERNS[_filled, _WAVEFORM_ROW_ORDER[:_filled]] = _WAVEFORM_ARGB
_FADE_PEN = QPen(QColor(255, 255, 255, 170), 1)
_GAIN_PEN = QPen(QColor(255, 170, 60), 1)
_HANDLE_BRUSH = QBrush(QColor(240, 240, 240))
