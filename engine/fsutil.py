"""Writing files so that a crash at any moment leaves either the old file or the new one."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path in the target's folder; on success it replaces `path` atomically.

    The temp file lives beside the target so os.replace never crosses file systems; it is
    fsynced before the rename and the folder after it, so the rename survives a power cut.
    On any error the temp file is removed and the target is untouched.
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    stem, ext = os.path.splitext(os.path.basename(target))
    # Not mkstemp: its 0600 mode would carry over to the finished file. Created here with the
    # user's usual permissions (0666 less the umask); the random part keeps writers apart.
    temp = os.path.join(folder, f".{stem}.{uuid.uuid4().hex[:12]}.tmp{ext}")
    os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_folder(folder)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as temp, open(temp, "wb") as handle:
        handle.write(data)


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # folders cannot be opened on some platforms (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file (through links and relative paths)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_not_input(output: str | os.PathLike, inputs) -> None:
    """Refuse an output that is one of the command's own inputs: writing it would destroy the
    source (and a kill mid-write would leave neither)."""
    from engine.errors import UserError

    for source in inputs:
        if source and same_file(output, source):
            raise UserError(f"output {output} is also an input of this command; write to another file")
