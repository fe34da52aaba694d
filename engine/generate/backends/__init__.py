"""One adapter per model family. `load_backend` picks the adapter for a discovered model."""

from __future__ import annotations

from engine.errors import ModelError


def load_backend(info, device=None, memory=None):
    """The backend for a ModelInfo (see engine.generate.models.resolve), loaded on `device`,
    with the defaults the model declares (native size and frame count, steps, guidance) in its caps."""
    backend = _load(info, device, memory)
    native = {key: info.defaults[key] for key in ("width", "height", "num_frames", "steps", "guidance", "rate")
              if isinstance(info.defaults.get(key), (int, float))}
    interval = info.defaults.get("guidance_interval")
    if native or interval is not None:
        import dataclasses

        backend.caps = dataclasses.replace(
            backend.caps, native_width=native.get("width"), native_height=native.get("height"),
            native_frames=native.get("num_frames"), default_steps=int(native.get("steps", backend.caps.default_steps)),
            default_guidance=float(native.get("guidance", backend.caps.default_guidance)),
            default_rate=int(native.get("rate", backend.caps.default_rate)),
            default_guidance_interval=_interval(info, interval) if interval is not None
            else backend.caps.default_guidance_interval)
    return backend


def _interval(info, value) -> tuple[float, float]:
    from engine.generate.settings import is_noise_interval

    if is_noise_interval(value):
        return float(value[0]), float(value[1])
    raise ModelError(f"{info.path / 'model_index.json'}: _kinora_defaults.guidance_interval {value!r} must be two "
                     "noise levels [low, high] with 0 <= low < high <= 1; fix it or remove it")


def _load(info, device, memory):
    if info.family == "ltx":
        from engine.generate.backends.ltx import LTXBackend

        return LTXBackend.load(info, device=device, memory=memory)
    if info.family == "wan":
        from engine.generate.backends.wan import WanBackend

        return WanBackend.load(info, device=device, memory=memory)
    if info.family == "skyreels":
        from engine.generate.backends.skyreels import SkyReelsBackend

        return SkyReelsBackend.load(info, device=device, memory=memory)
    raise ModelError(f"{info.path} is a {info.family} model, which this version of Kinora cannot run yet")
