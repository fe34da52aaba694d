"""Per-item picture transform and clip speed: where a picture sits on the canvas after its fit
mode, and how fast a clip runs through its source.

A transform has seven parameters, each a `Param` (keyframes at item-local frames, linear in
between, the end values held outside them, like an influence curve but of any finite value):

- `x`, `y`: how far the picture's centre moves from the canvas centre, in canvas widths and
  heights (x = 0.25 moves it a quarter of the canvas to the right, y = 0.25 a quarter down);
- `scale`: a factor on top of the fit mode (1 = as fitted);
- `rotation`: degrees, clockwise;
- `crop_left`, `crop_top`, `crop_right`, `crop_bottom`: the fraction of the picture hidden
  on each side; the rest stays where it was (cropping never moves the picture).

A clip's `speed` (Clip.speed) plays `speed` source frames per timeline frame: 2 shows source
frame 2n at timeline frame n, 0.5 shows each source frame twice, the frames between blended
(engine/media/effects.py). Its timeline length is ceil(source frames / speed). A reversed clip
(Clip.reverse) shows its last source frame first; trimming its left edge drops source frames
from the end.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

SPEED_MIN, SPEED_MAX = 0.1, 10.0
PARAMS = ("x", "y", "scale", "rotation", "crop_left", "crop_top", "crop_right", "crop_bottom")
DEFAULTS = {"x": 0.0, "y": 0.0, "scale": 1.0, "rotation": 0.0,
            "crop_left": 0.0, "crop_top": 0.0, "crop_right": 0.0, "crop_bottom": 0.0}
LIMITS = {"x": (-10.0, 10.0), "y": (-10.0, 10.0), "scale": (0.0, 100.0), "rotation": (-36000.0, 36000.0),
          "crop_left": (0.0, 1.0), "crop_top": (0.0, 1.0), "crop_right": (0.0, 1.0), "crop_bottom": (0.0, 1.0)}


@dataclass(frozen=True, slots=True)
class Param:
    """One animatable number: (frame, value) keyframes sorted by frame, linear in between."""

    keys: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a parameter needs at least one keyframe")
        by_frame = {}
        for frame, value in self.keys:
            if not (math.isfinite(frame) and math.isfinite(value)):
                raise ValueError(f"keyframe ({frame}, {value}) is not a pair of finite numbers")
            by_frame[float(frame)] = float(value)  # a later key at the same frame wins
        object.__setattr__(self, "keys", tuple(sorted(by_frame.items())))

    @classmethod
    def constant(cls, value: float) -> Param:
        return cls(((0.0, float(value)),))

    @property
    def animated(self) -> bool:
        return len(self.keys) > 1

    def at(self, frame: float) -> float:
        if len(self.keys) == 1:
            return self.keys[0][1]
        frames, values = zip(*self.keys)
        return float(np.interp(frame, frames, values))

    def with_key(self, frame: float, value: float) -> Param:
        return Param((*self.keys, (float(frame), float(value))))

    def shifted(self, offset: float) -> Param:
        if offset == 0 or not self.animated:
            return self
        return Param(tuple((frame + offset, value) for frame, value in self.keys))


def _param(name: str):
    return dataclasses.field(default=Param.constant(DEFAULTS[name]))


@dataclass(frozen=True, slots=True)
class Transform:
    x: Param = _param("x")
    y: Param = _param("y")
    scale: Param = _param("scale")
    rotation: Param = _param("rotation")
    crop_left: Param = _param("crop_left")
    crop_top: Param = _param("crop_top")
    crop_right: Param = _param("crop_right")
    crop_bottom: Param = _param("crop_bottom")

    def __post_init__(self) -> None:
        for name in PARAMS:
            low, high = LIMITS[name]
            for _, value in getattr(self, name).keys:
                if not low <= value <= high:
                    raise ValueError(f"transform {name} {value:g} is outside {low:g}..{high:g}")

    @property
    def is_identity(self) -> bool:
        return self is IDENTITY or all(getattr(self, name) == _DEFAULT_PARAMS[name] for name in PARAMS)

    def values_at(self, frame: float) -> dict[str, float]:
        """Every parameter's value at an item-local frame."""
        return {name: getattr(self, name).at(frame) for name in PARAMS}

    def with_value(self, name: str, value: float, frame: float | None = None) -> Transform:
        """The parameter set to `value`: everywhere (frame None), or as a keyframe at `frame`."""
        if name not in PARAMS:
            raise ValueError(f"no transform parameter {name!r}; use one of {', '.join(PARAMS)}")
        param = Param.constant(value) if frame is None else getattr(self, name).with_key(frame, value)
        return dataclasses.replace(self, **{name: param})

    def shifted(self, offset: float) -> Transform:
        """The same animation in a frame system moved by `offset` (an item's start moved while
        its content stays put: trim-start, split)."""
        return dataclasses.replace(self, **{name: getattr(self, name).shifted(offset) for name in PARAMS})


_DEFAULT_PARAMS = {name: Param.constant(value) for name, value in DEFAULTS.items()}
IDENTITY = Transform()


def check_speed(speed: float) -> float:
    speed = float(speed)
    if not (math.isfinite(speed) and SPEED_MIN <= speed <= SPEED_MAX):
        raise ValueError(f"speed {speed:g} is outside {SPEED_MIN:g}..{SPEED_MAX:g}")
    return speed


def speed_fraction(speed: float) -> Fraction:
    """The speed as an exact fraction, so lengths do not depend on float rounding (0.1 is 1/10)."""
    return Fraction(speed).limit_denominator(1000)


def timeline_length(source_frames: int, speed: float) -> int:
    """Timeline frames a clip of `source_frames` lasts at `speed` (at least 1)."""
    if speed == 1.0:
        return source_frames
    return max(1, math.ceil(source_frames / speed_fraction(speed)))


def source_frames_for(timeline_frames: int, speed: float) -> int:
    """Source frames that fill at most `timeline_frames` at `speed` (at least 1): the inverse of
    timeline_length, rounded so the clip never grows past the frames asked for."""
    if speed == 1.0:
        return timeline_frames
    return max(1, math.floor(timeline_frames * speed_fraction(speed)))


def head_trim(source_frames: int, speed: float, delta: int) -> tuple[int, int]:
    """(source frames a clip of `source_frames` at `speed` drops from its head, timeline frames
    its start actually moves) when its start moves `delta` frames (negative: extends it). Its
    end stays where it is, and the frames it keeps show what they showed (to within the
    rounding to whole source frames). A clip sped up always moves by exactly `delta`; a slowed
    one may stop short of it, at the nearest whole source frame."""
    fraction = speed_fraction(speed)
    length, exact = timeline_length(source_frames, speed), delta * fraction
    for dropped in sorted({math.floor(exact), math.ceil(exact)}, key=lambda v: abs(v - exact)):
        if dropped < source_frames and timeline_length(source_frames - dropped, speed) == length - delta:
            return dropped, delta
    kept = source_frames_for(length - delta, speed)
    return source_frames - kept, length - timeline_length(kept, speed)


def source_position(source_range, local: np.ndarray | float, speed: float, reverse: bool = False,
                    bounds: tuple[int, int] | None = None) -> np.ndarray:
    """The (fractional) source frame shown at item-local timeline frame(s) `local` of a clip
    using `source_range` (a FrameRange) at `speed`, played backwards with `reverse`; held at
    the ends of the range, or of `bounds` (first, last source frame) where a transition shows
    the clip's handles."""
    step = np.asarray(local, dtype=np.float64) * float(speed_fraction(speed))
    position = source_range.stop - 1 - step if reverse else source_range.start + step
    first, last = bounds if bounds is not None else (source_range.start, source_range.stop - 1)
    return np.clip(position, first, last)
