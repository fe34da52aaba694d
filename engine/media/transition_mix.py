"""The pictures of a transition (engine/model/transitions.py) mixed into one layer.

Both items are placed on the full canvas as premultiplied RGBA in float (each item's own alpha
times its opacity at that frame), then, with p the span's progress (0 -> 1):

- cross-dissolve: (1 - p) * A + p * B;
- dip to colour: A fades into the opaque colour over the first half, the colour into B over
  the second (t = 2p, then 2p - 1);
- wipe: B is uncovered behind a hard edge that travels across the canvas in `direction`
  ("right": from the left edge to the right); a pixel shows B when its centre is behind the edge.

The result is a straight-alpha layer (RGB uint8 when fully opaque, else RGBA) that the
compositor lays over the tracks below like any other item.
"""

from __future__ import annotations

import numpy as np

from engine.model.transition import Transition, parse_color


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
    """Premultiplied float RGBA -> straight uint8: RGB when every pixel is opaque, else RGBA."""
    alpha = mixed[..., 3:4]
    if np.all(alpha >= 1.0 - 1e-6):
        return np.clip(mixed[..., :3] + 0.5, 0, 255).astype(np.uint8)
    rgb = np.where(alpha > 0, mixed[..., :3] / np.maximum(alpha, 1e-6), 0.0)
    return np.clip(np.concatenate([rgb, alpha * 255.0], axis=2) + 0.5, 0, 255).astype(np.uint8)
