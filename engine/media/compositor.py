"""The classic (non-AI) picture of a timeline frame: `render_frame(project, frame)`.

Visible video tracks are layered top over bottom (the first track in display order is on
top). Each item is placed on the project canvas by its fit mode, read from
`item.extra["fit"]` until the model has a field for it:

- "fit" (default): scaled to fit inside the canvas, centred, uncovered borders transparent;
- "fill": scaled to cover the canvas, centred, the overflow cropped;
- "crop": not scaled, centred (cropped when larger, bordered when smaller).

An item's opacity (Clip.opacity / Still.opacity keyframes, default 1) is its weight: with
weight w and per-pixel alpha a, the item covers what is below with w * a
(out = w*a*top + (1 - w*a)*below). Two clips on different tracks with crossing opacity
keyframes therefore crossfade. The influence curve is not used here: it only tells the model
how strongly to hold frames. A transition on a cut (engine/model/transitions.py) draws both
items of the cut mixed into one layer (engine/media/transition_mix.py). Text blocks are
prompts for the generator and are never drawn; titles are drawn (engine/media/text.py) with
their fades as their weight. A clip's speed and an item's transform apply after the fit mode
(engine/media/effects.py). Below every layer is black (or transparent with alpha=True, for
ProRes 4444 exports). Pixels are square: the project's pixel aspect is not applied here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from engine.errors import MediaError
from engine.media.decode import VideoReader
from engine.media.decode_ahead import DecodeAhead
from engine.media.effects import overlay, retimed_picture, transformed_layer
from engine.media.preview_scale import canvas_size, placed_size, read_size, scaled_title_layer, shrink
from engine.media.stills import load_image
from engine.media.text import title_layer
from engine.media.transition_mix import as_layer, mix, mix_opaque, mix_rects, premultiplied
from engine.model import transitions
from engine.model.items import Clip, Still
from engine.model.project import Project
from engine.model.titles import Title
from engine.model.transitions import TransitionSpan
from engine.time import FrameRate

FIT_MODES = ("fit", "fill", "crop")
STILLS_KEPT = 8
# Open decoders kept; each holds a demuxer, a codec context and its own picture cache.
READERS_KEPT = 6
OFFLINE_COLOR = (96, 16, 16)  # placeholder for media missing on disk, in previews only


def fit_mode(item) -> str:
    mode = item.extra.get("fit", "fit") if item.extra else "fit"
    if mode not in FIT_MODES:
        raise MediaError(f"item {item.id[:8]}: unknown fit mode {mode!r}; use one of {', '.join(FIT_MODES)}")
    return mode


def opacity_at(item: Clip | Still, frame: int) -> float:
    """The item's opacity at timeline frame `frame` (its influence curve plays no part)."""
    return float(item.opacity.evaluate(frame - item.start))


def visible_pictures(project: Project, frame: int, titles: bool = False):
    """(item or TransitionSpan, weight) of each picture showing at `frame`, top track first; with
    `titles`, also (title, fade weight) of the titles showing. A transition's weight is 1: the
    items' opacities are inside its mixed layer."""
    for track in project.timeline.tracks:
        if track.kind != "video" or track.hidden:
            continue
        span = transitions.span_at(track, frame)
        if span is not None:
            yield span, 1.0
            continue
        item = track.item_at(frame)
        if titles and isinstance(item, Title):
            weight = item.opacity_at(frame - item.start)
            if weight > 0.0:
                yield item, weight
            continue
        if not isinstance(item, (Clip, Still)):
            continue
        weight = opacity_at(item, frame)
        if weight > 0.0:
            yield item, weight


def visible_items(project: Project, frame: int, titles: bool = False):
    """(item, opacity) of each picture showing at `frame`, top track first; during a
    transition, the item the frame belongs to."""
    for picture, weight in visible_pictures(project, frame, titles):
        if isinstance(picture, TransitionSpan):
            yield picture.item_at(frame), weight
        else:
            yield picture, weight


class Compositor:
    """Renders frames of any project; keeps decoders and stills between calls. One per thread."""

    def __init__(self) -> None:
        self._readers: OrderedDict[tuple[str, FrameRate], VideoReader] = OrderedDict()
        self._stills: OrderedDict[str, np.ndarray] = OrderedDict()
        self._placed: OrderedDict[tuple, tuple[np.ndarray, int, int]] = OrderedDict()
        self._ahead = DecodeAhead()  # a transition's second picture, decoded at the same time

    def close(self) -> None:
        self._ahead.close()
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()
        self._stills.clear()
        self._placed.clear()

    def render(self, project: Project, frame: int, *, alpha: bool = False,
               offline_placeholder: bool = False, scale: float = 1.0) -> np.ndarray:
        """RGB uint8 (H, W, 3) at the project size (RGBA with alpha=True). The result may be
        read-only and shared with the cache: copy it before changing it. With `scale` below 1
        (a preview), composited at that fraction of the project size, each picture read at its
        size there (engine/media/preview_scale.py); at 1 (every export) the project size."""
        width, height = project.settings.width, project.settings.height
        full, shrunk = (width, height), None  # shrunk: the canvas's scale (x, y) when below 1
        if scale < 1.0:
            width, height = canvas_size(width, height, scale)
            shrunk = (width / full[0], height / full[1])
        layers = []  # top first: (pixels, y0, x0, weight)
        partial = False  # a title or a transformed picture: blended where it lies (effects.overlay)
        for item, weight in visible_pictures(project, frame, titles=True):
            if isinstance(item, Title):
                placed = title_layer(item, *full)
                layers.append((*(placed if shrunk is None else scaled_title_layer(placed, shrunk, (width, height))),
                               weight))
                partial = True
                continue
            if isinstance(item, TransitionSpan):  # a mix made for this frame: overlay may draw on it
                layers.append((self._transition_layer(project, item, frame, width, height, offline_placeholder,
                                                      shrunk), 0, 0, weight))
            else:
                partial = partial or not item.transform.is_identity
                layers.append((*self._layer(project, item, frame, width, height, offline_placeholder,
                                            shrunk=shrunk), weight))
            pixels, y0, x0, _ = layers[-1]
            if weight >= 1.0 and pixels.shape[2] == 3 and pixels.shape[:2] == (height, width):
                break  # fully covers everything below: nothing further down can show
        if partial and not alpha:
            # the bottom layer may be drawn on when it is a mix made for this frame, not a cached picture
            ours = isinstance(item, TransitionSpan) and layers[-1][0].flags.writeable
            return overlay(layers, width, height, bottom_is_ours=ours)
        return _composite(layers, width, height, alpha)

    def passthrough(self, project: Project, frame: int):
        """The decoded picture (av.VideoFrame) and its reader when `frame` is exactly one
        file's picture: the top visible item is an opaque video clip at full weight, at the
        project size and unrotated. None otherwise. Export hands such pictures to the encoder
        unchanged, skipping two colour conversions that would only add rounding."""
        for item, weight in visible_pictures(project, frame, titles=True):
            if not isinstance(item, Clip) or item.speed != 1.0 or item.reverse or not item.transform.is_identity:
                return None
            ref = project.media.get(item.media_id)
            if weight < 1.0 or not isinstance(item, Clip) or ref is None or ref.kind != "video":
                return None
            fit_mode(item)  # an unknown mode is an error on every path
            reader = self._reader(ref.path, project.settings.rate)
            size = (project.settings.width, project.settings.height)
            if reader.has_alpha or reader.rotation or reader.size != size:
                return None
            return reader.decoded(item.source_range.start + frame - item.start), reader
        return None

    def _layer(self, project: Project, item, frame: int, width: int, height: int,
               offline_placeholder: bool, handles: bool = False,
               shrunk: tuple[float, float] | None = None) -> tuple[np.ndarray, int, int]:
        """The item's picture at `frame`, placed; with `handles` (in a transition) a clip with a
        speed runs on past its source range into the rest of its media; with `shrunk` (the
        canvas's scale in a preview) read at its size on the scaled canvas."""
        mode = fit_mode(item)
        placed = None  # with `shrunk`: the picture's size on the scaled canvas after its fit mode
        try:
            ref = project.media.get(item.media_id)
            if ref is None:
                raise MediaError(f"item {item.id[:8]} refers to media {item.media_id[:8]} that is not in the "
                                 "project's media bin; remove the item or re-import its file")
            if ref.kind == "video":
                reader = self._reader(ref.path, project.settings.rate)
                local = frame - item.start
                source = item.source_range.start + local if isinstance(item, Clip) else 0
                size = None
                if shrunk is not None:
                    placed, size = self._preview_sizes(project, reader.size, item, frame, mode, shrunk)
                if isinstance(item, Clip) and (item.speed != 1.0 or item.reverse):
                    available = ref.frames_at(project.rate) if handles else None
                    bounds = (0, available - 1) if available else None
                    pixels = retimed_picture(reader, item, local, bounds, size)
                else:
                    pixels = reader.rgba(source, size) if reader.has_alpha else reader.rgb(source, size)
                key = None
            elif ref.kind == "image":
                pixels = self._still(ref.path)
                if shrunk is not None:
                    placed, size = self._preview_sizes(project, (pixels.shape[1], pixels.shape[0]), item, frame,
                                                       mode, shrunk)
                    pixels = self._still(ref.path, size)
                key = (ref.path, mode, width, height)
            else:
                raise MediaError(f"{ref.path}: is audio and cannot be shown on a video track; "
                                 "move it to an audio track")
        except MediaError:
            if not offline_placeholder:
                raise
            return np.full((height, width, 3), OFFLINE_COLOR, np.uint8), 0, 0
        if not item.transform.is_identity:
            values = item.transform.values_at(frame - item.start)
            if placed is not None:  # already at its fitted size (a zoomed picture larger: scaled back)
                mode, values["scale"] = "crop", values["scale"] * placed[0] / pixels.shape[1]
            return transformed_layer(pixels, width, height, mode, values)
        if key is not None and key in self._placed:
            self._placed.move_to_end(key)
            return self._placed[key]
        # a picture read at its size on a scaled canvas is only centred and cut, as "crop" does
        result = place(pixels, width, height, mode if placed is None else "crop")
        if key is not None:
            self._placed[key] = result
            while len(self._placed) > STILLS_KEPT:
                self._placed.popitem(last=False)
        return result

    def _transition_layer(self, project: Project, span: TransitionSpan, frame: int, width: int, height: int,
                          offline_placeholder: bool, shrunk: tuple[float, float] | None = None) -> np.ndarray:
        """Both items of the cut at `frame` (each on its handles, with its own opacity), mixed."""
        items = (span.outgoing, span.incoming)
        shown = [transitions.source_frame(project, item, frame) for item in items]
        # two pictures at once
        self._start_decode_ahead(project, items[0], shown[0], items[1], shrunk)
        try:
            incoming = self._layer(project, items[1], shown[1], width, height, offline_placeholder, handles=True,
                                   shrunk=shrunk)
        finally:
            self._ahead.wait()
        outgoing = self._layer(project, items[0], shown[0], width, height, offline_placeholder, handles=True,
                               shrunk=shrunk)
        placed = [(*outgoing, opacity_at(items[0], frame)), (*incoming, opacity_at(items[1], frame))]
        if all(p.shape == (height, width, 3) and opacity >= 1.0 for p, _, _, opacity in placed):
            return mix_opaque(placed[0][0], placed[1][0], span.transition, span.progress(frame))
        if all(p.shape[2] == 3 for p, _, _, _ in placed):  # opaque pictures, letterboxed or faded
            return mix_rects(placed, span.transition, span.progress(frame), width, height)
        canvases = [premultiplied(pixels, y0, x0, opacity, width, height) for pixels, y0, x0, opacity in placed]
        return as_layer(mix(canvases[0], canvases[1], span.transition, span.progress(frame)))

    def _start_decode_ahead(self, project: Project, item, shown: int, other,
                            shrunk: tuple[float, float] | None) -> None:
        """Begin decoding `item`'s picture at `shown` on the DecodeAhead thread, when it is a
        plain video clip read by another reader than `other`'s (errors surface when it is read);
        at its size on the canvas when previewing smaller (`shrunk`), as _layer will ask for it."""
        if not isinstance(item, Clip) or item.speed != 1.0 or item.reverse:
            return
        ref, other_ref = project.media.get(item.media_id), project.media.get(getattr(other, "media_id", ""))
        if ref is None or ref.kind != "video" or (other_ref is not None and other_ref.path == ref.path):
            return
        try:
            reader = self._reader(ref.path, project.settings.rate)
            size = None if shrunk is None else self._preview_sizes(project, reader.size, item, shown,
                                                                   fit_mode(item), shrunk)[1]
        except MediaError:
            return
        self._ahead.start(reader, item.source_range.start + shown - item.start, size)

    @staticmethod
    def _preview_sizes(project: Project, source_size: tuple[int, int], item, frame: int, mode: str,
                       shrunk: tuple[float, float]) -> tuple[tuple[int, int], tuple[int, int]]:
        """A picture's size on the scaled canvas after its fit mode, and the size it is read at
        (larger when its transform zooms in, so the zoomed picture keeps its detail)."""
        full = (project.settings.width, project.settings.height)
        placed = placed_size(source_size, full, mode, shrunk)
        zoom = 1.0 if item.transform.is_identity else float(item.transform.values_at(frame - item.start)["scale"])
        return placed, read_size(placed, source_size, zoom)

    def _reader(self, path: str, rate: FrameRate) -> VideoReader:
        key = (path, rate)
        reader = self._readers.get(key)
        if reader is None:
            reader = self._readers[key] = VideoReader(path, rate)
            while len(self._readers) > READERS_KEPT:
                self._readers.popitem(last=False)[1].close()
        else:
            self._readers.move_to_end(key)
        return reader

    def _still(self, path: str, size: tuple[int, int] | None = None) -> np.ndarray:
        """The image at `path`, or resized to `size` (width, height) for a scaled preview canvas."""
        key = path if size is None else (path, size)
        pixels = self._stills.get(key)
        if pixels is None:
            pixels = self._stills[key] = load_image(path) if size is None else shrink(self._still(path), size)
            while len(self._stills) > STILLS_KEPT:
                self._stills.popitem(last=False)
        else:
            self._stills.move_to_end(key)
        return pixels


def place(pixels: np.ndarray, width: int, height: int, mode: str) -> tuple[np.ndarray, int, int]:
    """The part of `pixels` that lands on a width x height canvas, scaled by `mode`, and the
    canvas row and column of its top-left corner."""
    import cv2

    src_h, src_w = pixels.shape[:2]
    if mode == "crop":
        scale = 1.0
    elif mode == "fill":
        scale = max(width / src_w, height / src_h)
    else:
        scale = min(width / src_w, height / src_h)
    new_w = max(1, round(src_w * scale))
    new_h = max(1, round(src_h * scale))
    if mode == "fit":  # avoid a one-pixel transparent seam from rounding
        new_w, new_h = min(new_w, width), min(new_h, height)
    if (new_w, new_h) != (src_w, src_h):
        interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        pixels = cv2.resize(np.ascontiguousarray(pixels), (new_w, new_h), interpolation=interpolation)
    y0, x0 = (height - new_h) // 2, (width - new_w) // 2
    # Crop what falls outside the canvas.
    top, left = max(0, -y0), max(0, -x0)
    pixels = pixels[top:top + height, left:left + width]
    return pixels, max(0, y0), max(0, x0)


def _composite(layers: list, width: int, height: int, alpha: bool) -> np.ndarray:
    channels = 4 if alpha else 3
    if len(layers) == 1:
        pixels, y0, x0, weight = layers[0]
        if weight >= 1.0 and pixels.shape[:2] == (height, width) and (pixels.shape[2] == 3 or alpha):
            if pixels.shape[2] == channels:
                return pixels  # the common case: one opaque full-frame clip, no copy
            return np.dstack([pixels, np.full((height, width), 255, np.uint8)])
    color = np.zeros((height, width, 3), np.float32)
    coverage = np.zeros((height, width, 1), np.float32) if alpha else None
    for pixels, y0, x0, weight in reversed(layers):  # bottom up
        h, w = pixels.shape[:2]
        region = color[y0:y0 + h, x0:x0 + w]
        rgb = pixels[..., :3].astype(np.float32)
        if pixels.shape[2] == 4:
            a = pixels[..., 3:4].astype(np.float32) * (weight / 255.0)
        else:
            a = np.full((h, w, 1), weight, np.float32)
        region *= 1.0 - a
        region += rgb * a
        if coverage is not None:
            cov = coverage[y0:y0 + h, x0:x0 + w]
            cov *= 1.0 - a
            cov += a
    if coverage is not None:
        # Straight (not premultiplied) alpha out, as PNG and ProRes 4444 expect.
        safe = np.maximum(coverage, 1e-6)
        color = np.where(coverage > 0, color / safe, 0.0)
        out = np.concatenate([color, coverage * 255.0], axis=2)
    else:
        out = color
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


_local = threading.local()


def thread_compositor() -> Compositor:
    compositor = getattr(_local, "compositor", None)
    if compositor is None:
        compositor = _local.compositor = Compositor()
    return compositor


def render_frame(project: Project, frame: int, *, alpha: bool = False) -> np.ndarray:
    """The classic picture of `frame` (RGB uint8 at the project size), using this thread's
    decoders. See the module docstring for layering, fit modes and mixing."""
    return thread_compositor().render(project, frame, alpha=alpha)
