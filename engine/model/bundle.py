"""Project bundles (.kinorabundle): a project and its media in one zip file, to move or share.

Opening a bundle is opening an untrusted archive: every member is checked before anything is
written. A member with an absolute path, a `..` step, a link, or one that would land outside
the destination folder is refused; so are archives past the size and count caps (a zip bomb),
encrypted members and compression methods Kinora does not write. A bundle carries the project,
the media files it names and their provenance sidecars, nothing else: program code (an
`engine/` package, any .py file) or any file the project does not name is refused.

The project's media must be inside the bundle: a media path that points outside it (absolute,
or climbing with `..`) is not followed; that media opens offline, under its base name, with a
warning, and the project written into the folder no longer names the outside file, so a
re-export cannot ship it. An exported bundle carries no absolute path: media offline at export
keep only their base name, so a bundle does not tell where its maker's files lived.

Extraction goes into a temporary folder beside the target, which becomes the target only when
every member has been written and the project reads back. An existing non-empty folder is
refused unless the caller asks to merge; a merge never overwrites a file: the old one is kept
as `NAME.~1~` (the next free number), the way `cp --backup=numbered` keeps it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import shutil
import stat
import uuid
import zipfile
import zlib

from engine.errors import ProjectFileError
from engine.fsutil import atomic_path, check_not_input
from engine.model.checked_json import parse_json_bytes
from engine.model.project import Project
from engine.model.serialize import SUFFIX, load_project, project_to_dict

BUNDLE_SUFFIX = ".kinorabundle"
PROJECT_NAME = "project" + SUFFIX
MEDIA_FOLDER = "media"
# The sidecars a media file may travel with (engine/media/provenance.py SIDECAR_SUFFIX).
SIDECAR_SUFFIXES = (".provenance.json",)
# Program code and launchers: never media, and a bundle must never carry anything that runs.
CODE_SUFFIXES = frozenset({".py", ".pyc", ".pyo", ".pyw", ".pyd", ".pyz", ".pth", ".so", ".dll", ".dylib", ".exe",
                           ".com", ".bat", ".cmd", ".ps1", ".sh", ".bash", ".desktop", ".command", ".jar", ".js",
                           ".vbs", ".msi", ".app", ".appimage"})
# What Kinora writes (stored media, deflated project) and what Python's zipfile can check.
READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})
MAX_MEMBERS = 10_000
MAX_TOTAL_BYTES = 64 * 2**30  # media can be large; this only stops archives that expand absurdly
MAX_RATIO = 200  # uncompressed / compressed, per member: beyond this it is a zip bomb, not media


@dataclasses.dataclass
class OpenedBundle:
    project: Project
    warnings: list[str]
    kept: list[str]  # files a merge moved aside (NAME.~N~) instead of overwriting


def write_bundle(project: Project, out_path: str) -> str:
    """Zip the project with every media file it uses (and their provenance sidecars); media
    missing at export are left out, offline, and named by their base name only."""
    sources = [path for ref in project.media.values() for path in (ref.path, ref.path + SIDECAR_SUFFIXES[0])]
    check_not_input(out_path, [project.path, *sources])
    names: dict[str, str] = {}  # media id -> name inside the bundle
    used = set()
    for ref in project.media.values():
        if not os.path.isfile(ref.path):
            continue
        stem, ext = os.path.splitext(os.path.basename(ref.path))
        name, n = f"{MEDIA_FOLDER}/{stem}{ext}", 1
        while name in used:
            n += 1
            name = f"{MEDIA_FOLDER}/{stem}-{n}{ext}"
        used.add(name)
        names[ref.id] = name
    media = {ref_id: dataclasses.replace(ref, path="/" + name) for ref_id, ref in project.media.items()
             if (name := names.get(ref_id))}
    inside = dataclasses.replace(project, media={**project.media, **media})
    data = project_to_dict(inside, "/")
    for entry in data["media"]:
        entry.pop("abs_path", None)  # inside a bundle an absolute path names only the maker's disk
        if entry["id"] not in names:
            entry["path"] = posixpath.basename(entry["path"].replace("\\", "/"))
    try:
        with atomic_path(out_path) as temp, zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(PROJECT_NAME, json.dumps(data, separators=(",", ":")).encode())
            for ref_id, name in names.items():
                source = project.media[ref_id].path
                archive.write(source, name, compress_type=zipfile.ZIP_STORED)
                for suffix in SIDECAR_SUFFIXES:
                    if os.path.isfile(source + suffix):
                        archive.write(source + suffix, name + suffix)
    except OSError as error:  # the old bundle, if any, is untouched: atomic_path removed the temp file
        raise ProjectFileError(f"cannot write {out_path} ({error.strerror or error}"
                               f"{': ' + error.filename if error.filename else ''}); choose another folder or "
                               "free some disk space") from None
    return out_path


def open_bundle(bundle_path: str, folder: str, *, merge: bool = False) -> OpenedBundle:
    """Check every member, extract into `folder` and load the project from there.

    `folder` must be new or empty unless `merge`; then files already there are kept as
    NAME.~N~ rather than overwritten. On any failure nothing is left in `folder`."""
    try:
        archive = zipfile.ZipFile(bundle_path)
    except (OSError, zipfile.BadZipFile) as error:
        raise ProjectFileError(f"{bundle_path} is not a Kinora bundle ({error})") from None
    folder = os.path.abspath(folder)
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise ProjectFileError(f"{folder} is a file, not a folder; choose a folder to open {bundle_path} into")
    if not merge and os.path.isdir(folder) and os.listdir(folder):
        raise ProjectFileError(f"{folder} already holds files; choose a new or empty folder, or add --merge to add "
                               "the bundle to it (files it would replace are kept as NAME.~1~)")
    with archive:
        members = archive.infolist()
        _check_members(bundle_path, members, folder)
        data = _read_project(bundle_path, archive)
        warnings = _keep_media_inside(data, bundle_path)
        _check_only_project_files(bundle_path, members, data)
        parent = os.path.dirname(folder)
        temp = os.path.join(parent, f".{os.path.basename(folder)}.{uuid.uuid4().hex[:12]}.partial")
        try:
            os.makedirs(parent, exist_ok=True)
            os.mkdir(temp)
        except OSError as error:
            raise ProjectFileError(f"cannot create {folder} ({error.strerror or error}); choose a folder you can "
                                   "write to") from None
        try:
            _extract(bundle_path, archive, members, data, temp)
            _check_loads(bundle_path, temp)
            try:
                kept = _move_into_place(temp, folder)
            except OSError as error:
                raise ProjectFileError(f"cannot move the unpacked bundle into {folder} ({error.strerror or error}); "
                                       "files already there were kept (as NAME.~N~ where replaced)") from None
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    return OpenedBundle(load_project(os.path.join(folder, PROJECT_NAME)), warnings, kept)


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
    if any(name.lower().endswith(suffix) for suffix in CODE_SUFFIXES) or _is_code_folder(name):
        return "is program code; a bundle carries only a project and its media, never code"
    if member.flag_bits & 0x1:
        return "is encrypted; Kinora bundles are never encrypted"
    if member.compress_type not in READABLE_METHODS:
        return f"uses compression method {member.compress_type}, which Kinora cannot check"
    target = os.path.realpath(os.path.join(root, name))
    if os.path.commonpath([root, target]) != root:
        return "would land outside the destination folder"
    return None


def _is_code_folder(name: str) -> bool:
    parts = name.split("/")
    return any(part in ("__pycache__", "site-packages") for part in parts) or parts[0] in ("engine", "editor")


def _read_project(bundle_path: str, archive: zipfile.ZipFile) -> dict:
    where = f"{bundle_path}: {PROJECT_NAME}"
    try:
        raw = archive.read(PROJECT_NAME)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as error:
        raise ProjectFileError(f"{where} cannot be read ({error}); the bundle is damaged") from None
    data = parse_json_bytes(raw, where)
    if not isinstance(data, dict) or not isinstance(data.get("media", []), list):
        raise ProjectFileError(f"{where} is not a Kinora project")
    return data


def _keep_media_inside(data: dict, bundle_path: str) -> list[str]:
    """Point every media entry at a file in the bundle or at a bare base name (offline); a path
    out of the bundle is replaced, with a warning, so it is neither followed nor kept."""
    warnings = []
    for entry in data.get("media", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue  # loading the project words the error
        stored = entry["path"].replace("\\", "/")
        absolute = entry.pop("abs_path", None)
        normal = posixpath.normpath(stored)
        # a file of the bundle's media folder, or a bare base name (offline at export): both inside
        if normal.startswith(MEDIA_FOLDER + "/") or ("/" not in normal and ":" not in normal
                                                    and normal not in ("..", ".", PROJECT_NAME)):
            entry["path"] = normal
            continue
        entry["path"] = posixpath.basename(normal.rstrip("/")) or "offline media"
        warnings.append(f"{bundle_path}: media {str(entry.get('id'))[:40]!r} points outside the bundle "
                        f"({stored[:120] or absolute!r}); it is offline as {entry['path']!r}, relink it")
    return warnings


def _check_only_project_files(bundle_path: str, members: list[zipfile.ZipInfo], data: dict) -> None:
    media = {entry["path"] for entry in data.get("media", []) if isinstance(entry, dict)
             and isinstance(entry.get("path"), str) and entry["path"].startswith(MEDIA_FOLDER + "/")}
    allowed = {PROJECT_NAME, *media, *(name + suffix for name in media for suffix in SIDECAR_SUFFIXES)}
    for member in members:
        if member.is_dir() and member.filename.rstrip("/") == MEDIA_FOLDER:
            continue
        if member.filename not in allowed:
            raise ProjectFileError(f"{bundle_path} is refused: member {member.filename[:80]!r} is not the project, "
                                   "one of its media files or their sidecars, and a bundle carries nothing else; "
                                   "nothing was extracted")


def _extract(bundle_path: str, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], data: dict,
             temp: str) -> None:
    try:
        with open(os.path.join(temp, PROJECT_NAME), "wb") as handle:
            handle.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        for member in members:
            if member.is_dir() or member.filename == PROJECT_NAME:
                continue
            target = os.path.join(temp, *member.filename.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(member) as source, open(target, "wb") as handle:
                shutil.copyfileobj(source, handle, 1 << 20)
    except OSError as error:
        raise ProjectFileError(f"cannot unpack {bundle_path} beside the destination "
                               f"({error.strerror or error}); free some disk space or choose another folder") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as error:
        raise ProjectFileError(f"{bundle_path} is damaged ({str(error)[:120] or type(error).__name__}); "
                               "nothing was extracted") from None


def _check_loads(bundle_path: str, temp: str) -> None:
    path = os.path.join(temp, PROJECT_NAME)
    try:
        load_project(path)
    except ProjectFileError as error:
        raise ProjectFileError(str(error).replace(path, f"{bundle_path}: {PROJECT_NAME}") +
                               "; nothing was extracted") from None


def _move_into_place(temp: str, folder: str) -> list[str]:
    """Rename the finished temp folder to `folder`, or merge it in file by file, moving any file
    it would replace aside first. Returns the paths of the kept old files."""
    if not os.path.isdir(folder):
        os.rename(temp, folder)
        return []
    if not os.listdir(folder):
        os.rmdir(folder)
        os.rename(temp, folder)
        return []
    kept = []
    for here, _, files in os.walk(temp):
        relative = os.path.relpath(here, temp)
        destination_folder = os.path.normpath(os.path.join(folder, relative))
        if os.path.lexists(destination_folder) and not os.path.isdir(destination_folder):
            kept.append(_move_aside(destination_folder))
        os.makedirs(destination_folder, exist_ok=True)
        for name in files:
            destination = os.path.join(destination_folder, name)
            if os.path.lexists(destination):
                kept.append(_move_aside(destination))
            os.replace(os.path.join(here, name), destination)
    return kept


def _move_aside(path: str) -> str:
    n = 1
    while os.path.lexists(f"{path}.~{n}~"):
        n += 1
    os.rename(path, f"{path}.~{n}~")
    return f"{path}.~{n}~"
