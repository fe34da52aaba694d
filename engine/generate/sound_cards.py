"""A sound placed on a generation's timeline (`kinora generate --audio PATH@FRAME[:STRENGTH]`)."""

from __future__ import annotations

import math
from pathlib import Path

from engine.errors import MediaError, UserError
from engine.model.curves import Curve
from engine.model.items import Clip, MediaRef, new_id
from engine.time import FrameRange, FrameRate


def sound_seconds(path: str) -> float:
    """How long a file's sound lasts, in seconds."""
    import av

    try:
        with av.open(path, metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise MediaError(f"{path} has no sound; give a file with an audio stream")
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / 1_000_000
            return sum(frame.samples for frame in container.decode(stream)) / stream.codec_context.sample_rate
    except av.error.FFmpegError as error:
        raise MediaError(f"{path}: its sound cannot be read ({error}); re-encode it") from None


def sound_item(card, rate: FrameRate, num_frames: int) -> tuple[Clip, MediaRef]:
    """An audio clip of the whole sound (as much as fits) from the card's frame on."""
    path = Path(card.path)
    if not path.is_file():
        raise UserError(f"{card.path} does not exist; check the path")
    if not 0 <= card.frame < num_frames:
        raise UserError(f"{path.name} is placed at frame {card.frame}, outside the {num_frames} generated "
                        f"frames (0..{num_frames - 1})")
    if not 0.0 <= card.strength <= 1.0:
        raise UserError(f"{path.name}: strength {card.strength} must be between 0 and 1")
    length = max(1, math.floor(sound_seconds(str(path)) * float(rate.fps)))
    ref = MediaRef(new_id(), str(path), "audio", num_frames=length, rate=rate, has_audio=True)
    # a card may start into the file (`source_start`, frames at `rate`) and take part of it (`length`)
    first = min(max(card.source_start, 0), length - 1)
    count = min(card.length or length - first, length - first, num_frames - card.frame)
    curve = card.curve if card.curve is not None else Curve.flat(card.strength)
    clip = Clip(new_id(), card.frame, ref.id, FrameRange(first, first + count), curve=curve)
    return clip, ref
