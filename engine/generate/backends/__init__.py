"""One adapter per model family, and the one table of families.

A new family is one adapter module (a class that fulfils `base.Backend`, usually by building
on `base.BackendBase`) plus one row in FAMILY_TABLE. Model discovery reads the table without
importing torch or diffusers, so each row names its backend class as a "module:Class" string.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from engine.errors import ModelError


@dataclass(frozen=True, slots=True)
class Family:
    name: str  # what ModelInfo.family and ModelCaps.family say
    label: str  # what a person reads
    backend: str  # "module:Class" of the adapter, imported only when a model is loaded
    pipelines: tuple[str, ...]  # the model_index.json `_class_name`s this family runs


FAMILY_TABLE: tuple[Family, ...] = (
    Family("ltx", "LTX-Video", "engine.generate.backends.ltx:LTXBackend",
           ("LTXPipeline", "LTXConditionPipeline", "LTXImageToVideoPipeline")),
    Family("ltx2", "LTX-2", "engine.generate.backends.ltx2:LTX2Backend",
           ("LTX2Pipeline", "LTX2ConditionPipeline", "LTX2ImageToVideoPipeline")),
    Family("wan", "Wan", "engine.generate.backends.wan:WanBackend", ("WanPipeline", "WanImageToVideoPipeline")),
    Family("skyreels", "SkyReels-V2", "engine.generate.backends.skyreels:SkyReelsBackend",
           ("SkyReelsV2DiffusionForcingPipeline",)),
)


def family_of_pipeline(pipeline_class: str) -> Family | None:
    """The family that runs a model whose model_index.json names `pipeline_class`, if any does."""
    return next((family for family in FAMILY_TABLE if pipeline_class in family.pipelines), None)


def family_named(name: str | None) -> Family | None:
    return next((family for family in FAMILY_TABLE if family.name == name), None)


def backend_class(family: Family) -> type:
    module, _, class_name = family.backend.partition(":")
    return getattr(importlib.import_module(module), class_name)


def load_backend(info, device=None, memory=None, cancel=None):
    """The backend for a ModelInfo (see engine.generate.models.resolve), loaded on `device`,
    with the defaults the model declares (native size and frame count, steps, guidance) in its caps.
    `cancel` (a CancelToken) is checked before each component is read."""
    family = family_named(info.family)
    if family is None:
        raise ModelError(f"{info.path} is a {info.family} model, which this version of Kinora cannot run yet")
    backend = backend_class(family).load(info, device=device, memory=memory, cancel=cancel)
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
    from engine.generate.caps import with_window_defaults

    backend.caps = with_window_defaults(backend.caps, info.defaults or {})
    return backend


def _interval(info, value) -> tuple[float, float]:
    from engine.generate.settings import is_noise_interval

    if is_noise_interval(value):
        return float(value[0]), float(value[1])
    raise ModelError(f"{info.path / 'model_index.json'}: _kinora_defaults.guidance_interval {value!r} must be two "
                     "noise levels [low, high] with 0 <= low < high <= 1; fix it or remove it")
