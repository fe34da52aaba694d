"""Time in Kinora: integer frames at a rational frame rate, and half-open frame ranges.

These are the only time types in the project. Seconds appear only at the edges (media
timestamps in engine/media, RationalTime in otio_io.py), always converted with explicit
rounding through the helpers below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

# The NTSC family: n * 1000/1001 frames per second. A float such as 23.976 or 29.97 that is
# within this tolerance of one of them is read as the exact fraction.
_NTSC_BASES = (24, 30, 48, 60, 120)
_NTSC_TOLERANCE = 0.002


def round_half_up(value: Fraction | float) -> int:
    """Round to the nearest integer, halves away from -inf (0.5 -> 1, 1.5 -> 2).

    One rounding rule for every seconds -> frames conversion, so that a timestamp exactly
    between two frames always lands on the later one, whatever the platform's float rounding.
    """
    return math.floor(Fraction(value) + Fraction(1, 2))


@dataclass(frozen=True, slots=True)
class FrameRate:
    """Frames per second as an exact fraction (24000/1001 for 23.976)."""

    fps: Fraction

    def __post_init__(self) -> None:
        fps = Fraction(self.fps)
        if fps <= 0:
            raise ValueError(f"frame rate must be positive, got {fps}")
        object.__setattr__(self, "fps", fps)

    @classmethod
    def parse(cls, value: str | float | int | Fraction | FrameRate) -> FrameRate:
        """Accept 25, 29.97, "30000/1001", "23.976" or a FrameRate; NTSC floats become exact."""
        if isinstance(value, FrameRate):
            return value
        if isinstance(value, str):
            text = value.strip()
            if "/" in text:
                return cls(Fraction(text))
            value = float(text)
        if isinstance(value, float):
            return cls(snap_rate(value))
        return cls(Fraction(value))

    @property
    def is_ntsc(self) -> bool:
        return self.fps.denominator == 1001

    @property
    def timebase(self) -> int:
        """The integer frame count per second used for timecode (30 for 29.97)."""
        return round_half_up(self.fps)

    def seconds(self, frames: int) -> Fraction:
        return Fraction(frames) / self.fps

    def frames(self, seconds: Fraction | float) -> int:
        """Nearest frame to a time in seconds (round half up)."""
        return round_half_up(Fraction(seconds) * self.fps)

    def frames_floor(self, seconds: Fraction | float) -> int:
        """The frame showing at a time in seconds: the last frame that started at or before it."""
        return math.floor(Fraction(seconds) * self.fps)

    def rescale(self, frames: int, to: FrameRate) -> int:
        """A frame index at this rate expressed at another rate (round half up)."""
        return round_half_up(Fraction(frames) * to.fps / self.fps)

    def timecode(self, frames: int) -> str:
        """HH:MM:SS:FF, non-drop-frame counting at the integer timebase (as NLEs display)."""
        sign = "-" if frames < 0 else ""
        frames = abs(frames)
        base = self.timebase
        ff = frames % base
        total_seconds = frames // base
        return f"{sign}{total_seconds // 3600:02d}:{total_seconds // 60 % 60:02d}:{total_seconds % 60:02d}:{ff:02d}"

    def to_json(self) -> str:
        return f"{self.fps.numerator}/{self.fps.denominator}"

    def __str__(self) -> str:
        if self.fps.denominator == 1:
            return str(self.fps.numerator)
        return f"{float(self.fps):.3f}".rstrip("0")


def snap_rate(rate: float) -> Fraction:
    """A float frame rate as an exact fraction; NTSC rates (23.976, 29.97, 59.94...) snap to n*1000/1001."""
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"frame rate must be a positive number, got {rate}")
    for base in _NTSC_BASES:
        ntsc = Fraction(base * 1000, 1001)
        if abs(rate - float(ntsc)) < _NTSC_TOLERANCE:
            return ntsc
    nearest = round(rate)
    if abs(rate - nearest) < 1e-6:
        return Fraction(nearest)
    return Fraction(rate).limit_denominator(1001)


@dataclass(frozen=True, slots=True, order=True)
class FrameRange:
    """Frames start, start+1, ..., stop-1 (half-open). Empty when start == stop."""

    start: int
    stop: int

    def __post_init__(self) -> None:
        if not (isinstance(self.start, int) and isinstance(self.stop, int)):
            raise TypeError(f"FrameRange needs integer frames, got {self.start!r}, {self.stop!r}")
        if self.stop < self.start:
            raise ValueError(f"FrameRange stop {self.stop} is before start {self.start}")

    @classmethod
    def of_length(cls, start: int, length: int) -> FrameRange:
        return cls(start, start + length)

    @property
    def duration(self) -> int:
        return self.stop - self.start

    def __len__(self) -> int:
        return self.stop - self.start

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, int) and self.start <= frame < self.stop

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def overlaps(self, other: FrameRange) -> bool:
        """Whether the two share a frame (an empty range shares none)."""
        return max(self.start, other.start) < min(self.stop, other.stop)

    def intersection(self, other: FrameRange) -> FrameRange | None:
        start, stop = max(self.start, other.start), min(self.stop, other.stop)
        return FrameRange(start, stop) if start < stop else None

    def shifted(self, offset: int) -> FrameRange:
        return FrameRange(self.start + offset, self.stop + offset)

    def to_json(self) -> list[int]:
        return [self.start, self.stop]

    def __str__(self) -> str:
        return f"[{self.start}, {self.stop})"
