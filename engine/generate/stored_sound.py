"""The sound of clips the tools hold, for models that make sound (LTX-2).

A clip tool holds a clip's frames by laying the clip on a small working timeline; for a model
that makes sound it also lays the clip's own sound (a video file's audio stream) on an audio
track at the same place, under the same influence curve, so extend, loop, retake, remix and
fill gap hold the sound where they hold the pictures and the model continues it.

A clip Kinora generated keeps its audio latents beside it (engine.generate.run.save_latents):
an audio latent frame that lines up with one of them is taken from there, not re-encoded from
the (AAC-compressed) sound of the file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from engine.model.items import Clip, new_id
from engine.model.project import Project, Track

# how far (in audio latent frames) a held audio frame may sit from a stored one and still take it
ALIGNED = 1e-3


def file_has_sound(path: str) -> bool:
    """Whether a file has an audio stream (False when it cannot be read: the tool then holds no sound)."""
    import av

    try:
        with av.open(path, metadata_errors="ignore") as container:
            return bool(container.streams.audio)
    except (av.error.FFmpegError, OSError):
        return False


def sound_tracks(caps, project: Project, video_tracks: list[Track]) -> list[Track]:
    """Audio tracks holding the sound of the video clips of `video_tracks` whose files have sound,
    each where its clip is (same start, source range and influence curve); none for a silent model."""
    if not getattr(caps, "audio", False):
        return []
    tracks = []
    for track in video_tracks:
        items = []
        for item in track.items:
            if not isinstance(item, Clip):
                continue
            media = project.media.get(item.media_id)
            if media is None or media.kind != "video" or not (media.has_audio or file_has_sound(media.path)):
                continue
            items.append(dataclasses.replace(item, id=new_id()))
        if items:
            tracks.append(Track(new_id(), "audio", f"sound of {track.name}", tuple(items)))
    return tracks


def load_stored_audio(path: str, model_name: str, audio_latents_per_second: float):
    """The audio latents (L, D) stored beside a video Kinora generated with this model at this audio
    latent rate, or None (another model's, a replaced video, no sound stored)."""
    from engine.generate.conditions import _content_hash

    sidecar = Path(path).with_suffix(".latents.safetensors")
    if not sidecar.is_file():
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(sidecar), framework="pt") as f:
            metadata = f.metadata() or {}
            if metadata.get("model") != model_name or metadata.get("video_hash") != _content_hash(path):
                return None
            if "audio_latents" not in f.keys():  # noqa: SIM118 (a safetensors file has no __contains__)
                return None
            rate = float(metadata.get("audio_latents_per_second", "0"))
            latents = f.get_tensor("audio_latents")
    except (OSError, ValueError, RuntimeError):
        return None
    if abs(rate - audio_latents_per_second) > 1e-9 or latents.ndim != 3 or latents.shape[0] != 1:
        return None
    return latents[0]


def stored_indices(times, rate: float, count: int):
    """For source times (seconds) of held audio frames: the stored audio latent frame starting at
    each time, or -1 where none starts there (the sound is then encoded from the file)."""
    import numpy as np

    position = np.asarray(times, np.float64) * rate
    index = np.round(position).astype(np.int64)
    aligned = (np.abs(position - index) < ALIGNED) & (index >= 0) & (index < count)
    return np.where(aligned, index, -1)
