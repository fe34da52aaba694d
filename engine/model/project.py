"""The project: settings, media bin, timeline of tracks, generation defaults.

Tracks are immutable snapshots (their items a tuple sorted by start), so an edit's inverse
can keep the old track or item as it was. Timeline and Project are the mutable shells that
engine/model/edits.py changes; nothing else should assign to them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from engine.model.items import Item, Marker, MediaRef, new_id, no_extra
from engine.time import FrameRange, FrameRate

TRACK_KINDS = ("video", "prompt", "audio")
ASPECTS = {"16:9": (16, 9), "1:1": (1, 1), "9:16": (9, 16), "4:3": (4, 3), "21:9": (21, 9)}
SAMPLE_RATES = (44100, 48000)
COLOR_SPACES = ("bt709", "bt601", "bt2020")  # what the export tags and converts pictures as


@dataclass(frozen=True, slots=True)
class Track:
    id: str
    kind: str
    name: str = ""
    items: tuple[Item, ...] = ()
    muted: bool = False
    locked: bool = False
    hidden: bool = False
    extra: Mapping = no_extra()

    def __post_init__(self) -> None:
        if self.kind not in TRACK_KINDS:
            raise ValueError(f"track kind must be one of {', '.join(TRACK_KINDS)}, got {self.kind!r}")

    @property
    def end(self) -> int:
        return self.items[-1].range.stop if self.items else 0

    def index_of(self, item_id: str) -> int | None:
        for i, item in enumerate(self.items):
            if item.id == item_id:
                return i
        return None

    def neighbours(self, start: int) -> tuple[Item | None, Item | None]:
        """The item starting before `start` (if any) and the first starting at or after it."""
        starts = [item.start for item in self.items]
        i = bisect.bisect_left(starts, start)
        return (self.items[i - 1] if i > 0 else None, self.items[i] if i < len(self.items) else None)

    def items_in(self, frames: FrameRange) -> list[Item]:
        return [item for item in self.items if item.range.overlaps(frames)]

    def item_at(self, frame: int) -> Item | None:
        starts = [item.start for item in self.items]
        i = bisect.bisect_right(starts, frame) - 1
        if i >= 0 and frame < self.items[i].range.stop:
            return self.items[i]
        return None


@dataclass
class Timeline:
    """Tracks in display order, top first: a video track draws over the video tracks below it."""

    tracks: list[Track] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    extra: Mapping = no_extra()

    @property
    def duration(self) -> int:
        return max((track.end for track in self.tracks), default=0)

    def track(self, track_id: str) -> Track:
        for track in self.tracks:
            if track.id == track_id:
                return track
        raise KeyError(f"no track {track_id!r} in this timeline")

    def track_index(self, track_id: str) -> int:
        for i, track in enumerate(self.tracks):
            if track.id == track_id:
                return i
        raise KeyError(f"no track {track_id!r} in this timeline")

    def find(self, item_id: str) -> tuple[Track, Item]:
        for track in self.tracks:
            for item in track.items:
                if item.id == item_id:
                    return track, item
        raise KeyError(f"no item {item_id!r} on this timeline")

    def items(self) -> Iterator[tuple[Track, Item]]:
        for track in self.tracks:
            for item in track.items:
                yield track, item

    def tracks_of(self, kind: str) -> list[Track]:
        return [track for track in self.tracks if track.kind == kind]


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    width: int = 1280
    height: int = 720
    rate: FrameRate = FrameRate(Fraction(24))
    pixel_aspect: Fraction = Fraction(1)
    sample_rate: int = 48000  # of the mixed sound, in the preview and the export
    color_space: str = "bt709"
    extra: Mapping = no_extra()

    def __post_init__(self) -> None:
        if self.width < 2 or self.height < 2 or self.width > 16384 or self.height > 16384:
            raise ValueError(f"project size {self.width}x{self.height} must be between 2 and 16384 pixels")
        if self.sample_rate not in SAMPLE_RATES:
            raise ValueError(f"project sample rate {self.sample_rate} must be one of "
                             f"{', '.join(map(str, SAMPLE_RATES))}")
        if self.color_space not in COLOR_SPACES:
            raise ValueError(f"project colour space {self.color_space!r} must be one of {', '.join(COLOR_SPACES)}")

    @property
    def display_aspect(self) -> Fraction:
        return Fraction(self.width, self.height) * self.pixel_aspect

    @property
    def aspect_name(self) -> str:
        """The named aspect ratio nearest to the display aspect ("16:9", "1:1", "9:16", ...)."""
        aspect = float(self.display_aspect)
        return min(ASPECTS, key=lambda name: abs(aspect - ASPECTS[name][0] / ASPECTS[name][1]))


@dataclass(frozen=True, slots=True)
class GenerationDefaults:
    """What the creation bar starts from in this project."""

    model: str | None = None  # None: the bundled default model
    aspect: str = "16:9"
    resolution: str = "480p"
    duration_frames: int = 49
    variations: int = 1
    steps: int | None = None  # None: the model's own default
    guidance: float | None = None
    seed: int | None = None  # None: a new seed per job
    preset: str | None = None
    negative: str = ""
    extra: Mapping = no_extra()


@dataclass
class Project:
    settings: ProjectSettings = field(default_factory=ProjectSettings)
    media: dict[str, MediaRef] = field(default_factory=dict)
    timeline: Timeline = field(default_factory=Timeline)
    generation: GenerationDefaults = field(default_factory=GenerationDefaults)
    extra: Mapping = no_extra()
    # Where the project was loaded from or last saved to; not part of the file.
    path: str | None = field(default=None, compare=False)

    @property
    def rate(self) -> FrameRate:
        return self.settings.rate


def new_project(width: int = 1280, height: int = 720, rate: FrameRate | int | str = 24) -> Project:
    """An empty project with the usual starting tracks: a prompt track P1, V1 and A1."""
    return Project(
        settings=ProjectSettings(width=width, height=height, rate=FrameRate.parse(rate)),
        timeline=Timeline(tracks=[
            Track(new_id(), "prompt", "P1"),
            Track(new_id(), "video", "V1"),
            Track(new_id(), "audio", "A1"),
        ]),
    )
