"""One adapter per model family. `load_backend` picks the adapter for a discovered model."""

from __future__ import annotations

from engine.errors import ModelError


def load_backend(info, device=None, memory=None):
    """The backend for a ModelInfo (see engine.generate.models.resolve), loaded on `device`."""
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
