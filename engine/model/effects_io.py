"""JSON of titles, picture transforms and clip speed, for engine/model/serialize.py.

Readers take untrusted data and raise ValueError with what is wrong; serialize.py adds the
file and the place. A default transform or speed is not written, so files of clips that use
neither stay as they were.

    "Title.1": {"id", "start", "duration", "text", "font", "size", "color", "x", "y", "anchor",
                "box", "box_color", "box_opacity", "box_padding", "fade_in", "fade_out", "name"}
    a clip's or still's "transform": {"scale": [[frame, value], ...], ...} (only the parameters
                that are not at their default), a clip's "speed": a number, "reverse": true
"""

from __future__ import annotations

import math
from typing import Any

from engine.model.titles import Title
from engine.model.transform import DEFAULTS, PARAMS, Param, Transform, check_speed

TITLE_KEYS = frozenset({"schema", "id", "start", "duration", "text", "font", "size", "color", "x", "y", "anchor",
                        "box", "box_color", "box_opacity", "box_padding", "fade_in", "fade_out", "name"})
EFFECT_KEYS = frozenset({"transform", "speed", "reverse"})  # extra keys of a Clip (a Still has only "transform")
MAX_KEYS = 10_000
_TYPES = {"id": str, "start": int, "duration": int, "text": str, "font": str, "size": int, "color": str,
          "x": float, "y": float, "anchor": str, "box": bool, "box_color": str, "box_opacity": float,
          "box_padding": int, "fade_in": int, "fade_out": int, "name": str}
_REQUIRED = ("id", "start", "duration", "text")
MAX_FRAME = 2**31 - 1


def title_to_dict(title: Title, schema: str) -> dict:
    d = {**title.extra, "schema": schema}
    for key in _TYPES:
        d[key] = getattr(title, key)
    return d


def title_fields(d: dict) -> dict:
    """The Title's fields from a checked-for-schema object (unknown keys are left to the caller)."""
    fields = {}
    for key, kind in _TYPES.items():
        if key not in d:
            if key in _REQUIRED:
                raise ValueError(f"missing field \"{key}\"")
            continue
        value = d[key]
        if kind is float and _is_number(value):
            value = _finite(value, key)
        elif isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            raise ValueError(f"field \"{key}\" should be {kind.__name__}, found {type(value).__name__}")
        if kind is int and not -MAX_FRAME <= value <= MAX_FRAME:
            raise ValueError(f"field \"{key}\" holds {str(value)[:24]}, out of range")
        fields[key] = value
    return fields


def transform_to_dict(transform: Transform) -> dict:
    return {name: [list(key) for key in getattr(transform, name).keys] for name in PARAMS
            if getattr(transform, name) != Param.constant(DEFAULTS[name])}


def transform_from_value(value: Any) -> Transform:
    if not isinstance(value, dict):
        raise ValueError("field \"transform\" should be an object of keyframe lists")
    unknown = set(value) - set(PARAMS)
    if unknown:
        raise ValueError(f"field \"transform\" has unknown parameter(s) {', '.join(sorted(map(str, unknown)))[:80]}")
    params = {}
    for name, keys in value.items():
        if not isinstance(keys, list) or not keys or len(keys) > MAX_KEYS:
            raise ValueError(f"transform {name} should be a list of [frame, value] keyframes")
        pairs = []
        for key in keys:
            if not (isinstance(key, list) and len(key) == 2 and all(_is_number(v) for v in key)):
                raise ValueError(f"transform {name} keyframes should be [frame, value]")
            frame = _finite(key[0], f"transform {name} frame")
            if not -MAX_FRAME <= frame <= MAX_FRAME:
                raise ValueError(f"transform {name} has a keyframe at frame {frame:g}, out of range")
            pairs.append((frame, _finite(key[1], f"transform {name} value")))
        params[name] = Param(tuple(pairs))
    return Transform(**params)


def speed_from_value(value: Any) -> float:
    if not _is_number(value):
        raise ValueError("field \"speed\" should be a number")
    return check_speed(_finite(value, "speed"))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: int | float, what: str) -> float:
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{what} holds {str(value)[:24]}, which is not a usable number")
    return number
