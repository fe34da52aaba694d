"""What a model family can do, declared by each backend and read by the compiler and the settings."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PLAN_FRAMES = 100_000  # the longest range one request may plan (over an hour at 24 fps)


@dataclass(frozen=True, slots=True)
class ModelCaps:
    """Capabilities of one loaded model.

    Frame counts follow the causal video VAEs of LTX-Video and Wan: the first pixel frame has a
    latent frame of its own and every further `vae_temporal_compression` pixel frames share one,
    so valid counts are `vae_temporal_compression * n + 1`.
    """

    family: str
    vae_temporal_compression: int
    vae_spatial_compression: int
    size_multiple: int  # width and height must be multiples of this
    per_token_timesteps: bool
    keyframe_tokens: bool = False
    lora: bool = False
    latent_upsampler: bool = False
    default_steps: int = 50
    default_guidance: float = 3.0
    default_guidance_interval: tuple[float, float] = (0.0, 1.0)  # the noise levels guided (see sampler.sample)
    default_rate: int = 25
    max_frames: int = 257  # the most one window makes (longer plans run as a chain: engine.generate.windows)
    # a chain's windows: at most `window_frames` each (None: max_frames), each holding the last
    # `window_overlap_frames` frames of the one before (engine.generate.windows)
    window_frames: int | None = None
    window_overlap_frames: int = 17
    # what the model was made for, when it says (the bundled model does): used when the user
    # asks for no particular size or length
    native_width: int | None = None
    native_height: int | None = None
    native_frames: int | None = None
    # models that make sound with the picture (LTX-2): the waveform's sample rate and how many
    # audio latent frames a second of sound takes; None for silent models
    audio_sample_rate: int | None = None
    audio_latents_per_second: float | None = None

    @property
    def audio(self) -> bool:
        return self.audio_latents_per_second is not None

    def num_latent_frames(self, num_frames: int) -> int:
        return (num_frames - 1) // self.vae_temporal_compression + 1

    def is_valid_frame_count(self, num_frames: int) -> bool:
        return num_frames >= 1 and (num_frames - 1) % self.vae_temporal_compression == 0

    def nearest_frame_count(self, num_frames: int) -> int:
        """The valid frame count nearest to `num_frames` (ties go up), within [1, MAX_PLAN_FRAMES]:
        a plan longer than one window runs as a chain of windows (engine.generate.windows)."""
        tc = self.vae_temporal_compression
        n = max(0, (max(num_frames, 1) - 1 + tc // 2) // tc)
        return min(n * tc + 1, (MAX_PLAN_FRAMES - 1) // tc * tc + 1)

    @property
    def frames_per_window(self) -> int:
        """The valid frame count of a full window (engine.generate.windows)."""
        tc = self.vae_temporal_compression
        return (min(self.window_frames or self.max_frames, self.max_frames) - 1) // tc * tc + 1

    def pixel_frames_of_latent(self, latent_index: int) -> range:
        """The pixel frames latent frame `latent_index` stands for (0 -> [0], 1 -> [1..tc], ...)."""
        if latent_index == 0:
            return range(0, 1)
        tc = self.vae_temporal_compression
        return range((latent_index - 1) * tc + 1, latent_index * tc + 1)

    def latent_of_pixel(self, pixel_frame: int) -> int:
        return 0 if pixel_frame <= 0 else (pixel_frame - 1) // self.vae_temporal_compression + 1


# Until a front end knows the chosen model's layout (engine.generate.models.frame_layout), plans
# are drawn for the LTX family's causal VAE of real LTX-Video (8 frames per latent frame after the first).
DEFAULT_LAYOUT_CAPS = ModelCaps(family="ltx", vae_temporal_compression=8, vae_spatial_compression=32,
                                size_multiple=32, per_token_timesteps=True)


def caps_for_layout(layout: tuple[int, int] | None, audio_latents_per_second: float | None = None) -> ModelCaps:
    """Caps enough to compile a plan for a model whose VAE makes one latent frame of `layout[0]`
    pixel frames and one latent cell of `layout[1]` pixels, before the model is loaded; with
    `audio_latents_per_second` (engine.generate.models.audio_layout) its plans have an audio stream."""
    import dataclasses

    caps = DEFAULT_LAYOUT_CAPS if layout is None else dataclasses.replace(
        DEFAULT_LAYOUT_CAPS, vae_temporal_compression=layout[0], vae_spatial_compression=layout[1],
        size_multiple=layout[1])
    if audio_latents_per_second:
        caps = dataclasses.replace(caps, audio_latents_per_second=audio_latents_per_second)
    return caps


def marked_range(duration: int, mark_in: int | None, mark_out: int | None, caps: ModelCaps):
    """The frames a timeline generation covers: the marked range (the out mark's frame included,
    as in every NLE), else the whole timeline, grown or shrunk to the nearest frame count the
    model makes from its start. None when there is nothing to generate."""
    from engine.time import FrameRange

    if mark_in is not None and mark_out is not None and mark_out > mark_in:
        start, stop = mark_in, mark_out + 1
    else:
        start, stop = 0, duration
    if stop <= start:
        return None
    return FrameRange(start, start + caps.nearest_frame_count(stop - start))


def with_window_defaults(caps: ModelCaps, defaults: dict) -> ModelCaps:
    """`caps` with the window a model declares in its `_kinora_defaults` ("window_frames",
    "window_overlap_frames"; else its trained length, "trained_frames": [min, max])."""
    import dataclasses

    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    window = defaults.get("window_frames")
    trained = defaults.get("trained_frames")
    if not whole(window) and isinstance(trained, list) and len(trained) == 2 and whole(trained[1]):
        window = trained[1]
    overlap = defaults.get("window_overlap_frames")
    return dataclasses.replace(caps, window_frames=window if whole(window) else caps.window_frames,
                               window_overlap_frames=overlap if whole(overlap) else caps.window_overlap_frames)
