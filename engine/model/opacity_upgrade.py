"""How a project from before opacity existed keeps its look (Clip.2 -> Clip.3, Still.1 -> Still.2).

Up to Clip.2 and Still.1 an item's influence curve was also its opacity in the classic composite:
the compositor drew it with weight w = curve(frame) over what lay below, so a curve below 1
either crossfaded the item with the item under it on another video track or faded it to black
where nothing was under it. Both change the picture, and a single item cannot know what lies
under it on other tracks, so the rule is per item and exact:

    the curve is copied into the new "opacity" field when it is below 1 on any frame of the
    item's own range (item-local frames 0 .. length - 1, its length on the timeline, which a
    clip's speed sets); otherwise opacity stays the default flat 1.0.

A copied opacity gives the same weight on every frame as before, so an upgraded project
renders pixel for pixel as it did; a curve that is 1 on every frame of the item never touched
the picture, and the item keeps full opacity. The curve itself stays as it was: it still tells
the model how strongly to hold the frames.
"""

from __future__ import annotations

import numpy as np

from engine.model.curves import Curve, Keyframe
from engine.model.transform import SPEED_MAX, SPEED_MIN, timeline_length


def faded_the_picture(raw_curve: object, length: int) -> bool:
    """Whether an old item's curve (as stored: [[frame, value, interp], ...]) was below 1 on
    any of its `length` frames. A curve that cannot be read counts as not fading: the reader
    then names what is wrong with it."""
    if not isinstance(raw_curve, list) or not raw_curve:
        return False
    try:
        curve = Curve(tuple(Keyframe(*point) for point in raw_curve))
        # Between keyframes a curve is monotonic (or held), so its lowest value on whole frames
        # is at a whole frame next to a keyframe or at an end of the item: no need to visit
        # every frame of a long item.
        near_keys = [f for k in curve.keyframes for f in (np.floor(k.frame), np.ceil(k.frame))]
        frames = np.clip(np.array([0.0, length - 1.0, *near_keys]), 0, length - 1)
        values = curve.evaluate(frames)
    except (TypeError, ValueError, OverflowError):
        return False
    return bool(np.any(values < 1.0))


def with_old_opacity(d: dict, length_field: str) -> dict:
    """An old Clip or Still dict with "opacity" set by the rule above. `length_field` is
    "source" ([start, stop]) for a clip and "duration" for a still."""
    if "opacity" in d:
        return d
    length = d.get(length_field)
    if isinstance(length, list):
        ok = len(length) == 2 and all(type(v) is int for v in length)
        length = length[1] - length[0] if ok else None
    if type(length) is not int or not 1 <= length <= 2**31:
        return d  # a broken item: the reader will name what is wrong with it
    speed = d.get("speed", 1.0)
    if length_field == "source" and type(speed) in (int, float) and SPEED_MIN <= speed <= SPEED_MAX:
        length = timeline_length(length, speed)  # a clip with a speed (Clip.2 could hold one) lasts longer or shorter
    if faded_the_picture(d.get("curve"), length):
        d["opacity"] = d["curve"]
    return d


def clip_2_to_3(d: dict) -> dict:
    """Clip.3 has its own "opacity"; the rule in this module's docstring sets it."""
    return with_old_opacity(d, "source")


def still_1_to_2(d: dict) -> dict:
    """Still.2 has its own "opacity"; the rule in this module's docstring sets it."""
    return with_old_opacity(d, "duration")
