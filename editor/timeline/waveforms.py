"""Waveforms for the timeline's clips with sound, made in the background.

engine.media.waveform computes a file's peaks once and caches them on disk; here they are
asked for on the window's background pool (the thumbnail service), kept in memory per file so
every clip of one file shares them, and handed to the clips' graphics on the UI thread.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal


def _file_key(path: str) -> tuple:
    try:
        status = os.stat(path)
    except OSError:
        return (path,)
    return (path, status.st_size, status.st_mtime_ns)


class WaveformLoader(QObject):
    _ready = Signal(str, object)  # file path, Waveform; emitted on the pool's thread

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.by_path: dict = {}  # (path, size, modification time) -> Waveform: a rewritten file is read again
        self._waiting: dict[str, set[str]] = {}  # file path -> ids of the items waiting for it
        self._ready.connect(self._on_ready)

    def request(self, graphic) -> None:
        """Give `graphic` its file's waveform now when known, else once it is made."""
        if not getattr(graphic, "sounds", False) or graphic.offline:
            return
        ref = self.view.project.media.get(graphic.item.media_id)
        if ref is None:
            return
        fps = self.view.project.rate.fps
        known = self.by_path.get(_file_key(ref.path))
        if known is not None:
            if graphic.waveform is not known:
                graphic.set_waveform(known, fps)
            return
        if graphic.waveform is not None:  # another file's (a take switched): gone until this one is made
            graphic.set_waveform(None, fps)
        service = self.view.thumbnails
        if service is None:
            return
        waiting = self._waiting.setdefault(ref.path, set())
        waiting.add(graphic.item.id)
        if len(waiting) > 1:
            return
        from engine.media.waveform import waveform

        path = ref.path
        future = service.request(waveform, path)
        future.add_done_callback(lambda done: self._ready.emit(path, done.result() if done.exception() is None
                                                                else None))

    def _on_ready(self, path: str, result) -> None:
        waiting = self._waiting.pop(path, set())
        if result is None:  # no sound to show (unreadable, no audio stream): the plain block stays
            return
        self.by_path[_file_key(path)] = result
        fps = self.view.project.rate.fps
        for item_id in waiting:
            graphic = self.view.graphics.get(item_id)
            if graphic is not None and graphic.sounds:
                ref = self.view.project.media.get(graphic.item.media_id)
                if ref is not None and ref.path == path:
                    graphic.set_waveform(result, fps)
