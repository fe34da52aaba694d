"""The user's preferences shared by the editor and the command line, in one JSON file in the
user data folder (settings.json). Bad or unknown values fall back to the defaults with a
warning instead of stopping Kinora from starting."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field

from engine.fsutil import atomic_write_bytes
from engine.paths import data_dir

DEVICES = ("auto", "cpu", "cuda")
MEMORY_MODES = ("auto", "none", "model-offload", "group-offload")
CONSENT_POLICIES = ("off", "warn", "require")


def device_override(settings: UserSettings) -> str | None:
    return None if settings.device == "auto" else settings.device


@dataclass(frozen=True)
class UserSettings:
    model_folders: tuple[str, ...] = ()
    device: str = "auto"
    memory: str = "auto"  # how to fit large models: auto-chosen from free memory, or forced
    vae_tiling: bool | None = None  # None: decide from the size of the video
    autosave_seconds: int = 60  # at most this long between autosaves while there are unsaved changes
    face_consent: str = "require"
    # PEM certificate chain and its private key: when both are set, every generated video
    # carries a signed C2PA manifest too (exports take --sign-cert/--sign-key)
    sign_cert: str | None = None
    sign_key: str | None = None
    # The Ray address jobs run on ("10.0.0.5:6379"); None runs them on this machine
    cluster: str | None = None
    extra: dict = field(default_factory=dict)  # settings a newer Kinora wrote; kept on save

    def __post_init__(self) -> None:
        for name, allowed in (("device", DEVICES), ("memory", MEMORY_MODES), ("face_consent", CONSENT_POLICIES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"setting {name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        if self.cluster is not None and (not isinstance(self.cluster, str) or len(self.cluster) > 500):
            raise ValueError(f"setting cluster must be a Ray address such as 10.0.0.5:6379, not {self.cluster!r}")
        for name in ("sign_cert", "sign_key"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"setting {name} must be the path of a PEM file, not {getattr(self, name)!r}")
        if not 5 <= self.autosave_seconds <= 3600:
            raise ValueError(f"setting autosave_seconds must be between 5 and 3600, not {self.autosave_seconds}")


def settings_path() -> str:
    return os.path.join(data_dir(), "settings.json")


def load_settings(warnings: list[str] | None = None) -> UserSettings:
    path = settings_path()
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return UserSettings()
    except (OSError, ValueError, RecursionError) as error:
        _warn(warnings, f"{path} could not be read ({error}); using the default settings")
        return UserSettings()
    if not isinstance(data, dict):
        _warn(warnings, f"{path} is not a settings file; using the default settings")
        return UserSettings()
    known = [f.name for f in dataclasses.fields(UserSettings) if f.name != "extra"]
    values = {}
    for name in (name for name in known if name in data):  # in declaration order: stable warnings
        candidate = {name: tuple(data[name]) if name == "model_folders" and isinstance(data[name], list) else data[name]}
        try:
            dataclasses.replace(UserSettings(), **candidate)
        except (ValueError, TypeError) as error:
            _warn(warnings, f"{path}: {error}; using the default")
            continue
        values.update(candidate)
    return UserSettings(**values, extra={k: v for k, v in data.items() if k not in known})


def save_settings(settings: UserSettings) -> None:
    data = {**settings.extra, **{f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)
                                 if f.name != "extra"}}
    data["model_folders"] = list(settings.model_folders)
    atomic_write_bytes(settings_path(), json.dumps(data, indent=2).encode())


def _warn(warnings: list[str] | None, message: str) -> None:
    if warnings is not None:
        warnings.append(message)
