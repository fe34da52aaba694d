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


def retimed_picture(reader, clip: Clip, local: int) -> np.ndarray:
    """The picture of a clip with a speed at item-local frame `local` (RGB, or RGBA when the
    source has alpha), blending the two source frames around a fractional position."""
    read = reader.rgba if reader.has_alpha else reader.rgb
    position = float(source_position(clip.source_range.start, local, clip.speed))
    first = math.floor(position + 1e-9)
    fraction = position - first
    last_frame = clip.source_range.stop - 1
    if fraction < 1e-6 or first >= last_frame:
        return read(min(first, last_frame))
    mixed = read(first).astype(np.float32) * (1.0 - fraction) + read(first + 1).astype(np.float32) * fraction
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


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
    visible = pixels[top:bottom, left:right]
    if visible.shape[2] == 3:
        visible = np.dstack([visible, np.full(visible.shape[:2], 255, np.uint8)])
    step_x = step_y = 1.0  # source pixels per pixel of `visible`
    if scale < 1.0:  # shrink with area averaging first: a warp alone would alias
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
    layer = cv2.warpAffine(np.ascontiguousarray(visible), matrix, (width, height), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    return layer, 0, 0
