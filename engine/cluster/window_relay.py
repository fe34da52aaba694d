"""A chained job's finished windows, relayed between a runner and the desktop, so a job whose
node dies resumes from its last finished window on another node (nothing is shared but Ray).

A chain commits each window to its WindowStore (engine.generate.window_store) in the job's
windows folder beside its output. On a runner that folder is in the job's own folder; every
status the desktop polls carries the bytes of the window files the desktop does not hold yet
(`changed`), which the desktop writes into its own windows folder for that output (`accept`),
exactly where a local run keeps them. When the desktop submits the job again (its node died, or
the desktop restarted and the cluster lost the job), the windows it holds travel with the
request (`outgoing`) and are written on the new runner before the job runs (`place`): the chain
starts at the first window missing there. The store's key check still refuses the windows of
another request.

A file is named by its place in the windows folder ("seed-5/window-000.safetensors") and known
by a token of its inode, size and time on the runner: a window committed again (another request, the
folder cleared) has a new token and is sent again.
"""

from __future__ import annotations

import re
from pathlib import Path

from engine.errors import UserError
from engine.fsutil import atomic_path

PREFIX = "windows/"  # marks a window file among a job's files (transport.pack / unpack)
_NAME = re.compile(r"seed-(-?\d+)/(chain\.json|window-\d{3,}\.safetensors)")


def _files(folder: Path) -> dict[str, Path]:
    """The committed files of a windows folder by name; a commit's temporary file is not one."""
    found = {}
    for path in sorted(Path(folder).glob("seed-*/*")):
        name = f"{path.parent.name}/{path.name}"
        if _NAME.fullmatch(name):
            found[name] = path
    return found


def tokens(folder: Path) -> dict[str, str]:
    out = {}
    for name, path in _files(folder).items():
        try:
            stat = path.stat()
        except OSError:  # the store cleared it meanwhile
            continue
        out[name] = f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}"  # a commit is a new file: a new inode
    return out


def changed(folder: Path, known: dict[str, str]) -> tuple[dict[str, str], dict[str, bytes]]:
    """(the token of every file now, the bytes of those whose token is not in `known`)."""
    now = tokens(folder)
    content = {}
    for name, token in now.items():
        if known.get(name) == token:
            continue
        try:
            content[name] = (Path(folder) / name).read_bytes()
        except OSError:  # cleared meanwhile: not sent, and not said to be held
            now.pop(name)
    return now, content


def _checked(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError(f"a cluster job sent a window file named {name!r}; only a chain's window files are accepted")
    return name


def accept(folder: Path, files: dict[str, bytes]) -> None:
    """Write window files into `folder`, each atomically (chain.json first: a window lands in a
    folder whose key it was made under)."""
    for name in sorted(files, key=lambda n: not n.endswith("chain.json")):
        target = Path(folder) / _checked(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as temp:
            Path(temp).write_bytes(files[name])


def outgoing(folder: Path) -> dict[str, bytes]:
    """The window files held in `folder`, as job files (PREFIX + name) to travel with a request."""
    out = {}
    for name, path in _files(folder).items():
        try:
            out[PREFIX + name] = path.read_bytes()
        except OSError:
            continue
    return out


def split(files: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """A job's files: (its inputs, its window files by name)."""
    inputs = {key: content for key, content in files.items() if not key.startswith(PREFIX)}
    windows = {key[len(PREFIX):]: content for key, content in files.items() if key.startswith(PREFIX)}
    return inputs, windows
