"""The record of a classic transition on a cut: its kind, duration, dip colour and wipe
direction. What it means on a timeline (where it shows, which frames of which items it mixes)
is in engine/model/transitions.py; this module imports nothing of the model, so the items can
hold a transition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

TRANSITION_KINDS = ("dissolve", "dip", "wipe")
KIND_NAMES = {"dissolve": "Cross-dissolve", "dip": "Dip to colour", "wipe": "Wipe"}
# Which way the wipe's edge travels: "right" uncovers the incoming picture from the left edge.
WIPE_DIRECTIONS = ("right", "left", "down", "up")
DEFAULT_DURATION = 24


@dataclass(frozen=True, slots=True)
class Transition:
    kind: str = "dissolve"
    duration: int = DEFAULT_DURATION  # frames, centred on the cut
    color: str = "#000000"  # what a dip passes through, "#rrggbb"
    direction: str = "right"  # for a wipe
    extra: Mapping = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.kind not in TRANSITION_KINDS:
            raise ValueError(f"unknown transition {self.kind!r}; use one of {', '.join(TRANSITION_KINDS)}")
        if self.direction not in WIPE_DIRECTIONS:
            raise ValueError(f"unknown wipe direction {self.direction!r}; use one of {', '.join(WIPE_DIRECTIONS)}")
        if self.duration < 1:
            raise ValueError(f"a transition lasts at least one frame, not {self.duration}")
        parse_color(self.color)

    @property
    def frames_before_cut(self) -> int:
        return self.duration // 2

    @property
    def frames_after_cut(self) -> int:
        return self.duration - self.duration // 2

    @property
    def title(self) -> str:
        if self.kind == "dip":
            return {"#000000": "Dip to black", "#ffffff": "Dip to white"}.get(self.color.lower(), "Dip to colour")
        return KIND_NAMES[self.kind]


def parse_color(text: str) -> tuple[int, int, int]:
    """(r, g, b) of "#rrggbb"; ValueError naming the text otherwise."""
    if not (isinstance(text, str) and len(text) == 7 and text[0] == "#"):
        raise ValueError(f"colour {text!r} should look like #rrggbb")
    try:
        return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)
    except ValueError:
        raise ValueError(f"colour {text!r} should look like #rrggbb") from None
