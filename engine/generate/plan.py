"""GenerationPlan: what the model is told about a range of the timeline.

A plan is plain data (numpy arrays and small dataclasses) so it can be inspected, drawn by the
editor and summarised as JSON before any model is loaded. Pixel-frame and latent-frame
quantities are kept apart by name: `pixel_*` arrays have one entry per output frame,
`latent_*` arrays one per latent frame of the model's video VAE.

Known frames come from *layers*: one per visual item in the range, each naming a source (an
image or video file), which source frame sits at each pixel frame (-1 where the item is not
there) and how strongly it holds that frame after compositing with the layers above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.time import FrameRange, FrameRate


@dataclass(frozen=True, slots=True)
class PlanSource:
    """A picture the plan holds frames from. `kind` is "image" or "video"; video frames are
    counted at the file's own rate (`media_rate`)."""

    kind: str
    path: str
    label: str = ""
    media_rate: FrameRate | None = None
    # how a picture of another shape than the plan is framed (engine.generate.media_io.frame_to):
    # "fill" covers and crops the centre, "fit" letterboxes, "crop" keeps the pixels unscaled
    fit: str = "fill"


@dataclass(frozen=True, slots=True, eq=False)
class PlanLayer:
    source: int  # index into GenerationPlan.sources
    pixel_source_frame: np.ndarray  # int64 [num_frames]; frame of the source at each pixel frame, -1 where absent
    pixel_weight: np.ndarray  # float32 [num_frames]; hold strength after compositing with the layers above


@dataclass(frozen=True, slots=True)
class PlanKeyframe:
    """A picture held by extra tokens at an exact pixel frame, for models that place tokens at
    arbitrary times (LTX `video_coords`): a keyframe between two latent frames stays sharp
    instead of being rounded to the latent frame that contains it."""

    source: int
    source_frame: int
    pixel_frame: int
    strength: float


@dataclass(frozen=True, slots=True, eq=False)
class PlanAudioLayer:
    """Sound held in the audio stream of a model that makes sound (LTX-2): one per audio clip in
    the range, per audio latent frame the time in its source and its composited hold strength."""

    source: int  # index into GenerationPlan.sources (kind "audio")
    audio_source_time: np.ndarray  # float64 [num_audio_frames]: seconds into the source, NaN where absent
    audio_weight: np.ndarray  # float32 [num_audio_frames]; hold strength after compositing with the layers above


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, slots=True, eq=False)
class GenerationPlan:
    width: int
    height: int
    num_frames: int
    rate: FrameRate
    vae_temporal_compression: int
    frame_range: FrameRange  # where the plan sits on the timeline
    prompts: tuple[str, ...]
    negatives: tuple[str, ...]  # one per prompt
    pixel_prompt: np.ndarray  # int64 [num_frames]: index into prompts
    latent_prompt: np.ndarray  # int64 [num_latent_frames]
    sources: tuple[PlanSource, ...] = ()
    layers: tuple[PlanLayer, ...] = ()
    pixel_strength: np.ndarray = field(default=None)  # float32 [num_frames] in [0, 1]
    latent_strength: np.ndarray = field(default=None)  # float32 [num_latent_frames] in [0, 1]
    latent_layer_weight: np.ndarray = field(default=None)  # float32 [num_layers, num_latent_frames]
    keyframes: tuple[PlanKeyframe, ...] = ()
    # the audio stream, for models that make sound: audio latent frames per second (None: a silent
    # model), the held sound, and per audio latent frame its hold strength and prompt
    audio_latents_per_second: float | None = None
    audio_layers: tuple[PlanAudioLayer, ...] = ()
    audio_strength: np.ndarray = field(default=None)  # float32 [num_audio_frames] in [0, 1]
    audio_prompt: np.ndarray = field(default=None)  # int64 [num_audio_frames]: index into prompts
    # a window of a chain (engine.generate.windows): the latents its first latent frames hold,
    # float32 (1, C, n, h, w), taken as they are (the window before made them; never re-encoded)
    held_latents: np.ndarray | None = None
    # for a model that samples in two stages (LTX-2 with a latent upsampler), the same frames as the
    # window before's first stage made them, at half the width and height: its own first stage holds them
    held_first_stage_latents: np.ndarray | None = None
    # and for a model that makes sound, the normalised packed audio latents (n, D) its first audio
    # latent frames hold, as the window before made them
    held_audio_latents: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.prompts) != len(self.negatives) or not self.prompts:
            raise ValueError("a plan needs at least one prompt and one negative prompt per prompt")
        if self.pixel_strength is None:
            object.__setattr__(self, "pixel_strength", np.zeros(self.num_frames, np.float32))
        if self.latent_strength is None:
            object.__setattr__(self, "latent_strength", np.zeros(self.num_latent_frames, np.float32))
        if self.latent_layer_weight is None:
            object.__setattr__(self, "latent_layer_weight", np.zeros((len(self.layers), self.num_latent_frames),
                                                                     np.float32))
        if self.audio_strength is None:
            object.__setattr__(self, "audio_strength", np.zeros(self.num_audio_frames, np.float32))
        if self.audio_prompt is None:
            object.__setattr__(self, "audio_prompt", self.pixel_prompt[self.pixel_frame_of_audio()])
        for name in ("pixel_prompt", "latent_prompt", "pixel_strength", "latent_strength", "latent_layer_weight",
                     "audio_strength", "audio_prompt"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        if self.pixel_prompt.shape != (self.num_frames,) or self.latent_prompt.shape != (self.num_latent_frames,):
            raise ValueError("prompt arrays do not match the plan's frame counts")

    @property
    def num_latent_frames(self) -> int:
        return (self.num_frames - 1) // self.vae_temporal_compression + 1

    @property
    def num_audio_frames(self) -> int:
        """Audio latent frames over the plan's duration (LTX2Pipeline's count); 0 for a silent model."""
        if not self.audio_latents_per_second:
            return 0
        return round(self.num_frames / float(self.rate.fps) * self.audio_latents_per_second)

    def audio_frame_seconds(self) -> np.ndarray:
        """Where each audio latent frame starts, in seconds from the plan's first frame."""
        return np.arange(self.num_audio_frames) / (self.audio_latents_per_second or 1.0)

    def pixel_frame_of_audio(self) -> np.ndarray:
        """The pixel frame showing at the start of each audio latent frame (int64 [num_audio_frames])."""
        pixel = np.floor(self.audio_frame_seconds() * float(self.rate.fps) + 1e-9).astype(np.int64)
        return np.clip(pixel, 0, self.num_frames - 1)

    @property
    def has_audio_conditions(self) -> bool:
        return self.held_audio_latents is not None or (
            bool(self.audio_layers) and float(self.audio_strength.max(initial=0.0)) > 0.0)

    @property
    def has_conditions(self) -> bool:
        return (bool(self.keyframes) or self.held_latents is not None
                or (bool(self.layers) and float(self.latent_strength.max(initial=0.0)) > 0.0))

    def pixel_frames_of_latent(self, latent_index: int) -> range:
        if latent_index == 0:
            return range(0, 1)
        tc = self.vae_temporal_compression
        return range((latent_index - 1) * tc + 1, min(latent_index * tc + 1, self.num_frames))

    def latent_of_pixel(self, pixel_frame: int) -> int:
        """The latent frame whose pixel frames hold `pixel_frame` (pixel_frames_of_latent's inverse)."""
        return 0 if pixel_frame <= 0 else (pixel_frame - 1) // self.vae_temporal_compression + 1

    def arrays(self) -> dict[str, np.ndarray]:
        """Per-frame arrays the editor draws under the timeline (what the model will be told)."""
        return {
            "pixel_strength": self.pixel_strength,
            "pixel_prompt": self.pixel_prompt,
            "latent_strength": self.latent_strength,
            "latent_prompt": self.latent_prompt,
        }

    def summary(self) -> dict:
        """A JSON-able description: sizes, prompts, sources and the per-frame arrays."""
        return {
            "width": self.width,
            "height": self.height,
            "num_frames": self.num_frames,
            "num_latent_frames": self.num_latent_frames,
            "rate": self.rate.to_json(),
            "frame_range": self.frame_range.to_json(),
            "prompts": [{"text": p, "negative": n} for p, n in zip(self.prompts, self.negatives, strict=True)],
            "sources": [{"kind": s.kind, "path": s.path, "label": s.label, "fit": s.fit} for s in self.sources],
            "layers": [{"source": layer.source,
                        "pixel_source_frame": layer.pixel_source_frame.tolist(),
                        "pixel_weight": np.round(layer.pixel_weight, 4).tolist()} for layer in self.layers],
            "keyframes": [{"source": k.source, "source_frame": k.source_frame, "pixel_frame": k.pixel_frame,
                           "strength": round(k.strength, 4)} for k in self.keyframes],
            "pixel_strength": np.round(self.pixel_strength, 4).tolist(),
            "latent_strength": np.round(self.latent_strength, 4).tolist(),
            "pixel_prompt": self.pixel_prompt.tolist(),
            "latent_prompt": self.latent_prompt.tolist(),
            "audio_latents_per_second": self.audio_latents_per_second,
            "audio_layers": [{"source": layer.source,
                              "audio_source_time": [None if np.isnan(t) else round(float(t), 4)
                                                    for t in layer.audio_source_time],
                              "audio_weight": np.round(layer.audio_weight, 4).tolist()} for layer in self.audio_layers],
            "audio_strength": np.round(self.audio_strength, 4).tolist(),
            "audio_prompt": self.audio_prompt.tolist(),
        }
