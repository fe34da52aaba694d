"""The pictures of a transition (engine/model/transitions.py) mixed into one layer.

Both items are placed on the full canvas as premultiplied RGBA in float (each item's own alpha
times its opacity at that frame), then, with p the span's progress (0 -> 1):

- cross-dissolve: (1 - p) * A + p * B;
- dip to colour: A fades into the opaque colour over the first half, the colour into B over
  the second (t = 2p, then 2p - 1);
- wipe: B is uncovered behind a hard edge that travels across the canvas in `direction`
  ("right": from the left edge to the right); a pixel shows B when its centre is behind the edge.

The result is a straight-alpha layer (RGB uint8 when fully opaque, else RGBA) that the
compositor lays over the tracks below like any other item. The common case, two opaque
pictures covering the canvas at full opacity, is mixed straight in uint8 (`mix_opaque`, one
rounding, many times faster than the float path); anything else takes the float path.
"""

from __future__ import annotations

import numpy as np

from engine.model.transition import Transition, parse_color


def mix_opaque(outgoing: np.ndarray, incoming: np.ndarray, transition: Transition, progress: float) -> np.ndarray:
    """The same mix as `mix` for two opaque RGB uint8 pictures of the canvas size."""
    import cv2

    p = float(np.clip(progress, 0.0, 1.0))
    if transition.kind == "dissolve":
        return cv2.addWeighted(outgoing, 1.0 - p, incoming, p, 0.0)
    if transition.kind == "dip":
        # picture * w + colour * (1 - w) per channel in one affine pass (no colour image)
        picture, w = (outgoing, 1.0 - 2.0 * p) if p < 0.5 else (incoming, 2.0 * p - 1.0)
        color = np.asarray(parse_color(transition.color), np.float64) * (1.0 - w)
        matrix = np.hstack([np.eye(3) * w, color[:, None]])
        return cv2.transform(picture, matrix)
    height, width = outgoing.shape[:2]
    along = width if transition.direction in ("right", "left") else height
    shown = int(np.count_nonzero((np.arange(along) + 0.5) / along < p))  # rows or columns of B, as wipe_mask
    out = outgoing.copy()
    edge = slice(0, shown) if transition.direction in ("right", "down") else slice(along - shown, along)
    if transition.direction in ("right", "left"):
        out[:, edge] = incoming[:, edge]
    else:
        out[edge] = incoming[edge]
    return out


def premultiplied(pixels: np.ndarray, y0: int, x0: int, opacity: float, width: int, height: int) -> np.ndarray:
    """A placed picture (RGB or straight RGBA uint8 at row y0, column x0) as a full-canvas
    premultiplied float32 RGBA array with alpha in 0..1."""
    canvas = np.zeros((height, width, 4), np.float32)
    h, w = pixels.shape[:2]
    region = canvas[y0:y0 + h, x0:x0 + w]
    if pixels.shape[2] == 4:
        alpha = pixels[..., 3:4].astype(np.float32) * (opacity / 255.0)
    else:
        alpha = np.full((h, w, 1), opacity, np.float32)
    region[..., :3] = pixels[..., :3].astype(np.float32) * alpha
    region[..., 3:4] = alpha
    return canvas


def mix(outgoing: np.ndarray, incoming: np.ndarray, transition: Transition, progress: float) -> np.ndarray:
    """Two premultiplied canvases mixed at `progress`; premultiplied float32 RGBA out."""
    p = float(np.clip(progress, 0.0, 1.0))
    if transition.kind == "dissolve":
        return outgoing * (1.0 - p) + incoming * p
    if transition.kind == "dip":
        color = np.empty_like(outgoing)
        color[..., :3] = np.asarray(parse_color(transition.color), np.float32)
        color[..., 3] = 1.0
        if p < 0.5:
            t = 2.0 * p
            return outgoing * (1.0 - t) + color * t
        t = 2.0 * p - 1.0
        return color * (1.0 - t) + incoming * t
    return np.where(wipe_mask(outgoing.shape[0], outgoing.shape[1], transition.direction, p), incoming, outgoing)


def wipe_mask(height: int, width: int, direction: str, progress: float) -> np.ndarray:
    """(H, W, 1) bool: True where the incoming picture shows."""
    if direction in ("right", "left"):
        centres = (np.arange(width, dtype=np.float32) + 0.5) / width
        behind = centres < progress if direction == "right" else centres > 1.0 - progress
        return np.broadcast_to(behind[None, :, None], (height, width, 1))
    centres = (np.arange(height, dtype=np.float32) + 0.5) / height
    behind = centres < progress if direction == "down" else centres > 1.0 - progress
    return np.broadcast_to(behind[:, None, None], (height, width, 1))


def as_layer(mixed: np.ndarray) -> np.ndarray:
    """Premultiplied float RGBA -> straight uint8: RGB when every pixel is opaque, else RGBA.
    Works in place on `mixed` (large arrays: every pass over them counts)."""
    import cv2

    alpha = mixed[..., 3:4]
    if float(alpha.min()) >= 1.0 - 1e-6:
        return cv2.convertScaleAbs(mixed[..., :3])  # rounds to nearest and saturates, like the fast path
    # Premultiplied colour is 0 wherever alpha is 0, so dividing by a floored alpha needs no mask.
    mixed[..., :3] /= np.maximum(alpha, 1e-6)
    mixed[..., 3:4] *= 255.0
    return cv2.convertScaleAbs(mixed)
