"""Decoding a frame's second picture on a thread of its own while the first is decoded.

A transition shows two files at once, and each picture costs a decode and a colour conversion
that PyAV runs without holding the GIL; doing the two at the same time on a machine with a
core to spare makes the frame about as quick as its slower picture. A Compositor owns one
DecodeAhead (one worker thread): `start(reader, frame)` begins converting the picture into the
reader's cache of converted pictures, `wait()` waits for it; the picture is then read from
that cache as usual, so the pixels are the same whichever thread made them.

A VideoReader is not thread-safe: while its picture is being made ahead, nothing else may use
that reader until `wait()` returns (callers never start one for a reader they are about to read).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor


class DecodeAhead:
    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def start(self, reader, frame: int, size: tuple[int, int] | None = None) -> None:
        """Begin making `reader`'s picture at project frame `frame` (RGB, or RGBA when it has
        alpha), at `size` (width, height) when given (a preview smaller than the project)."""
        self.wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kinora-decode-ahead")
        convert = reader.rgba if reader.has_alpha else reader.rgb
        self._pending = self._pool.submit(convert, frame, size)

    def wait(self) -> None:
        """Until the picture begun is made. An error is not raised here: reading the picture
        again on the caller's thread raises it where it is handled."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.exception()

    def close(self) -> None:
        self.wait()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
