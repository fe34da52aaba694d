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
rounding, many times faster than the float path), and two opaque pictures that do not cover
it or are faded by opacity by rectangles (`mix_rects`); pictures with an alpha channel take the
float path.
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


def mix_rects(placed: list, transition: Transition, progress: float, width: int, height: int) -> np.ndarray:
    """The same mix as `mix` + `as_layer` for two opaque RGB pictures that may not cover the
    canvas (letterboxed, cropped) and may be partly transparent by opacity: `placed` holds
    (pixels, y0, x0, opacity) for the outgoing and the incoming item. Each picture is a
    rectangle of constant coverage, so the mix is a constant blend inside each rectangle and
    their intersection, done in uint8 with one rounding; straight RGBA uint8 out. Colour and
    alpha are built in separate contiguous canvases and interleaved once at the end (writing
    into every fourth byte costs more than the blending)."""
    import cv2

    p = float(np.clip(progress, 0.0, 1.0))
    (a, ay, ax, a_opacity), (b, by, bx, b_opacity) = placed
    a_rect = (slice(ay, ay + a.shape[0]), slice(ax, ax + a.shape[1]))
    b_rect = (slice(by, by + b.shape[0]), slice(bx, bx + b.shape[1]))
    rgb = np.zeros((height, width, 3), np.uint8)
    alpha = np.zeros((height, width), np.uint8)
    if transition.kind == "wipe":
        mask = wipe_mask(height, width, transition.direction, p)[..., 0]
        for pixels, rect, opacity, side in ((a, a_rect, a_opacity, False), (b, b_rect, b_opacity, True)):
            shown = mask[rect] == side
            rgb[rect][shown] = pixels[shown]
            alpha[rect][shown] = _alpha_byte(opacity)
        return _interleaved(rgb, alpha)
    # colour weights (premultiplied): k_a for A, k_b for B, k_c for the dip colour everywhere
    if transition.kind == "dissolve":
        k_a, k_b, k_c = (1.0 - p) * a_opacity, p * b_opacity, 0.0
    elif p < 0.5:
        k_a, k_b, k_c = (1.0 - 2.0 * p) * a_opacity, 0.0, 2.0 * p
    else:
        k_a, k_b, k_c = 0.0, (2.0 * p - 1.0) * b_opacity, 2.0 - 2.0 * p
    color = np.asarray(parse_color(transition.color), np.float64)
    if k_c > 0:
        rgb[:] = parse_color(transition.color)
        alpha[:] = _alpha_byte(k_c)

    def blend(region: tuple, parts: list) -> None:
        """Write sum(k * picture) + k_c * colour over the alpha they make into `region`."""
        parts = [(pixels, k) for pixels, k in parts if k > 0]
        total = sum(k for _, k in parts) + k_c
        if total <= 0 or not parts:
            return
        if len(parts) == 2:
            rgb[region] = cv2.addWeighted(parts[0][0], parts[0][1] / total, parts[1][0], parts[1][1] / total, 0.0)
        elif k_c > 0:
            pixels, k = parts[0]
            matrix = np.hstack([np.eye(3) * (k / total), (color * (k_c / total))[:, None]])
            rgb[region] = cv2.transform(pixels, matrix)
        else:
            rgb[region] = parts[0][0]  # one picture alone: its own colour, only its coverage changes
        alpha[region] = _alpha_byte(total)

    blend(a_rect, [(a, k_a)])
    blend(b_rect, [(b, k_b)])
    top, bottom = max(ay, by), min(ay + a.shape[0], by + b.shape[0])
    left, right = max(ax, bx), min(ax + a.shape[1], bx + b.shape[1])
    if top < bottom and left < right:
        blend((slice(top, bottom), slice(left, right)),
              [(a[top - ay:bottom - ay, left - ax:right - ax], k_a), (b[top - by:bottom - by, left - bx:right - bx], k_b)])
    return _interleaved(rgb, alpha)


def _alpha_byte(coverage: float) -> int:
    return int(np.clip(coverage * 255.0 + 0.5, 0, 255))


def _interleaved(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    import cv2

    out = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
    cv2.mixChannels([alpha], [out], [0, 3])
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
    """Two premultiplied canvases mixed at `progress`; premultiplied float32 RGBA out (OpenCV
    does each in one pass, without numpy's temporaries)."""
    import cv2

    p = float(np.clip(progress, 0.0, 1.0))
    if transition.kind == "dissolve":
        return cv2.addWeighted(outgoing, 1.0 - p, incoming, p, 0.0)
    if transition.kind == "dip":
        picture, w = (outgoing, 1.0 - 2.0 * p) if p < 0.5 else (incoming, 2.0 * p - 1.0)
        color = np.array([*parse_color(transition.color), 1.0], np.float64) * (1.0 - w)  # premultiplied, opaque
        return cv2.transform(picture, np.hstack([np.eye(4) * w, color[:, None]]))
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
