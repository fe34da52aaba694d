"""The audio stream of a plan, for models that make sound with the picture (LTX-2).

Audio clips on the timeline's audio tracks are held like pictures are: each clip's influence
curve says how strongly, tracks composite top first (a fully held upper clip hides what is
under it), and each audio latent frame reads the clip at its own time. Where no sound is held
the model makes it; the sound that is held is what the picture attends to.
"""

from __future__ import annotations

import numpy as np

from engine.errors import UserError
from engine.generate.plan import PlanAudioLayer, PlanSource
from engine.generate.track_items import items_overlapping
from engine.model.items import Clip, label
from engine.model.project import Project
from engine.model.transform import source_position
from engine.time import FrameRange


def audio_layers(project: Project, frame_range: FrameRange, audio_latents_per_second: float,
                 num_audio_frames: int, sources: list[PlanSource]) -> tuple[list[PlanAudioLayer], np.ndarray]:
    """(layers, strength per audio latent frame) of the range; appends the sounds it holds to `sources`."""
    fps = float(project.rate.fps)
    # where each audio latent frame starts, in (fractional) timeline frames
    position = frame_range.start + np.arange(num_audio_frames) / audio_latents_per_second * fps
    frame = np.floor(position + 1e-9)
    remaining = np.ones(num_audio_frames)
    layers: list[PlanAudioLayer] = []
    source_index = {(s.kind, s.path): i for i, s in enumerate(sources)}
    for track in project.timeline.tracks_of("audio"):
        if track.hidden or track.muted:
            continue
        for item in items_overlapping(track, frame_range):
            if not isinstance(item, Clip):
                continue
            media = project.media.get(item.media_id)
            if media is None:
                raise UserError(f"{label(item, project.media)} refers to media {item.media_id[:8]} that is not in "
                                "the project's media bin; relink or remove it")
            if media.kind == "image":
                continue
            present = (frame >= item.range.start) & (frame < item.range.stop)
            weight = np.where(present, np.clip(item.curve.evaluate(frame - item.start), 0.0, 1.0), 0.0)
            effective = weight * remaining
            if not effective.any():
                continue
            # the clip's source range counts project frames from the file's start (engine.media.audio)
            seconds = (item.source_range.start + position - item.start) / fps
            if item.speed != 1.0 or item.reverse:  # where the mix plays it (engine.media.audio): at its speed, backwards
                source = item.source_range
                seconds = source_position(source, position - item.start, item.speed, item.reverse,
                                          (source.start, source.stop)) / fps
            key = ("audio", media.path)
            if key not in source_index:
                source_index[key] = len(sources)
                sources.append(PlanSource(kind="audio", path=media.path, label=media.name))
            remaining = remaining * (1.0 - weight)
            layers.append(PlanAudioLayer(source=source_index[key],
                                         audio_source_time=np.where(present, seconds, np.nan),
                                         audio_weight=effective.astype(np.float32)))
    strength = np.clip(np.sum([layer.audio_weight for layer in layers], axis=0) if layers
                       else np.zeros(num_audio_frames), 0.0, 1.0).astype(np.float32)
    return layers, strength
