"""Turning a file a user brings in into a MediaRef for the project's media bin."""

from __future__ import annotations

import os

from engine.media.probe import MediaInfo, probe
from engine.model.items import MediaRef, new_id
from engine.time import FrameRate


def media_ref_for(path: str, info: MediaInfo | None = None) -> MediaRef:
    """Probe `path` (in a child process, so a damaged file cannot take the editor down) and
    describe it. Raises MediaError with a clear message for files Kinora cannot use."""
    path = os.path.abspath(path)
    info = info or probe(path)
    if info.kind == "audio":
        stream = info.audio[0]
        samples = round((info.duration_s or 0.0) * stream.sample_rate)
        return MediaRef(new_id(), path, "audio", num_frames=samples, rate=FrameRate(stream.sample_rate),
                        has_audio=True)
    rate = FrameRate(info.rate) if info.rate is not None else None
    return MediaRef(new_id(), path, info.kind, num_frames=info.num_frames if info.kind == "video" else None,
                    rate=rate if info.kind == "video" else None, width=info.width, height=info.height,
                    has_audio=info.has_audio)
