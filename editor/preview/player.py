"""The preview player: the composited picture at the playhead, and playback.

Frames are composited on a render thread (engine.media.compositor, one decoder set per
thread) from a snapshot of the project, so the UI never waits on decoding. Requests
coalesce: while one frame renders, only the newest request waits; playback drops frames
rather than falling behind. J/K/L shuttle like every NLE: L plays forward (again: faster), J
backwards, K stops.

Sound (editor/preview/audio_playback.py) plays at normal forward speed, and then the pictures
follow the audio sink's clock, so they stay in step with what is heard; otherwise (muted
shuttle speeds, no audio output) they follow the wall clock. A seek while paused plays a short
burst of sound there (scrubbing). The level meter beside the picture shows what sounds.

Pictures are composited at the size the "Preview Quality" choice gives (editor/preview/quality.py;
Auto: the viewer's size in device pixels), not the project's: a 1080p dissolve in a 960x540
viewer mixes two 960x540 pictures.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, QRectF, QSize, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from editor.document import Document
from editor.preview.audio_playback import AudioPlayback
from editor.preview.level_meter import LevelMeter
from editor.preview.quality import QualityMenu, remember, remembered
from engine.model.project import Project, Timeline

MAX_SHUTTLE = 8
NO_AUDIO_OUTPUT = "No audio output: playing without sound"
OUTPUT_STALLED = "The audio output does not play: playing without sound (check the sound settings)"


def has_sound(project: Project) -> bool:
    """Whether any clip on an unmuted track sounds (see engine.media.audio.AudioMixer)."""
    from engine.model.items import Clip

    for track in project.timeline.tracks:
        if track.muted or track.kind not in ("audio", "video"):
            continue
        for item in track.items:
            ref = project.media.get(getattr(item, "media_id", ""))
            if isinstance(item, Clip) and ref is not None and (ref.kind == "audio" or ref.has_audio):
                return True
    return False


def project_snapshot(project: Project) -> Project:
    """A copy safe to read on another thread: tracks and items are immutable, so copying the
    containers is enough."""
    timeline = Timeline(list(project.timeline.tracks), list(project.timeline.markers), project.timeline.extra)
    return dataclasses.replace(project, media=dict(project.media), timeline=timeline)


def preview_image(compositor, project: Project, frame: int, max_width: int, max_height: int,
                  quality: str = "full", cache=None) -> QImage:
    """The picture of `frame` as the preview shows it: composited at the size `quality` gives
    (engine.media.preview_scale.preview_scale; "full": the project size), then made to fit in
    max_width x max_height (never enlarged). With `cache` (engine.media.render_cache.RenderCache)
    a costly frame (inside a transition) is kept, and taken from there while what it is made of
    stays the same. Raises engine.errors.KinoraError."""
    key = None
    if cache is not None:
        from engine.media.render_cache import frame_signature

        signature = frame_signature(project, frame)
        if signature is not None:
            key = (signature, max_width, max_height, quality)
            image = cache.get(key)
            if image is not None:
                return image
    image = _composited_image(compositor, project, frame, max_width, max_height, quality)
    if key is not None:
        cache.put(key, image, image.sizeInBytes())
    return image


def _composited_image(compositor, project: Project, frame: int, max_width: int, max_height: int,
                      quality: str) -> QImage:
    import cv2

    from engine.media.preview_scale import preview_scale

    scale = preview_scale(quality, project.settings.width, project.settings.height, max_width, max_height)
    pixels = compositor.render(project, frame, offline_placeholder=True, scale=scale)
    height, width = pixels.shape[:2]
    scale = min(max_width / width, max_height / height, 1.0)
    if scale < 1.0:
        pixels = cv2.resize(pixels, (max(1, round(width * scale)), max(1, round(height * scale))),
                            interpolation=cv2.INTER_AREA)
    pixels = np.ascontiguousarray(pixels)
    h, w = pixels.shape[:2]
    return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def preview_frames(project: Project, frames, max_width: int, max_height: int, quality: str = "full", cache=None):
    """(frame, QImage) for each of `frames` in turn, as playback shows them (for benchmarks and tests)."""
    from engine.media.compositor import Compositor

    compositor = Compositor()
    try:
        for frame in frames:
            yield frame, preview_image(compositor, project, frame, max_width, max_height, quality, cache)
    finally:
        compositor.close()


class _RenderWorker(QObject):
    frameReady = Signal(int, QImage, bool)  # the frame, its picture, whether it was made ahead for the cache
    failed = Signal(int, str)

    def __init__(self, cache) -> None:
        super().__init__()
        self.cache = cache

    @Slot(object, int, int, int, str, bool)
    def render(self, project: Project, frame: int, max_width: int, max_height: int, quality: str,
               ahead: bool) -> None:
        from engine.errors import KinoraError
        from engine.media.compositor import thread_compositor

        try:
            image = preview_image(thread_compositor(), project, frame, max_width, max_height, quality, self.cache)
        except KinoraError as error:
            self.failed.emit(frame, str(error))
            return
        self.frameReady.emit(frame, image, ahead)


class _Screen(QWidget):
    doubleClicked = Signal()
    contextMenuAsked = Signal(object)  # the global position of a right click
    resized = Signal()
    leaveFullScreen = Signal()  # F or Esc pressed while the screen is a full-screen window of its own

    def __init__(self) -> None:
        super().__init__()
        self.image: QImage | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self.image is None:
            return
        size = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x, y = (self.width() - size.width()) / 2, (self.height() - size.height()) / 2
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF(x, y, size.width(), size.height()), self.image)

    def mouseDoubleClickEvent(self, event) -> None:
        self.doubleClicked.emit()

    def contextMenuEvent(self, event) -> None:
        self.contextMenuAsked.emit(event.globalPos())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def keyPressEvent(self, event) -> None:
        # Full screen, the screen is its own window: the main window's shortcuts do not reach it.
        if self.isFullScreen() and event.key() in (Qt.Key.Key_F, Qt.Key.Key_Escape):
            self.leaveFullScreen.emit()
            return
        super().keyPressEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(960, 540)


class PreviewPlayer(QWidget):
    frameChanged = Signal(int)
    cacheChanged = Signal()  # a frame was rendered ahead into the cache
    _requestRender = Signal(object, int, int, int, str, bool)
    CACHE_REACH = 250  # frames either side of the playhead whose transitions are rendered ahead

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.frame = 0
        self.speed = 0  # frames of timeline per frame of wall clock: 0 stopped, negative backwards
        self.loop = False
        self.loop_range: tuple[int, int] | None = None  # in/out marks when looping between them
        self.screen = _Screen()
        self.timecode = QLabel()
        self.timecode.setStyleSheet("font-family: monospace; font-size: 13pt;")
        self.message = QLabel()
        self.message.setStyleSheet("color: #e07070;")
        self.buttons = {}
        controls = QHBoxLayout()
        icons = QStyle.StandardPixmap
        for key, icon, tip, slot in (
            ("start", icons.SP_MediaSkipBackward, "Go to start", lambda: self.seek(0)),
            ("back", icons.SP_MediaSeekBackward, "One frame back (Left)", lambda: self.step(-1)),
            ("play", icons.SP_MediaPlay, "Play / pause (Space)", self.toggle_play),
            ("forward", icons.SP_MediaSeekForward, "One frame forward (Right)", lambda: self.step(1)),
            ("loop", icons.SP_BrowserReload, "Loop playback", self._on_loop_clicked),
            ("full", icons.SP_TitleBarNormalButton, "Full screen (F)", self.toggle_full_screen),
        ):
            button = QPushButton(self.style().standardIcon(icon), "")
            button.setToolTip(tip)
            button.setFixedWidth(44)
            button.clicked.connect(slot)
            controls.addWidget(button)
            self.buttons[key] = button
        self.buttons["loop"].setCheckable(True)
        controls.addStretch(1)
        controls.addWidget(self.message)
        controls.addWidget(self.timecode)
        self.meter = LevelMeter()
        self._screen_row = QHBoxLayout()
        self._screen_row.setContentsMargins(0, 0, 0, 0)
        self._screen_row.addWidget(self.screen, 1)
        self._screen_row.addWidget(self.meter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._screen_row, 1)
        layout.addLayout(controls)
        self.screen.doubleClicked.connect(self.toggle_full_screen)
        self.screen.leaveFullScreen.connect(self.toggle_full_screen)
        self.quality = remembered()
        self.quality_menu = QualityMenu(self.quality, self)  # also in the View menu
        self.quality_menu.chosen.connect(self._on_quality_menu_chosen)
        self.screen.contextMenuAsked.connect(self._on_screen_contextMenuAsked)
        # a picture composited at the viewer's size is made again at the new size once a resize settles
        self._resize_settled = QTimer(self)
        self._resize_settled.setSingleShot(True)
        self._resize_settled.setInterval(150)
        self._resize_settled.timeout.connect(self._on_resize_settled_timeout)
        self.screen.resized.connect(self._resize_settled.start)

        self._thread = QThread(self)
        # transition frames rendered ahead while stopped (engine.media.render_cache)
        from engine.media.render_cache import RenderCache

        self.cache = RenderCache()
        self._worker = _RenderWorker(self.cache)
        self._worker.moveToThread(self._thread)
        self._requestRender.connect(self._worker.render)
        self._worker.frameReady.connect(self._on_worker_frameReady)
        self._worker.failed.connect(self._on_worker_failed)
        self._thread.start()
        # stop the render thread when the player goes; the lambda keeps the worker (not the
        # widget) alive until the thread has finished with it
        thread, worker = self._thread, self._worker
        self.destroyed.connect(lambda: (thread.quit(), thread.wait(5000), worker))
        self._in_flight = False
        self._pending: int | None = None
        self._ahead = None  # the cache key of the frame being rendered ahead, if one is
        self._ahead_failed: set = set()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._clock = QElapsedTimer()
        self._clock_frame = 0.0
        self._advancing = False  # the playback timer is moving the playhead (not a user's seek)
        self._told_no_audio = False
        self.audio = AudioPlayback(self)
        self.audio.levelsChanged.connect(self.meter.set_levels)
        self.audio.failed.connect(lambda message: self.message.setText(message[:120]))
        document.changed.connect(self._on_document_changed)
        document.projectReplaced.connect(lambda: self.seek(0))
        self.refresh()

    # --- rendering ------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.request(self.frame)

    def _on_document_changed(self) -> None:
        self.refresh()
        if self.speed:  # what plays from now on is the edited timeline (a mute, a gain, a move)
            self.audio.set_project(project_snapshot(self.document.project))

    def request(self, frame: int, ahead: bool = False) -> None:
        if self._in_flight:
            if not ahead:
                self._pending = frame
            return
        self._in_flight = True
        size = self.screen.size() * self.screen.devicePixelRatioF()  # device pixels: what Auto fits
        self._requestRender.emit(project_snapshot(self.document.project), frame, max(size.width(), 320),
                                 max(size.height(), 180), self.quality, ahead)

    def _render_ahead(self) -> None:
        """While stopped, render the next transition frame near the playhead that is not kept
        yet: one at a time, so a seek or an edit waits for one frame at most."""
        if self.speed or self._in_flight:
            return
        frame = next(iter(self.frames_to_render_ahead()), None)
        if frame is not None:
            self._ahead = self._cache_key(frame)
            self.request(frame, ahead=True)

    def cache_state(self) -> tuple[list[int], list[int]]:
        """(transition frames near the playhead kept at the preview's size, those not kept yet)."""
        from engine.media.render_cache import costly_frames

        kept, to_render = [], []
        for frame in costly_frames(self.document.project, self.frame, self.CACHE_REACH):
            key = self._cache_key(frame)
            if key[0] is not None:
                (kept if key in self.cache else to_render).append(frame)
        return kept, to_render

    def frames_to_render_ahead(self) -> list[int]:
        """The transition frames near the playhead not kept at the preview's size yet, nearest first."""
        from engine.media.render_cache import costly_frames

        keys = ((frame, self._cache_key(frame)) for frame in
                costly_frames(self.document.project, self.frame, self.CACHE_REACH))
        return [frame for frame, key in keys
                if key[0] is not None and key not in self.cache and key not in self._ahead_failed]

    def _cache_key(self, frame: int) -> tuple:
        """What preview_image keys `frame` by in the cache, at the preview's size and quality now."""
        from engine.media.render_cache import frame_signature

        size = self.screen.size() * self.screen.devicePixelRatioF()
        return (frame_signature(self.document.project, frame), max(size.width(), 320), max(size.height(), 180),
                self.quality)

    def set_quality(self, quality: str) -> None:
        """Composite the preview at `quality` from now on ("auto", "half" or "full"), remembered."""
        self.quality = quality
        self.quality_menu.show_choice(quality)
        remember(quality)
        self.refresh()

    def _on_resize_settled_timeout(self) -> None:
        if self.quality != "full" and not self.speed:  # while playing, the next frame comes anyway
            self.refresh()

    def _on_quality_menu_chosen(self, quality: str) -> None:
        self.set_quality(quality)

    def _on_screen_contextMenuAsked(self, position) -> None:
        menu = QMenu(self)
        menu.addMenu(self.quality_menu)
        menu.exec(position)

    def _on_worker_frameReady(self, frame: int, image: QImage, ahead: bool) -> None:
        self._ahead = None
        self.cacheChanged.emit()
        if not ahead:
            self.screen.image = image
            self.screen.update()
            self.message.clear()
        self._next_request()

    def _on_worker_failed(self, frame: int, message: str) -> None:
        if self._ahead is not None:  # a frame made ahead that cannot be made is not tried again
            self._ahead_failed.add(self._ahead)
        else:
            self.message.setText(message[:120])
        self._ahead = None
        self._next_request()

    def _next_request(self) -> None:
        self._in_flight = False
        pending, self._pending = self._pending, None
        if pending is not None:
            self.request(pending)
        else:
            self._render_ahead()

    # --- transport ----------------------------------------------------------------------------------

    @property
    def rate(self):
        return self.document.project.rate

    def seek(self, frame: int) -> None:
        frame = max(0, int(frame))
        self.timecode.setText(self.rate.timecode(frame))
        if frame == self.frame and self.screen.image is not None:
            return
        if not self._advancing:
            if self.speed:  # a seek while playing: play on from there
                self._start_clock(frame)
            elif has_sound(self.document.project):  # scrubbing: a short burst of sound there
                self.audio.burst(project_snapshot(self.document.project), frame)
        self.frame = frame
        self.request(frame)
        self.frameChanged.emit(frame)

    def step(self, frames: int) -> None:
        self.pause()
        self.seek(self.frame + frames)

    def play(self, speed: int = 1) -> None:
        self.speed = speed
        self.buttons["play"].setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))
        self._start_clock(self.frame)
        # a quarter frame: the picture changes at most that long after the sound reaches a frame
        self._timer.start(max(1, int(1000 / float(self.rate.fps)) // 4))

    def _start_clock(self, frame: float) -> None:
        """Play from `frame`: with sound at normal forward speed, muted otherwise."""
        self._clock.start()
        self._clock_frame = float(frame)
        if self.speed != 1:
            self.audio.stop()
            return
        self.audio.play(project_snapshot(self.document.project), int(frame))
        if not self.audio.has_output and not self._told_no_audio:
            self._told_no_audio = True
            self._tell(NO_AUDIO_OUTPUT)

    def _tell(self, message: str) -> None:
        """A note about sound, in the window's status bar (the label under the picture is
        cleared by every frame shown)."""
        window = self.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(message, 8000)
        else:
            self.message.setText(message)

    def play_range(self, first: int, last: int) -> None:
        """Play from `first` to `last` (the In and Out marks) and stop there, or loop between them."""
        self.pause()
        self.seek(first)
        self.loop_range = (first, last)
        self.play(1)

    def pause(self) -> None:
        self.speed = 0
        self.loop_range = None  # a range played once is over
        self._timer.stop()
        self.audio.stop()
        self.buttons["play"].setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))

    def toggle_play(self) -> None:
        self.pause() if self.speed else self.play(1)

    def shuttle(self, direction: int) -> None:
        """J (direction -1) and L (+1): start playing that way, or double the speed."""
        if self.speed and (self.speed > 0) == (direction > 0):
            self.play(max(-MAX_SHUTTLE, min(MAX_SHUTTLE, self.speed * 2)))
        else:
            self.play(direction)

    def _on_loop_clicked(self) -> None:
        self.loop = self.buttons["loop"].isChecked()

    def _on_timer_timeout(self) -> None:
        if self.audio.stalled():  # the output takes no sound: go on without it, on the wall clock
            self.audio.stop()
            self._clock.start()
            self._clock_frame = float(self.frame)
            self._tell(OUTPUT_STALLED)
        if self.audio.sounding:  # the pictures follow the sound
            position = self.audio.position_frames()
        else:
            elapsed = self._clock.elapsed() / 1000.0
            position = self._clock_frame + elapsed * float(self.rate.fps) * self.speed
        first, last = self.loop_range or (0, max(self.document.project.timeline.duration - 1, 0))
        if position > last or position < first:
            if not self.loop:
                self._advance_to(min(max(int(position), first), last))
                self.pause()
                return
            position = first if self.speed > 0 else last
            self._start_clock(position)
        self._advance_to(int(position))

    def _advance_to(self, frame: int) -> None:
        """Move the playhead as playback does (not a user's seek: no restart, no scrub burst)."""
        self._advancing = True
        try:
            self.seek(frame)
        finally:
            self._advancing = False

    def toggle_full_screen(self) -> None:
        if self.screen.isFullScreen():
            self.screen.setWindowFlags(Qt.WindowType.Widget)
            self._screen_row.insertWidget(0, self.screen, 1)
            self.screen.showNormal()
            # back in the main window: its shortcuts (F again, Space...) must work at once
            self.window().activateWindow()
        else:
            self.screen.setParent(None)
            self.screen.setWindowFlags(Qt.WindowType.Window)
            self.screen.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            self.screen.showFullScreen()
            self.screen.activateWindow()
            self.screen.setFocus()

    def shutdown(self) -> None:
        self.pause()
        self.audio.shutdown()
        self._thread.quit()
        self._thread.wait(2000)
