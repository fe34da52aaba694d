"""Sound files for the audio tests, written with PyAV."""

from __future__ import annotations

import av
import numpy as np


def tone(seconds: float, amplitude: float = 0.5, frequency: float = 440.0, rate: int = 48000,
         channels: int = 2) -> np.ndarray:
    """A sine tone as float32 (channels, samples)."""
    t = np.arange(round(seconds * rate)) / rate
    wave = (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    return np.repeat(wave[None, :], channels, axis=0)


def write_wav(path, samples: np.ndarray, rate: int = 48000):
    """A float WAV file of (channels, samples) float32."""
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_f32le", rate=rate)
        stream.layout = layout
        for start in range(0, samples.shape[1], 4096):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 4096]), format="fltp",
                                               layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
