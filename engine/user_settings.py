"""The user's preferences shared by the editor and the command line, in one JSON file in the
user data folder (settings.json). Bad or unknown values fall back to the defaults with a
warning instead of stopping Kinora from starting.

The projects opened or saved most recently, newest first (File > Open Recent, the start page,
reopening the last project, finding recoveries at launch), live in a file of their own,
recent_projects.json, so that two editors open at once do not write each other's preferences
back when they remember a project. Every write goes through a temporary file and a rename; a
list that cannot be read counts as empty."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field

from engine.fsutil import atomic_write_bytes
from engine.paths import data_dir

DEVICES = ("auto", "cpu", "cuda")
MEMORY_MODES = ("auto", "none", "model-offload", "group-offload")
CONSENT_POLICIES = ("off", "warn", "require")
# The size the preview composites at: fitted to the viewer, half the project's, or the project's
# (engine/media/preview_scale.py); exports always use the project's.
PREVIEW_QUALITIES = ("auto", "half", "full")


def device_override(settings: UserSettings) -> str | None:
    return None if settings.device == "auto" else settings.device


@dataclass(frozen=True)
class UserSettings:
    model_folders: tuple[str, ...] = ()
    device: str = "auto"
    memory: str = "auto"  # how to fit large models: auto-chosen from free memory, or forced
    vae_tiling: bool | None = None  # None: decide from the size of the video
    fp8_storage: bool | None = None  # denoiser weights in float8 where a family can; None: when they would not fit
    autosave_seconds: int = 60  # at most this long between autosaves while there are unsaved changes
    face_consent: str = "require"
    reopen_last_project: bool = True  # at launch without a project named: the last one opened or saved
    # PEM certificate chain and its private key: when both are set, every generated video
    # carries a signed C2PA manifest too (exports take --sign-cert/--sign-key)
    sign_cert: str | None = None
    sign_key: str | None = None
    # The Ray address jobs run on ("10.0.0.5:6379"); None runs them on this machine
    cluster: str | None = None
    preview_quality: str = "auto"
    extra: dict = field(default_factory=dict)  # settings a newer Kinora wrote; kept on save

    def __post_init__(self) -> None:
        for name, allowed in (("device", DEVICES), ("memory", MEMORY_MODES), ("face_consent", CONSENT_POLICIES),
                              ("preview_quality", PREVIEW_QUALITIES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"setting {name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        if self.cluster is not None and (not isinstance(self.cluster, str) or len(self.cluster) > 500):
            raise ValueError(f"setting cluster must be a Ray address such as 10.0.0.5:6379, not {self.cluster!r}")
        for name in ("sign_cert", "sign_key"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"setting {name} must be the path of a PEM file, not {getattr(self, name)!r}")
        if self.fp8_storage is not None and not isinstance(self.fp8_storage, bool):
            raise ValueError(f"setting fp8_storage must be true, false or null (automatic), not {self.fp8_storage!r}")
        if not isinstance(self.reopen_last_project, bool):
            raise ValueError(f"setting reopen_last_project must be true or false, not {self.reopen_last_project!r}")
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


# --- recent projects ---------------------------------------------------------------------

RECENT_LIMIT = 10
RECENT_SCHEMA = "RecentProjects.1"


@dataclass(frozen=True, slots=True)
class RecentProject:
    path: str  # absolute
    opened_at: float  # when it was last opened or saved (seconds since the epoch)

    @property
    def name(self) -> str:
        return os.path.splitext(os.path.basename(self.path))[0]

    @property
    def exists(self) -> bool:
        return os.path.isfile(self.path)


def recent_projects_path() -> str:
    return os.path.join(data_dir(), "recent_projects.json")


def load_recent(existing_only: bool = True) -> list[RecentProject]:
    """The remembered projects, newest first; those whose file is gone are left out unless asked."""
    try:
        with open(recent_projects_path(), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError, RecursionError):
        return []
    entries = data.get("projects") if isinstance(data, dict) else None
    found: list[RecentProject] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        path, opened_at = entry.get("path"), entry.get("opened_at")
        if not isinstance(path, str) or not path or not isinstance(opened_at, int | float):
            continue
        recent = RecentProject(os.path.abspath(path), float(opened_at))
        if recent.path not in (r.path for r in found) and (recent.exists or not existing_only):
            found.append(recent)
    return sorted(found, key=lambda r: r.opened_at, reverse=True)[:RECENT_LIMIT]


def remember_project(path: str, now: float | None = None) -> list[RecentProject]:
    """Put `path` first in the list (dropping projects whose file is gone); returns the new list."""
    path = os.path.abspath(path)
    recent = RecentProject(path, time.time() if now is None else now)
    projects = [recent, *(r for r in load_recent() if r.path != path)][:RECENT_LIMIT]
    _write(projects)
    return projects


def forget_project(path: str) -> None:
    path = os.path.abspath(path)
    _write([r for r in load_recent(existing_only=False) if r.path != path])


def clear_recent() -> None:
    _write([])


def _write(projects: list[RecentProject]) -> None:
    data = {"schema": RECENT_SCHEMA, "projects": [{"path": r.path, "opened_at": r.opened_at} for r in projects]}
    atomic_write_bytes(recent_projects_path(), json.dumps(data, indent=2).encode("utf-8"))
