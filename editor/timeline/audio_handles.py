"""Gain and fade handles on clips with sound, dragged with the mouse (Kdenlive style).

The gain line runs across the clip's sound band (its waveform strip): higher is louder, on a
dB scale from GAIN_VIEW_MIN_DB at the bottom to GAIN_VIEW_MAX_DB at the top; dragging it moves
the gain by the same dB per pixel, from where it was. The fade handles sit at the clip's top
corners: dragging one inwards lengthens that fade (in whole frames). Each drag is one undoable
edit (engine.model.edits.set_clip_audio, merged while the mouse moves).

Geometry here is in viewport pixels, the same rectangle ItemGraphic paints in.
"""

from __future__ import annotations

import dataclasses
import itertools

from PySide6.QtCore import QPointF, QRectF, Qt

from engine.model import edits
from engine.model.items import Clip

FADE_HANDLE_PIXELS = 10  # the fade handle's size, and how near the pointer must be to grab it
GAIN_GRAB_PIXELS = 4
GAIN_VIEW_MIN_DB, GAIN_VIEW_MAX_DB = -30.0, 12.0
TRIM_EDGE_PIXELS = 6  # the trim edges keep priority there (editor.timeline.graphics.EDGE_PIXELS)
_serial = itertools.count()


def sound_band(rect: QRectF, track_kind: str) -> QRectF:
    """Where a clip's waveform and gain line are drawn: the whole block on audio tracks (the
    title over it), the lower part of the block on video tracks (the picture above it)."""
    if track_kind == "audio":
        return QRectF(rect.left(), rect.top() + 2, rect.width(), max(rect.height() - 4, 0))
    height = rect.height() * 0.4
    return QRectF(rect.left(), rect.bottom() - height, rect.width(), max(height - 2, 0))


def gain_fraction(gain_db: float) -> float:
    """Height of the gain line in the sound band, 0 (bottom) to 1 (top)."""
    span = GAIN_VIEW_MAX_DB - GAIN_VIEW_MIN_DB
    return min(max((gain_db - GAIN_VIEW_MIN_DB) / span, 0.0), 1.0)


@dataclasses.dataclass
class HandleDrag:
    handle: str  # "gain", "fade_in" or "fade_out"
    clip: Clip  # as it was when the drag began
    press: QPointF
    band_height: float
    key: tuple


def item_rect(view, graphic) -> QRectF:
    """The graphic's block in viewport pixels."""
    left, right = view.view_x_of(graphic.item.start), view.view_x_of(graphic.item.range.stop)
    top = view.mapFromScene(QPointF(graphic.x(), graphic.y())).y()
    return QRectF(left, top, right - left, graphic.boundingRect().height() - 2)


def handle_at(view, graphic, pos: QPointF) -> str | None:
    """Which handle of the graphic's clip is under the viewport point `pos`, if any."""
    if graphic is None or not getattr(graphic, "sounds", False) or graphic.track.locked:
        return None
    clip = graphic.item
    rect = item_rect(view, graphic)
    if rect.width() <= 3 * FADE_HANDLE_PIXELS:
        return None
    scale = rect.width() / max(clip.range.duration, 1)
    fade_in_x, fade_out_x = rect.left() + clip.fade_in * scale, rect.right() - clip.fade_out * scale
    if pos.y() <= rect.top() + FADE_HANDLE_PIXELS + 2:
        if abs(pos.x() - max(fade_in_x, rect.left() + FADE_HANDLE_PIXELS / 2)) <= FADE_HANDLE_PIXELS:
            return "fade_in"
        if abs(pos.x() - min(fade_out_x, rect.right() - FADE_HANDLE_PIXELS / 2)) <= FADE_HANDLE_PIXELS:
            return "fade_out"
    band = sound_band(rect, graphic.track.kind)
    gain_y = band.bottom() - gain_fraction(clip.gain_db) * band.height()
    inside = rect.left() + TRIM_EDGE_PIXELS < pos.x() < rect.right() - TRIM_EDGE_PIXELS
    if inside and band.height() >= 4 and abs(pos.y() - gain_y) <= GAIN_GRAB_PIXELS:
        return "gain"
    return None


def cursor_for(handle: str | None):
    return {"gain": Qt.CursorShape.SizeVerCursor, "fade_in": Qt.CursorShape.SizeHorCursor,
            "fade_out": Qt.CursorShape.SizeHorCursor}.get(handle)


def press(view, graphic, pos: QPointF) -> HandleDrag | None:
    handle = handle_at(view, graphic, pos)
    if handle is None:
        return None
    band = sound_band(item_rect(view, graphic), graphic.track.kind)
    return HandleDrag(handle, graphic.item, QPointF(pos), band.height(), ("audio-handle", next(_serial)))


def drag_to(view, drag: HandleDrag, pos: QPointF) -> None:
    clip = drag.clip
    if drag.handle == "gain":
        per_pixel = (GAIN_VIEW_MAX_DB - GAIN_VIEW_MIN_DB) / max(drag.band_height, 1.0)
        gain = clip.gain_db + (drag.press.y() - pos.y()) * per_pixel
        gain = round(min(max(gain, edits.MIN_GAIN_DB), edits.MAX_GAIN_DB), 1)
        change = {"gain_db": gain}
    else:
        frames = round((pos.x() - drag.press.x()) / view.pixels_per_frame)
        if drag.handle == "fade_in":
            change = {"fade_in": min(max(clip.fade_in + frames, 0), clip.range.duration - clip.fade_out)}
        else:
            change = {"fade_out": min(max(clip.fade_out - frames, 0), clip.range.duration - clip.fade_in)}
    text = "Clip gain" if drag.handle == "gain" else "Fade in" if drag.handle == "fade_in" else "Fade out"
    view.document.perform(text, lambda p: edits.set_clip_audio(p, clip.id, **change), drag.key)
