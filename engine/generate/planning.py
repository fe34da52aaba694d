"""The caps a front end plans with before a model is loaded: its frame layout, sound, native size
and length, and its windows, all read from the model folder's configs (the loaded backend's caps
stay the authority when it runs)."""

from __future__ import annotations

import dataclasses

from engine.generate.caps import ModelCaps, caps_for_layout, with_window_defaults
from engine.generate.models import ModelInfo, audio_layout, frame_layout


def planning_caps(info: ModelInfo) -> ModelCaps:
    defaults = info.defaults or {}

    def whole(key):
        value = defaults.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    caps = dataclasses.replace(caps_for_layout(frame_layout(info), audio_layout(info)), native_width=whole("width"),
                               native_height=whole("height"), native_frames=whole("num_frames"))
    return with_window_defaults(caps, defaults)
