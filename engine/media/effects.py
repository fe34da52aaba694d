"""Speed and transform as pixels, for the compositor (engine/model/transform.py says what the
parameters mean).

Speed: the source position at timeline frame n of a clip is start + n * speed. A whole
position shows that source frame; a fractional one (a slowed clip) mixes the two nearest
source frames by the fraction (frame blending), so slow motion dissolves instead of stuttering.

Transform: after the fit mode has scaled the picture to the canvas, the picture is cropped
(the hidden sides become transparent, the rest stays in place), scaled and rotated about its
centre, and moved; one affine warp does it, so the picture is resampled once.
"""

from __future__ import annotations

import math

import numpy as np

from engine.model.items import Clip
from engine.model.transform import source_position


def retimed_picture(reader, clip: Clip, local: int, bounds: tuple[int, int] | None = None,
                    size: tuple[int, int] | None = None) -> np.ndarray:
    """The picture of a clip with a speed at item-local frame `local` (RGB, or RGBA when the
    source has alpha), blending the two source frames around a fractional position; `bounds`
    (first, last source frame) lets a transition show the clip's handles; `size` (width,
    height) reads the pictures at that size (a preview smaller than the project)."""
    rgb_or_rgba = reader.rgba if reader.has_alpha else reader.rgb

    def read(frame: int) -> np.ndarray:
        return rgb_or_rgba(frame, size)

    position = float(source_position(clip.source_range, local, clip.speed, clip.reverse, bounds))
    first = math.floor(position + 1e-9)
    fraction = position - first
    last_frame = clip.source_range.stop - 1 if bounds is None else bounds[1]
    if fraction < 1e-6 or first >= last_frame:
        return read(min(first, last_frame))
    import cv2

    return cv2.addWeighted(np.ascontiguousarray(read(first)), 1.0 - fraction,
                           np.ascontiguousarray(read(first + 1)), fraction, 0.0)


def fit_scale(src_w: int, src_h: int, width: int, height: int, mode: str) -> float:
    """The scale the fit mode gives (as compositor.place computes it)."""
    if mode == "crop":
        return 1.0
    if mode == "fill":
        return max(width / src_w, height / src_h)
    return min(width / src_w, height / src_h)


def transformed_layer(pixels: np.ndarray, width: int, height: int, mode: str,
                      values: dict[str, float]) -> tuple[np.ndarray, int, int]:
    """The picture fitted by `mode`, then cropped, scaled, rotated and moved by `values`
    (Transform.values_at), as an RGBA canvas-sized layer at (0, 0)."""
    import cv2

    src_h, src_w = pixels.shape[:2]
    left = round(src_w * min(max(values["crop_left"], 0.0), 1.0))
    right = src_w - round(src_w * min(max(values["crop_right"], 0.0), 1.0))
    top = round(src_h * min(max(values["crop_top"], 0.0), 1.0))
    bottom = src_h - round(src_h * min(max(values["crop_bottom"], 0.0), 1.0))
    scale = fit_scale(src_w, src_h, width, height, mode) * values["scale"]
    if right <= left or bottom <= top or scale <= 0:
        return np.zeros((1, 1, 4), np.uint8), 0, 0
    visible = np.ascontiguousarray(pixels[top:bottom, left:right])
    if visible.shape[2] == 3:
        visible = cv2.cvtColor(visible, cv2.COLOR_RGB2RGBA)  # opaque; the warp makes the edges soft
    step_x = step_y = 1.0  # source pixels per pixel of `visible`
    if scale < 0.5:  # shrink with area averaging first: a bilinear warp alone would alias
        vis_h, vis_w = visible.shape[:2]
        new_w, new_h = max(1, round(vis_w * scale)), max(1, round(vis_h * scale))
        visible = cv2.resize(np.ascontiguousarray(visible), (new_w, new_h), interpolation=cv2.INTER_AREA)
        step_x, step_y = vis_w / new_w, vis_h / new_h
    # source pixel (u, v) of the uncropped picture -> canvas: centred on the canvas centre plus
    # the offset, scaled and rotated (clockwise on screen, where y points down) about its centre
    angle = math.radians(values["rotation"])
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    centre_x = width / 2 + values["x"] * width
    centre_y = height / 2 + values["y"] * height
    u0, v0 = left - src_w / 2, top - src_h / 2  # the cropped picture's corner, from the picture's centre
    matrix = np.array([[cos * step_x, -sin * step_y, centre_x + cos * u0 - sin * v0],
                       [sin * step_x, cos * step_y, centre_y + sin * u0 + cos * v0]], np.float64)
    # warp only into the canvas rectangle the picture covers (a small picture costs little)
    vis_h, vis_w = visible.shape[:2]
    corners = matrix @ np.array([[0, vis_w, 0, vis_w], [0, 0, vis_h, vis_h], [1, 1, 1, 1]], np.float64)
    x0, y0 = max(0, math.floor(corners[0].min()) - 1), max(0, math.floor(corners[1].min()) - 1)
    x1, y1 = min(width, math.ceil(corners[0].max()) + 1), min(height, math.ceil(corners[1].max()) + 1)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((1, 1, 4), np.uint8), 0, 0
    matrix[:, 2] -= (x0, y0)
    layer = cv2.warpAffine(visible, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    return layer, y0, x0


def overlay(layers: list, width: int, height: int, bottom_is_ours: bool = False) -> np.ndarray:
    """RGB composite of (pixels, y0, x0, weight) layers, top first, over black: each layer
    blended into the canvas only where it lies, in 8 bits (rounded once per layer, where the
    general compositor rounds once per pixel: at most one level apart per layer). Titles and
    transformed pictures cover part of the canvas, so this skips the full-canvas float work.
    With `bottom_is_ours` (a picture made for this frame alone, such as a transition's mix), a
    full-canvas opaque bottom layer becomes the canvas itself instead of a copy of it."""
    import cv2

    bottom, bottom_y, bottom_x, bottom_weight = layers[-1]
    if bottom.shape == (height, width, 3) and bottom_weight >= 1.0:
        canvas, rest = (bottom if bottom_is_ours else bottom.copy()), layers[:-1]
    else:
        canvas, rest = np.zeros((height, width, 3), np.uint8), layers
    for pixels, y0, x0, weight in reversed(rest):
        h, w = pixels.shape[:2]
        region = canvas[y0:y0 + h, x0:x0 + w]
        if pixels.shape[2] == 3 and weight >= 1.0:
            region[...] = pixels
            continue
        if pixels.shape[2] == 4:
            rgb, cover = _planes(pixels)
            if weight < 1.0:
                cover = cover * np.float32(weight)
        else:
            rgb, cover = np.ascontiguousarray(pixels), np.full((h, w), weight, np.float32)
        region[...] = cv2.blendLinear(rgb, np.ascontiguousarray(region), cover, 1.0 - cover)
    return canvas


_PLANES_KEPT = 16
_planes_cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _planes(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The colour (contiguous) and coverage (0..1 float) of an RGBA raster. A read-only raster
    is a cached one (a title's), the same every frame: its planes are kept too."""
    if not pixels.flags.writeable:
        kept = _planes_cache.get(id(pixels))
        if kept is not None and kept[0] is pixels:
            return kept[1], kept[2]
    rgb = np.ascontiguousarray(pixels[..., :3])
    cover = pixels[..., 3].astype(np.float32) * np.float32(1 / 255)
    if not pixels.flags.writeable:
        if len(_planes_cache) >= _PLANES_KEPT:
            _planes_cache.pop(next(iter(_planes_cache)))
        _planes_cache[id(pixels)] = (pixels, rgb, cover)
    return rgb, cover
