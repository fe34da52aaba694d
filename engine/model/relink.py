"""Missing media: which files a project cannot find, and relinking them from a folder.

A project whose media moved still opens: the editor draws the items of a missing MediaRef as
offline placeholders (`missing_media`). `relink` then searches a folder and its subfolders:

- a file with the same name whose content hash matches is the file (moved);
- a file with another name whose content hash matches is the file (renamed);
- a file with the same name but other content is offered with a warning (re-encoded or a
  different take), never chosen silently;
- a ref with no stored hash (added before hashing) is matched by name alone.

The content hash is engine.fsutil.content_hash (size plus 1 MiB samples of the
start, middle and end), the same one the library catalogue stores.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from engine.model.edits import ReplaceMedia
from engine.model.items import MediaRef
from engine.model.project import Project


@dataclass(frozen=True, slots=True)
class RelinkMatch:
    media_id: str
    old_path: str
    new_path: str
    how: str  # "name and content", "content" (renamed), "name" (no hash stored), "name only" (content differs)
    edit: ReplaceMedia
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class RelinkResult:
    matches: tuple[RelinkMatch, ...]
    still_missing: tuple[MediaRef, ...]

    @property
    def edits(self) -> list[ReplaceMedia]:
        """The relinks that are safe to apply without asking."""
        return [m.edit for m in self.matches if m.warning is None]

    @property
    def warnings(self) -> list[str]:
        return [m.warning for m in self.matches if m.warning]


def missing_media(project: Project) -> list[MediaRef]:
    """The project's media whose files are not on disk (shown as offline placeholders)."""
    return [ref for ref in project.media.values() if not os.path.isfile(ref.path)]


def relink(project: Project, folder: str) -> RelinkResult:
    """Look for every missing file of `project` under `folder`; returns proposed ReplaceMedia edits."""
    from engine.fsutil import content_hash

    missing = missing_media(project)
    if not missing:
        return RelinkResult((), ())
    by_name: dict[str, list[str]] = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            by_name.setdefault(name.casefold(), []).append(os.path.join(root, name))
    hashes: dict[str, str | None] = {}

    def hash_of(path: str) -> str | None:
        if path not in hashes:
            try:
                hashes[path] = content_hash(path)
            except Exception:  # an unreadable file is simply not a match
                hashes[path] = None
        return hashes[path]

    matches, still_missing = [], []
    for ref in missing:
        match = _match(ref, by_name, hash_of)
        if match is None:
            still_missing.append(ref)
        else:
            matches.append(match)
    return RelinkResult(tuple(matches), tuple(still_missing))


def _match(ref: MediaRef, by_name: dict[str, list[str]], hash_of) -> RelinkMatch | None:
    same_name = by_name.get(ref.name.casefold(), [])
    if ref.content_hash is None:
        if not same_name:
            return None
        warning = None
        if len(same_name) > 1:
            warning = (f"{ref.name}: {len(same_name)} files have this name and no content hash was stored to tell "
                       f"them apart; chose {same_name[0]}")
        return _relinked(ref, same_name[0], "name", warning)
    for path in same_name:
        if hash_of(path) == ref.content_hash:
            return _relinked(ref, path, "name and content")
    # Renamed: the same content under another name with the same extension.
    extension = os.path.splitext(ref.name)[1].casefold()
    for name, paths in by_name.items():
        if name.endswith(extension):
            for path in paths:
                if path not in same_name and hash_of(path) == ref.content_hash:
                    return _relinked(ref, path, "content")
    if same_name:
        return _relinked(ref, same_name[0], "name only",
                         f"{same_name[0]} has the name of the missing {ref.name} but different content; "
                         "relink it only if it really is the same shot")
    return None


def _relinked(ref: MediaRef, path: str, how: str, warning: str | None = None) -> RelinkMatch:
    moved = dataclasses.replace(ref, path=os.path.abspath(path))
    return RelinkMatch(ref.id, ref.path, moved.path, how, ReplaceMedia(moved), warning)
