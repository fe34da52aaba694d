"""Frame-accurate decoding: picture N at the project rate from any video file.

Media time enters Kinora here and only here. A decoded picture with timestamp `pts` starts
at project frame `round_half_up((pts - first_pts) * time_base * rate)`; project frame N shows
the last picture starting at or before N. That one rule serves constant and variable frame
rate files alike, and a file at another rate than the project simply repeats or skips
pictures.

To reach frame N the reader seeks to the keyframe before it and decodes forward, unless N is
a little ahead of where the decoder already is, in which case it just keeps decoding (that
is what makes playback and export sequential reads cheap). Decoded pictures are kept, still
in their native YUV, in a byte-bounded LRU cache together with where the next picture starts,
so stepping back a frame is a lookup and a colour conversion, not a seek.

A VideoReader holds one demuxer and codec context and must stay on one thread;
`reader_for()` gives each thread its own.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from engine.errors import MediaError
from engine.media.probe import check_readable
from engine.time import FrameRate, round_half_up

# Holds a 2 s GOP of 1080p 4:2:0 pictures (60 x 3.1 MB), so stepping back never re-decodes.
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
CONVERTED_FRAMES_KEPT = 6
# Without a keyframe index, decoding forward beats seeking for gaps up to this many seconds.
CONTINUE_SECONDS = 2
MAX_SEEK_ATTEMPTS = 8
NEAR_FRAMES = 4
SKIP_MARGIN_FRAMES = 2
STREAMED_KEPT = 2

# FFmpeg colour matrix codes (AVColorSpace) -> the matrices swscale converts with.
BT709, FCC, BT601, SMPTE240M, BT2020 = 1, 4, 5, 7, 9
_MATRIX_OF_CODE = {1: BT709, 4: FCC, 5: BT601, 6: BT601, 7: SMPTE240M, 9: BT2020, 10: BT2020}
LIMITED_RANGE, FULL_RANGE = 1, 2  # AVColorRange: MPEG (16-235) and JPEG (0-255)
HD_HEIGHT = 720


def interpreted_colour(frame) -> tuple[int, bool]:
    """The YUV matrix and range a picture is read with. Files that do not say are read as
    players read them: BT.709 from 720 lines up, BT.601 below (FFmpeg alone would read every
    untagged file as BT.601, so an HD export would shift colours against other software)."""
    matrix = _MATRIX_OF_CODE.get(int(frame.colorspace or 0))
    if matrix is None:
        matrix = BT709 if frame.height >= HD_HEIGHT else BT601
    full = int(frame.color_range or 0) == FULL_RANGE or frame.format.name.startswith("yuvj")
    return matrix, full


@dataclass(slots=True)
class _Picture:
    frame: object  # av.VideoFrame, still in the decoder's pixel format
    start: int  # project frame where it starts showing
    next_start: int | None  # project frame where the next picture starts (None: unknown yet)
    nbytes: int
    streamed: bool = False  # decoded during sequential play: dropped again soon (see _remember)
    cacheable: bool = True  # False inside a seek's skipping run-up, where pictures may be missing


class VideoReader:
    """Decodes one file at one project rate. Not thread-safe: one per thread (see reader_for)."""

    def __init__(self, path: str, rate: FrameRate, cache_bytes: int = DEFAULT_CACHE_BYTES):
        import av

        self.path = str(path)
        self.rate = rate
        self._closed = False
        check_readable(self.path)
        try:
            self._container = av.open(self.path, metadata_errors="ignore")
        except (av.error.FFmpegError, UnicodeDecodeError) as error:
            raise MediaError(f"{self.path}: cannot be opened as video ({error}); re-encode or relink it") from None
        if not self._container.streams.video:
            self._container.close()
            raise MediaError(f"{self.path}: has no video stream; use it on an audio track instead")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._time_base = Fraction(self._stream.time_base)
        self._ticks_per_frame = 1 / (self._time_base * rate.fps)  # stream ticks in one project frame
        self._cache_bytes = cache_bytes
        self._pictures: dict[int, _Picture] = {}
        self._starts: list[int] = []  # sorted keys of _pictures
        self._lru: OrderedDict[int, None] = OrderedDict()
        self._used_bytes = 0
        self._converted: OrderedDict[tuple[int, str, tuple | None], np.ndarray] = OrderedDict()
        self._frames = None  # the running decode iterator
        self._skip_until: int | None = None  # stream ticks before which non-reference pictures are skipped
        self._last: _Picture | None = None  # last picture taken from the iterator
        self._ahead: _Picture | None = None  # decoded, starts after the last request
        self._eof_start: int | None = None  # start of the last picture, once the end was seen
        self._previous_request: int | None = None
        self._streaming = False  # the current request is the frame after the previous one
        self._streamed: deque[int] = deque()  # starts of cached pictures decoded while streaming
        # Keyframe decode times from the container's index (empty when it has none).
        self._keyframe_ticks = sorted(e.timestamp for e in self._stream.index_entries if e.is_keyframe)
        try:
            first = self._first_picture()
        except MediaError:
            self._container.close()
            raise
        self._origin = first.pts
        # Index times are decode times; with B-frames a keyframe is shown this many ticks later.
        # (Seeking itself takes presentation times.)
        self._reorder_ticks = max(0, self._origin - self._keyframe_ticks[0]) if self._keyframe_ticks else 0
        self._picture_bytes = sum(plane.buffer_size for plane in first.planes)
        self.rotation = (90 * round((getattr(first, "rotation", 0) or 0) / 90)) % 360
        fmt = first.format
        self.has_alpha = any(c.is_alpha for c in fmt.components)
        self.bit_depth = max(c.bits for c in fmt.components)
        self.coded_size = (first.width, first.height)
        w, h = self.coded_size
        self.size = (h, w) if self.rotation in (90, 270) else (w, h)  # (width, height) as displayed
        self.colorspace, self.full_range = interpreted_colour(first)
        self._seek_to(0)

    # -- public ------------------------------------------------------------------------------

    def rgb(self, frame: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """Picture at project frame `frame` as upright RGB uint8 (H, W, 3). Do not modify it.
        With `size` (width, height), shrunk to that size for a preview (see _shrunk)."""
        return self._converted_picture(frame, "rgb24", size)

    def rgba(self, frame: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """RGBA uint8 (H, W, 4); alpha is 255 for files without alpha."""
        return self._converted_picture(frame, "rgba", size)

    def float_rgb(self, frame: int) -> np.ndarray:
        """RGB float32 in [0, 1], converted from 16 bits so 10-bit sources keep their precision."""
        return self._converted_picture(frame, "rgb48le").astype(np.float32) / 65535.0

    def close(self) -> None:
        self._closed = True
        self._frames = None
        self._pictures.clear()
        self._converted.clear()
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- locating pictures --------------------------------------------------------------------

    def decoded(self, frame: int):
        """The picture at `frame` as the decoder gave it (an av.VideoFrame in the file's pixel
        format, not rotated), for passing unchanged pictures straight to an encoder."""
        return self._picture(frame).frame

    def picture_start(self, frame: int) -> int:
        """The project frame where the picture shown at `frame` starts (for tests and caching)."""
        return self._picture(frame).start

    def _converted_picture(self, frame: int, pixel_format: str, size: tuple[int, int] | None = None) -> np.ndarray:
        picture = self._picture(frame)
        if size is not None and tuple(size) == self.size:
            size = None
        key = (picture.start, pixel_format, size)
        array = self._converted.get(key)
        if array is None:
            array = picture.frame.to_ndarray(format=pixel_format, src_colorspace=self.colorspace,
                                             src_color_range=FULL_RANGE if self.full_range else LIMITED_RANGE)
            if self.rotation:
                array = np.ascontiguousarray(np.rot90(array, k=self.rotation // 90))
            if size is not None:
                array = _shrunk(array, size)
            array.flags.writeable = False
            self._converted[key] = array
            while len(self._converted) > CONVERTED_FRAMES_KEPT:
                self._converted.popitem(last=False)
        else:
            self._converted.move_to_end(key)
        return array

    def _picture(self, frame: int) -> _Picture:
        if self._closed:  # PyAV would crash reading a closed file
            raise RuntimeError(f"the reader of {self.path} was closed")
        frame = max(0, int(frame))
        if self._eof_start is not None and frame > self._eof_start:
            frame = self._eof_start  # past the end: the last picture stays on screen
        previous, self._previous_request = self._previous_request, frame
        self._streaming = previous is not None and frame == previous + 1
        stepping_back = previous is not None and 0 < previous - frame <= NEAR_FRAMES
        cached = self._cached(frame)
        if cached is not None:
            return cached
        if not self._can_continue_to(frame):
            # Stepping back: decode the whole run-up without skipping, so that the steps
            # after this one find their pictures in the cache.
            self._seek_to(frame, skip=not stepping_back)
        for attempt in range(MAX_SEEK_ATTEMPTS):
            found = self._decode_forward_to(frame)
            if found is not None and not found.cacheable:
                # The answer lies where pictures were skipped, so a skipped one might have been
                # the right one: decode this stretch again without skipping.
                self._seek_to(frame, skip=False)
                continue
            if found is not None:
                return found
            # The seek landed after the frame (imprecise index, open GOP): go back further.
            self._seek_to(frame, back_seconds=2 ** attempt)
        raise MediaError(f"{self.path}: cannot find frame {frame}; the file's timestamps are broken - "
                         "re-encode it (for example with ffmpeg) and relink")

    def _cached(self, frame: int) -> _Picture | None:
        i = bisect.bisect_right(self._starts, frame) - 1
        if i < 0:
            return None
        picture = self._pictures[self._starts[i]]
        ends_after = picture.next_start is not None and frame < picture.next_start
        if ends_after or (picture.next_start is None and self._eof_start == picture.start):
            self._lru.move_to_end(picture.start)
            return picture
        return None

    def _can_continue_to(self, frame: int) -> bool:
        if self._frames is None or self._last is None or frame < self._last.start:
            return False
        if frame - self._last.start <= NEAR_FRAMES:
            return True  # a flush and restart costs more than decoding a few pictures on
        if self._keyframe_ticks:
            # Seek only when it would land on a keyframe after the decoder's position, that is
            # when a keyframe is shown in (here, there]; else decoding on is never slower.
            here = self._origin + self._last.start * self._ticks_per_frame - self._reorder_ticks
            there = self._origin + frame * self._ticks_per_frame - self._reorder_ticks
            i = bisect.bisect_right(self._keyframe_ticks, here)
            return i >= len(self._keyframe_ticks) or self._keyframe_ticks[i] > there
        return frame - self._last.start <= CONTINUE_SECONDS * self.rate.fps

    def _decode_forward_to(self, frame: int) -> _Picture | None:
        """Decode until the picture showing `frame` is known; None if decoding began after it."""
        while True:
            if self._ahead is None:
                self._ahead = self._next_picture()
                if self._ahead is None:  # end of file: the last picture holds
                    if self._last is not None:
                        self._eof_start = self._last.start
                    return self._last if self._last is not None and self._last.start <= frame else None
            if self._ahead.start > frame:
                return self._last if self._last is not None and self._last.start <= frame else None
            self._last, self._ahead = self._ahead, None

    def _next_picture(self) -> _Picture | None:
        import av

        while True:
            try:
                decoded = next(self._frames)
            except StopIteration:
                self._frames = None
                return None
            except av.error.FFmpegError as error:
                if isinstance(error, av.error.EOFError):
                    self._frames = None
                    return None
                raise MediaError(f"{self.path}: decoding failed ({error}); the file is damaged - "
                                 "re-encode it and relink") from None
            if decoded.pts is None:
                continue
            start = round_half_up((decoded.pts - self._origin) / self._ticks_per_frame)
            if self._skip_until is not None and decoded.pts < self._skip_until:
                # Run-up after a seek: possibly next to skipped pictures, so neither cached
                # nor linked to its neighbours.
                picture = _Picture(decoded, start, None, 0, cacheable=False)
                if self._last is not None and start <= self._last.start:
                    continue
                return picture
            if self._last is not None and start < self._last.start:
                continue  # out-of-order timestamp in a damaged file: never shown
            if self._last is not None and start == self._last.start:
                # Two pictures start in one project frame: the later one is what shows there.
                self._last.frame = decoded
                for key in [k for k in self._converted if k[0] == start]:
                    del self._converted[key]
                return self._last
            if self._last is not None and self._last.cacheable:
                self._last.next_start = start
            return self._remember(decoded, start)

    def _remember(self, decoded, start: int) -> _Picture:
        existing = self._pictures.get(start)
        if existing is not None:
            # Decoding this stretch again. A linked entry already holds the last picture that
            # starts here; an earlier picture with the same start must not replace it.
            if existing.next_start is None:
                existing.frame = decoded
            return existing
        nbytes = self._picture_bytes  # every picture of a stream has the same layout
        picture = _Picture(decoded, start, None, nbytes, streamed=self._streaming)
        self._pictures[start] = picture
        bisect.insort(self._starts, start)
        self._lru[start] = None
        self._used_bytes += nbytes
        # Holding many decoded pictures halves FFmpeg's decoding speed (its buffers stop being
        # reused while still in the CPU cache), so pictures met during sequential play are
        # kept only briefly; those decoded on the way to a sought frame stay, for stepping back.
        if picture.streamed:
            self._streamed.append(start)
            while len(self._streamed) > STREAMED_KEPT:
                old_start = self._streamed.popleft()
                old = self._pictures.get(old_start)
                if old is not None and old.streamed:
                    self._evict(old_start)
        while self._used_bytes > self._cache_bytes and len(self._lru) > 2:
            self._evict(next(iter(self._lru)))
        return picture

    def _evict(self, start: int) -> None:
        del self._lru[start]
        old = self._pictures.pop(start)
        self._starts.pop(bisect.bisect_left(self._starts, start))
        self._used_bytes -= old.nbytes
        for key in [k for k in self._converted if k[0] == start]:
            del self._converted[key]

    def _seek_to(self, frame: int, back_seconds: float = 0, skip: bool = True) -> None:
        import av

        target = self._origin + math.floor(frame * self._ticks_per_frame - back_seconds / self._time_base)
        try:
            self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            self._container.seek(0, backward=True)
        # Pictures no other picture refers to are not needed on the way to the frame: skipping
        # them makes a seek's run-up from the keyframe about a third cheaper (x264's B-frames).
        shown_at = self._origin + math.floor(frame * self._ticks_per_frame)
        self._skip_until = shown_at - SKIP_MARGIN_FRAMES * self._ticks_per_frame if skip else None
        self._frames = self._decode_packets()
        self._last = None
        self._ahead = None

    def _decode_packets(self):
        """Decoded pictures from the demuxer's position, skipping non-reference pictures whose
        packets come before `_skip_until` (set anew by each seek; an abandoned generator of an
        earlier seek is never resumed, so it cannot change the setting back)."""
        context = self._stream.codec_context
        skipping = self._skip_until is not None
        context.skip_frame = "NONREF" if skipping else "DEFAULT"
        for packet in self._container.demux(self._stream):
            if skipping and (packet.pts is None or packet.pts >= self._skip_until):
                context.skip_frame = "DEFAULT"
                skipping = False
            yield from packet.decode()

    def _first_picture(self):
        import av

        try:
            for decoded in self._container.decode(self._stream):
                if decoded.pts is not None:
                    return decoded
        except av.error.FFmpegError as error:
            raise MediaError(f"{self.path}: the video cannot be decoded ({error}); re-encode it") from None
        raise MediaError(f"{self.path}: holds no decodable pictures; it is probably truncated")


def _shrunk(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A converted picture resized to `size` (width, height) by area averaging. Converting at the
    file's size and then shrinking costs less than asking swscale for the smaller size (its
    unscaled YUV to RGB path is several times quicker than its scaling one: 1.2-3 ms against
    3.5-4.5 ms for 1080p to 960x540 here), and gives exactly the full picture resized, as the
    preview at a smaller size should show it."""
    import cv2

    width, height = max(1, int(size[0])), max(1, int(size[1]))
    interpolation = cv2.INTER_AREA if width <= array.shape[1] and height <= array.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(array, (width, height), interpolation=interpolation)


_local = threading.local()


def reader_for(path: str, rate: FrameRate) -> VideoReader:
    """This thread's reader of `path` at `rate`, opened once and reused."""
    readers: dict = getattr(_local, "readers", None)
    if readers is None:
        readers = _local.readers = {}
    key = (str(path), rate)
    reader = readers.get(key)
    if reader is None:
        reader = readers[key] = VideoReader(str(path), rate)
    return reader


def close_thread_readers() -> None:
    """Close this thread's readers (call when a worker thread finishes, or a file changes)."""
    for reader in getattr(_local, "readers", {}).values():
        reader.close()
    _local.readers = {}
