"""What sits on a timeline: media references, clips, stills, text blocks and markers.

Every item is immutable; edits replace it (engine/model/edits.py). Items sit at an absolute
`start` frame on their track and cover the half-open `range`; gaps are implicit. `extra`
holds fields this version of Kinora does not know, so a file from a newer version survives a
save unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from engine.model.curves import Curve
from engine.model.titles import Title
from engine.model.transform import IDENTITY, Transform, check_speed, timeline_length
from engine.model.transition import Transition
from engine.time import FrameRange, FrameRate

MEDIA_KINDS = ("video", "image", "audio")
EMPTY: Mapping = MappingProxyType({})


def no_extra():
    """Default for `extra` fields: the shared empty read-only mapping (a dataclass default must
    be given through a factory because mappings count as mutable)."""
    return field(default_factory=lambda: EMPTY)


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file in the project's media bin. `path` is absolute in memory (relative on disk)."""

    id: str
    path: str
    kind: str
    num_frames: int | None = None  # at the media's own rate; None for stills and unknown
    rate: FrameRate | None = None
    width: int | None = None
    height: int | None = None
    has_audio: bool = False
    content_hash: str | None = None
    extra: Mapping = no_extra()

    def __post_init__(self) -> None:
        if self.kind not in MEDIA_KINDS:
            raise ValueError(f"media kind must be one of {', '.join(MEDIA_KINDS)}, got {self.kind!r}")

    @property
    def name(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]

    def frames_at(self, rate: FrameRate) -> int | None:
        """How many whole project frames the media covers, or None when unbounded/unknown."""
        if self.num_frames is None or self.rate is None:
            return None
        return (self.num_frames * rate.fps.numerator * self.rate.fps.denominator) // (
            rate.fps.denominator * self.rate.fps.numerator)


@dataclass(frozen=True, slots=True)
class Clip:
    """A range of a video or audio file, placed at `start`. `curve` (influence) is how strongly
    the model holds its frames; `opacity` how much of it the classic composite shows.
    `source_range` counts project frames from the beginning of the media. `generation` is the recipe when Kinora made it;
    `takes` lists the variations generated with it, which the user can switch between, and
    `take_recipes` each take's own recipe by media id (takes differ at least in their seed), so
    switching a take (edits.switch_take) brings its recipe with it into `generation`."""

    id: str
    start: int
    media_id: str
    source_range: FrameRange
    curve: Curve = Curve()
    gain_db: float = 0.0
    name: str = ""
    generation: Mapping | None = None
    takes: tuple[str, ...] = ()  # media ids of alternative takes (variations), the current one among them
    take_recipes: Mapping = no_extra()  # media id of a take -> its recipe (a read-only mapping)
    extra: Mapping = no_extra()
    transform: Transform = IDENTITY  # engine/model/transform.py
    speed: float = 1.0  # source frames per timeline frame; the timeline length follows it
    reverse: bool = False  # plays its source frames last to first
    opacity: Curve = Curve()  # the picture's opacity in the classic composite; `curve` is for the model
    transition_in: Transition | None = None  # on the cut where this item starts (engine/model/transitions.py)
    fade_in: int = 0  # frames of the sound ramping up from silence at the clip's start
    fade_out: int = 0  # frames of the sound ramping down to silence at its end

    def __post_init__(self) -> None:
        if self.speed != 1.0:
            object.__setattr__(self, "speed", check_speed(self.speed))

    @property
    def duration(self) -> int:
        """Source frames the clip uses (its timeline length is `range.duration`)."""
        return self.source_range.stop - self.source_range.start

    @property
    def range(self) -> FrameRange:
        if self.speed != 1.0:
            return FrameRange(self.start, self.start + timeline_length(self.duration, self.speed))
        return FrameRange(self.start, self.start + self.source_range.stop - self.source_range.start)


@dataclass(frozen=True, slots=True)
class Still:
    """An image held for `duration` frames."""

    id: str
    start: int
    duration: int
    media_id: str
    curve: Curve = Curve()
    name: str = ""
    extra: Mapping = no_extra()
    transform: Transform = IDENTITY  # engine/model/transform.py
    opacity: Curve = Curve()
    transition_in: Transition | None = None

    @property
    def range(self) -> FrameRange:
        return FrameRange(self.start, self.start + self.duration)


@dataclass(frozen=True, slots=True)
class TextBlock:
    """A prompt that conditions the frames it spans; never drawn into the picture."""

    id: str
    start: int
    duration: int
    text: str
    negative: str = ""
    extra: Mapping = no_extra()

    @property
    def range(self) -> FrameRange:
        return FrameRange(self.start, self.start + self.duration)


Item = Clip | Still | TextBlock | Title
VISUAL_ITEMS = (Clip, Still)


@dataclass(frozen=True, slots=True)
class Marker:
    range: FrameRange
    name: str = ""
    color: str = "green"
    note: str = ""
    extra: Mapping = no_extra()


def label(item: Item, media: Mapping[str, MediaRef]) -> str:
    """A short human name for an item, for messages and the UI."""
    if isinstance(item, TextBlock):
        text = item.text if len(item.text) <= 32 else item.text[:31] + "…"
        return f'text "{text}"'
    if isinstance(item, Title):
        return f"'{item.name}'" if item.name else f"title \"{item.text.splitlines()[0][:31] if item.text else ''}\""
    if item.name:
        return f"'{item.name}'"
    ref = media.get(item.media_id)
    return f"'{ref.name}'" if ref else f"item {item.id[:8]}"


def frozen_mapping(value: Mapping | None) -> Mapping:
    return EMPTY if not value else MappingProxyType(dict(value))


# What differs between the takes of one generation: each has its own seed and library record.
TAKE_OWN_KEYS = ("seed", "seeds", "library_id")


def recipe_of_unknown_take(recipe: Mapping) -> Mapping:
    """What is known of a take's recipe when only another take of the same generation was
    recorded: what every take shares (model, weights, tool, prompt), with its seed unknown."""
    return frozen_mapping({**recipe, **{key: None for key in TAKE_OWN_KEYS if key in recipe}, "seed": None})
