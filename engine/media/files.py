"""The checks every reader of a media file makes first (probe, decode, stills, audio, thumbnails),
with the message a user can act on."""

from __future__ import annotations

import os

from engine.errors import MediaError


def check_readable(path: str) -> None:
    """The checks every reader makes first, with the message a user can act on."""
    if not os.path.exists(path):
        raise MediaError(f"{path}: file not found; it was moved or deleted - relink it or remove the clip")
    if os.path.isdir(path):
        raise MediaError(f"{path}: is a folder, not a media file; choose a video, image or audio file")
    if os.path.getsize(path) == 0:
        raise MediaError(f"{path}: the file is empty (0 bytes); copy it again from its source")
