"""OpenCV detectors that read colour, shape and motion back out of toyworld videos.

They know nothing of how a clip was made: colour masks (saturated, bright pixels labelled by
the nearest object hue), contour geometry for the shape, and centroid / size / rotation tracks
for the motion. The quality harness runs them on generated videos; the tests check them on
rendered ones, where the truth is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.toyworld.world import COLOURS

# Backgrounds are unsaturated (black, white, checkerboard), pale (sky) or dark (grass).
_MIN_SATURATION = 128
_MIN_VALUE = 140
# Detection runs on frames scaled to about this short side, so small shapes have smooth contours.
_WORK_SIZE = 256


def _hue_of(rgb: tuple[int, int, int]) -> float:
    return float(cv2.cvtColor(np.uint8([[rgb]]), cv2.COLOR_RGB2HSV)[0, 0, 0])


HUES = {name: _hue_of(rgb) for name, rgb in COLOURS.items()}


@dataclass(frozen=True, slots=True)
class Blob:
    colour: str
    area: float  # in pixels of the original frame
    cx: float
    cy: float
    shape: str
    radial_profile: np.ndarray  # boundary radius per degree around the centroid (work-size pixels)


def colour_labels(frame: np.ndarray) -> np.ndarray:
    """Per-pixel object colour index into COLOURS (or -1 for background), for an RGB uint8 frame."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
    hue = hsv[..., 0].astype(np.float32)
    names = list(HUES)
    refs = np.array([HUES[n] for n in names], np.float32)
    distance = np.abs(hue[..., None] - refs)
    distance = np.minimum(distance, 180.0 - distance)  # OpenCV hue is an angle in [0, 180)
    labels = distance.argmin(-1).astype(np.int8)
    labels[(hsv[..., 1] < _MIN_SATURATION) | (hsv[..., 2] < _MIN_VALUE)] = -1
    return labels


def classify_contour(contour: np.ndarray) -> str:
    """circle / square / triangle / star from how the contour fills its hull and its enclosing circle."""
    area = cv2.contourArea(contour)
    hull_area = cv2.contourArea(cv2.convexHull(contour))
    if area <= 0 or hull_area <= 0:
        return "unknown"
    solidity = area / hull_area
    (_x, _y), radius = cv2.minEnclosingCircle(contour)
    fill = area / (np.pi * radius * radius)
    if solidity < 0.8:
        return "star"
    # Ideal fills: circle 1, square 0.64, triangle 0.41; anti-aliased small shapes round off towards 1.
    if fill >= 0.82:
        return "circle"
    if fill >= 0.6:
        return "square"
    return "triangle"


def radial_profile(contour: np.ndarray, cx: float, cy: float, bins: int = 360) -> np.ndarray:
    """The largest boundary radius in each 1-degree sector around (cx, cy), gaps filled from neighbours."""
    points = contour.reshape(-1, 2).astype(np.float32)
    # Densify the boundary so every sector gets points even for small contours.
    following = np.roll(points, -1, axis=0)
    steps = np.linspace(0.0, 1.0, 8, endpoint=False, dtype=np.float32)[:, None, None]
    points = (points[None] + (following - points)[None] * steps).reshape(-1, 2)
    dx, dy = points[:, 0] - cx, points[:, 1] - cy
    # % bins after rounding down: a point a hair below the centre's row is at -1e-6 degrees, which
    # % 360.0 in float32 makes 360.0 exactly.
    angle = (np.degrees(np.arctan2(dy, dx)) % 360.0).astype(np.int64) * bins // 360 % bins
    profile = np.zeros(bins, np.float32)
    np.maximum.at(profile, angle, np.hypot(dx, dy))
    empty = profile == 0
    if empty.any() and not empty.all():
        index = np.arange(bins)
        profile[empty] = np.interp(index[empty], index[~empty], profile[~empty], period=bins)
    return profile


def detect_frame(frame: np.ndarray, min_area_fraction: float = 0.0015) -> list[Blob]:
    """The largest blob of each object colour present in a frame, largest first."""
    height, width = frame.shape[:2]
    scale = max(1, _WORK_SIZE // min(height, width))
    work = cv2.resize(frame, (width * scale, height * scale), interpolation=cv2.INTER_LINEAR) if scale > 1 else frame
    labels = colour_labels(work)
    min_area = min_area_fraction * work.shape[0] * work.shape[1]
    blobs = []
    for index, name in enumerate(HUES):
        mask = (labels == index).astype(np.uint8)
        if int(mask.sum()) < min_area:
            continue
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        if not contours:
            continue
        contour = max(contours, key=cv2.contourArea)
        area = cv2.contourArea(contour)
        if area < min_area:
            continue
        moments = cv2.moments(contour)
        cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
        blobs.append(Blob(name, area / scale**2, cx / scale, cy / scale, classify_contour(contour),
                          radial_profile(contour, cx, cy)))
    return sorted(blobs, key=lambda b: -b.area)


def rotation_between(before: np.ndarray, after: np.ndarray, max_degrees: int = 30) -> float:
    """The rotation (degrees) that best maps one radial profile onto the next."""
    a = before / max(float(before.mean()), 1e-6)
    b = after / max(float(after.mean()), 1e-6)
    shifts = np.arange(-max_degrees, max_degrees + 1)
    errors = [float(np.mean((np.roll(a, s) - b) ** 2)) for s in shifts]
    return float(shifts[int(np.argmin(errors))])


@dataclass(frozen=True, slots=True)
class Track:
    colour: str
    shape: str  # the majority over the frames it was seen in
    motion: str
    frames_seen: int


def motion_of(blobs: list[Blob | None], width: int, height: int) -> str:
    """The motion phrase of one object's per-frame blobs (None where it was not seen)."""
    seen = [b for b in blobs if b is not None]
    if len(seen) < 3:
        return "unknown"
    short = min(width, height)
    k = max(1, len(seen) // 6)
    xs = np.array([b.cx for b in seen])
    ys = np.array([b.cy for b in seen])
    areas = np.array([b.area for b in seen])
    dx = (np.median(xs[-k:]) - np.median(xs[:k])) / short
    dy = (np.median(ys[-k:]) - np.median(ys[:k])) / short
    y_range = (ys.max() - ys.min()) / short
    growth = np.median(areas[-k:]) / max(np.median(areas[:k]), 1e-6)
    if y_range > 0.12 and abs(dy) < 0.4 * y_range and abs(dx) < 0.1:
        ups = np.diff(ys)
        if (ups < 0).sum() >= 2 and (ups > 0).sum() >= 2:
            return "bouncing"
    if max(abs(dx), abs(dy)) > 0.15:
        if abs(dx) >= abs(dy):
            return "moving right" if dx > 0 else "moving left"
        return "moving down" if dy > 0 else "moving up"
    if growth > 1.6:
        return "growing"
    if growth < 1 / 1.6:
        return "shrinking"
    spins = [rotation_between(a.radial_profile, b.radial_profile) for a, b in zip(seen, seen[1:])]
    total = float(np.sum(spins))
    if abs(total) > 4.0 * len(spins) * 0.5 and np.mean(np.sign(spins) == np.sign(total)) > 0.6:
        return "spinning"
    return "standing still"


def detect_clip(frames: np.ndarray, max_objects: int = 2) -> list[Track]:
    """The objects of a clip (uint8 RGB (F, H, W, 3)), most visible first, with shape and motion."""
    per_frame = [detect_frame(f) for f in frames]
    height, width = frames.shape[1:3]
    counts: dict[str, int] = {}
    for blobs in per_frame:
        for blob in blobs:
            counts[blob.colour] = counts.get(blob.colour, 0) + 1
    tracks = []
    for colour, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        if count < len(frames) / 2:
            continue
        blobs = [next((b for b in frame_blobs if b.colour == colour), None) for frame_blobs in per_frame]
        shapes = [b.shape for b in blobs if b is not None]
        shape = max(set(shapes), key=shapes.count)
        tracks.append(Track(colour, shape, motion_of(blobs, width, height), count))
    return tracks[:max_objects]


def clip_matches(frames: np.ndarray, objects: tuple[tuple[str, str, str], ...]) -> bool:
    """Colour, shape and motion of every captioned object found in the clip."""
    tracks = {t.colour: t for t in detect_clip(frames, max_objects=max(2, len(objects)))}
    return all(c in tracks and tracks[c].shape == s and tracks[c].motion == m for c, s, m in objects)


def frame_matches(frame: np.ndarray, objects: tuple[tuple[str, str, str], ...]) -> bool:
    """Colour and shape of every captioned object found in one frame (motion needs several frames)."""
    blobs = {b.colour: b for b in detect_frame(frame)}
    return all(c in blobs and blobs[c].shape == s for c, s, _m in objects)


def object_mask(frame: np.ndarray, grow: int = 2) -> np.ndarray:
    """Pixels of any object colour, grown by `grow` pixels to take in anti-aliased edges."""
    mask = (colour_labels(frame) >= 0).astype(np.uint8)
    if grow:
        mask = cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    return mask.astype(bool)


# -- colour difference --------------------------------------------------------------------------------

def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 (..., 3) -> CIE L*a*b* (D65), float64."""
    c = np.asarray(rgb, np.float64) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = c @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu and Dalal 2005), element-wise over (..., 3) Lab arrays."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, np.float64), -1, 0)
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    c_mean7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c_mean7 / (c_mean7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dlp, dcp = l2 - l1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dhp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    lp_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    hp_mean = np.where(np.abs(h1p - h2p) > 180, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2), h_sum / 2)
    hp_mean = np.where(c1p * c2p == 0, h_sum, hp_mean)
    t = (1 - 0.17 * np.cos(np.radians(hp_mean - 30)) + 0.24 * np.cos(np.radians(2 * hp_mean))
         + 0.32 * np.cos(np.radians(3 * hp_mean + 6)) - 0.20 * np.cos(np.radians(4 * hp_mean - 63)))
    d_theta = 30 * np.exp(-(((hp_mean - 275) / 25) ** 2))
    cp_mean7 = cp_mean**7
    r_c = 2 * np.sqrt(cp_mean7 / (cp_mean7 + 25.0**7))
    s_l = 1 + 0.015 * (lp_mean - 50) ** 2 / np.sqrt(20 + (lp_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((dlp / s_l) ** 2 + (dcp / s_c) ** 2 + (dhp / s_h) ** 2 + r_t * (dcp / s_c) * (dhp / s_h))


def background_drift(before: np.ndarray, after: np.ndarray) -> float:
    """Mean CIEDE2000 between two frames over the pixels that are background in both
    (objects move, so only the background says whether colours drifted)."""
    keep = ~(object_mask(before) | object_mask(after))
    if not keep.any():
        keep = np.ones(before.shape[:2], bool)
    return float(ciede2000(rgb_to_lab(before[keep]), rgb_to_lab(after[keep])).mean())
