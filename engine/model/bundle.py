"""Project bundles (.kinorabundle): a project and its media in one zip file, to move or share.

Opening a bundle is opening an untrusted archive: every member is checked before anything is
written. A member with an absolute path, a `..` step, a link, or one that would land outside
the destination folder is refused; so are archives past the size and count caps (a zip bomb).
Nothing is extracted unless every member passes.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import stat
import zipfile

from engine.errors import ProjectFileError
from engine.fsutil import atomic_path
from engine.model.project import Project
from engine.model.serialize import SUFFIX, load_project, project_to_dict

BUNDLE_SUFFIX = ".kinorabundle"
PROJECT_NAME = "project" + SUFFIX
MAX_MEMBERS = 10_000
MAX_TOTAL_BYTES = 64 * 2**30  # media can be large; this only stops archives that expand absurdly
MAX_RATIO = 200  # uncompressed / compressed, per member: beyond this it is a zip bomb, not media


def write_bundle(project: Project, out_path: str) -> str:
    """Zip the project with every media file it uses (missing files are left out and offline)."""
    import json

    names: dict[str, str] = {}  # media id -> name inside the bundle
    used = set()
    for ref in project.media.values():
        if not os.path.isfile(ref.path):
            continue
        stem, ext = os.path.splitext(os.path.basename(ref.path))
        name, n = f"media/{stem}{ext}", 1
        while name in used:
            n += 1
            name = f"media/{stem}-{n}{ext}"
        used.add(name)
        names[ref.id] = name
    media = {ref_id: dataclasses.replace(ref, path="/" + name) for ref_id, ref in project.media.items()
             if (name := names.get(ref_id))}
    inside = dataclasses.replace(project, media={**project.media, **media})
    data = json.dumps(project_to_dict(inside, "/"), separators=(",", ":")).encode()
    with atomic_path(out_path) as temp, zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(PROJECT_NAME, data)
        for ref_id, name in names.items():
            archive.write(project.media[ref_id].path, name, compress_type=zipfile.ZIP_STORED)
    return out_path


def open_bundle(bundle_path: str, folder: str) -> Project:
    """Check every member, extract into `folder` and load the project from there."""
    try:
        archive = zipfile.ZipFile(bundle_path)
    except (OSError, zipfile.BadZipFile) as error:
        raise ProjectFileError(f"{bundle_path} is not a Kinora bundle ({error})") from None
    with archive:
        members = archive.infolist()
        _check_members(bundle_path, members, folder)
        os.makedirs(folder, exist_ok=True)
        for member in members:
            if not member.is_dir():
                archive.extract(member, folder)
    return load_project(os.path.join(folder, PROJECT_NAME))


def _check_members(bundle_path: str, members: list[zipfile.ZipInfo], folder: str) -> None:
    if len(members) > MAX_MEMBERS:
        raise ProjectFileError(f"{bundle_path} holds {len(members)} files; bundles are refused past {MAX_MEMBERS}")
    if PROJECT_NAME not in {m.filename for m in members}:
        raise ProjectFileError(f"{bundle_path} has no {PROJECT_NAME}; is it really a Kinora bundle?")
    root = os.path.realpath(folder)
    total = 0
    for member in members:
        name = member.filename
        reason = _unsafe(name, member, root)
        if reason:
            raise ProjectFileError(f"{bundle_path} is refused: member {name[:80]!r} {reason}; nothing was extracted")
        total += member.file_size
        if member.compress_size and member.file_size / member.compress_size > MAX_RATIO:
            raise ProjectFileError(f"{bundle_path} is refused: {name[:80]!r} expands {member.file_size} bytes from "
                                   f"{member.compress_size} (a zip bomb?); nothing was extracted")
    if total > MAX_TOTAL_BYTES:
        raise ProjectFileError(f"{bundle_path} would expand to {total / 2**30:.0f} GiB; refused")


def _unsafe(name: str, member: zipfile.ZipInfo, root: str) -> str | None:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or "\\" in name:
        return "has an absolute or Windows path"
    if ".." in posixpath.normpath(name).split("/") or ".." in name.split("/"):
        return "climbs out of the bundle with '..'"
    if stat.S_ISLNK(member.external_attr >> 16):
        return "is a link"
    target = os.path.realpath(os.path.join(root, name))
    if os.path.commonpath([root, target]) != root:
        return "would land outside the destination folder"
    return None
