"""Project files (.kinora): versioned JSON, upgraded on load, saved atomically.

Every object in the file carries `"schema": "<Type>.<version>"`. Loading upgrades each object
to the current version with the functions registered by `@upgrade`, then builds the model.
Fields this version does not know are kept in the object's `extra` and written back on save,
so a file from a newer Kinora (same major schema) survives a round trip.

Files are untrusted input: size is capped (64 MiB), nesting depth is capped, every field is
type-checked, numbers must be finite (no NaN or Infinity, no float that overflows) and frame
values stay within MAX_FRAME, and any problem becomes one ProjectFileError naming the file and
the place.
Media paths are stored relative to the project file (plus the absolute path as a fallback),
so a project folder can move as a whole.
"""

from __future__ import annotations

import gc
import json
import math
import os
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from engine.errors import EditError, ProjectFileError
from engine.fsutil import atomic_write_bytes
from engine.model.checked_json import read_json_file
from engine.model.curves import Curve, Keyframe
from engine.model.edits import check_item_kind
from engine.model.effects_io import (
    EFFECT_KEYS,
    TITLE_KEYS,
    speed_from_value,
    title_fields,
    title_to_dict,
    transform_from_value,
    transform_to_dict,
)
from engine.model.items import (
    Clip,
    Item,
    Marker,
    MediaRef,
    Still,
    TextBlock,
    frozen_mapping,
    recipe_of_unknown_take,
)
from engine.model.opacity_upgrade import clip_2_to_3, still_1_to_2
from engine.model.project import GenerationDefaults, Project, ProjectSettings, Timeline, Track
from engine.model.titles import Title
from engine.model.transform import IDENTITY
from engine.model.transition import Transition
from engine.time import FrameRange, FrameRate
from engine.version import kinora_version

MAX_DEPTH = 32  # for free-form data (unknown fields, recipes); the known structure is shallower
# Any frame number or frame count in a file: over two years at 30 fps, and what a signed 32-bit
# integer holds (PyAV timestamps, numpy index arrays). A value past it is damage, not a film.
MAX_FRAME = 2**31 - 1
# A media file's own length counts samples for sound (2**31 is only 12 hours at 48 kHz).
MAX_MEDIA_FRAMES = 2**40
SUFFIX = ".kinora"

CURRENT: dict[str, int] = {
    "Project": 1, "Settings": 1, "Media": 1, "Timeline": 1, "Track": 1, "Clip": 3, "Still": 2,
    "Text": 1, "Marker": 1, "Generation": 1, "Title": 1, "Transition": 1,
}
Upgrade = Callable[[dict], dict]
UPGRADES: dict[tuple[str, int], Upgrade] = {}


def upgrade(type_name: str, from_version: int) -> Callable[[Upgrade], Upgrade]:
    """Register a function that turns a `type_name` object of `from_version` into the next version."""

    def register(function: Upgrade) -> Upgrade:
        UPGRADES[(type_name, from_version)] = function
        return function

    return register


class _Bad(Exception):
    """A problem inside the file; `where` says which object."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}" if where else reason)


# --- loading ------------------------------------------------------------------------------


def load_project(path: str | os.PathLike) -> Project:
    path = os.fspath(path)
    # Building tens of thousands of small objects triggers the cycle collector over and over
    # for nothing (none of them form cycles); pausing it makes loading several times faster.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        data = read_json_file(path)
        project = project_from_dict(data, os.path.dirname(os.path.abspath(path)))
    except _Bad as error:
        raise ProjectFileError(f"{path} is not a valid Kinora project: {error}") from None
    finally:
        if gc_was_enabled:
            gc.enable()
    project.path = os.path.abspath(path)
    return project


def project_from_dict(data: Any, base_dir: str) -> Project:
    data = _upgraded(data, "Project", "")
    settings = _settings(_upgraded(_get(data, "settings", dict, ""), "Settings", "settings"))
    media: dict[str, MediaRef] = {}
    for i, raw in enumerate(_get(data, "media", list, "")):
        ref = _media(_upgraded(raw, "Media", f"media[{i}]"), base_dir, f"media[{i}]")
        if ref.id in media:
            raise _Bad(f"media[{i}]", f"id {ref.id} appears twice")
        media[ref.id] = ref
    project = Project(settings=settings, media=media,
                      generation=_generation(_upgraded(_get(data, "generation", dict, ""), "Generation", "generation")),
                      extra=_extra(data, _PROJECT_KEYS, ""))
    project.timeline = _timeline(_upgraded(_get(data, "timeline", dict, ""), "Timeline", "timeline"), project)
    return project


def _upgraded(obj: Any, type_name: str, where: str) -> dict:
    if not isinstance(obj, dict):
        raise _Bad(where, f"expected a {type_name} object, found {type(obj).__name__}")
    schema = obj.get("schema")
    if not isinstance(schema, str) or "." not in schema:
        raise _Bad(where, f"missing or bad \"schema\" (expected \"{type_name}.N\")")
    name, _, version_text = schema.rpartition(".")
    if name != type_name or not version_text.isdigit():
        raise _Bad(where, f"expected a {type_name} object, found schema {schema!r}")
    version, current = int(version_text), CURRENT[type_name]
    if version > current:
        raise _Bad(where, f"{schema} was written by a newer Kinora (this one reads {type_name} up to "
                          f"version {current}); update Kinora to open it")
    while version < current:
        step = UPGRADES.get((type_name, version))
        if step is None:
            raise _Bad(where, f"no upgrade from {schema}; this file is too old for this Kinora")
        obj = step(dict(obj))
        version += 1
        obj["schema"] = f"{type_name}.{version}"
    return obj


def _get(obj: dict, key: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
    value = obj.get(key, default)
    if value is ...:
        raise _Bad(where, f"missing field \"{key}\"")
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        if default is not ... and value is default:
            return value
        raise _Bad(where, f"field \"{key}\" should be {_kind_name(kind)}, found {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "an integer", float: "a number", str: "text", bool: "true/false", list: "a list",
             dict: "an object", type(None): "null"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _extra(obj: dict, known: frozenset[str], where: str) -> Mapping:
    unknown = {k: v for k, v in obj.items() if k not in known}
    if unknown:
        _check_depth(unknown, where)
    return frozen_mapping(unknown)


def _check_depth(value: Any, where: str) -> None:
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Bad(where, f"data nested more than {MAX_DEPTH} levels deep")
        if type(current) is float and not math.isfinite(current):
            raise _Bad(where, f"holds the number {current}, which a file cannot carry (too large?)")
        if isinstance(current, dict):
            stack.extend((v, depth + 1) for v in current.values())
        elif isinstance(current, list):
            stack.extend((v, depth + 1) for v in current)


def _fraction(text: Any, where: str, field: str) -> Fraction:
    if isinstance(text, int) and not isinstance(text, bool):
        return Fraction(text)
    if not isinstance(text, str):
        raise _Bad(where, f"field \"{field}\" should be a fraction like \"24000/1001\"")
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise _Bad(where, f"field \"{field}\" is not a fraction: {text[:40]!r}") from None
    if value <= 0:
        raise _Bad(where, f"field \"{field}\" must be positive, found {text[:40]!r}")
    return value


def _frame_range(value: Any, where: str, field: str) -> FrameRange:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise _Bad(where, f"field \"{field}\" should be [start, stop] frames")
    if value[1] < value[0]:
        raise _Bad(where, f"field \"{field}\" ends ({value[1]}) before it starts ({value[0]})")
    _check_frame(value[0], where, field)
    _check_frame(value[1], where, field)
    return FrameRange(value[0], value[1])


def _check_frame(value: int | float, where: str, field: str) -> None:
    if not -MAX_FRAME <= value <= MAX_FRAME:
        raise _Bad(where, f"field \"{field}\" holds frame {_short(value)}, past the {MAX_FRAME} frames a "
                          "project can hold")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} digits)"


_PROJECT_KEYS = frozenset({"schema", "settings", "media", "timeline", "generation", "kinora_version"})
_SETTINGS_KEYS = frozenset({"schema", "width", "height", "rate", "pixel_aspect", "sample_rate", "color_space"})
_MEDIA_KEYS = frozenset({"schema", "id", "path", "abs_path", "kind", "num_frames", "rate", "width", "height",
                         "has_audio", "content_hash"})
_TIMELINE_KEYS = frozenset({"schema", "tracks", "markers"})
_TRACK_KEYS = frozenset({"schema", "id", "kind", "name", "items", "muted", "locked", "hidden"})
_CLIP_KEYS = frozenset({"schema", "id", "start", "media", "source", "curve", "gain_db", "fade_in", "fade_out", "name",
                        "generation", "takes", "take_recipes", "opacity", "transition_in"})
_STILL_KEYS = frozenset({"schema", "id", "start", "duration", "media", "curve", "name", "opacity", "transition_in"})
_TRANSITION_KEYS = frozenset({"schema", "kind", "duration", "color", "direction"})
_TEXT_KEYS = frozenset({"schema", "id", "start", "duration", "text", "negative"})
_MARKER_KEYS = frozenset({"schema", "range", "name", "color", "note"})
_GENERATION_KEYS = frozenset({"schema", "model", "aspect", "resolution", "duration_frames", "variations", "steps",
                              "guidance", "seed", "preset", "negative"})


def _settings(d: dict) -> ProjectSettings:
    try:
        return ProjectSettings(
            width=_get(d, "width", int, "settings"), height=_get(d, "height", int, "settings"),
            rate=FrameRate(_fraction(_get(d, "rate", (str, int), "settings"), "settings", "rate")),
            pixel_aspect=_fraction(d.get("pixel_aspect", "1"), "settings", "pixel_aspect"),
            sample_rate=_get(d, "sample_rate", int, "settings", 48000),
            color_space=_get(d, "color_space", str, "settings", "bt709"),
            extra=_extra(d, _SETTINGS_KEYS, "settings"))
    except ValueError as error:
        raise _Bad("settings", str(error)) from None


def _media(d: dict, base_dir: str, where: str) -> MediaRef:
    stored = _get(d, "path", str, where)
    path = os.path.normpath(os.path.join(base_dir, stored))
    fallback = d.get("abs_path")
    if not os.path.exists(path) and isinstance(fallback, str) and os.path.isabs(fallback) and os.path.exists(fallback):
        path = fallback  # the project moved without its media; the old absolute place still works
    rate = d.get("rate")
    num_frames = d.get("num_frames")
    if isinstance(num_frames, int) and not 0 <= num_frames <= MAX_MEDIA_FRAMES:
        raise _Bad(where, f"field \"num_frames\" holds {_short(num_frames)}, not a length a media file can have")
    try:
        return MediaRef(
            id=_get(d, "id", str, where), path=path, kind=_get(d, "kind", str, where),
            num_frames=_get(d, "num_frames", int, where, None),
            rate=None if rate is None else FrameRate(_fraction(rate, where, "rate")),
            width=_get(d, "width", int, where, None), height=_get(d, "height", int, where, None),
            has_audio=_get(d, "has_audio", bool, where, False),
            content_hash=_get(d, "content_hash", str, where, None),
            extra=_extra(d, _MEDIA_KEYS, where))
    except ValueError as error:
        raise _Bad(where, str(error)) from None


def _generation(d: dict) -> GenerationDefaults:
    w = "generation"
    if isinstance(d.get("duration_frames"), int):
        _check_frame(d["duration_frames"], w, "duration_frames")
    return GenerationDefaults(
        model=_get(d, "model", str, w, None), aspect=_get(d, "aspect", str, w, "16:9"),
        resolution=_get(d, "resolution", str, w, "480p"), duration_frames=_get(d, "duration_frames", int, w, 49),
        variations=_get(d, "variations", int, w, 1), steps=_get(d, "steps", int, w, None),
        guidance=_number(d.get("guidance"), w, "guidance"), seed=_get(d, "seed", int, w, None),
        preset=_get(d, "preset", str, w, None), negative=_get(d, "negative", str, w, ""),
        extra=_extra(d, _GENERATION_KEYS, w))


def _number(value: Any, where: str, field: str, default: float | None = None) -> float | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(where, f"field \"{field}\" should be a number")
    return _finite(value, where, f"field \"{field}\"")


def _finite(value: int | float, where: str, what: str) -> float:
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise _Bad(where, f"{what} holds {_short(value)}, which is not a usable number")
    return number


def _timeline(d: dict, project: Project) -> Timeline:
    tracks = []
    seen_tracks: set[str] = set()
    reader = _ItemReader(project)
    for i, raw in enumerate(_get(d, "tracks", list, "timeline")):
        track = _track(_upgraded(raw, "Track", f"track[{i}]"), f"track[{i}]", reader)
        if track.id in seen_tracks:
            raise _Bad(f"track[{i}]", f"id {track.id} appears twice")
        seen_tracks.add(track.id)
        tracks.append(track)
    markers = [_marker(_upgraded(raw, "Marker", f"marker[{i}]"), f"marker[{i}]")
               for i, raw in enumerate(_get(d, "markers", list, "timeline", []))]
    return Timeline(tracks=tracks, markers=markers, extra=_extra(d, _TIMELINE_KEYS, "timeline"))


def _track(d: dict, where: str, reader: _ItemReader) -> Track:
    try:
        track = Track(id=_get(d, "id", str, where), kind=_get(d, "kind", str, where), name=_get(d, "name", str, where, ""),
                      muted=_get(d, "muted", bool, where, False), locked=_get(d, "locked", bool, where, False),
                      hidden=_get(d, "hidden", bool, where, False), extra=_extra(d, _TRACK_KEYS, where))
    except ValueError as error:
        raise _Bad(where, str(error)) from None
    items: list[Item] = []
    previous_stop = 0
    for j, raw in enumerate(_get(d, "items", list, where)):
        item = reader.read(raw, track, where, j)
        if items and previous_stop > item.start:
            item_where = f"{where}.items[{j}]"
            if items[-1].start > item.start:
                raise _Bad(item_where, "items are not in time order")
            raise _Bad(item_where, f"overlaps the item before it on track '{track.name}'")
        previous_stop = item.start + _length(item)
        items.append(item)
    return Track(track.id, track.kind, track.name, tuple(items), track.muted, track.locked, track.hidden, track.extra)


def _length(item: Item) -> int:
    """The item's length on the timeline, read without building its range (a broken file's
    item may last a negative number of frames, which the caller reports)."""
    if type(item) is not Clip:
        return item.duration
    return item.source_range.stop - item.source_range.start if item.speed == 1.0 else item.range.duration


class _ItemReader:
    """Reads the items of one project, with the checks of edits.check_item_kind.

    Project files hold thousands of items, so the common case (current schema, no unknown
    fields, media already checked for this kind of track) takes a fast path; anything
    unusual goes through the general code, which also words the error.
    """

    def __init__(self, project: Project):
        self.project = project
        self.seen_ids: set[str] = set()
        self.curves: dict[tuple, Curve] = {}
        self.media_ok: dict[tuple[str, type, str], int | None] = {}  # -> frames available (None: unbounded)
        self.schemas = {"Clip": _schema("Clip"), "Still": _schema("Still"), "Text": _schema("Text")}

    def read(self, raw: Any, track: Track, track_where: str, index: int) -> Item:
        item = self._build(raw)
        if item is None:
            item = _item(raw, f"{track_where}.items[{index}]")
        if item.id in self.seen_ids:
            raise _Bad(f"{track_where}.items[{index}]", f"id {item.id} appears twice")
        self.seen_ids.add(item.id)
        length = _length(item)
        if item.start < 0 or length < 1:
            raise _Bad(f"{track_where}.items[{index}]", f"bad placement: starts at {item.start}, lasts {length} frame(s)")
        if item.start + length > MAX_FRAME or (type(item) is Clip and not
                                               -MAX_FRAME <= item.source_range.start <= item.source_range.stop
                                               <= MAX_FRAME):
            raise _Bad(f"{track_where}.items[{index}]", f"bad placement: starts at {_short(item.start)}, lasts "
                                                        f"{_short(length)} frame(s), past the {MAX_FRAME} frames a "
                                                        "project can hold")
        key = (track.kind, type(item), getattr(item, "media_id", ""))
        available = self.media_ok.get(key, ...)
        if available is ... or (available is not None and item.source_range.stop > available):
            try:
                check_item_kind(self.project, track, item)
            except EditError as error:
                raise _Bad(f"{track_where}.items[{index}]", str(error)) from None
            media = self.project.media.get(key[2]) if type(item) is Clip else None
            self.media_ok[key] = media.frames_at(self.project.rate) if media is not None else None
        return item

    def _build(self, raw: Any) -> Item | None:
        """The item through the fast path, or None when it needs the general one."""
        if type(raw) is dict:
            schema = raw.get("schema")
            if schema == self.schemas["Clip"] and raw.keys() <= _CLIP_KEYS:
                return self._fast_clip(raw)
            if schema == self.schemas["Still"] and raw.keys() <= _STILL_KEYS:
                return self._fast_still(raw)
            if schema == self.schemas["Text"] and raw.keys() <= _TEXT_KEYS:
                return self._fast_text(raw)
        return None

    def _fast_clip(self, d: dict) -> Clip | None:
        item_id, start, media, source = d.get("id"), d.get("start"), d.get("media"), d.get("source")
        gain, name, generation = d.get("gain_db", 0.0), d.get("name", ""), d.get("generation")
        if not (type(item_id) is str and type(start) is int and type(media) is str and type(source) is list
                and len(source) == 2 and type(source[0]) is int and type(source[1]) is int and source[0] <= source[1]
                and (type(gain) is int and -1e9 < gain < 1e9 or type(gain) is float and math.isfinite(gain)) and type(name) is str
                and generation is None and "takes" not in d and "take_recipes" not in d and "transition_in" not in d
                and "fade_in" not in d and "fade_out" not in d):
            return None
        curve, opacity = self._curve(d.get("curve")), self._curve(d.get("opacity"))
        if curve is None or opacity is None:
            return None
        return Clip(item_id, start, media, FrameRange(source[0], source[1]), curve, float(gain), name, opacity=opacity)

    def _fast_still(self, d: dict) -> Still | None:
        item_id, start, duration, media, name = d.get("id"), d.get("start"), d.get("duration"), d.get("media"), \
            d.get("name", "")
        if not (type(item_id) is str and type(start) is int and type(duration) is int and type(media) is str
                and type(name) is str and "transition_in" not in d):
            return None
        curve, opacity = self._curve(d.get("curve")), self._curve(d.get("opacity"))
        if curve is None or opacity is None:
            return None
        return Still(item_id, start, duration, media, curve, name, opacity=opacity)

    def _fast_text(self, d: dict) -> TextBlock | None:
        item_id, start, duration, text, negative = d.get("id"), d.get("start"), d.get("duration"), d.get("text"), \
            d.get("negative", "")
        if not (type(item_id) is str and type(start) is int and type(duration) is int and type(text) is str
                and type(negative) is str):
            return None
        return TextBlock(item_id, start, duration, text, negative)

    def _curve(self, value: Any) -> Curve | None:
        """Curves repeat (presets, copies), so each distinct one is built once per file."""
        if value is None:
            return _DEFAULT_CURVE
        if type(value) is not list or not all(type(point) is list for point in value):
            return None
        key = tuple(tuple(point) for point in value)
        try:
            curve = self.curves.get(key)
        except TypeError:  # a point holds a list or an object: let the general path word the error
            return None
        if curve is None:
            try:
                curve = self.curves[key] = _curve(value, "")
            except _Bad:
                return None
        return curve


_DEFAULT_CURVE = Curve()


def _item(raw: Any, where: str) -> Item:
    """Any item, in any schema version it can be upgraded from, fully checked."""
    if not isinstance(raw, dict):
        raise _Bad(where, f"expected an item object, found {type(raw).__name__}")
    schema = raw.get("schema")
    type_name = schema.rpartition(".")[0] if isinstance(schema, str) else None
    if type_name not in ("Clip", "Still", "Text", "Title"):
        raise _Bad(where, f"unknown item type {str(schema)[:40]!r}")
    d = _upgraded(raw, type_name, where)
    if type_name == "Clip":
        generation = d.get("generation")
        if generation is not None:
            if not isinstance(generation, dict):
                raise _Bad(where, "field \"generation\" should be an object")
            _check_depth(generation, where)
        return Clip(id=_get(d, "id", str, where), start=_get(d, "start", int, where),
                    media_id=_get(d, "media", str, where), source_range=_frame_range(d.get("source"), where, "source"),
                    curve=_curve(d.get("curve"), where), gain_db=_number(d.get("gain_db"), where, "gain_db", 0.0),
                    name=_get(d, "name", str, where, ""),
                    generation=None if generation is None else frozen_mapping(generation),
                    takes=_takes(d.get("takes", []), where), take_recipes=_take_recipes(d.get("take_recipes", {}), where),
                    extra=_extra(d, _CLIP_KEYS | EFFECT_KEYS, where), **_effects(d, where),
                    opacity=_curve(d.get("opacity"), where, "opacity"),
                    transition_in=_transition(d.get("transition_in"), where),
                    fade_in=_fade(d, "fade_in", where), fade_out=_fade(d, "fade_out", where))
    if type_name == "Still":
        return Still(id=_get(d, "id", str, where), start=_get(d, "start", int, where),
                     duration=_get(d, "duration", int, where), media_id=_get(d, "media", str, where),
                     curve=_curve(d.get("curve"), where), name=_get(d, "name", str, where, ""),
                     extra=_extra(d, _STILL_KEYS | {"transform"}, where), **_effects(d, where, speed=False),
                     opacity=_curve(d.get("opacity"), where, "opacity"),
                     transition_in=_transition(d.get("transition_in"), where))
    if type_name == "Title":
        try:
            return Title(**title_fields(d), extra=_extra(d, TITLE_KEYS, where))
        except ValueError as error:
            raise _Bad(where, str(error)) from None
    return TextBlock(id=_get(d, "id", str, where), start=_get(d, "start", int, where),
                     duration=_get(d, "duration", int, where), text=_get(d, "text", str, where),
                     negative=_get(d, "negative", str, where, ""), extra=_extra(d, _TEXT_KEYS, where))


def _effects(d: dict, where: str, speed: bool = True) -> dict:
    """The transform (and a clip's speed) of an item object, when it has them."""
    found = {}
    try:
        if "transform" in d:
            found["transform"] = transform_from_value(d["transform"])
        if speed and "speed" in d:
            found["speed"] = speed_from_value(d["speed"])
        if speed and "reverse" in d:
            found["reverse"] = _get(d, "reverse", bool, where)
    except ValueError as error:
        raise _Bad(where, str(error)) from None
    return found


def _takes(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(where, "field \"takes\" should be a list of media ids")
    return tuple(value)


def _take_recipes(value: Any, where: str) -> Mapping:
    # a null recipe is a take Kinora did not generate (the captured clip a remix was made of)
    if not isinstance(value, dict) or not all(recipe is None or isinstance(recipe, dict) for recipe in value.values()):
        raise _Bad(where, "field \"take_recipes\" should be an object of recipes by media id")
    _check_depth(value, where)
    return frozen_mapping({media_id: None if recipe is None else frozen_mapping(recipe)
                           for media_id, recipe in value.items()})


@upgrade("Clip", 1)
def _clip_1_to_2(d: dict) -> dict:
    """Clip.2 keeps each take's own recipe ("take_recipes", by media id). A Clip.1 clip had one
    recipe for all its takes, which switching takes left in place, so the file cannot tell which
    take it belongs to: the shown take keeps it, as Clip.1 showed it; each other take gets what
    all takes of one generation share (model, weights, tool, prompt) with its seed unknown, never
    another take's seed."""
    generation, takes = d.get("generation"), d.get("takes")
    if isinstance(generation, dict) and isinstance(takes, list) and "take_recipes" not in d:
        other = dict(recipe_of_unknown_take(generation))
        d["take_recipes"] = {take: generation if take == d.get("media") else dict(other)
                             for take in takes if isinstance(take, str)}
    return d


# Clip.3 and Still.2 add "opacity" apart from the influence curve; the rule that keeps an old
# project's look is in engine/model/opacity_upgrade.py.
upgrade("Clip", 2)(clip_2_to_3)
upgrade("Still", 1)(still_1_to_2)


def _transition(value: Any, where: str) -> Transition | None:
    if value is None:
        return None
    d = _upgraded(value, "Transition", f"{where}.transition_in")
    try:
        _check_frame(_get(d, "duration", int, where), where, "transition_in.duration")
        return Transition(kind=_get(d, "kind", str, where), duration=_get(d, "duration", int, where),
                          color=_get(d, "color", str, where, "#000000"),
                          direction=_get(d, "direction", str, where, "right"),
                          extra=_extra(d, _TRANSITION_KEYS, where))
    except ValueError as error:
        raise _Bad(f"{where}.transition_in", str(error)) from None


def transition_to_dict(transition: Transition) -> dict:
    return {**transition.extra, "schema": _schema("Transition"), "kind": transition.kind,
            "duration": transition.duration, "color": transition.color, "direction": transition.direction}


def _fade(d: dict, key: str, where: str) -> int:
    """A clip's fade length in frames (optional; 0 when absent)."""
    value = _get(d, key, int, where, 0)
    if value < 0 or value > MAX_FRAME:
        raise _Bad(where, f"field \"{key}\" should be a frame count from 0 to {MAX_FRAME}")
    return value


def _curve(value: Any, where: str, field: str = "curve") -> Curve:
    if value is None:
        return Curve()
    if not isinstance(value, list):
        raise _Bad(where, f"field \"{field}\" should be a list of [frame, value, interpolation]")
    keyframes = []
    for point in value:
        if (not isinstance(point, list) or len(point) != 3 or isinstance(point[0], bool) or isinstance(point[1], bool)
                or not isinstance(point[0], (int, float)) or not isinstance(point[1], (int, float))
                or not isinstance(point[2], str)):
            raise _Bad(where, "curve points should be [frame, value, interpolation]")
        frame = _finite(point[0], where, "a curve point's frame")
        _check_frame(frame, where, "curve")
        try:
            keyframes.append(Keyframe(frame, _finite(point[1], where, "a curve point's value"), point[2]))
        except ValueError as error:
            raise _Bad(where, f"bad curve point: {error}") from None
    return Curve(tuple(keyframes))


def _marker(d: dict, where: str) -> Marker:
    return Marker(range=_frame_range(d.get("range"), where, "range"), name=_get(d, "name", str, where, ""),
                  color=_get(d, "color", str, where, "green"), note=_get(d, "note", str, where, ""),
                  extra=_extra(d, _MARKER_KEYS, where))


# --- saving ---------------------------------------------------------------------------------


def save_project(project: Project, path: str | os.PathLike) -> None:
    """Write the project atomically (temp file beside it, fsync, rename) and remember the path."""
    path = os.path.abspath(os.fspath(path))
    data = json.dumps(project_to_dict(project, os.path.dirname(path)), ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")
    try:
        atomic_write_bytes(path, data)
    except OSError as error:
        raise ProjectFileError(f"cannot save {path}: {error.strerror or error}; "
                               "choose another folder or free some disk space") from None
    project.path = path


def project_to_dict(project: Project, base_dir: str) -> dict:
    return {**project.extra, "schema": _schema("Project"), "kinora_version": kinora_version(),
            "settings": _settings_dict(project.settings),
            "media": [_media_dict(ref, base_dir) for ref in project.media.values()],
            "timeline": _timeline_dict(project.timeline), "generation": _generation_dict(project.generation)}


def _schema(type_name: str) -> str:
    return f"{type_name}.{CURRENT[type_name]}"


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _settings_dict(s: ProjectSettings) -> dict:
    return {**s.extra, "schema": _schema("Settings"), "width": s.width, "height": s.height,
            "rate": _fraction_text(s.rate.fps), "pixel_aspect": _fraction_text(s.pixel_aspect),
            "sample_rate": s.sample_rate, "color_space": s.color_space}


def _media_dict(ref: MediaRef, base_dir: str) -> dict:
    try:
        relative = os.path.relpath(ref.path, base_dir)
    except ValueError:  # another drive on Windows
        relative = ref.path
    d = {**ref.extra, "schema": _schema("Media"), "id": ref.id, "path": relative.replace(os.sep, "/"),
         "abs_path": ref.path, "kind": ref.kind, "has_audio": ref.has_audio}
    for key in ("num_frames", "width", "height", "content_hash"):
        if getattr(ref, key) is not None:
            d[key] = getattr(ref, key)
    if ref.rate is not None:
        d["rate"] = _fraction_text(ref.rate.fps)
    return d


def _generation_dict(g: GenerationDefaults) -> dict:
    d = {**g.extra, "schema": _schema("Generation"), "aspect": g.aspect, "resolution": g.resolution,
         "duration_frames": g.duration_frames, "variations": g.variations, "negative": g.negative}
    for key in ("model", "steps", "guidance", "seed", "preset"):
        if getattr(g, key) is not None:
            d[key] = getattr(g, key)
    return d


def _timeline_dict(t: Timeline) -> dict:
    return {**t.extra, "schema": _schema("Timeline"), "tracks": [_track_dict(track) for track in t.tracks],
            "markers": [_marker_dict(m) for m in t.markers]}


def _track_dict(t: Track) -> dict:
    return {**t.extra, "schema": _schema("Track"), "id": t.id, "kind": t.kind, "name": t.name, "muted": t.muted,
            "locked": t.locked, "hidden": t.hidden, "items": [item_to_dict(item) for item in t.items]}


def item_to_dict(item: Item) -> dict:
    """One item as JSON-able data (also used for copy/paste and OTIO metadata)."""
    if isinstance(item, Clip):
        d = {**item.extra, "schema": _schema("Clip"), "id": item.id, "start": item.start, "media": item.media_id,
             "source": [item.source_range.start, item.source_range.stop]}
        if item.curve.keyframes:
            d["curve"] = curve_to_list(item.curve)
        if item.gain_db:
            d["gain_db"] = item.gain_db
        if item.fade_in:
            d["fade_in"] = item.fade_in
        if item.fade_out:
            d["fade_out"] = item.fade_out
        if item.name:
            d["name"] = item.name
        if item.generation is not None:
            d["generation"] = dict(item.generation)
        if item.takes:
            d["takes"] = list(item.takes)
        if item.take_recipes:
            d["take_recipes"] = {media_id: None if recipe is None else dict(recipe)
                                 for media_id, recipe in item.take_recipes.items()}
        if item.transform is not IDENTITY and not item.transform.is_identity:
            d["transform"] = transform_to_dict(item.transform)
        if item.speed != 1.0:
            d["speed"] = item.speed
        if item.reverse:
            d["reverse"] = True
        return _with_picture_fields(d, item)
    if isinstance(item, Still):
        d = {**item.extra, "schema": _schema("Still"), "id": item.id, "start": item.start, "duration": item.duration,
             "media": item.media_id}
        if item.curve.keyframes:
            d["curve"] = curve_to_list(item.curve)
        if item.name:
            d["name"] = item.name
        if item.transform is not IDENTITY and not item.transform.is_identity:
            d["transform"] = transform_to_dict(item.transform)
        return _with_picture_fields(d, item)
    if isinstance(item, Title):
        return title_to_dict(item, _schema("Title"))
    return {**item.extra, "schema": _schema("Text"), "id": item.id, "start": item.start, "duration": item.duration,
            "text": item.text, "negative": item.negative}


def _with_picture_fields(d: dict, item: Clip | Still) -> dict:
    if item.opacity.keyframes:
        d["opacity"] = curve_to_list(item.opacity)
    if item.transition_in is not None:
        d["transition_in"] = transition_to_dict(item.transition_in)
    return d


def item_from_dict(data: Any) -> Item:
    """The inverse of item_to_dict, with the same checks as a project file."""
    try:
        return _item(data, "item")
    except _Bad as error:
        raise ProjectFileError(str(error)) from None


def curve_to_list(curve: Curve) -> list[list]:
    return [[k.frame, k.value, k.interp] for k in curve.keyframes]


def curve_from_list(value: Any) -> Curve:
    try:
        return _curve(value, "curve")
    except _Bad as error:
        raise ProjectFileError(str(error)) from None


def _marker_dict(m: Marker) -> dict:
    return {**m.extra, "schema": _schema("Marker"), "range": [m.range.start, m.range.stop], "name": m.name,
            "color": m.color, "note": m.note}
