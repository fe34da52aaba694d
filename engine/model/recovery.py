"""Autosave to recovery files, recovery after a crash, and rolling backups of saved projects.

Nothing here ever writes the user's project file: that is only done by an explicit save.

- Recovery files live in the user data folder, `recovery/<key>.kinora-recovery`, where the
  key is a hash of the project's path (or `untitled-<id>` for a project never saved). Each is
  a small JSON envelope (which project, when, the base folder for relative media paths) around
  the project as the project file would hold it, written atomically.
- `Autosaver` holds the timing rules; the editor calls `mark_dirty()` on every edit and asks
  `due(now)` from a timer: a recovery is written 3 s after the last edit, and at least every
  60 s while edits keep coming. A save discards the recovery.
- `find_recovery(path)` offers a recovery only when it is newer than the project file;
  `find_recoveries_at_launch()` finds every such recovery (and those of never-saved projects)
  when the editor starts, leaving out those an editor still running keeps writing. Loading
  one leaves a marker while it runs: if loading crashes the app, the next start sees the marker
  and offers only to discard it; a recovery that fails to load is set aside as `.broken` and
  never offered again. Either way a bad recovery cannot trap the user in a loop.
- Backups: every save copies the saved file to `backups/<key>/<stem>-<UTC time>.kinora` in the
  user data folder (not beside the project, so project folders stay clean and synced folders
  do not fill up) and prunes them: the 6 newest of the last hour, then the newest of each of
  the 8 previous hours that have one, then the newest of each of 5 days before that.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass

from engine.errors import ProjectFileError
from engine.fsutil import atomic_path, atomic_write_bytes
from engine.model.project import Project

AUTOSAVE_DELAY_S = 3.0
AUTOSAVE_MAX_INTERVAL_S = 60.0
RECOVERY_SUFFIX = ".kinora-recovery"
LOADING_SUFFIX = ".loading"
BROKEN_SUFFIX = ".broken"
RECENT_BACKUPS, HOURLY_BACKUPS, DAILY_BACKUPS = 6, 8, 5
HOUR, DAY = 3600.0, 86400.0
_STAMP = "%Y%m%dT%H%M%S.%fZ"


# --- recovery files -------------------------------------------------------------------------


def recovery_key(project_path: str | None, untitled_id: str | None = None) -> str:
    if project_path:
        return hashlib.sha256(os.path.abspath(project_path).encode("utf-8")).hexdigest()[:24]
    return f"untitled-{untitled_id}"


def recovery_dir() -> str:
    from engine.paths import data_dir

    return data_dir("recovery")


def recovery_path(project_path: str | None, untitled_id: str | None = None) -> str:
    return os.path.join(recovery_dir(), recovery_key(project_path, untitled_id) + RECOVERY_SUFFIX)


def write_recovery(project: Project, target: str, project_path: str | None, now: float | None = None) -> None:
    from engine.model.serialize import project_to_dict

    base_dir = os.path.dirname(os.path.abspath(project_path)) if project_path else os.path.dirname(target)
    envelope = {"kinora_recovery": 1, "project_path": project_path, "base_dir": base_dir,
                "saved_at": time.time() if now is None else now, "owner": _this_process(),
                "project": project_to_dict(project, base_dir)}
    data = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    try:
        atomic_write_bytes(target, data)
    except OSError as error:
        raise ProjectFileError(f"cannot write the recovery file {target}: {error.strerror or error}; "
                               "free some disk space so autosave can work") from None


@dataclass(frozen=True, slots=True)
class Recovery:
    path: str  # the recovery file
    project_path: str | None  # the project it recovers; None for a project never saved
    saved_at: float  # file modification time of the recovery
    previous_attempt_crashed: bool  # loading it was tried before and never finished


class Autosaver:
    """When to autosave one open project, and the writing of its recovery file.

    Times are seconds on a monotonic clock the caller passes in (tests pass fabricated times).
    """

    def __init__(self, project_path: str | None = None, max_interval_s: float = AUTOSAVE_MAX_INTERVAL_S) -> None:
        self.project_path = os.path.abspath(project_path) if project_path else None
        self.max_interval_s = max_interval_s  # the user's "autosave at least every" setting
        self.untitled_id = uuid.uuid4().hex[:12]
        self.last_edit: float | None = None
        self.pending_since: float | None = None  # first edit not yet in the recovery file
        self.last_autosave: float | None = None  # for the status bar ("autosaved 20 s ago")

    @property
    def path(self) -> str:
        return recovery_path(self.project_path, self.untitled_id)

    @property
    def pending(self) -> bool:
        return self.pending_since is not None

    def mark_dirty(self, now: float) -> None:
        self.last_edit = now
        if self.pending_since is None:
            self.pending_since = now

    def seconds_until_due(self, now: float) -> float | None:
        """How long until the next autosave is due (0 when due now); None when nothing is pending."""
        if self.pending_since is None or self.last_edit is None:
            return None
        quiet = self.last_edit + AUTOSAVE_DELAY_S
        forced = self.pending_since + self.max_interval_s
        return max(0.0, min(quiet, forced) - now)

    def due(self, now: float) -> bool:
        wait = self.seconds_until_due(now)
        return wait is not None and wait <= 0.0

    def save_recovery(self, project: Project, now: float) -> str:
        write_recovery(project, self.path, self.project_path)
        self.pending_since = None
        self.last_autosave = now
        return self.path

    def autosave_if_due(self, project: Project, now: float) -> str | None:
        return self.save_recovery(project, now) if self.due(now) else None

    def mark_saved(self, project_path: str) -> None:
        """The project was saved: nothing is pending and its recovery (also an untitled one) goes."""
        old = self.path
        self.project_path = os.path.abspath(project_path)
        self.pending_since = None
        self.last_edit = None
        for path in {old, self.path}:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def close(self) -> None:
        """The project was closed on purpose (saved, or changes thrown away): no recovery to offer."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def untitled_id_of(found: Recovery) -> str | None:
    """The id in the name of a never-saved project's recovery file (what its Autosaver had)."""
    name = os.path.basename(found.path)
    if found.project_path is None and name.startswith("untitled-") and name.endswith(RECOVERY_SUFFIX):
        return name[len("untitled-"):-len(RECOVERY_SUFFIX)]
    return None


def find_recovery(project_path: str) -> Recovery | None:
    """The recovery of a project when it is newer than the project file (or the file is gone)."""
    path = recovery_path(project_path)
    return _recovery_if_newer(path, os.path.abspath(project_path))


def find_untitled_recoveries() -> list[Recovery]:
    """Recoveries of projects that were never saved, newest first."""
    found = []
    for name in os.listdir(recovery_dir()):
        if name.startswith("untitled-") and name.endswith(RECOVERY_SUFFIX):
            path = os.path.join(recovery_dir(), name)
            with contextlib.suppress(FileNotFoundError):
                found.append(Recovery(path, None, os.path.getmtime(path), os.path.exists(path + LOADING_SUFFIX)))
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


def find_recoveries_at_launch(known_projects: list[str] = ()) -> list[Recovery]:
    """Every recovery worth offering when the editor starts, newest first: of saved projects
    (newer than their file) and of projects never saved. Recoveries an editor that is still
    running keeps writing are left to it. `known_projects` (the recent projects) name the
    projects whose recovery key is known without reading the recovery file."""
    folder = recovery_dir()
    by_key = {recovery_key(p) + RECOVERY_SUFFIX: os.path.abspath(p) for p in known_projects}
    found = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(RECOVERY_SUFFIX):
            continue
        path = os.path.join(folder, name)
        envelope = _envelope_head(path)
        if envelope is None or _owner_running(envelope.get("owner")):
            continue
        if name.startswith("untitled-"):
            with contextlib.suppress(FileNotFoundError):
                found.append(Recovery(path, None, os.path.getmtime(path), os.path.exists(path + LOADING_SUFFIX)))
            continue
        project_path = by_key.get(name) or envelope.get("project_path")
        if isinstance(project_path, str) and recovery_key(project_path) + RECOVERY_SUFFIX == name:
            recovered = _recovery_if_newer(path, os.path.abspath(project_path))
            if recovered is not None:
                found.append(recovered)
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


def _envelope_head(path: str) -> dict | None:
    """The recovery file's envelope (which project, which process wrote it), or None when it
    cannot be read: then opening the project reports the problem as it does today."""
    from engine.model.checked_json import read_json_file

    try:
        envelope = read_json_file(path)
    except (ProjectFileError, OSError):
        return None
    return envelope if isinstance(envelope, dict) and envelope.get("kinora_recovery") == 1 else None


def _this_process() -> dict:
    import socket

    return {"pid": os.getpid(), "host": socket.gethostname()}


def _owner_running(owner) -> bool:
    """Whether the editor that wrote a recovery still runs on this machine (then it is not a
    crash left behind, only unsaved work in another window)."""
    import socket

    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # a process of another user holds that id: assume it is not ours to judge
    except OSError:
        return False
    return _is_kinora(pid)


def _is_kinora(pid: int) -> bool:
    """A reused process id belongs to some other program: only a Python process counts (Linux
    tells; elsewhere any live process does)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read()
    except FileNotFoundError:
        return not os.path.isdir("/proc")
    except OSError:
        return True
    if not command:
        return False  # a zombie: it has ended
    return b"python" in command.lower() or b"kinora" in command.lower()


def _recovery_if_newer(path: str, project_path: str) -> Recovery | None:
    try:
        saved_at = os.path.getmtime(path)
    except FileNotFoundError:
        return None
    try:
        project_mtime = os.path.getmtime(project_path)
    except FileNotFoundError:
        project_mtime = float("-inf")
    if saved_at <= project_mtime:
        return None  # saved after the last autosave: the project file has everything
    return Recovery(path, project_path, saved_at, os.path.exists(path + LOADING_SUFFIX))


def load_recovery(recovery: Recovery) -> Project:
    """The recovered project, whose `path` is the project's own file (so Save writes there).

    A recovery that cannot be read is renamed to `.broken` (never offered again) and a
    ProjectFileError says so.
    """
    from engine.model.checked_json import read_json_file
    from engine.model.serialize import project_from_dict

    marker = recovery.path + LOADING_SUFFIX
    atomic_write_bytes(marker, b"")
    try:
        envelope = read_json_file(recovery.path)
        if not isinstance(envelope, dict) or envelope.get("kinora_recovery") != 1 or "project" not in envelope:
            raise ProjectFileError(f"{recovery.path} is not a Kinora recovery file")
        project = project_from_dict(envelope["project"], envelope.get("base_dir") or os.path.dirname(recovery.path))
    except Exception as error:
        broken = recovery.path + BROKEN_SUFFIX
        with contextlib.suppress(OSError):
            os.replace(recovery.path, broken)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(marker)
        reason = str(error) if isinstance(error, ProjectFileError) else f"{type(error).__name__}: {error}"
        raise ProjectFileError(f"the recovered changes cannot be loaded ({reason}); the file was set aside as "
                               f"{broken} and the project opens as it was last saved") from None
    os.unlink(marker)
    project.path = recovery.project_path
    return project


def discard_recovery(recovery: Recovery | str) -> None:
    path = recovery.path if isinstance(recovery, Recovery) else recovery
    for name in (path, path + LOADING_SUFFIX):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


# --- rolling backups ------------------------------------------------------------------------


def backups_to_keep(timestamps: list[float], now: float) -> set[float]:
    """Which backups (by UTC timestamp) the rolling scheme keeps at `now` (see module docstring).

    Hours and days are calendar buckets (UTC) rather than ages, so a backup that is the newest
    of its hour stays the newest of its hour as time passes and the choice does not churn.
    """
    newest_first = sorted(set(timestamps), reverse=True)
    if not newest_first:
        return set()
    keep = {newest_first[0]}  # the latest save, whatever the clock says
    recent = [t for t in newest_first if now - t < HOUR]
    keep.update(recent[:RECENT_BACKUPS])
    older = [t for t in newest_first if now - t >= HOUR]
    hours: dict[int, float] = {}
    for t in older:
        hours.setdefault(int(t // HOUR), t)  # newest first, so the first seen is the newest of the hour
    kept_hours = sorted(hours, reverse=True)[:HOURLY_BACKUPS]
    keep.update(hours[h] for h in kept_hours)
    if len(kept_hours) == HOURLY_BACKUPS:
        before_hours = [t for t in older if int(t // HOUR) < kept_hours[-1]]
    else:
        before_hours = []  # fewer than 8 hours of history: the hourly tier covers all of it
    days: dict[int, float] = {}
    for t in before_hours:
        days.setdefault(int(t // DAY), t)
    keep.update(days[d] for d in sorted(days, reverse=True)[:DAILY_BACKUPS])
    return keep


def backups_dir(project_path: str) -> str:
    from engine.paths import data_dir

    return data_dir("backups", recovery_key(project_path))


def list_backups(project_path: str) -> list[tuple[float, str]]:
    """(UTC timestamp, path) of a project's backups, newest first."""
    folder = backups_dir(project_path)
    found = []
    for name in os.listdir(folder):
        stamp = _backup_time(name)
        if stamp is not None:
            found.append((stamp, os.path.join(folder, name)))
    return sorted(found, reverse=True)


def make_backup(project_path: str, now: float | None = None) -> str:
    """Copy a just-saved project file into its backups and prune them; returns the copy's path."""
    now = time.time() if now is None else now
    stem = os.path.splitext(os.path.basename(project_path))[0]
    stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime(_STAMP)
    target = os.path.join(backups_dir(project_path), f"{stem}-{stamp}.kinora")
    try:
        with atomic_path(target) as temp:
            shutil.copyfile(project_path, temp)
    except OSError as error:
        raise ProjectFileError(f"the project was saved but its backup {target} could not be written: "
                               f"{error.strerror or error}") from None
    prune_backups(project_path, now)
    return target


def prune_backups(project_path: str, now: float | None = None) -> list[str]:
    """Delete the backups the rolling scheme does not keep; returns the deleted paths."""
    now = time.time() if now is None else now
    backups = list_backups(project_path)
    keep = backups_to_keep([t for t, _ in backups], now)
    deleted = []
    for stamp, path in backups:
        if stamp not in keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            deleted.append(path)
    return deleted


def save_with_backup(project: Project, path: str, autosaver: Autosaver | None = None) -> None:
    """What the editor's Save does: write the project, back it up, and drop the recovery."""
    from engine.model.serialize import save_project

    save_project(project, path)
    make_backup(path)
    if autosaver is not None:
        autosaver.mark_saved(path)


def _backup_time(name: str) -> float | None:
    if not name.endswith(".kinora") or name.startswith("."):
        return None
    stamp = name[:-len(".kinora")].rsplit("-", 1)[-1]
    try:
        return dt.datetime.strptime(stamp, _STAMP).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None
