"""Moving files to the desktop's trash and back, as the freedesktop.org Trash specification
(version 1.0) describes, so a file deleted from the Library shows in the file manager's trash
and can be restored from there as well as by Kinora's undo.

The home trash is `$XDG_DATA_HOME/Trash` (`~/.local/share/Trash`): `files/NAME` holds the file
and `info/NAME.trashinfo` says where it came from and when it was deleted. The info file is
created first with O_EXCL, which reserves NAME against another program trashing a file of the
same name at the same moment. A file on another disk is copied into the home trash and then
removed (the specification allows this; it avoids writing a `.Trash-UID` folder onto a
removable disk).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from engine.errors import MediaError

INFO_SUFFIX = ".trashinfo"


@dataclass(frozen=True, slots=True)
class TrashedFile:
    """A file now in the trash: where it was and where it lies now."""

    original: str
    in_trash: str  # .../Trash/files/NAME
    info: str  # .../Trash/info/NAME.trashinfo


def trash_dir() -> str:
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "Trash")


def move_to_trash(path: str) -> TrashedFile:
    """Move one file (or folder) to the home trash; a MediaError names the file when it cannot be."""
    original = os.path.abspath(path)
    if not os.path.lexists(original):
        raise MediaError(f"{original} cannot be moved to the trash: it is not there any more")
    root = trash_dir()
    files, infos = os.path.join(root, "files"), os.path.join(root, "info")
    try:
        os.makedirs(files, mode=0o700, exist_ok=True)
        os.makedirs(infos, mode=0o700, exist_ok=True)
        name, info = _reserve_name(infos, os.path.basename(original.rstrip(os.sep)) or "file", original)
    except OSError as error:
        raise MediaError(f"{original} cannot be moved to the trash: the trash folder {root} cannot be written "
                         f"({error.strerror or error}); check its permissions and free space") from None
    target = os.path.join(files, name)
    try:
        shutil.move(original, target)  # a rename on the same disk, else a copy and a removal
    except OSError as error:
        os.unlink(info)
        raise MediaError(f"{original} cannot be moved to the trash ({error.strerror or error}); check that "
                         "you may change its folder") from None
    return TrashedFile(original=original, in_trash=target, info=info)


def restore(trashed: TrashedFile) -> None:
    """Put a trashed file back where it was; refused (MediaError) when something else is there now
    or the file left the trash meanwhile (emptied, or restored by the file manager)."""
    if os.path.lexists(trashed.original):
        raise MediaError(f"{trashed.original} cannot be restored from the trash: another file of that name is "
                         "there now; move it away and undo again")
    if not os.path.lexists(trashed.in_trash):
        raise MediaError(f"{trashed.original} is not in the trash any more (the trash was emptied, or the file "
                         "was restored from the file manager)")
    try:
        os.makedirs(os.path.dirname(trashed.original), exist_ok=True)
        shutil.move(trashed.in_trash, trashed.original)
    except OSError as error:
        raise MediaError(f"{trashed.original} cannot be restored from the trash ({error.strerror or error}); "
                         "check that you may write to its folder") from None
    try:
        os.unlink(trashed.info)
    except FileNotFoundError:
        pass


def read_info(info_path: str) -> dict[str, str]:
    """The fields of a .trashinfo file, with Path unescaped."""
    fields: dict[str, str] = {}
    with open(info_path, encoding="utf-8") as handle:
        for line in handle:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep:
                fields[key] = unquote(value) if key == "Path" else value
    return fields


def _reserve_name(infos: str, base: str, original: str) -> tuple[str, str]:
    """A NAME free in the trash, reserved by creating its info file exclusively."""
    stem, suffix = os.path.splitext(base)
    text = ("[Trash Info]\n"
            f"Path={quote(original, safe='/')}\n"
            f"DeletionDate={time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
    for number in range(1, 10_000):
        name = base if number == 1 else f"{stem}.{number}{suffix}"
        info = os.path.join(infos, name + INFO_SUFFIX)
        try:
            descriptor = os.open(info, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        if os.path.lexists(os.path.join(os.path.dirname(infos), "files", name)):
            os.unlink(info)  # a file without its info file (left by a crash): keep it, take another name
            continue
        return name, info
    raise OSError(f"no free name for {base} in the trash")
