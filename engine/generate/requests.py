"""Typed requests: the one thing the editor, the CLI, the job queue and a cluster pass around.

One frozen dataclass per tool. Each is versioned JSON (`"schema": "Extend.1"`) with
registered upgrade functions, like project files, so a job queued by an older Kinora still
means what it meant. Every request compiles to a Recipe (a GenerationPlan and how to assemble
the tool's output) through engine.generate.tools, which lays the tool's inputs out on a
timeline and calls the same `compile()` the editor's plan strip draws: a clip's trim, its
influence curve, the prompt blocks over it and its neighbours reach the model whichever door
the request came through.

Clip tools name their clip on a timeline (`ClipRef`: a snapshot of the project and the clip's
id). From the command line a file becomes a one-clip timeline (`ClipRef.of_file`), so a file
and a clip on the editor's timeline take the same path.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

from engine.errors import UserError
from engine.generate.settings import Size

OUTPUT_SUFFIXES = (".mp4", ".npy")
MAX_SEED = 2**63 - 1 - 16  # torch generators take 64-bit seeds; variations add up to 15
MAX_FRAMES = 100_000
MAX_TEXT = 20_000
BLEND_PRESETS = ("transition", "mix")


# -- validation helpers -----------------------------------------------------------------------------

def _int(value: Any, setting: str, low: int, high: int, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{setting} {value!r} must be a whole number")
    if not low <= value <= high:
        raise UserError(f"{setting} {value} must be between {low} and {high}")
    return value


def _float(value: Any, setting: str, low: float, high: float, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(f"{setting} {value!r} must be a finite number")
    if not low <= value <= high:
        raise UserError(f"{setting} {value:g} must be between {low:g} and {high:g}")
    return float(value)


def _text(value: Any, setting: str) -> str:
    if not isinstance(value, str):
        raise UserError(f"{setting} must be text, not {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise UserError(f"{setting} is {len(value)} characters long; keep it under {MAX_TEXT}")
    if "\x00" in value:
        raise UserError(f"{setting} contains a NUL character; remove it")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(f"{setting} is not valid UTF-8 text; retype it") from None
    return value


def _frames(start: Any, stop: Any, names: tuple[str, str], empty: str) -> None:
    """A half-open range of timeline frames START..STOP-1 that holds at least one frame."""
    _int(start, names[0], 0, 10**9)
    _int(stop, names[1], 1, 10**9)
    if stop <= start:
        raise UserError(empty)


def _set(obj, name: str, value) -> None:
    object.__setattr__(obj, name, value)


# -- shared parts -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Sampling:
    """How to sample, and with which model: the settings every tool shares."""

    seed: int = 0
    variations: int = 1
    steps: int | None = None  # None: the model's default
    guidance: float | None = None
    guidance_interval: tuple[float, float] | None = None
    preset: str | None = None  # a name from resources/presets, or a .toml path
    model: str | None = None  # a model name or folder; None: the bundled model
    device: str | None = None  # "cpu", "cuda" or None (the user's setting)
    consent: bool = False  # the user has the consent of the people shown in the conditioning media

    def __post_init__(self) -> None:
        _int(self.seed, "--seed", 0, MAX_SEED)
        _int(self.variations, "--variations", 1, 16)
        _int(self.steps, "--steps", 1, 1000, optional=True)
        _float(self.guidance, "--guidance", 0.0, 50.0, optional=True)
        if self.guidance_interval is not None:
            from engine.generate.settings import is_noise_interval

            interval = tuple(self.guidance_interval)
            if not is_noise_interval(interval) or not all(math.isfinite(v) for v in interval):
                shown = " ".join(f"{v:g}" if isinstance(v, (int, float)) else repr(v) for v in interval)
                raise UserError(f"--guidance-interval {shown}: give two noise levels LOW HIGH with "
                                "0 <= LOW < HIGH <= 1, e.g. 0 0.95")
            _set(self, "guidance_interval", (float(interval[0]), float(interval[1])))
        if self.device not in (None, "cpu", "cuda"):
            raise UserError(f"--device {self.device!r}: use cpu or cuda")
        for name in ("preset", "model"):
            if getattr(self, name) is not None:
                _text(getattr(self, name), f"--{name}")
        _set(self, "consent", bool(self.consent))

    def settings(self):
        from engine.generate.settings import SamplingSettings

        return SamplingSettings(steps=self.steps, guidance=self.guidance, seed=self.seed,
                                variations=self.variations, guidance_interval=self.guidance_interval)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineRef:
    """A snapshot of a project as its file would hold it (paths relative to `base_dir`), so a
    queued request means the same after a restart whatever the user edits meanwhile."""

    project: dict
    base_dir: str

    def __post_init__(self) -> None:
        if not isinstance(self.project, dict):
            raise UserError("a request's timeline must be a project object")
        _text(self.base_dir, "the request's project folder")

    @classmethod
    def of(cls, project) -> TimelineRef:
        from engine.model.serialize import project_to_dict

        base_dir = os.path.dirname(os.path.abspath(project.path)) if project.path else os.getcwd()
        return cls(project=project_to_dict(project, base_dir), base_dir=base_dir)

    def load(self):
        from engine.model.serialize import project_from_dict

        return project_from_dict(self.project, self.base_dir)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClipRef:
    """A clip on a timeline."""

    timeline: TimelineRef
    clip_id: str

    @classmethod
    def of_file(cls, path: str, span: tuple[int, int] | None = None) -> ClipRef:
        """A video file as the only clip of a timeline at the file's own rate (trimmed to `span`,
        frames START..END-1 of the file)."""
        from engine.generate.tools import one_clip_project

        project, clip_id = one_clip_project(path, span)
        return cls(timeline=TimelineRef.of(project), clip_id=clip_id)

    def resolve(self):
        """(project, track, clip) of the snapshot; a clear error when the clip is gone."""
        from engine.model.items import Clip

        project = self.timeline.load()
        for track in project.timeline.tracks:
            for item in track.items:
                if item.id == self.clip_id:
                    if not isinstance(item, Clip):
                        raise UserError(f"item {self.clip_id[:8]} is not a clip; the AI tools work on video clips")
                    return project, track, item
        raise UserError(f"clip {self.clip_id[:8]} is not on the timeline any more; choose another clip")

    def source_path(self) -> str:
        project, _track, clip = self.resolve()
        return project.media[clip.media_id].path


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptAt:
    """A prompt over generated frames START..STOP-1."""

    start: int
    stop: int
    text: str
    negative: str = ""

    def __post_init__(self) -> None:
        _int(self.start, "--prompt-at START", 0, MAX_FRAMES)
        _int(self.stop, "--prompt-at END", 1, MAX_FRAMES)
        if self.stop <= self.start:
            raise UserError(f"--prompt-at {self.start}:{self.stop}: END must be after START")
        _text(self.text, "--prompt-at TEXT")
        _text(self.negative, "--negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """An image or a video held from generated frame `frame` at `strength`."""

    path: str
    frame: int = 0
    strength: float = 1.0
    # how a picture of another shape than the output is framed: "fill" (cover, centre cropped: what
    # requests before this field meant), "fit" (letterboxed, all of it kept) or "crop" (unscaled)
    fit: str = "fill"

    def __post_init__(self) -> None:
        from engine.generate.media_io import FIT_MODES

        _text(self.path, "a held picture's path")
        _int(self.frame, f"{self.path}@FRAME", 0, MAX_FRAMES)
        _float(self.strength, f"{self.path}@FRAME:STRENGTH", 0.0, 1.0)
        if self.fit not in FIT_MODES:
            raise UserError(f"--fit {self.fit!r} for {self.path}: use one of {', '.join(FIT_MODES)}")


# -- the requests ---------------------------------------------------------------------------------

REQUEST_TYPES: dict[str, type[Request]] = {}
# (type name, from version) -> function(dict) -> dict of the next version
_UPGRADES: dict[tuple[str, int], Callable[[dict], dict]] = {}


def request_type(cls):
    REQUEST_TYPES[cls.__name__] = cls
    return cls


def upgrade(type_name: str, from_version: int):
    def register(function):
        _UPGRADES[(type_name, from_version)] = function
        return function
    return register


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What every request has: where the output goes, the prompt for frames nothing else
    prompts, how to sample, and (for the editor) where the result lands on the timeline."""

    VERSION: ClassVar[int] = 1
    TOOL: ClassVar[str] = ""

    output: str
    prompt: str = ""
    negative: str = ""
    sampling: Sampling = field(default_factory=Sampling)
    size: Size = field(default_factory=Size)
    # where the editor puts the result ({"mode": "track_above"|"take"|"gap", ...}); the engine ignores it
    place: dict | None = None

    def __post_init__(self) -> None:
        _text(self.output, "-o/--output")
        _text(self.prompt, "the prompt")
        _text(self.negative, "--negative")
        if os.path.splitext(self.output)[1].lower() not in OUTPUT_SUFFIXES:
            raise UserError(f"output {self.output} must end in .mp4 or .npy")
        if self.place is not None and not isinstance(self.place, dict):
            raise UserError("a request's place must be an object")

    @property
    def tool(self) -> str:
        return self.TOOL

    def inputs(self) -> list[str]:
        """Files the request reads (an output must never be one of them)."""
        return []

    def recipe(self, caps):
        """The Recipe (plan and assembly) of this request for a model with `caps`."""
        raise NotImplementedError

    def to_json(self) -> dict:
        return {"schema": f"{type(self).__name__}.{self.VERSION}", **_encode_fields(self)}

    def with_sampling(self, **changes) -> Request:
        return replace(self, sampling=replace(self.sampling, **changes))


@request_type
@dataclass(frozen=True, slots=True, kw_only=True)
class Generate(Request):
    """Text or image to video, or a storyboard of pictures and prompt spans given as options."""

    TOOL: ClassVar[str] = "generate"
    prompts_at: tuple[PromptAt, ...] = ()
    images: tuple[Placement, ...] = ()
    videos: tuple[Placement, ...] = ()
    audios: tuple[Placement, ...] = ()  # sounds held from a frame on (models that make sound)
    frames: int | None = None
    duration: float | None = None
    rate: float = 24.0

    def __post_init__(self) -> None:
        Request.__post_init__(self)
        _int(self.frames, "--frames", 1, MAX_FRAMES, optional=True)
        _float(self.duration, "--duration", 0.01, 3600.0, optional=True)
        _float(self.rate, "--rate", 1.0, 240.0)
        if self.frames is not None and self.duration is not None:
            raise UserError("give --frames or --duration, not both")
        if not self.prompt.strip() and not self.prompts_at and not self.images and not self.videos:
            raise UserError("no prompt: give a PROMPT or at least one --prompt-at START:END:TEXT")

    def inputs(self) -> list[str]:
        return [p.path for p in (*self.images, *self.videos, *self.audios)]

    def recipe(self, caps):
        from engine.generate import tools

        if self.audios and not caps.audio:
            raise UserError(f"--audio: this {caps.family} model makes no sound and cannot follow one; use an "
                            "LTX-2 model")
        chosen = self.size.choose(caps, num_frames=self.frames, duration=self.duration, rate=self.rate)
        cards = [tools.Card(p.path, p.frame, p.strength, fit=p.fit) for p in (*self.images, *self.videos)]
        spans = [tools.PromptSpan(p.start, p.stop, p.text, p.negative) for p in self.prompts_at]
        recipe = tools.storyboard(caps, width=chosen.width, height=chosen.height, num_frames=chosen.num_frames,
                                  rate=self.rate, prompt=self.prompt, negative=self.negative, cards=cards,
                                  prompts=spans, tool="generate",
                                  sounds=[tools.Card(p.path, p.frame, p.strength) for p in self.audios])
        return replace(recipe, notes=(chosen.note, *recipe.notes))


@request_type
@dataclass(frozen=True, slots=True, kw_only=True)
class Storyboard(Request):
    """A range of a timeline: its prompt blocks, stills and clips with their influence curves."""

    TOOL: ClassVar[str] = "storyboard"
    timeline: TimelineRef
    start: int
    stop: int

    def __post_init__(self) -> None:
        Request.__post_init__(self)
        _frames(self.start, self.stop, ("the range's start", "the range's end"),
                "the marked range is empty: set an in and an out mark around what to generate")
        if self.stop - self.start > MAX_FRAMES:
            raise UserError(f"the marked range is {self.stop - self.start} frames; mark at most {MAX_FRAMES}")

    def inputs(self) -> list[str]:
        """The media of the stills and clips the range holds (sound too: a model that makes sound holds it)."""
        from engine.model.items import Clip, Still
        from engine.time import FrameRange

        project = self.timeline.load()
        frames = FrameRange(self.start, self.stop)
        tracks = [*project.timeline.tracks_of("video"), *project.timeline.tracks_of("audio")]
        return list(dict.fromkeys(project.media[item.media_id].path for track in tracks
                                  if not (track.hidden or track.muted) for item in track.items_in(frames)
                                  if isinstance(item, Clip | Still) and item.media_id in project.media))

    def recipe(self, caps):
        from engine.generate import tools

        return tools.storyboard_range(caps, self.timeline.load(), self.start, self.stop, size=self.size,
                                      prompt=self.prompt, negative=self.negative)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClipRequest(Request):
    """A tool on one clip."""

    clip: ClipRef

    def inputs(self) -> list[str]:
        return [self.clip.source_path()]

    def _clip_prompt(self, clip) -> str:
        """The request's prompt, else the prompt of the clip's own recipe (extend and loop
        continue what the clip shows)."""
        if self.prompt.strip():
            return self.prompt
        return str((clip.generation or {}).get("prompt") or "")


@request_type
@dataclass(frozen=True, slots=True, kw_only=True)
class Extend(ClipRequest):
    TOOL: ClassVar[str] = "extend"
    direction: str = "forward"
    frames: int = 16  # new frames
    context: int = 9  # frames of the clip held

    def __post_init__(self) -> None:
        Request.__post_init__(self)
        if self.direction not in ("forward", "backward"):
            raise UserError(f"direction {self.direction!r}: use forward or backward")
        _int(self.frames, "--frames", 1, MAX_FRAMES)
        _int(self.context, "--context", 1, MAX_FRAMES)

    def recipe(self, caps):
        from engine.generate import tools

        project, track, clip = self.clip.resolve()
        return tools.extend_clip(caps, project, track, clip, direction=self.direction, context=self.context,
                                 new_frames=self.frames, size=self.size, prompt=self._clip_prompt(clip),
                                 negative=self.negative)


@request_type
@dataclass(frozen=True, slots=True, kw_only=True)
class Loop(ClipRequest):
    TOOL: ClassVar[str] = "loop"
    frames: int = 16  # bridge frames
    context: int = 9

    def __post_init__(self) -> None:
        Request.__post_init__(self)
        _int(self.frames, "--frames", 1, MAX_FRAMES)
        _int(self.context, "--context", 1, MAX_FRAMES)

    def recipe(self, caps):
        from engine.generate import tools

        project, track, clip = self.clip.resolve()
        return tools.loop_clip(caps, project, track, clip, context=self.context, bridge=self.frames,
                               size=self.size, prompt=self._clip_prompt(clip), negative=self.negative)


@request_type
@dataclass(frozen=True, slots=True, kw_only=True)
class Remix(ClipRequest):
    TOOL: ClassVar[str] = "remix"
    strength: float = 0.5  # how much to change

    def __post_init__(self) -> None:
        Request.__post_init__(self)
        _float(self.strength, "--strength", 0.0, 1.0)

    def recipe(self, caps):
        from engine.generate import tools

        project, track, clip = self.clip.resolve()
        return tools.remix_clip(caps, project, track, clip, strength=self.strength, size=self.size,
                                prompt=self.prompt, negative=self.negative, tool=self.TOOL)


@request_type
@dataclass(frozen=True, slots=True, kw_only=True)
class Upscale(Remix):
    TOOL: ClassVar[str] = "upscale"
    strength: float = 0.3

    def recipe(self, caps):
        from engine.generate import tools

        project, track, clip = self.clip.resolve()
        return tools.upscale_clip(caps, project, track, clip, strength=self.strength, size=self.size,
                                  prompt=self.prompt, negative=self.negative)


@request_type
@dataclass(frozen=True, slots=True, kw_only=True)
class Blend(Request):
    """Two clips under crossing influence curves. Without curves, two clips that overlap on one
    timeline blend under the curves drawn on them, over their overlap; with curves (item-local
    [[frame, value, interp], ...]) or a preset, both clips start together."""

    TOOL: ClassVar[str] = "blend"
    first: ClipRef
    second: ClipRef
    first_curve: tuple | None = None
    second_curve: tuple | None = None
    curve_preset: str | None = None  # "transition" or "mix"
    frames: int | None = None

    def __post_init__(self) -> None:
        Request.__post_init__(self)
        if self.curve_preset is not None and self.curve_preset not in BLEND_PRESETS:
            raise UserError(f"--preset-curve {self.curve_preset!r}: use one of {', '.join(BLEND_PRESETS)}")
        _int(self.frames, "--frames", 1, MAX_FRAMES, optional=True)
        for name in ("first_curve", "second_curve"):
            value = getattr(self, name)
            if value is not None:
                from engine.model.serialize import curve_from_list

                try:
                    curve_from_list([list(k) for k in value])
                except (ValueError, TypeError, KeyError) as error:
                    raise UserError(f"{name.replace('_', ' ')}: {error}") from None
                _set(self, name, tuple(tuple(k) for k in value))

    def inputs(self) -> list[str]:
        return [self.first.source_path(), self.second.source_path()]

    def recipe(self, caps):
        from engine.generate import tools
        from engine.model.serialize import curve_from_list

        curves = [None if c is None else curve_from_list([list(k) for k in c])
                  for c in (self.first_curve, self.second_curve)]
        return tools.blend_clips(caps, self.first.resolve(), self.second.resolve(), curves=curves,
                                 preset=self.curve_preset, num_frames=self.frames, size=self.size,
                                 prompt=self.prompt, negative=self.negative)


@request_type
@dataclass(frozen=True, slots=True, kw_only=True)
class Retake(ClipRequest):
    """Regenerate timeline frames START..STOP-1 inside a clip; the rest of the clip is held,
    with a strength ramp of `ramp` frames at each edge of the range."""

    TOOL: ClassVar[str] = "retake"
    start: int
    stop: int
    ramp: int = 4

    def __post_init__(self) -> None:
        Request.__post_init__(self)
        _frames(self.start, self.stop, ("--retake START", "--retake END"),
                f"retake range {self.start}:{self.stop}: END must be after START")
        _int(self.ramp, "--ramp", 0, 1000)

    def recipe(self, caps):
        from engine.generate import tools

        project, track, clip = self.clip.resolve()
        return tools.retake_clip(caps, project, track, clip, self.start, self.stop, ramp=self.ramp,
                                 size=self.size, prompt=self._clip_prompt(clip), negative=self.negative)


@request_type
@dataclass(frozen=True, slots=True, kw_only=True)
class FillGap(Request):
    """Generate the empty frames START..STOP-1 of a track, holding the neighbours' frames at
    both ends; the prompt blocks over the gap are its prompts."""

    TOOL: ClassVar[str] = "fill-gap"
    timeline: TimelineRef
    track_id: str
    start: int
    stop: int
    context: int = 9

    def __post_init__(self) -> None:
        Request.__post_init__(self)
        _frames(self.start, self.stop, ("the gap's start", "the gap's end"),
                f"gap {self.start}:{self.stop}: END must be after START")
        _int(self.context, "--context", 1, MAX_FRAMES)

    def inputs(self) -> list[str]:
        """The media of the clips on the gap's track (its neighbours are held)."""
        project = self.timeline.load()
        from engine.generate.tools import track_of

        track = track_of(project, self.track_id)
        return list(dict.fromkeys(project.media[item.media_id].path for item in track.items
                                  if getattr(item, "media_id", None) in project.media))

    def recipe(self, caps):
        from engine.generate import tools

        return tools.fill_gap(caps, self.timeline.load(), self.track_id, self.start, self.stop,
                              context=self.context, size=self.size, prompt=self.prompt, negative=self.negative)


@request_type
@dataclass(frozen=True, slots=True, kw_only=True)
class Variations(Request):
    """New takes of another request: the same recipe with `count` new seeds from `sampling.seed`."""

    TOOL: ClassVar[str] = "variations"
    base: Request

    def __post_init__(self) -> None:
        Request.__post_init__(self)
        if not isinstance(self.base, Request) or isinstance(self.base, Variations):
            raise UserError("variations need the request of the clip they vary")

    def inputs(self) -> list[str]:
        return self.base.inputs()

    def recipe(self, caps):
        return self.base.recipe(caps)


# -- JSON ---------------------------------------------------------------------------------------

_NESTED = {"sampling": Sampling, "size": Size, "timeline": TimelineRef, "clip": ClipRef, "first": ClipRef,
           "second": ClipRef}
_SEQUENCES = {"prompts_at": PromptAt, "images": Placement, "videos": Placement, "audios": Placement}


def _encode(value):
    if hasattr(value, "__dataclass_fields__"):
        if isinstance(value, Request):
            return value.to_json()
        return _encode_fields(value)
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    return value


def _encode_fields(obj) -> dict:
    return {f.name: _encode(getattr(obj, f.name)) for f in fields(obj)}


def _decode_part(cls, data, where: str):
    if not isinstance(data, dict):
        raise UserError(f"{where} must be an object")
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise UserError(f"{where} has unknown fields {', '.join(sorted(unknown))}")
    values = dict(data)
    if cls is ClipRef:
        values["timeline"] = _decode_part(TimelineRef, values.get("timeline"), f"{where}.timeline")
    if cls is Sampling and isinstance(values.get("guidance_interval"), list):
        values["guidance_interval"] = tuple(values["guidance_interval"])
    try:
        return cls(**values)
    except TypeError as error:
        raise UserError(f"{where}: {error}") from None


def request_from_json(data: Any, where: str = "the request") -> Request:
    """A request from its JSON, upgraded to this version; one clear error when it cannot be."""
    if not isinstance(data, dict) or not isinstance(data.get("schema"), str):
        raise UserError(f"{where} has no schema; it was not written by Kinora")
    name, _, version_text = data["schema"].partition(".")
    cls = REQUEST_TYPES.get(name)
    if cls is None or not version_text.isdigit():
        raise UserError(f"{where} is a {data['schema']!r}, which this version of Kinora does not know")
    version = int(version_text)
    if version > cls.VERSION:
        raise UserError(f"{where} was made by a newer Kinora ({data['schema']}); update Kinora to run it")
    values = {k: v for k, v in data.items() if k != "schema"}
    while version < cls.VERSION:
        step = _UPGRADES.get((name, version))
        if step is None:
            raise UserError(f"{where} ({data['schema']}) cannot be upgraded to {name}.{cls.VERSION}")
        values, version = step(values), version + 1
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise UserError(f"{where} has unknown fields {', '.join(sorted(unknown))}")
    for key, part in _NESTED.items():
        if key in values:
            values[key] = _decode_part(part, values[key], f"{where}.{key}")
    for key, part in _SEQUENCES.items():
        if key in values:
            if not isinstance(values[key], list):
                raise UserError(f"{where}.{key} must be a list")
            values[key] = tuple(_decode_part(part, v, f"{where}.{key}[{i}]") for i, v in enumerate(values[key]))
    if "base" in values:
        values["base"] = request_from_json(values["base"], f"{where}.base")
    for key in ("first_curve", "second_curve"):
        if isinstance(values.get(key), list):
            values[key] = tuple(tuple(k) if isinstance(k, list) else k for k in values[key])
    try:
        return cls(**values)
    except TypeError as error:
        raise UserError(f"{where}: {error}") from None
