"""Writing files so that a crash at any moment leaves either the old file or the new one, and
never over a file the same command reads (`check_not_input`)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator

from engine.errors import UserError


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
    usual = os.stat(temp).st_mode & 0o777
    try:
        yield temp
        if os.stat(temp).st_mode & 0o777 != usual:  # a writer that made its own file (safetensors: 0600)
            os.chmod(temp, usual)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_folder(folder)


def check_not_input(output: str | os.PathLike, inputs: Iterable[str | os.PathLike | None]) -> None:
    """Refuse to write `output` when it is one of `inputs` (the same file by any name: a link,
    a relative path, a hard link), before any work starts: writing would destroy what the
    command reads. Every command that writes a file calls this with all it reads."""
    target = os.path.realpath(output)
    try:
        target_stat = os.stat(target)
    except OSError:
        target_stat = None  # a new file cannot be an existing input (links to it resolve above)
    for path in inputs:
        if not path:
            continue
        same = os.path.realpath(path) == target
        if not same and target_stat is not None:
            try:
                same = os.path.samestat(os.stat(path), target_stat)
            except OSError:
                same = False
        if same:
            raise UserError(f"{os.fspath(output)}: is one of this command's own files (it reads {os.fspath(path)}); "
                            "writing over it would destroy it - choose another output name")


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


# a content hash reads the size and three samples of this many bytes (start, middle, end)
SAMPLE_BYTES = 1 << 20


def check_readable(path: str) -> None:
    """The checks every reader of a media file makes first, with the message a user can act on."""
    from engine.errors import MediaError

    if not os.path.exists(path):
        raise MediaError(f"{path}: file not found; it was moved or deleted - relink it or remove the clip")
    if os.path.isdir(path):
        raise MediaError(f"{path}: is a folder, not a media file; choose a video, image or audio file")
    if os.path.getsize(path) == 0:
        raise MediaError(f"{path}: the file is empty (0 bytes); copy it again from its source")


def content_hash(path: str) -> str:
    """Hash of a file's size and its start, middle and end: the key thumbnails, the library,
    relinking and stored latents use. Hashing a whole multi-gigabyte video would take longer
    than decoding a thumbnail; a change inside a file that keeps its size and those samples
    would go unnoticed, which in practice no editing tool produces."""
    check_readable(path)
    size = os.path.getsize(path)
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as file:
        for offset in sorted({0, max(0, size // 2 - SAMPLE_BYTES // 2), max(0, size - SAMPLE_BYTES)}):
            file.seek(offset)
            digest.update(file.read(SAMPLE_BYTES))
    return digest.hexdigest()[:32]


def check_writable(path: str | os.PathLike) -> None:
    """Refuse, before any work, an output that cannot be written: a path that is a folder, whose
    folder is missing or is a file, or whose folder refuses new files (read-only, no permission,
    a read-only disk). The folder is tried by creating and removing a file, as the atomic writer
    will (permission bits alone do not say: an administrator ignores them, a read-only disk
    does not show in them). Every command that writes a file calls this first."""
    output = os.fspath(path)
    if os.path.isdir(output):
        raise UserError(f"{output}: is a folder; give the output a file name inside it")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        blocker = folder
        while blocker and not os.path.lexists(blocker) and os.path.dirname(blocker) != blocker:
            blocker = os.path.dirname(blocker)
        if os.path.lexists(blocker) and not os.path.isdir(blocker):
            raise UserError(f"{output}: cannot be written, {blocker} is a file, not a folder; "
                            "choose another output path")
        raise UserError(f"{output}: its folder {folder} does not exist; create it first")
    probe = os.path.join(folder, f".kinora-write-check.{uuid.uuid4().hex[:12]}")
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as error:
        raise UserError(f"{output}: cannot write into the folder {folder} ({error.strerror or error}); "
                        "choose a folder you may write to") from None
    os.unlink(probe)
