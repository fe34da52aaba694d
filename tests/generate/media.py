"""Small generated media for the generation tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def moving_square(num_frames: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """uint8 (F, size, size, 3): a coloured square sliding over a gradient."""
    rng = np.random.default_rng(seed)
    colour = rng.integers(60, 255, 3)
    y, x = np.mgrid[0:size, 0:size]
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    for f in range(num_frames):
        frame = np.stack([x * 4, y * 4, np.full_like(x, 40 + 4 * f)], -1).clip(0, 255)
        left = (2 * f) % (size - 8)
        frame[8:16, left:left + 8] = colour
        frames[f] = frame
    return frames


def write_png(path: Path, picture: np.ndarray) -> Path:
    import cv2

    cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    return path


def write_clip(path: Path, num_frames: int, seed: int = 0, fps: float = 24.0) -> Path:
    from engine.generate.media_io import write_video

    write_video(path, moving_square(num_frames, seed=seed), fps)
    return path


def write_tone(path: Path, seconds: float, frequency: float = 440.0, sample_rate: int = 16000) -> Path:
    """A stereo sine tone (left at `frequency`, right an octave up) as 16-bit PCM WAV, written with PyAV."""
    import av

    t = np.arange(int(seconds * sample_rate)) / sample_rate
    samples = np.stack([np.sin(2 * np.pi * frequency * t), 0.5 * np.sin(4 * np.pi * frequency * t)])
    pcm = np.ascontiguousarray((samples.T * 20000).astype(np.int16).reshape(1, -1))
    with av.open(str(path), mode="w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=sample_rate)
        stream.layout = "stereo"
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="stereo")
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            container.mux(packet)
        container.mux(stream.encode())
    return path
