"""The projects opened or saved most recently, newest first, for File > Open Recent, the start
page, reopening the last project and finding recoveries at launch.

They live in their own file in the user data folder (recent_projects.json), apart from the
preferences, so that two editors open at once do not write each other's settings back when
they remember a project. Every write goes through a temporary file and a rename. A file that
cannot be read counts as an empty list: a damaged list must not stop Kinora from starting.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

from engine.fsutil import atomic_write_bytes
from engine.paths import data_dir

RECENT_LIMIT = 10
SCHEMA = "RecentProjects.1"


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
    data = {"schema": SCHEMA, "projects": [{"path": r.path, "opened_at": r.opened_at} for r in projects]}
    atomic_write_bytes(recent_projects_path(), json.dumps(data, indent=2).encode("utf-8"))
