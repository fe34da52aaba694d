"""Sampling settings, and mapping what a user asks for (aspect, resolution, duration) to what a model accepts."""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import UserError
from engine.generate.caps import ModelCaps
from engine.time import round_half_up

ASPECTS = {"16:9": (16, 9), "1:1": (1, 1), "9:16": (9, 16)}
RESOLUTIONS = {"480p": 480, "720p": 720, "1080p": 1080}


def is_noise_interval(value) -> bool:
    """Two noise levels (low, high) with 0 <= low < high <= 1: a guidance interval, from a user or a model."""
    return (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, float)) for v in value) and 0 <= value[0] < value[1] <= 1)


@dataclass(frozen=True, slots=True)
class SamplingSettings:
    steps: int | None = None  # None: the model's default
    guidance: float | None = None
    guidance_interval: tuple[float, float] | None = None  # None: the model's default (all levels, unless it says)
    seed: int = 0
    variations: int = 1
    decode_timestep: float = 0.0
    decode_noise_scale: float | None = None
    max_sequence_length: int | None = None  # None: the model's own (LTX 128, Wan 512)
    # further guidance terms a family reads by name, (name, value) pairs; unnamed ones take the
    # model's defaults (LTX-2: stg, modality, rescale, audio_guidance, audio_stg, audio_modality,
    # audio_rescale, stg_block; see engine.generate.backends.ltx2_guidance)
    guidance_terms: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if self.steps is not None and not 1 <= self.steps <= 1000:
            raise UserError(f"--steps {self.steps} must be between 1 and 1000")
        if self.guidance is not None and not 0 <= self.guidance <= 50:
            raise UserError(f"--guidance {self.guidance} must be between 0 and 50")
        if self.guidance_interval is not None and not is_noise_interval(self.guidance_interval):
            low, high = self.guidance_interval
            raise UserError(f"--guidance-interval {low} {high}: give two noise levels LOW HIGH with "
                            "0 <= LOW < HIGH <= 1, e.g. 0 0.95")
        if not 1 <= self.variations <= 16:
            raise UserError(f"--variations {self.variations} must be between 1 and 16")


@dataclass(frozen=True, slots=True, kw_only=True)
class Size:
    """What size to make. Nothing given: the model's native size when it declares one, else
    480p 16:9; `width`/`height` (a project's size, say) win over aspect and resolution."""

    aspect: str | None = None
    resolution: str | None = None
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        if self.aspect is not None and self.aspect not in ASPECTS:
            raise UserError(f"--aspect {self.aspect!r}: use one of {', '.join(ASPECTS)}")
        if self.resolution is not None and self.resolution not in RESOLUTIONS:
            raise UserError(f"--resolution {self.resolution!r}: use one of {', '.join(RESOLUTIONS)}")
        if (self.width is None) != (self.height is None):
            raise UserError("--size needs both a width and a height, e.g. 704x480")
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 16 <= value <= 8192):
                raise UserError(f"--size {name} {value!r} must be a whole number between 16 and 8192")

    def choose(self, caps, *, num_frames=None, duration=None, rate: float = 24.0):
        return choose_size(caps, aspect=self.aspect, resolution=self.resolution, width=self.width,
                           height=self.height, num_frames=num_frames, duration=duration, rate=rate)


@dataclass(frozen=True, slots=True)
class ChosenSize:
    width: int
    height: int
    num_frames: int
    note: str  # what was chosen and why, for the user


def choose_size(caps: ModelCaps, *, aspect: str | None = None, resolution: str | None = None,
                width: int | None = None, height: int | None = None, num_frames: int | None = None,
                duration: float | None = None, rate: float = 24.0) -> ChosenSize:
    """The nearest size and frame count the model accepts to what was asked for. Asked for
    nothing, a model that declares its native size and length gets them; others 480p 16:9, 2 s."""
    native = aspect is None and resolution is None and caps.native_width and caps.native_height
    if width is None and height is None and native:
        width, height = caps.native_width, caps.native_height
    if num_frames is None and duration is None and caps.native_frames:
        num_frames = caps.native_frames
    aspect, resolution = aspect or "16:9", resolution or "480p"
    if width is None or height is None:
        if aspect not in ASPECTS:
            raise UserError(f"unknown aspect {aspect!r}; use one of {', '.join(ASPECTS)}")
        if resolution not in RESOLUTIONS:
            raise UserError(f"unknown resolution {resolution!r}; use one of {', '.join(RESOLUTIONS)}")
        a_w, a_h = ASPECTS[aspect]
        short = RESOLUTIONS[resolution]
        width, height = ((round_half_up(short * a_w / a_h), short) if a_w >= a_h
                         else (short, round_half_up(short * a_h / a_w)))
    if width <= 0 or height <= 0:
        raise UserError(f"size {width}x{height} must be positive")
    m = caps.size_multiple
    chosen_w, chosen_h = (max(m, round_half_up(width / m) * m), max(m, round_half_up(height / m) * m))
    if num_frames is None:
        num_frames = round_half_up((duration if duration is not None else 2.0) * rate) + 1
    if num_frames < 1:
        raise UserError(f"{num_frames} frames: ask for at least one frame")
    chosen_frames = caps.nearest_frame_count(num_frames)
    notes = []
    if (chosen_w, chosen_h) != (width, height):
        notes.append(f"size {width}x{height} -> {chosen_w}x{chosen_h} (multiples of {m})")
    if chosen_frames != num_frames:
        notes.append(f"{num_frames} frames -> {chosen_frames} ({caps.vae_temporal_compression}*n+1)")
    note = f"{chosen_w}x{chosen_h}, {chosen_frames} frames" + (f" ({'; '.join(notes)})" if notes else "")
    return ChosenSize(chosen_w, chosen_h, chosen_frames, note)
