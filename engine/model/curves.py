"""Influence curves: how strongly a timeline item holds its frames, over time.

A curve is a sorted tuple of keyframes at item-local frames (0 = the item's first frame on
the timeline). Each keyframe's `interp` shapes the segment from it to the next keyframe:

- "linear": straight line;
- "smooth": smoothstep ease-in/ease-out (3t^2 - 2t^3), which never overshoots, so values
  stay inside [0, 1] and a crossfade drawn with it stays a crossfade;
- "hold": the value stays until the next keyframe.

Before the first keyframe the curve holds the first value, after the last the last value.
No keyframes means the default flat 1.0 ("hold this item fully").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INTERPOLATIONS = ("linear", "smooth", "hold")


@dataclass(frozen=True, slots=True)
class Keyframe:
    frame: float
    value: float
    interp: str = "linear"

    def __post_init__(self) -> None:
        # floats always, so a curve is the same value however it was written (0 or 0.0)
        object.__setattr__(self, "frame", float(self.frame))
        object.__setattr__(self, "value", float(self.value))
        if self.interp not in INTERPOLATIONS:
            raise ValueError(f"unknown interpolation {self.interp!r}; use one of {', '.join(INTERPOLATIONS)}")
        if not 0.0 <= self.value <= 1.0:
            raise ValueError(f"influence {self.value} is outside [0, 1]")


@dataclass(frozen=True, slots=True)
class Curve:
    keyframes: tuple[Keyframe, ...] = ()

    def __post_init__(self) -> None:
        frames = [k.frame for k in self.keyframes]
        if frames != sorted(frames) or len(set(frames)) != len(frames):
            object.__setattr__(self, "keyframes", _sorted_unique(self.keyframes))

    @classmethod
    def flat(cls, value: float = 1.0) -> Curve:
        return cls() if value == 1.0 else cls((Keyframe(0.0, value, "hold"),))

    @classmethod
    def ramp(cls, start_frame: float, stop_frame: float, start_value: float, stop_value: float,
             interp: str = "linear") -> Curve:
        return cls((Keyframe(start_frame, start_value, interp), Keyframe(stop_frame, stop_value, interp)))

    @property
    def is_default(self) -> bool:
        return not self.keyframes

    def evaluate(self, frames: np.ndarray | float) -> np.ndarray:
        """Values at item-local frames (any shape, float frames allowed), vectorised."""
        x = np.asarray(frames, dtype=np.float64)
        if not self.keyframes:
            return np.ones_like(x)
        key_frames = np.fromiter((k.frame for k in self.keyframes), np.float64, len(self.keyframes))
        key_values = np.fromiter((k.value for k in self.keyframes), np.float64, len(self.keyframes))
        if len(self.keyframes) == 1:
            return np.full_like(x, key_values[0])
        # Segment i runs from key i to key i+1; clip so frames outside use the end segments.
        seg = np.clip(np.searchsorted(key_frames, x, side="right") - 1, 0, len(key_frames) - 2)
        x0, x1 = key_frames[seg], key_frames[seg + 1]
        y0, y1 = key_values[seg], key_values[seg + 1]
        t = np.clip((x - x0) / (x1 - x0), 0.0, 1.0)
        modes = np.array([INTERPOLATIONS.index(k.interp) for k in self.keyframes])[seg]
        shaped = np.where(modes == 1, t * t * (3.0 - 2.0 * t), t)
        shaped = np.where(modes == 2, (t >= 1.0).astype(np.float64), shaped)
        return y0 + (y1 - y0) * shaped

    def shifted(self, offset: float) -> Curve:
        """The same curve in a frame system moved by `offset` (used when an item's start moves
        but its content must stay put, as in trim-start and split)."""
        if not self.keyframes or offset == 0:
            return self
        return Curve(tuple(Keyframe(k.frame + offset, k.value, k.interp) for k in self.keyframes))

    def with_point(self, frame: float, value: float, interp: str = "linear") -> Curve:
        """This curve with a keyframe at `frame` added or replaced."""
        kept = tuple(k for k in self.keyframes if k.frame != frame)
        return Curve((*kept, Keyframe(frame, value, interp)))

    def without_point(self, frame: float) -> Curve:
        return Curve(tuple(k for k in self.keyframes if k.frame != frame))


def _sorted_unique(keyframes: tuple[Keyframe, ...]) -> tuple[Keyframe, ...]:
    by_frame: dict[float, Keyframe] = {}
    for k in keyframes:
        by_frame[k.frame] = k  # a later keyframe at the same frame wins
    return tuple(by_frame[f] for f in sorted(by_frame))


_PRESETS = {
    "flat": lambda last: Curve(),
    "fade in": lambda last: Curve.ramp(0, last, 0.0, 1.0),
    "fade out": lambda last: Curve.ramp(0, last, 1.0, 0.0),
    "ease in": lambda last: Curve.ramp(0, last, 0.0, 1.0, "smooth"),
    "ease out": lambda last: Curve.ramp(0, last, 1.0, 0.0, "smooth"),
    "hold": lambda last: Curve((Keyframe(0, 1.0, "hold"), Keyframe(last / 2, 0.0, "hold"))),
}
PRESET_NAMES = tuple(_PRESETS)


def preset(name: str, length: int) -> Curve:
    """Named shapes offered in the curve editor, over an item of `length` frames."""
    try:
        make = _PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown curve preset {name!r}; use one of {', '.join(_PRESETS)}") from None
    return make(max(length - 1, 1))
