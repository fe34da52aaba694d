"""Titles: text drawn over the picture by the classic compositor (engine/media/text.py).

A title sits on a video track like a still. It is a classic overlay only: the generation plan
never sees it (engine/generate/compiler.py takes clips and stills), so a model is neither held
to nor conditioned by its pixels; write a prompt block to tell the model about text.

Its place is the point (x, y) in canvas fractions (0, 0 top left; 1, 1 bottom right) where
its `anchor` point sits: with anchor "bottom" at (0.5, 0.9) the text block's bottom centre is
a tenth of the canvas above the bottom edge. `size` is the font's pixel size on the project
canvas. The optional box behind the text has its own colour, opacity and padding (pixels).
It fades in over `fade_in` frames and out over `fade_out` frames.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from engine.time import FrameRange

ANCHORS = ("top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom", "bottom-right")
# Where each anchor preset puts a title in the UI (x, y): inside the common 10% title-safe margin.
ANCHOR_PLACES = {"top-left": (0.1, 0.1), "top": (0.5, 0.1), "top-right": (0.9, 0.1),
                 "left": (0.1, 0.5), "center": (0.5, 0.5), "right": (0.9, 0.5),
                 "bottom-left": (0.1, 0.9), "bottom": (0.5, 0.9), "bottom-right": (0.9, 0.9)}
DEFAULT_FONT = "DejaVu Sans"
MAX_SIZE = 2000
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def check_color(text: str, what: str) -> str:
    if not isinstance(text, str) or not _COLOR.fullmatch(text):
        raise ValueError(f"{what} {str(text)[:20]!r} is not a colour like #ffcc00")
    return text.lower()


@dataclass(frozen=True, slots=True)
class Title:
    id: str
    start: int
    duration: int
    text: str
    font: str = DEFAULT_FONT
    size: int = 64
    color: str = "#ffffff"
    x: float = 0.5
    y: float = 0.5
    anchor: str = "center"
    box: bool = False
    box_color: str = "#000000"
    box_opacity: float = 0.6
    box_padding: int = 16
    fade_in: int = 0
    fade_out: int = 0
    name: str = ""
    extra: Mapping = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.anchor not in ANCHORS:
            raise ValueError(f"title anchor {self.anchor!r} is not one of {', '.join(ANCHORS)}")
        if not 1 <= self.size <= MAX_SIZE:
            raise ValueError(f"title size {self.size} is outside 1..{MAX_SIZE} pixels")
        object.__setattr__(self, "color", check_color(self.color, "title colour"))
        object.__setattr__(self, "box_color", check_color(self.box_color, "title box colour"))
        for name in ("x", "y", "box_opacity"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or (name == "box_opacity" and not 0.0 <= value <= 1.0) \
                    or not -10.0 <= value <= 10.0:
                raise ValueError(f"title {name.replace('_', ' ')} {value:g} is out of range")
            object.__setattr__(self, name, value)
        for name in ("box_padding", "fade_in", "fade_out"):
            if getattr(self, name) < 0:
                raise ValueError(f"title {name.replace('_', ' ')} cannot be negative")
        if self.box_padding > MAX_SIZE:
            raise ValueError(f"title box padding {self.box_padding} is over {MAX_SIZE} pixels")

    @property
    def range(self) -> FrameRange:
        return FrameRange(self.start, self.start + self.duration)

    def opacity_at(self, local: int) -> float:
        """How visible the title is at item-local frame `local` (its fades; 1 in between)."""
        value = 1.0
        if self.fade_in > 0:
            value = min(value, (local + 1) / (self.fade_in + 1))
        if self.fade_out > 0:
            value = min(value, (self.duration - local) / (self.fade_out + 1))
        return max(0.0, min(1.0, value))
