"""Compositing at a smaller size than the project's, for the preview (what Kdenlive calls
preview scaling and Resolve a timeline proxy resolution).

At a preview scale s (0 < s <= 1) the canvas is round(W * s) x round(H * s) and every picture is
read straight at the size it takes on that canvas, so nothing is composited at the project size
and then thrown away by a final shrink: a 1080p dissolve previewed in a 960x540 viewer mixes
two 960x540 pictures, blends its titles at 960x540 and needs no fit to the screen. Positions,
transforms and crops are fractions of the canvas or of the picture, so they carry over; a
picture's size in pixels (the "crop" fit mode, which does not scale) and a title's raster are
scaled by s. The result is the full composite resized, up to resampling (tests/media/
test_preview_scale.py measures how close). Export never goes through here: at s = 1 the
compositor takes its full-size path unchanged.
"""

from __future__ import annotations

import numpy as np

from engine.media.effects import fit_scale

SCALED_TITLES_KEPT = 16


def canvas_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The canvas of a width x height project at preview scale `scale`."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit_scale_to(width: int, height: int, max_width: int, max_height: int) -> float:
    """The preview scale that fits a width x height project in max_width x max_height (a
    viewer), never above 1: a preview is never composited larger than the project."""
    return min(1.0, max(max_width, 1) / width, max(max_height, 1) / height)


def preview_scale(quality: str, width: int, height: int, max_width: int, max_height: int) -> float:
    """The scale a width x height project is previewed at in a max_width x max_height viewer
    (device pixels) for a preview quality (engine.user_settings.PREVIEW_QUALITIES): "auto" fits
    the viewer, "half" is at most half the project's size (less in a smaller viewer, where the
    larger picture would only be shrunk again), "full" the project's size."""
    if quality == "full":
        return 1.0
    fitted = fit_scale_to(width, height, max_width, max_height)
    return min(fitted, 0.5) if quality == "half" else fitted


def placed_size(source_size: tuple[int, int], full_canvas: tuple[int, int], mode: str,
                canvas_scale: tuple[float, float]) -> tuple[int, int]:
    """The (width, height) a source picture takes on the scaled canvas after its fit mode: its
    size on the full canvas (as compositor.place computes it; "crop" does not scale) times the
    canvas's scale on each axis. A picture filling the project fills the scaled canvas exactly,
    whatever the rounding of the two."""
    src_w, src_h = source_size
    scale = fit_scale(src_w, src_h, full_canvas[0], full_canvas[1], mode)
    width, height = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    if mode == "fit":  # as compositor.place: no one-pixel transparent seam from rounding
        width, height = min(width, full_canvas[0]), min(height, full_canvas[1])
    return max(1, round(width * canvas_scale[0])), max(1, round(height * canvas_scale[1]))


def read_size(placed: tuple[int, int], source_size: tuple[int, int], zoom: float = 1.0) -> tuple[int, int]:
    """The size a picture placed at `placed` is read at: larger by a transform's `zoom` above
    1, so a zoomed picture keeps its detail, but never larger than the file's own pictures."""
    if zoom <= 1.0:
        return placed
    grow = max(1.0, min(zoom, source_size[0] / placed[0], source_size[1] / placed[1]))
    return max(1, round(placed[0] * grow)), max(1, round(placed[1] * grow))


def shrink(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A still (RGB or RGBA) resized to `size` by area averaging, for a scaled canvas."""
    import cv2

    if pixels.shape[1] == size[0] and pixels.shape[0] == size[1]:
        return pixels
    smaller = size[0] <= pixels.shape[1] and size[1] <= pixels.shape[0]
    return cv2.resize(np.ascontiguousarray(pixels), size, interpolation=cv2.INTER_AREA if smaller else cv2.INTER_LINEAR)


_scaled_titles: dict[tuple, tuple[np.ndarray, tuple[np.ndarray, int, int]]] = {}


def scaled_title_layer(layer: tuple[np.ndarray, int, int], canvas_scale: tuple[float, float],
                       canvas: tuple[int, int]) -> tuple[np.ndarray, int, int]:
    """A title's raster and corner on the full canvas (text.title_layer, read-only and cached)
    as the full canvas shrunk by area averaging shows it on the scaled canvas. Drawing the title
    at a smaller font size would set the text differently (hinting, kerning at small sizes);
    shrinking the full raster keeps it the title the export shows. It is shrunk where it lies on
    the canvas's grid (a raster starting at an odd column shares its first scaled pixel with the
    picture beside it) and premultiplied (transparent pixels carry no colour into the edges of
    the letters). Kept per raster, as the raster is: a title over many frames is shrunk once."""
    pixels, y0, x0 = layer
    key = (id(pixels), y0, x0, canvas_scale, canvas)
    kept = _scaled_titles.get(key)
    if kept is not None and kept[0] is pixels:
        return kept[1]
    top, rows = _area_weights(y0, pixels.shape[0], canvas_scale[1], canvas[1])
    left, columns = _area_weights(x0, pixels.shape[1], canvas_scale[0], canvas[0])
    alpha = pixels[..., 3:4].astype(np.float32) / 255.0
    premultiplied = np.concatenate([pixels[..., :3].astype(np.float32) * alpha, alpha], axis=2)
    resized = np.einsum("yh,hwc,xw->yxc", rows, premultiplied, columns, optimize=True)
    cover = resized[..., 3:4]
    colour = np.where(cover > 1e-6, resized[..., :3] / np.maximum(cover, 1e-6), 0.0)
    out = np.clip(np.concatenate([colour, cover * 255.0], axis=2) + 0.5, 0, 255).astype(np.uint8)
    if out.size == 0:
        out, top, left = np.zeros((1, 1, 4), np.uint8), 0, 0
    out.setflags(write=False)
    if len(_scaled_titles) >= SCALED_TITLES_KEPT:
        _scaled_titles.pop(next(iter(_scaled_titles)))
    _scaled_titles[key] = (pixels, (out, top, left))
    return out, top, left


def _area_weights(start: int, length: int, scale: float, size: int) -> tuple[int, np.ndarray]:
    """Area averaging (cv2.INTER_AREA) of the full canvas's pixels start..start+length-1 along
    one axis onto a `size`-pixel axis: the first scaled pixel they reach and the weights
    (scaled pixels x full pixels). Scaled pixel j averages the full canvas over
    [j / scale, (j + 1) / scale)."""
    step = 1.0 / scale
    first = int(np.floor(start * scale + 1e-9))
    last = min(size, int(np.ceil((start + length) * scale - 1e-9)))
    edges = np.arange(first, max(last, first) + 1, dtype=np.float64) * step  # scaled pixels' edges
    sources = np.arange(start, start + length, dtype=np.float64)
    overlap = (np.minimum(edges[1:, None], sources[None, :] + 1.0) - np.maximum(edges[:-1, None], sources[None, :]))
    return first, (np.clip(overlap, 0.0, None) / step).astype(np.float32)
